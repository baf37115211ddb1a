"""Login and logout."""
from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter, login
from ..i18n.selection import fresh_session
from ..models import User
from . import bp
from .forms import EmptyForm, LoginForm


def safe_next(target: str | None) -> str | None:
    """Keep `next` on this site: a path, never a scheme, host or protocol-relative URL."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@login.user_loader
def load_user(session_user_id: str):
    """The user of a session, if the session is still theirs: the id in the cookie carries the
    user's session version (User.get_id), which logout, a password change and the removal from
    the last product raise, ending every session signed before."""
    user_id, _, version = session_user_id.partition(":")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or version != str(user.session_version):
        return None
    return user


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account() -> str:
    """The account a login names: its failures are counted whatever address they come from."""
    return "login-account:" + User.normalize_email(request.form.get("email", ""))[:320]


def _failed(response) -> bool:
    return response.status_code == 401


# Two limits: attempts per client address (get_remote_address; behind a load balancer the client's,
# through TRUSTED_PROXY_HOPS), and failed logins per account from anywhere, so that neither one
# address nor many can guess a password, and one client's mistakes do not lock out everybody else.
@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_account, deduct_when=_failed)
def login_view():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("products.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(User.by_email(form.email.data)).scalar_one_or_none()
        if user is None:
            User.check_no_password(form.password.data)  # as slow as a wrong password: no telling who has an account
        if user is None or not user.check_password(form.password.data):
            flash(_("Wrong email or password."), "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session at login: nothing set before it survives (no fixation).
        fresh_session()
        session.permanent = True  # ends after SESSION_LIFETIME_HOURS without a request
        login_user(user)
        session["sid"] = secrets.token_urlsafe(24)
        return redirect(safe_next(request.args.get("next")) or url_for("products.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("products.index"))
    user = db.session.get(User, current_user.id)
    user.end_sessions()  # this cookie, and any copy of it, is refused from now on
    db.session.commit()
    logout_user()
    fresh_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
