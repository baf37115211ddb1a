"""The OAuth dialog: pick a test business, see what is asked, Authorize or Cancel.

Redirects back exactly as Meta does: `?code=...&state=...` or
`?error=access_denied&error_code=200&error_description=Permissions+error&error_reason=user_denied&state=...`.
A bad request (wrong app id, missing or odd redirect_uri, unknown scope) gets
an error page and no redirect, as Meta's dialog does.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode, urlparse

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .graph_auth import sandbox
from .world import CONFIG_SCOPES, KNOWN_SCOPES

bp = Blueprint("sandbox_dialog", __name__)

SCOPE_WORDS = {
    "whatsapp_business_management": _l("Manage your WhatsApp Business accounts (numbers, templates, webhooks)"),
    "whatsapp_business_messaging": _l("Send and receive WhatsApp messages on your numbers"),
    "business_management": _l("Manage your business portfolio"),
    "public_profile": _l("Your name and profile picture"),
    "email": _l("Your email address"),
}
PASSED_ON = ("client_id", "redirect_uri", "state", "scope", "config_id", "response_type",
             "override_default_response_type")


class DialogError(ValueError):
    """The dialog request itself is wrong; shown to the person, never redirected."""

    def __init__(self, title: str, message: str):
        super().__init__(message)
        self.title = title
        self.message = message


def _request_from(source) -> dict:
    """Validate the dialog's parameters; returns them with the scopes to grant."""
    data = {key: (source.get(key) or "").strip() for key in PASSED_ON}
    if data["client_id"] != current_app.config["META_APP_ID"]:
        raise DialogError(_("Invalid App ID"), _("The provided app ID does not look like a valid app ID."))
    target = urlparse(data["redirect_uri"])
    if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
        raise DialogError(_("URL blocked"), _("This redirect failed because the redirect URI is not whitelisted in "
                                              "the app's client OAuth settings."))
    if data["response_type"] not in ("", "code"):
        raise DialogError(_("Unsupported response type"), _("This sandbox answers response_type=code only."))
    if data["config_id"]:
        data["scopes"] = list(CONFIG_SCOPES)
    else:
        # Meta documents commas; like Meta, spaces (OAuth 2's separator) work too.
        scopes = [s for s in re.split(r"[,\s]+", data["scope"]) if s] or ["public_profile"]
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise DialogError(_("Invalid Scopes"), _("Invalid Scopes: %(scopes)s. This message is only shown to "
                                                     "developers.", scopes=", ".join(unknown)))
        data["scopes"] = list(dict.fromkeys(scopes))
    return data


def _back(redirect_uri: str, answer: dict):
    query = {k: v for k, v in answer.items() if v}
    joiner = "&" if urlparse(redirect_uri).query else "?"
    return redirect(redirect_uri + joiner + urlencode(query), code=302)


def _page(data: dict, error: str | None = None, status: int = 200):
    box = sandbox()
    return render_template(
        "sandbox/dialog.html", params={k: data[k] for k in PASSED_ON}, scopes=data["scopes"],
        scope_words=SCOPE_WORDS, config_id=data["config_id"], businesses=box.world.businesses.values(),
        world=box.world, error=error, app_name=current_app.config["SANDBOX_APP_NAME"],
    ), status


@bp.get("/<version:version>/dialog/oauth")
def dialog(version):
    try:
        data = _request_from(request.args)
    except DialogError as error:
        return render_template("sandbox/dialog_error.html", title=error.title, message=error.message), 400
    return _page(data)


@bp.post("/<version:version>/dialog/oauth")
def decide(version):
    try:
        data = _request_from(request.form)
    except DialogError as error:
        return render_template("sandbox/dialog_error.html", title=error.title, message=error.message), 400
    if request.form.get("decision") == "cancel":
        return _back(data["redirect_uri"], {
            "error": "access_denied", "error_code": "200", "error_description": "Permissions error",
            "error_reason": "user_denied", "state": data["state"],
        })
    business_id = request.form.get("business_id", "")
    if business_id not in sandbox().world.businesses:
        return _page(data, error=_("Choose the business whose WhatsApp accounts you want to share."), status=400)
    code = sandbox().world.issue_code(business_id, data["redirect_uri"], data["scopes"], data["config_id"] or None)
    return _back(data["redirect_uri"], {"code": code, "state": data["state"]})
