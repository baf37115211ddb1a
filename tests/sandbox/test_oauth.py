"""Code exchange, long-lived exchange and debug_token, with Meta's shapes and errors."""
from __future__ import annotations

import pytest

from .conftest import ACME, ACME_WABAS, APP_ID, APP_SECRET, CARDIO, CARDIO_WABA, FLEX, FLEX_WABA, V


def _error(response) -> dict:
    error = response.json["error"]
    assert set(error) >= {"message", "type", "code", "fbtrace_id"}
    return error


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_code_exchange_by_get_query_or_post_form(meta, method):
    response = meta.exchange(meta.code_for(CARDIO), method=method)
    assert response.status_code == 200
    assert response.json["token_type"] == "bearer"
    assert response.json["access_token"].startswith("EAA")
    assert 0 < response.json["expires_in"] <= 2 * 3600  # short-lived user token


def test_code_is_single_use(meta):
    code = meta.code_for(CARDIO)
    assert meta.exchange(code).status_code == 200
    again = meta.exchange(code)
    assert again.status_code == 400
    assert (_error(again)["code"], _error(again)["error_subcode"]) == (100, 36009)


def test_code_expires_after_ten_minutes(meta, clock):
    code = meta.code_for(CARDIO)
    clock.advance(601)
    response = meta.exchange(code)
    assert (_error(response)["code"], _error(response)["error_subcode"]) == (100, 36007)


def test_code_needs_the_dialogs_redirect_uri(meta):
    response = meta.exchange(meta.code_for(CARDIO), redirect_uri="http://elsewhere.test/cb")
    assert _error(response)["error_subcode"] == 36008


@pytest.mark.parametrize("override, code", [
    ({"client_secret": "wrong"}, 1),
    ({"client_id": "123"}, 101),
    ({"code": "AQnotacode"}, 100),
    ({"redirect_uri": ""}, 100),
])
def test_bad_exchange_parameters(meta, override, code):
    response = meta.exchange(meta.code_for(CARDIO), **override)
    assert response.status_code == 400
    assert _error(response)["code"] == code


def test_tokens_are_random_per_business_and_per_grant(meta):
    tokens = {meta.token_for(CARDIO), meta.token_for(CARDIO), meta.token_for(FLEX)}
    assert len(tokens) == 3


def test_long_lived_exchange_gives_sixty_days(meta, clock):
    short = meta.token_for(CARDIO)
    response = meta.client.get(f"{V}/oauth/access_token", query_string={
        "grant_type": "fb_exchange_token", "client_id": APP_ID, "client_secret": APP_SECRET,
        "fb_exchange_token": short})
    assert response.status_code == 200
    assert response.json["expires_in"] == 60 * 86400
    assert response.json["access_token"] != short
    clock.advance(3 * 3600)  # the short one has expired; the long one still works
    assert meta.call("GET", "me", short).json["error"]["code"] == 190
    assert meta.call("GET", "me", response.json["access_token"]).status_code == 200


def test_expired_token_cannot_be_extended(meta, clock):
    short = meta.token_for(CARDIO)
    clock.advance(3 * 3600)
    response = meta.client.get(f"{V}/oauth/access_token", query_string={
        "grant_type": "fb_exchange_token", "client_id": APP_ID, "client_secret": APP_SECRET,
        "fb_exchange_token": short})
    assert (_error(response)["code"], _error(response)["error_subcode"]) == (190, 463)


def _debug(meta, input_token, access_token=f"{APP_ID}|{APP_SECRET}"):
    return meta.client.get(f"{V}/debug_token", query_string={"input_token": input_token,
                                                              "access_token": access_token})


def test_debug_token_lists_the_business_wabas_as_target_ids(meta):
    info = _debug(meta, meta.token_for(ACME)).json["data"]
    assert info["app_id"] == APP_ID
    assert info["is_valid"] is True
    assert info["type"] == "USER"
    assert info["user_id"] == "5100000000000003"
    granted = {g["scope"]: g.get("target_ids") for g in info["granular_scopes"]}
    assert granted["whatsapp_business_management"] == list(ACME_WABAS)
    assert granted["whatsapp_business_messaging"] == list(ACME_WABAS)
    assert info["scopes"] == ["whatsapp_business_management", "whatsapp_business_messaging"]


def test_debug_token_target_ids_never_show_other_businesses(meta):
    info = _debug(meta, meta.token_for(FLEX)).json["data"]
    targets = {t for g in info["granular_scopes"] for t in g.get("target_ids", [])}
    assert targets == {FLEX_WABA}
    assert CARDIO_WABA not in targets


def test_debug_token_accepts_the_app_token_as_bearer_with_proof(meta):
    app_token = f"{APP_ID}|{APP_SECRET}"
    response = meta.call("GET", "debug_token", app_token, query_string={"input_token": meta.token_for(CARDIO)})
    assert response.status_code == 200
    assert response.json["data"]["is_valid"] is True


def test_debug_token_refuses_a_user_token_as_caller(meta):
    token = meta.token_for(CARDIO)
    response = _debug(meta, token, access_token=token)
    assert response.status_code == 400
    assert _error(response)["code"] == 100


def test_debug_token_refuses_another_apps_token(meta):
    response = _debug(meta, meta.token_for(CARDIO), access_token=f"{APP_ID}|not-the-secret")
    assert _error(response)["code"] == 190


def test_debug_token_reports_invalid_and_expired_input(meta, box):
    assert _debug(meta, "EAAgarbage").json["data"]["is_valid"] is False
    token = meta.token_for(CARDIO)
    box.world.expire_tokens(CARDIO)
    info = _debug(meta, token).json["data"]
    assert info["is_valid"] is False
    assert info["error"]["code"] == 190


def test_debug_token_needs_input_token(meta):
    response = meta.client.get(f"{V}/debug_token", query_string={"access_token": f"{APP_ID}|{APP_SECRET}"})
    assert _error(response)["code"] == 100
