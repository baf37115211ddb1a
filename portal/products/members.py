"""Membership rules: who can be added, and that a product always keeps an owner."""
from __future__ import annotations

from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..models import ROLES, Membership, Product, User


class MemberError(ValueError):
    """A membership change that the rules refuse; the message is for people."""


def create_product(name: str, owner: User) -> Product:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise MemberError("A product name is 1 to 120 characters.")
    product = Product(name=name)
    db.session.add(product)
    db.session.flush()
    db.session.add(Membership(product_id=product.id, user_id=owner.id, role="owner"))
    audit.record("product.created", product_id=product.id, user_id=owner.id, name=name)
    return product


def add_member(product_id, email: str, role: str) -> Membership:
    if role not in ROLES:
        raise MemberError(f"Role must be one of: {', '.join(ROLES)}.")
    user = db.session.execute(User.by_email(email)).scalar_one_or_none()
    if user is None:
        raise MemberError(f"No user with email {User.normalize_email(email)}; create the account first.")
    exists = db.session.execute(
        select(Membership.id).where(Membership.product_id == product_id, Membership.user_id == user.id)
    ).first()
    if exists:
        raise MemberError(f"{user.email} is already a member.")
    membership = Membership(product_id=product_id, user_id=user.id, role=role)
    db.session.add(membership)
    audit.record("member.added", product_id=product_id, email=user.email, role=role)
    return membership


def _owner_count(product_id) -> int:
    return db.session.execute(
        select(func.count()).select_from(Membership).where(Membership.product_id == product_id, Membership.role == "owner")
    ).scalar_one()


def change_role(membership: Membership, role: str) -> None:
    if role not in ROLES:
        raise MemberError(f"Role must be one of: {', '.join(ROLES)}.")
    if membership.role == "owner" and role != "owner" and _owner_count(membership.product_id) <= 1:
        raise MemberError("The last owner cannot be demoted; make someone else owner first.")
    old = membership.role
    membership.role = role
    audit.record("member.role_changed", product_id=membership.product_id, email=membership.user.email, old=old, new=role)


def remove_member(membership: Membership) -> None:
    if membership.role == "owner" and _owner_count(membership.product_id) <= 1:
        raise MemberError("The last owner cannot be removed.")
    audit.record("member.removed", product_id=membership.product_id, email=membership.user.email)
    db.session.delete(membership)
