"""Products exist to keep Meta accounts apart: if Meta restricts one Meta user or one business
(an ads account blocked, a policy strike), only the products linked through it should suffer.
This finds where the product in scope shares a Meta user or a WhatsApp Business Account with
other products of the portal, so owners can see the risk before it bites.

Other products are counted, never named, unless the current user is a member of them too
(one product's members learn nothing else about another product).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import or_, select

from ..extensions import db
from ..models import Membership, Product, WhatsAppAccount
from ..tenancy import current_product_id


@dataclass
class SharedLink:
    kind: str  # "Meta user" | "WhatsApp Business Account"
    value: str
    other_products: int
    names_you_know: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


KIND_LABELS = {"Meta user": _l("Meta user"), "WhatsApp Business Account": _l("WhatsApp Business Account")}


def shared_links() -> list[SharedLink]:
    product_id = current_product_id()
    if product_id is None:
        return []
    mine = db.session.execute(select(WhatsAppAccount.meta_user_id, WhatsAppAccount.business_account_id)).all()
    users = {u for u, _ in mine if u}
    wabas = {w for _, w in mine if w}
    if not users and not wabas:
        return []
    # Across products on purpose (that is the point); only ids and product ids are read.
    others = db.session.execute(
        select(WhatsAppAccount.product_id, WhatsAppAccount.meta_user_id, WhatsAppAccount.business_account_id)
        .where(WhatsAppAccount.product_id != product_id,
               or_(WhatsAppAccount.meta_user_id.in_(users), WhatsAppAccount.business_account_id.in_(wabas)))
        .execution_options(all_products=True)
    ).all()
    if not others:
        return []
    known = dict(db.session.execute(
        select(Product.id, Product.name).join(Membership, Membership.product_id == Product.id)
        .where(Membership.user_id == current_user.id).execution_options(all_products=True)
    ).all())
    found: dict[tuple[str, str], set] = {}
    for other_product, meta_user, waba in others:
        if meta_user in users:
            found.setdefault(("Meta user", meta_user), set()).add(other_product)
        if waba in wabas:
            found.setdefault(("WhatsApp Business Account", waba), set()).add(other_product)
    return [SharedLink(kind, value, len(products), sorted(known[p] for p in products if p in known))
            for (kind, value), products in sorted(found.items())]


def warning_text(links: list[SharedLink]) -> str:
    """One paragraph for a flash at connect time."""
    parts = [ngettext("the same %(kind)s as %(num)d other product", "the same %(kind)s as %(num)d other products",
                      link.other_products, kind=link.kind_label) for link in links]
    return _("This product is now linked through %(links)s. If Meta restricts that user or account, every product "
             "linked through it can lose WhatsApp at once. Connect each product with its own Meta user and business "
             "to keep them apart.", links="; ".join(parts))
