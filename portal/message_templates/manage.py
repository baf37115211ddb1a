"""Creating and deleting a template at Meta, then keeping the product's copy in step.

`POST /{waba-id}/message_templates` answers `{"id", "status", "category"}`; `DELETE
/{waba-id}/message_templates?name=...&hsm_id=...` deletes that one template (with `name`
alone Meta deletes every language of it). Meta's refusal is shown in Meta's own words
(`error_user_msg` when Meta gives one).
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..meta.graph import Graph, GraphError
from ..models import MessageTemplate, utcnow
from .definition import Draft, check, stored_components, to_meta
from .sync import product_wabas


class TemplateRefused(Exception):
    """The template was not created or deleted; `problems` say why, in words."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def refusal_words(error: GraphError, what: str) -> str:
    """The portal's sentence around Meta's own words (`what`: "create" or "delete")."""
    code = (" " + _("(code %(code)s)", code=f"{error.code}{'/' + str(error.subcode) if error.subcode else ''}")
            if error.code else "")
    details = f" {error.details}" if error.details and error.details not in error.message else ""
    meta = f"{error.message}{details}{code}"
    if what == "delete":
        return _("Meta refused to delete the template: %(error)s", error=meta)
    return _("Meta refused to create the template: %(error)s", error=meta)


def create(product, waba_id: str, draft: Draft, user_id) -> MessageTemplate:
    """Check the draft, submit it to Meta, keep it (PENDING until Meta's webhook or a sync says more)."""
    problems = check(draft)
    account = product_wabas(product.id).get(waba_id)
    if account is None:
        problems.append(_("Choose one of the product's connected WhatsApp accounts."))
    if problems:
        raise TemplateRefused(problems)
    taken = db.session.execute(select(MessageTemplate.id).where(
        MessageTemplate.business_account_id == waba_id, MessageTemplate.name == draft.name,
        MessageTemplate.language == draft.language)).first()
    if taken:
        raise TemplateRefused([_("This WhatsApp account already has a template %(name)s in %(language)s.",
                                  name=draft.name, language=draft.language)])
    payload = to_meta(draft)
    try:
        answer = Graph(account.access_token).post(f"{waba_id}/message_templates", json=payload)
    except GraphError as error:
        raise TemplateRefused([refusal_words(error, "create")]) from None
    template = MessageTemplate(
        business_account_id=waba_id, meta_id=str(answer.get("id") or "")[:64] or None, name=draft.name,
        language=draft.language, category=str(answer.get("category") or draft.category)[:32],
        status=str(answer.get("status") or "PENDING")[:32], parameter_format=payload.get("parameter_format", "POSITIONAL"),
        components=stored_components(payload), synced_at=utcnow(),
    )
    db.session.add(template)
    audit.record("template.created", product_id=product.id, user_id=user_id, name=draft.name, language=draft.language)
    db.session.commit()
    return template


def delete(product, template: MessageTemplate, user_id) -> None:
    account = product_wabas(product.id).get(template.business_account_id)
    if account is None:
        raise TemplateRefused([_("The template's WhatsApp account is not connected (or needs a reconnect), "
                                 "so Meta cannot be asked to delete it.")])
    params = {"name": template.name}
    if template.meta_id:
        params["hsm_id"] = template.meta_id
    try:
        Graph(account.access_token).delete(f"{template.business_account_id}/message_templates", params=params)
    except GraphError as error:
        raise TemplateRefused([refusal_words(error, "delete")]) from None
    audit.record("template.deleted", product_id=product.id, user_id=user_id, name=template.name,
                 language=template.language)
    db.session.delete(template)
    db.session.commit()
