"""Template views: the templates page (list, create, delete, sync), and sending a template in a
conversation or to start one. All in product scope (portal/tenancy.py); templates in URLs and
query strings are loaded with get_or_404, so another product's template is a 404.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..inbox import queries
from ..inbox.rendering import shown_error
from ..inbox.sending import SendRefused
from ..models import MANAGER_ROLES, Conversation, MessageTemplate, utcnow
from ..pages import render_page_or_fragment
from ..tenancy import current_membership, current_product, get_or_404, require_role
from . import bp, definition, filling, manage, sending, sync
from .labels import status_label
from .status import STATUS_WORDS

STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")


# ---- the templates page --------------------------------------------------------------------

@bp.route("/templates")
def index():
    """The product's templates; ?q= searches names and texts, ?status= ?language= ?category= filter."""
    q = (request.args.get("q") or "").strip()[:100]
    filters = {key: (request.args.get(key) or "").strip()[:32] for key in ("status", "language", "category")}
    query = select(MessageTemplate).order_by(MessageTemplate.name, MessageTemplate.language)
    if q:
        query = query.where(MessageTemplate.name.contains(q.lower().replace(" ", "_"), autoescape=True))
    for key, value in filters.items():
        if value:
            query = query.where(getattr(MessageTemplate, key) == value)
    templates = db.session.execute(query).scalars().all()
    languages = db.session.execute(select(MessageTemplate.language).distinct().order_by(MessageTemplate.language)).scalars().all()
    return render_page_or_fragment(
        "message_templates/index.html", "message_templates/_list.html", templates=templates, q=q, filters=filters,
        statuses=STATUSES, languages=languages, categories=definition.CATEGORIES,
        can_manage=current_membership().can_manage, connected=bool(sync.product_wabas(current_product().id)),
    )


@bp.route("/templates/sync", methods=["POST"])
@require_role(*MANAGER_ROLES)
def sync_now():
    result = sync.sync_product(current_product().id)
    for waba_id, error in result.failed.items():
        flash(_("Sync failed for WhatsApp account %(account)s: %(error)s", account=waba_id, error=error), "error")
    if not result.problems:
        if result.removed:
            flash(ngettext("Synced with Meta: %(num)d template(s), %(removed)d removed.",
                           "Synced with Meta: %(num)d template(s), %(removed)d removed.", result.templates,
                           removed=result.removed), "success")
        else:
            flash(ngettext("Synced with Meta: %(num)d template(s).", "Synced with Meta: %(num)d template(s).",
                           result.templates), "success")
    return redirect(url_for(".index"), 303)


@bp.route("/templates/new", methods=["GET", "POST"])
@require_role(*MANAGER_ROLES)
def create():
    wabas = sync.product_wabas(current_product().id)
    if request.method == "GET":
        return _create_form(definition.Draft(), wabas, [], next(iter(wabas), ""))
    draft = definition.Draft.from_form(request.form)
    waba_id = request.form.get("waba_id", "")
    try:
        template = manage.create(current_product(), waba_id, draft, current_user.id)
    except manage.TemplateRefused as refused:
        return _create_form(draft, wabas, refused.problems, waba_id), 422
    flash(_("Template %(name)s (%(language)s) submitted to Meta: it is %(status)s.", name=template.name,
            language=template.language, status=status_label(template.status)), "success")
    return redirect(url_for(".show", template_id=template.id), 303)


def _create_form(draft, wabas, problems, waba_id):
    return render_template(
        "message_templates/new.html", draft=draft, wabas=wabas, problems=problems, waba_id=waba_id,
        languages=definition.LANGUAGES, categories=definition.CATEGORIES, header_formats=definition.HEADER_FORMATS,
        button_rows=definition.BUTTON_ROWS, button_labels=definition.BUTTON_LABELS,
    )


@bp.route("/templates/new/samples", methods=["POST"])
@require_role(*MANAGER_ROLES)
def samples():
    """The sample inputs for the variables the body holds now (the create form asks as one types)."""
    draft = definition.Draft.from_form(request.form)
    return render_template("message_templates/_samples.html", draft=draft)


@bp.route("/templates/<uuid:template_id>")
def show(template_id):
    template = get_or_404(MessageTemplate, template_id)
    return render_template("message_templates/show.html", template=template, status_words=STATUS_WORDS,
                           can_manage=current_membership().can_manage,
                           preview=filling.render(template.components, {}))


@bp.route("/templates/<uuid:template_id>/delete", methods=["POST"])
@require_role(*MANAGER_ROLES)
def delete(template_id):
    template = get_or_404(MessageTemplate, template_id)
    name = f"{template.name} ({template.language})"
    try:
        manage.delete(current_product(), template, current_user.id)
    except manage.TemplateRefused as refused:
        for problem in refused.problems:
            flash(problem, "error")
        return redirect(url_for(".show", template_id=template_id), 303)
    flash(_("Template %(name)s deleted at Meta.", name=name), "success")
    return redirect(url_for(".index"), 303)


@bp.route("/templates/<uuid:template_id>/preview", methods=["POST"])
def preview(template_id):
    """The message as the customer will see it, filled with the values typed so far."""
    template = get_or_404(MessageTemplate, template_id)
    values = {key: value for key, value in request.form.items() if value}
    return render_template("message_templates/_preview.html", text=filling.render(template.components, values))


# ---- sending -------------------------------------------------------------------------------

@bp.route("/conversations/<uuid:conversation_id>/template", methods=["GET", "POST"])
def conversation_template(conversation_id):
    """GET: the form to fill ?template_id=; POST: send it (window open or closed)."""
    conv = get_or_404(Conversation, conversation_id)
    template = _template_arg()
    action = url_for(".conversation_template", conversation_id=conv.id)
    if request.method == "GET":
        return render_page_or_fragment("message_templates/fill.html", "message_templates/_fill.html",
                                       template=template, action=action, form={}, error=None, conversation=conv)
    try:
        outcome = sending.send_in_conversation(conv, template, request.form, current_user.id)
    except SendRefused as refused:
        return render_template("message_templates/fill.html", template=template, action=action, form=request.form,
                               error=refused.shown, conversation=conv), 409 if refused.kind != "invalid" else 422
    if outcome.problem:
        flash(shown_error(outcome.message), "error")
    return redirect(url_for("inbox.conversation", conversation_id=conv.id), 303)


@bp.route("/conversations/new", methods=["GET", "POST"])
def new_conversation():
    """Start a conversation with a template, to a phone number in E.164."""
    accounts = queries.accounts()
    account = next((a for a in accounts if a.phone_number_id == (request.values.get("number") or "")), None)
    account = account or (accounts[0] if accounts else None)
    templates = sending.approved_templates_for(account.phone_number_id) if account else []
    template = _template_arg(required=False)
    if template is not None and template not in templates:
        template = None
    context = {"accounts": accounts, "account": account, "templates": templates, "template": template,
               "phone": request.values.get("phone", ""), "form": request.form, "error": None,
               "action": url_for(".new_conversation")}
    if request.method == "GET":
        return render_page_or_fragment("message_templates/new_conversation.html", "message_templates/_new_conversation.html",
                                       **context)
    if account is None or template is None:
        context["error"] = _("Choose a number and an approved template of its WhatsApp account.")
        return render_template("message_templates/new_conversation.html", **context), 422
    try:
        conv, outcome = sending.start_conversation(account, request.form.get("phone", ""), template, request.form,
                                                   current_user.id)
    except SendRefused as refused:
        context["error"] = refused.shown
        return render_template("message_templates/new_conversation.html", **context), 422 if refused.kind == "invalid" else 409
    if outcome.problem:
        flash(shown_error(outcome.message), "error")
    return redirect(url_for("inbox.conversation", conversation_id=conv.id), 303)


def _template_arg(required: bool = True) -> MessageTemplate | None:
    raw = request.values.get("template_id") or ""
    if not raw:
        if required:
            abort(400, _("Choose a template."))
        return None
    return get_or_404(MessageTemplate, raw)


def template_slots(template: MessageTemplate) -> list:
    return filling.slots(template.components)


def template_render(template: MessageTemplate, form) -> str:
    return filling.render(template.components, {key: value for key, value in dict(form).items() if value})


def picker_context(conversation: Conversation) -> dict:
    """What the conversation page's template picker needs (a template global: the inbox page stays unaware)."""
    return {"templates": sending.approved_templates_for(conversation.phone_number_id),
            "window_closed": queries.window_closed(conversation, utcnow())}
