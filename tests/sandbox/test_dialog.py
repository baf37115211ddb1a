"""The OAuth dialog: authorize and cancel redirect back exactly as Meta does; bad requests never redirect."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import APP_ID, CARDIO, FLEX, REDIRECT_URI, V, csrf_from, dialog_params


def _query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def test_dialog_shows_businesses_and_requested_scopes(sbx):
    page = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params())
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for name in ("Cardio Plus Health", "Flex 60 Fitness", "Acme Support"):
        assert name in html
    assert "whatsapp_business_management" in html and "whatsapp_business_messaging" in html
    assert "Authorize" in html and "Cancel" in html


def test_authorize_redirects_with_code_and_state(meta):
    response = meta.authorize(CARDIO)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    query = _query(response.headers["Location"])
    assert set(query) == {"code", "state"}
    assert query["state"] == "st-123"


def test_cancel_redirects_with_meta_error_fields(meta):
    response = meta.authorize(CARDIO, decision="cancel")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "error=access_denied" in location
    assert "error_reason=user_denied" in location
    assert "error_description=Permissions+error" in location
    assert "state=st-123" in location
    assert "code" not in _query(location)


def test_redirect_uri_with_its_own_query_keeps_it(meta):
    response = meta.authorize(FLEX, redirect_uri=REDIRECT_URI + "?x=1")
    assert response.headers["Location"].startswith(REDIRECT_URI + "?x=1&code=")


@pytest.mark.parametrize("params, words", [
    ({"client_id": "999"}, "Invalid App ID"),
    ({"client_id": None}, "Invalid App ID"),
    ({"redirect_uri": None}, "URL blocked"),
    ({"redirect_uri": "javascript:alert(1)"}, "URL blocked"),
    ({"scope": "whatsapp_business_management,read_everything"}, "Invalid Scopes: read_everything"),
    ({"response_type": "token"}, "Unsupported response type"),
])
def test_bad_dialog_requests_show_an_error_and_never_redirect(sbx, params, words):
    response = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params(**params))
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert "Location" not in response.headers


def test_authorize_without_a_business_asks_again(sbx):
    page = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params())
    form = dialog_params() | {"csrf_token": csrf_from(page.get_data(as_text=True)), "decision": "authorize",
                              "business_id": "424242"}
    response = sbx.post(f"{V}/dialog/oauth", data=form)
    assert response.status_code == 400
    assert "Choose the business" in response.get_data(as_text=True)


def test_dialog_post_needs_its_csrf_token(sbx):
    form = dialog_params() | {"decision": "authorize", "business_id": CARDIO}
    response = sbx.post(f"{V}/dialog/oauth", data=form)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_config_id_gives_a_business_token_that_never_expires(meta):
    code = meta.code_for(CARDIO, scope=None, config_id="555000111", response_type="code",
                         override_default_response_type="true")
    answer = meta.exchange(code).json
    assert answer["token_type"] == "bearer"
    assert "expires_in" not in answer
    info = meta.call("GET", "debug_token", None, query_string={
        "input_token": answer["access_token"], "access_token": f"{APP_ID}|sandbox-test-secret"}).json["data"]
    assert info["type"] == "SYSTEM_USER"
    assert info["expires_at"] == 0
    assert info["is_valid"] is True


def test_config_id_page_says_business_token(sbx):
    page = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params(scope=None, config_id="555000111",
                                                                    response_type="code"))
    assert page.status_code == 200
    assert "business token that does not expire" in page.get_data(as_text=True)


def test_space_separated_scopes_are_accepted_like_meta(meta):
    token = meta.token_for(CARDIO, scope="whatsapp_business_management whatsapp_business_messaging")
    info = meta.client.get(f"{V}/debug_token", query_string={"input_token": token,
                                                              "access_token": f"{APP_ID}|sandbox-test-secret"})
    assert info.json["data"]["scopes"] == ["whatsapp_business_management", "whatsapp_business_messaging"]
