"""Invitations to a product and password resets: links that work once and expire.

The secret travels in the link's query string (the access log keeps the path only) and
only its SHA-256 is stored. Using a link is one conditional UPDATE, so two clicks at
once cannot both use it.
"""
from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from .. import audit, mail
from ..labels import role_label
from ..extensions import db
from ..models import ROLES, Invitation, Membership, PasswordReset, Product, User, utcnow
from ..models.invitations import hash_secret, new_secret

MIN_PASSWORD = 8


class LinkError(ValueError):
    """The link cannot be used; the message says why, for people (translated where it is raised:
    always inside a request, or in the CLI's app context, where the language is English)."""


# ---- invitations ----------------------------------------------------------------------------

def create_invitation(product: Product, role: str, email: str | None, created_by: User) -> tuple[Invitation, str, bool]:
    """A new invitation, its link and whether it was emailed. Nothing about `email` is looked up:
    the answer is the same whether or not that address has an account anywhere."""
    if role not in ROLES:
        raise LinkError(_("Role must be one of: %(roles)s.", roles=", ".join(ROLES)))
    email = User.normalize_email(email) or None
    secret, digest = new_secret()
    invitation = Invitation(product_id=product.id, token_hash=digest, email=email, role=role,
                            created_by_user_id=created_by.id,
                            expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_DAYS"]))
    db.session.add(invitation)
    audit.record("member.invited", product_id=product.id, email=email or "(link)", role=role)
    db.session.commit()
    link = url_for("auth.invitation", t=secret, _external=True)
    # In the language of the request that sends it (the inviter's): nothing is known of the invitee.
    emailed = bool(email) and mail.send(
        email, _("Join %(product)s on Maestra", product=product.name),
        _("%(inviter)s invites you to answer %(product)s's WhatsApp conversations on Maestra as %(role)s.",
          inviter=created_by.email, product=product.name, role=role_label(role)) + "\n\n"
        + _("Open this link to join (it works once, for %(num)d days):", num=current_app.config["INVITATION_DAYS"])
        + f"\n{link}\n")
    return invitation, link, emailed


def invitation_for(secret: str | None) -> Invitation:
    """The invitation of a link, if it can still be used."""
    invitation = db.session.execute(
        select(Invitation).where(Invitation.token_hash == hash_secret(secret or ""))
    ).scalar_one_or_none()
    if invitation is None:
        raise LinkError(_("This invitation link is not valid. Ask for a new one."))
    if invitation.revoked_at is not None:
        raise LinkError(_("This invitation was withdrawn. Ask for a new one."))
    if invitation.accepted_at is not None:
        raise LinkError(_("This invitation was already used. Ask for a new one if you need it."))
    if invitation.expires_at <= utcnow():
        raise LinkError(_("This invitation expired. Ask for a new one."))
    return invitation


def accept(invitation: Invitation, user: User) -> Membership | None:
    """Join the invitation's product (and only it) as its role; the link is used up. Commits."""
    if invitation.email and invitation.email != User.normalize_email(user.email):
        raise LinkError(_("This invitation is for another email address. Log in with that address, or ask for a new link."))
    now = utcnow()
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
               Invitation.expires_at > now)
        .values(accepted_at=now, accepted_by_user_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not claimed:
        db.session.rollback()
        raise LinkError(_("This invitation was already used. Ask for a new one if you need it."))
    existing = db.session.execute(
        select(Membership).where(Membership.product_id == invitation.product_id, Membership.user_id == user.id)
    ).scalar_one_or_none()
    membership = existing
    if existing is None:
        membership = Membership(product_id=invitation.product_id, user_id=user.id, role=invitation.role)
        db.session.add(membership)
        audit.record("member.joined", product_id=invitation.product_id, user_id=user.id, email=user.email,
                     role=invitation.role)
    db.session.commit()
    return membership


def sign_up(invitation: Invitation, email: str, password: str) -> User:
    """A new account made through an invitation, which it then accepts. Commits."""
    email = User.normalize_email(invitation.email or email)
    if "@" not in email or len(email) > 320:
        raise LinkError(_("Enter your email address."))
    check_password(password)
    if db.session.execute(User.by_email(email)).first():
        raise LinkError(_("An account with this email already exists: log in to accept the invitation."))
    user = User(email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    accept(invitation, user)
    return user


def check_password(password: str | None) -> None:
    if not password or len(password) < MIN_PASSWORD or len(password) > 1024:
        raise LinkError(_("Choose a password of at least %(num)d characters.", num=MIN_PASSWORD))


# ---- password resets ------------------------------------------------------------------------

def request_reset(email: str | None) -> str | None:
    """Email a reset link if the address has an account. The caller answers the same either way
    (an email's account is never revealed). Returns the link (for the CLI), or None."""
    user = db.session.execute(User.by_email(email or "")).scalar_one_or_none()
    if user is None:
        return None
    link = reset_link(user)
    # In the user's own language if they chose one, else the request's.
    with force_locale(user.language) if getattr(user, "language", None) else nullcontext():
        mail.send(user.email, _("Reset your Maestra password"),
                  _("Someone (hopefully you) asked to reset the password of %(email)s on Maestra.", email=user.email)
                  + "\n\n"
                  + _("Open this link within %(num)d minutes to choose a new one (it works once):",
                      num=current_app.config["PASSWORD_RESET_MINUTES"])
                  + f"\n{link}\n\n" + _("If it was not you, ignore this email."))
    return link


def reset_link(user: User, external: bool = True) -> str:
    secret, digest = new_secret()
    db.session.add(PasswordReset(user_id=user.id, token_hash=digest,
                                 expires_at=utcnow() + timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])))
    db.session.commit()
    # The CLI does not know the portal's public address: it prints the path, for the operator to prefix.
    return url_for("auth.reset_password", t=secret, _external=external)


def reset_for(secret: str | None) -> PasswordReset:
    reset = db.session.execute(
        select(PasswordReset).where(PasswordReset.token_hash == hash_secret(secret or ""))
    ).scalar_one_or_none()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise LinkError(_("This reset link is not valid any more (they work once, for a short time). Ask for a new one."))
    return reset


def reset_password(reset: PasswordReset, password: str) -> User:
    check_password(password)
    used = db.session.execute(
        update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not used:
        db.session.rollback()
        raise LinkError(_("This reset link was already used. Ask for a new one."))
    user = reset.user
    user.set_password(password)
    # Any other reset link of this user stops working too.
    db.session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                       .values(used_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return user
