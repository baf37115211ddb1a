"""Pages reached by a link: accept an invitation (signing up if needed), reset a password."""
from __future__ import annotations

import secrets

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from ..extensions import limiter
from ..i18n.selection import fresh_session
from . import bp, links


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/invite", methods=["GET", "POST"], endpoint="invitation")
@limiter.limit(_login_limit, methods=["POST"])
def invitation():
    """?t=<secret>: who invites you where; join (logged in) or create your account."""
    secret = request.values.get("t", "")
    try:
        invite = links.invitation_for(secret)
    except links.LinkError as error:
        return render_template("auth/link_problem.html", message=str(error)), 404
    if request.method == "GET":
        return render_template("auth/invitation.html", invite=invite, secret=secret)
    try:
        if current_user.is_authenticated:
            links.accept(invite, current_user)
        else:
            if request.form.get("password") != request.form.get("confirm"):
                raise links.LinkError(_("The two passwords differ."))
            user = links.sign_up(invite, request.form.get("email", ""), request.form.get("password", ""))
            fresh_session()  # a fresh session at login, as the login form does
            login_user(user)
            session["sid"] = secrets.token_urlsafe(24)
    except links.LinkError as error:
        flash(str(error), "error")
        return render_template("auth/invitation.html", invite=invite, secret=secret,
                               email=request.form.get("email", "")), 422
    flash(_("Welcome to %(product)s.", product=invite.product.name), "success")
    return redirect(url_for("product.home", product_id=invite.product_id))


@bp.route("/password/forgot", methods=["GET", "POST"], endpoint="forgot_password")
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    if request.method == "POST":
        links.request_reset(request.form.get("email"))
        # The same answer whether or not the address has an account.
        flash(_("If an account uses that address, a reset link is on its way. It works once, for %(num)d minutes.",
                num=current_app.config["PASSWORD_RESET_MINUTES"]), "info")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/forgot.html")


@bp.route("/password/reset", methods=["GET", "POST"], endpoint="reset_password")
@limiter.limit(_login_limit, methods=["POST"])
def reset_password():
    secret = request.values.get("t", "")
    try:
        reset = links.reset_for(secret)
    except links.LinkError as error:
        return render_template("auth/link_problem.html", message=str(error)), 404
    if request.method == "POST":
        try:
            if request.form.get("password") != request.form.get("confirm"):
                raise links.LinkError(_("The two passwords differ."))
            links.reset_password(reset, request.form.get("password", ""))
        except links.LinkError as error:
            flash(str(error), "error")
            return render_template("auth/reset.html", secret=secret), 422
        flash(_("Your password is changed. Log in with the new one."), "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/reset.html", secret=secret)
