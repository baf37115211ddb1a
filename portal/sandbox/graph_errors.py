"""Meta's error envelope, and the errors the sandbox answers with (Meta's codes and words).

`{"error": {"message", "type", "code", "error_subcode"?, "error_data"?, "fbtrace_id"}}`
"""
from __future__ import annotations

import secrets
import string

_TRACE_ALPHABET = string.ascii_letters + string.digits


class GraphAPIError(Exception):
    """One Graph error; `envelope()` is the JSON body Meta would send."""

    def __init__(self, message: str, code: int, *, type_: str = "OAuthException", subcode: int | None = None,
                 status: int = 400, error_data: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type_
        self.subcode = subcode
        self.status = status
        self.error_data = error_data

    def envelope(self) -> dict:
        error = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.error_data is not None:
            error["error_data"] = self.error_data
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


def fbtrace_id() -> str:
    return "A" + "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(22))


# --- tokens -----------------------------------------------------------------

def no_token() -> GraphAPIError:
    """No token at all: 401 with code 104 (as Meta answers a bare request)."""
    return GraphAPIError("An access token is required to request this resource.", 104, status=401)


def app_token_as_user() -> GraphAPIError:
    """An app token where a user or business token is needed."""
    return GraphAPIError("An active access token must be used to query information about the current user.", 2500)


def bad_token() -> GraphAPIError:
    return GraphAPIError("Invalid OAuth access token - Cannot parse access token", 190, status=401)


def expired_token(expired_at: str, now: str) -> GraphAPIError:
    return GraphAPIError(
        f"Error validating access token: Session has expired on {expired_at}. The current time is {now}.",
        190, subcode=463, status=401,
    )


def revoked_token(app_id: str) -> GraphAPIError:
    return GraphAPIError(
        f"Error validating access token: The user has not authorized application {app_id}.",
        190, subcode=458, status=401,
    )


def bad_appsecret_proof() -> GraphAPIError:
    return GraphAPIError("Invalid appsecret_proof provided in the API argument", 100, type_="GraphMethodException")


def app_token_required() -> GraphAPIError:
    return GraphAPIError(
        "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
        100,
    )


def bad_app_token() -> GraphAPIError:
    return GraphAPIError("Invalid OAuth access token signature.", 190, status=401)


# --- objects and permissions -------------------------------------------------

def unknown_object(object_id: str, method: str) -> GraphAPIError:
    return GraphAPIError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded due "
        "to missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        100, type_="GraphMethodException", subcode=33,
    )


def permissions_error() -> GraphAPIError:
    """A management call on an object of another business (or without the scope)."""
    return GraphAPIError("(#200) Permissions error", 200, status=403)


def messaging_not_permitted() -> GraphAPIError:
    """A messaging call on a number of another business (or without the scope)."""
    return GraphAPIError("(#10) Application does not have permission for this action", 10, status=403)


def invalid_parameter(details: str) -> GraphAPIError:
    return GraphAPIError("(#100) Invalid parameter", 100, error_data={"messaging_product": "whatsapp", "details": details})


# --- OAuth --------------------------------------------------------------------

def missing_parameter(name: str) -> GraphAPIError:
    return GraphAPIError(f"Missing {name} parameter.", 100)


def bad_client_id() -> GraphAPIError:
    return GraphAPIError("Error validating application. Invalid application ID.", 101)


def bad_client_secret() -> GraphAPIError:
    return GraphAPIError("Error validating client secret.", 1)


def bad_code() -> GraphAPIError:
    return GraphAPIError("Invalid verification code format.", 100, subcode=36008)


def code_redirect_mismatch() -> GraphAPIError:
    return GraphAPIError(
        "Error validating verification code. Please make sure your redirect_uri is identical to the one you used "
        "in the OAuth dialog request", 100, subcode=36008,
    )


def code_used() -> GraphAPIError:
    return GraphAPIError("This authorization code has been used.", 100, subcode=36009)


def code_expired() -> GraphAPIError:
    return GraphAPIError("This authorization code has expired.", 100, subcode=36007)


# --- WhatsApp -----------------------------------------------------------------

def window_closed() -> GraphAPIError:
    return GraphAPIError(
        "(#131047) Re-engagement message", 131047,
        error_data={"messaging_product": "whatsapp",
                    "details": "Message failed to send because more than 24 hours have passed since the customer "
                               "last replied to this number."},
    )


WINDOW_CLOSED_STATUS_ERROR = {
    "code": 131047,
    "title": "Re-engagement message",
    "message": "Re-engagement message",
    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer "
                              "last replied to this number."},
}


def not_registered() -> GraphAPIError:
    return GraphAPIError(
        "(#133010) Account not registered", 133010,
        error_data={"messaging_product": "whatsapp", "details": "Account not registered"},
    )


def register_rate_limited() -> GraphAPIError:
    return GraphAPIError(
        "(#133016) Account register deregister rate limit exceeded", 133016,
        error_data={"messaging_product": "whatsapp",
                    "details": "Too many register attempts for this number; try again in 72 hours."},
    )


# --- requests Meta refuses before looking at objects -----------------------------

def nonexisting_field(name: str, node_type: str) -> GraphAPIError:
    return GraphAPIError(f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100)


def unknown_version(version: str) -> GraphAPIError:
    return GraphAPIError(f"Unknown path components: /{version}", 2500)


def schema_refused(details: str) -> GraphAPIError:
    """A body Meta's own description of the API refuses: (#100) with what is wrong."""
    return GraphAPIError("(#100) Invalid parameter", 100, error_data={"messaging_product": "whatsapp", "details": details})


# --- media ------------------------------------------------------------------------

def media_not_found(media_id: str) -> GraphAPIError:
    return unknown_object(media_id, "get")


def upload_refused(details: str) -> GraphAPIError:
    """An upload Meta refuses (size, type): (#131053) Media upload error."""
    return GraphAPIError("(#131053) Media upload error", 131053, error_data={"messaging_product": "whatsapp",
                                                                              "details": details})


def media_url_expired() -> GraphAPIError:
    return GraphAPIError("The media URL has expired: ask GET /{media-id} for a new one.", 100, status=404)


# --- templates -----------------------------------------------------------------------

def template_missing(name: str, language: str) -> GraphAPIError:
    return GraphAPIError("(#132001) Template name does not exist in the translation", 132001, status=404,
                         error_data={"messaging_product": "whatsapp",
                                     "details": f"template name ({name}) does not exist in {language}"})


def template_params(details: str) -> GraphAPIError:
    return GraphAPIError("(#132000) Number of parameters does not match the expected number of params", 132000,
                         error_data={"messaging_product": "whatsapp", "details": details})


def template_paused(name: str) -> GraphAPIError:
    return GraphAPIError("(#132015) Template is Paused", 132015, error_data={
        "messaging_product": "whatsapp", "details": f"Template {name} is paused due to low quality."})


def template_disabled(name: str) -> GraphAPIError:
    return GraphAPIError("(#132016) Template is Disabled", 132016, error_data={
        "messaging_product": "whatsapp", "details": f"Template {name} has been disabled."})


def template_not_approved(name: str, status: str) -> GraphAPIError:
    return GraphAPIError("(#132001) Template name does not exist in the translation", 132001, status=404,
                         error_data={"messaging_product": "whatsapp",
                                     "details": f"template {name} is {status}, not approved"})


def template_exists(name: str, language: str) -> GraphAPIError:
    return GraphAPIError(f"(#100) Content in this language already exists: {name} ({language})", 100,
                         subcode=2388024)
