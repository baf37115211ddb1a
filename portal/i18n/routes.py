"""The language switch (one click, logged in or not) and each user's own language and time zone."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required

from ..extensions import db
from ..models import User
from .forms import PreferencesForm
from .selection import LANGUAGES, SESSION_KEY

bp = Blueprint("i18n", __name__)


@bp.route("/language", methods=["POST"])
def switch_language():
    """Show the portal in the language posted, and remember it (for the user, or in the session)."""
    from ..auth.routes import safe_next

    language = request.form.get("language")
    if language not in LANGUAGES:
        return _("Unknown language."), 400
    session[SESSION_KEY] = language
    if current_user.is_authenticated:
        db.session.get(User, current_user.id).language = language
        db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("products.index"), 303)


@bp.route("/account/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    user = db.session.get(User, current_user.id)
    form = PreferencesForm(obj=user)
    if form.validate_on_submit():
        user.language = form.language.data or None
        user.timezone = form.timezone.data or None
        if user.language:
            session[SESSION_KEY] = user.language
        else:
            session.pop(SESSION_KEY, None)
        db.session.commit()
        refresh()  # the flash below is already in the new language
        flash(_("Your preferences are saved."), "info")
        return redirect(url_for("i18n.preferences"), 303)
    status = 400 if form.errors else 200
    return render_template("account/preferences.html", form=form), status
