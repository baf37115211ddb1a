"""Product list, dashboard, members and audit log."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import MANAGER_ROLES, AuditEvent, Membership
from ..tenancy import current_membership, current_product, get_or_404, require_role
from . import bp, product_bp
from .forms import AddMemberForm, RoleForm
from .members import MemberError, add_member, change_role, remove_member

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


@product_bp.route("/members")
def members():
    memberships = db.session.execute(select(Membership).join(Membership.user).order_by(Membership.created_at)).scalars().all()
    return render_template(
        "products/members.html",
        memberships=memberships,
        add_form=AddMemberForm(),
        can_manage=current_membership().can_manage,
        role_form_for=lambda m: RoleForm(role=m.role),
    )


@product_bp.route("/members", methods=["POST"])
@require_role(*MANAGER_ROLES)
def add_member_view():
    form = AddMemberForm()
    if not form.validate_on_submit():
        flash("Enter the email of an existing user and a role.", "error")
        return redirect(url_for(".members"), 303)
    return _apply(lambda: add_member(current_product().id, form.email.data, form.role.data), "Member added.")


@product_bp.route("/members/<uuid:membership_id>/role", methods=["POST"])
@require_role(*MANAGER_ROLES)
def change_role_view(membership_id):
    membership = get_or_404(Membership, membership_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, "Choose one of the roles.")
    return _apply(lambda: change_role(membership, form.role.data), "Role changed.")


@product_bp.route("/members/<uuid:membership_id>/remove", methods=["POST"])
@require_role(*MANAGER_ROLES)
def remove_member_view(membership_id):
    # The button posts only its CSRF token, which CSRFProtect checked before this view.
    membership = get_or_404(Membership, membership_id)
    return _apply(lambda: remove_member(membership), "Member removed.")


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
