"""Membership rules: who can be added, that a product always keeps an owner, and who may do what.

`actor` is the membership of the person making the change (None from the command line, which the
operator runs): nobody grants a role above their own, and only owners change or remove owners.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..labels import role_label
from ..models import ROLES, Membership, Product, User


class MemberError(ValueError):
    """A membership change that the rules refuse; the message is for people (translated where it is
    raised: in a request, the request's language; from the CLI, whose app context has no request, English)."""


def create_product(name: str, owner: User, timezone: str = "UTC") -> Product:
    from ..i18n.selection import is_timezone

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise MemberError(_("A product name is 1 to 120 characters."))
    if not is_timezone(timezone):
        raise MemberError(_("Unknown time zone %(zone)s: use an IANA name such as America/La_Paz.", zone=repr(timezone)))
    product = Product(name=name, timezone=timezone)
    db.session.add(product)
    db.session.flush()
    db.session.add(Membership(product_id=product.id, user_id=owner.id, role="owner"))
    audit.record("product.created", product_id=product.id, user_id=owner.id, name=name)
    return product


def _rank(role: str) -> int:
    return len(ROLES) - ROLES.index(role)  # owner 3, admin 2, agent 1


def _check_actor(actor: Membership | None, role: str | None = None, target: Membership | None = None) -> None:
    if actor is None:
        return
    if role is not None and _rank(role) > _rank(actor.role):
        raise MemberError(_("Only an owner can make someone %(role)s; you are %(own)s.", role=role_label(role),
                                 own=role_label(actor.role)))
    if target is not None and target.role == "owner" and actor.role != "owner":
        raise MemberError(_("Only an owner can change or remove an owner."))


def grantable_roles(actor: Membership) -> list[str]:
    """The roles `actor` may give (their own and below): what their menus offer. The checks here
    still decide each request."""
    return [role for role in ROLES if _rank(role) <= _rank(actor.role)]


def may_manage(actor: Membership, target: Membership) -> bool:
    """Whether `actor` may change or remove `target` (an owner only by an owner)."""
    return target.role != "owner" or actor.role == "owner"


def check_grant(actor: Membership | None, role: str) -> None:
    """Refuse a role above the actor's own (invitations use the same rule as adding a member)."""
    if role not in ROLES:
        raise MemberError(_("Role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    _check_actor(actor, role=role)


def add_member(product_id, email: str, role: str, actor: Membership | None = None) -> Membership:
    if role not in ROLES:
        raise MemberError(_("Role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    _check_actor(actor, role=role)
    user = db.session.execute(User.by_email(email)).scalar_one_or_none()
    if user is None:
        raise MemberError(_("No user with email %(email)s; create the account first.", email=User.normalize_email(email)))
    exists = db.session.execute(
        select(Membership.id).where(Membership.product_id == product_id, Membership.user_id == user.id)
    ).first()
    if exists:
        raise MemberError(_("%(email)s is already a member.", email=user.email))
    membership = Membership(product_id=product_id, user_id=user.id, role=role)
    db.session.add(membership)
    audit.record("member.added", product_id=product_id, email=user.email, role=role)
    return membership


def _owner_count(product_id) -> int:
    return db.session.execute(
        select(func.count()).select_from(Membership).where(Membership.product_id == product_id, Membership.role == "owner")
    ).scalar_one()


def change_role(membership: Membership, role: str, actor: Membership | None = None) -> None:
    if role not in ROLES:
        raise MemberError(_("Role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    _check_actor(actor, role=role, target=membership)
    if membership.role == "owner" and role != "owner" and _owner_count(membership.product_id) <= 1:
        raise MemberError(_("The last owner cannot be demoted; make someone else owner first."))
    old = membership.role
    membership.role = role
    audit.record("member.role_changed", product_id=membership.product_id, email=membership.user.email, old=old, new=role)


def remove_member(membership: Membership, actor: Membership | None = None) -> None:
    _check_actor(actor, target=membership)
    if membership.role == "owner" and _owner_count(membership.product_id) <= 1:
        raise MemberError(_("The last owner cannot be removed."))
    audit.record("member.removed", product_id=membership.product_id, email=membership.user.email)
    user = membership.user
    db.session.delete(membership)
    db.session.flush()
    remaining = db.session.execute(
        select(func.count()).select_from(Membership).where(Membership.user_id == user.id)
        .execution_options(all_products=True)  # every product of theirs, not just the one in scope
    ).scalar_one()
    if not remaining:
        user.end_sessions()  # removed from every product: a session left open has nothing to show
