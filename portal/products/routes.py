"""Product list, dashboard, members and audit log."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import audit, mail
from ..auth import links
from ..extensions import db
from ..labels import ROLE_CHOICE_LABELS
from ..models import MANAGER_ROLES, AuditEvent, Invitation, Membership, utcnow
from ..tenancy import current_membership, current_product, get_or_404, require_role
from . import bp, product_bp
from .forms import AddMemberForm, ProductSettingsForm, RoleForm
from .members import MemberError, change_role, check_grant, grantable_roles, may_manage, remove_member

AUDIT_PAGE_SIZE = 100


@bp.route("/")
@login_required
def index():
    """The user's products; with exactly one, go straight to it."""
    products = db.session.execute(current_user.products()).scalars().all()
    if len(products) == 1 and not request.args.get("all"):
        return redirect(url_for("product.home", product_id=products[0].id))
    return render_template("products/index.html", products=products)


@product_bp.route("/")
def home():
    """A product opens on its inbox: that is where a team spends the day."""
    return redirect(url_for("inbox.conversations"))


@product_bp.route("/channels")
def dashboard():
    """The channels page: the product's numbers, its Meta connection and health, its activity
    (each feature adds a panel; the endpoint keeps its old name for their links)."""
    return render_template("products/dashboard.html", product=current_product())


@product_bp.route("/settings", methods=["GET", "POST"])
@require_role(*MANAGER_ROLES)
def settings():
    """The product's name and time zone (every time its pages show, for members without their own)."""
    product = current_product()
    form = ProductSettingsForm(obj=product)
    if form.validate_on_submit():
        changes = {key: value for key, value in (("name", form.name.data.strip()), ("timezone", form.timezone.data))
                   if value != getattr(product, key)}
        for key, value in changes.items():
            setattr(product, key, value)
        if changes:
            audit.record("product.settings_changed", product_id=product.id, user_id=current_user.id, **changes)
        db.session.commit()
        refresh()  # the flash and the next page in the new zone
        flash(_("The product's settings are saved."), "info")
        return redirect(url_for("product.settings"), 303)
    return render_template("products/settings.html", form=form), 400 if form.errors else 200


@product_bp.route("/members")
def members():
    return _members_page()


def _members_page(status: int = 200, **extra):
    memberships = db.session.execute(select(Membership).join(Membership.user).order_by(Membership.created_at)).scalars().all()
    actor = current_membership()
    can_manage = actor.can_manage
    # The menus offer only the roles this member may give; an owner's row is for owners to change.
    choices = [(role, ROLE_CHOICE_LABELS[role]) for role in grantable_roles(actor)]
    add_form = AddMemberForm()
    add_form.role.choices = choices

    def role_form_for(membership: Membership) -> RoleForm | None:
        if not may_manage(actor, membership):
            return None
        form = RoleForm(role=membership.role)
        form.role.choices = choices
        return form

    invitations = db.session.execute(
        select(Invitation).where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                                 Invitation.expires_at > utcnow()).order_by(Invitation.created_at.desc())
    ).scalars().all() if can_manage else []
    return render_template(
        "products/members.html",
        memberships=memberships,
        invitations=invitations,
        add_form=add_form,
        can_manage=can_manage,
        role_form_for=role_form_for,
        mail_configured=mail.configured(),
        **extra,
    ), status


@product_bp.route("/members", methods=["POST"])
@require_role(*MANAGER_ROLES)
def add_member_view():
    """Invite someone: a link to copy (and an email where email is set up).

    The answer is the same whether or not the email has an account anywhere: joining
    always goes through the link, which its owner accepts."""
    form = AddMemberForm()
    if not form.validate_on_submit():
        flash(_("Choose a role (and, if you like, the person's email)."), "error")
        return _members_page(400)
    try:
        check_grant(current_membership(), form.role.data)  # issue 19: nobody invites above their own role
        _invitation, link, emailed = links.create_invitation(current_product(), form.role.data, form.email.data,
                                                             current_user)
    except (links.LinkError, MemberError) as error:
        flash(str(error), "error")
        return _members_page(400)
    return _members_page(201, new_link=link, emailed=emailed, invited_email=form.email.data)


@product_bp.route("/invitations/<uuid:invitation_id>/revoke", methods=["POST"])
@require_role(*MANAGER_ROLES)
def revoke_invitation(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = utcnow()
        audit.record("member.invitation_revoked", product_id=invitation.product_id, email=invitation.email or "(link)")
        db.session.commit()
    flash(_("Invitation withdrawn: its link no longer works."), "success")
    return redirect(url_for(".members"), 303)


@product_bp.route("/members/<uuid:membership_id>/role", methods=["POST"])
@require_role(*MANAGER_ROLES)
def change_role_view(membership_id):
    membership = get_or_404(Membership, membership_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, _("Choose one of the roles."))
    return _apply(lambda: change_role(membership, form.role.data, actor=current_membership()), _("Role changed."))


@product_bp.route("/members/<uuid:membership_id>/remove", methods=["GET"])
@require_role(*MANAGER_ROLES)
def confirm_remove_member(membership_id):
    """A real confirmation: a page that says who leaves what, with the button that does it."""
    membership = get_or_404(Membership, membership_id)
    return render_template("products/remove_member.html", membership=membership)


@product_bp.route("/members/<uuid:membership_id>/remove", methods=["POST"])
@require_role(*MANAGER_ROLES)
def remove_member_view(membership_id):
    # The button posts only its CSRF token, which CSRFProtect checked before this view.
    membership = get_or_404(Membership, membership_id)
    return _apply(lambda: remove_member(membership, actor=current_membership()), _("Member removed."))


def _apply(change, success: str):
    try:
        change()
    except MemberError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for(".members"), 303)


@product_bp.route("/audit")
def audit_log():
    events = db.session.execute(
        select(AuditEvent).order_by(AuditEvent.created_at.desc()).limit(AUDIT_PAGE_SIZE)
    ).scalars().all()
    return render_template("products/audit.html", events=events)
