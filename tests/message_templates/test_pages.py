"""The templates page: the list with its filters, create (owners and admins; agents only see),
Meta's refusal in words, delete. Graph answers are shaped as Meta's OpenAPI document shows
them (../shared/meta-openapi: POST and DELETE /{WABA-ID}/message_templates)."""
from __future__ import annotations

import json

import responses
from sqlalchemy import select

from portal.extensions import db
from portal.models import MessageTemplate

from .conftest import G, WABA_A


def _create_form(token: str, **fields) -> dict:
    form = {"csrf_token": token, "waba_id": WABA_A, "name": "order_update", "language": "en_US", "category": "UTILITY",
            "header_format": "TEXT", "header_text": "Order {{1}}", "header_sample": "A-17",
            "body": "Hi {{1}}, order {{2}} shipped.", "body_sample_1": "Ana", "body_sample_2": "A-17",
            "footer": "Thanks", "button_0_type": "QUICK_REPLY", "button_0_text": "Stop",
            "button_1_type": "URL", "button_1_text": "Track", "button_1_url": "https://shop.example/t/{{1}}",
            "button_1_example": "A-17", "button_2_type": "PHONE_NUMBER", "button_2_text": "Call",
            "button_2_phone": "+15550051310", "button_3_type": "COPY_CODE", "button_3_example": "SAVE10"}
    form.update(fields)
    return form


def test_list_filters_and_search(client, auth, tenants, make_template):
    cardio, flex = tenants
    make_template(cardio, name="order_update", status="APPROVED")
    make_template(cardio, name="spring_sale", status="REJECTED", category="MARKETING", language="es")
    make_template(flex, name="flex_only", status="APPROVED", waba_id="102290129340777")
    auth.as_member(cardio, role="agent")
    page = client.get(f"/p/{cardio.id}/templates").get_data(as_text=True)
    assert "order_update" in page and "spring_sale" in page and "flex_only" not in page
    assert "Create a template" not in page  # agents see, they do not create
    assert "spring_sale" not in client.get(f"/p/{cardio.id}/templates?status=APPROVED").get_data(as_text=True)
    found = client.get(f"/p/{cardio.id}/templates?q=sale&language=es&category=MARKETING").get_data(as_text=True)
    assert "spring_sale" in found and "order_update" not in found


def test_agents_cannot_create_sync_or_delete(client, auth, tenants, make_template):
    cardio, _ = tenants
    template = make_template(cardio)
    auth.as_member(cardio, role="agent")
    token = auth.csrf_token()
    assert client.get(f"/p/{cardio.id}/templates/new").status_code == 403
    assert client.post(f"/p/{cardio.id}/templates/new", data=_create_form(token)).status_code == 403
    assert client.post(f"/p/{cardio.id}/templates/sync", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/p/{cardio.id}/templates/{template.id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/p/{cardio.id}/templates/{template.id}").status_code == 200


def test_create_with_every_component_kind_submits_metas_payload(client, auth, tenants, graph):
    cardio, _ = tenants
    graph.add(responses.POST, f"{G}/{WABA_A}/message_templates",
              json={"id": "594425479261596", "status": "PENDING", "category": "UTILITY"})
    auth.as_member(cardio, role="admin")
    response = client.post(f"/p/{cardio.id}/templates/new", data=_create_form(auth.csrf_token()))
    assert response.status_code == 303, response.get_data(as_text=True)
    sent = json.loads(graph.calls[0].request.body)
    assert sent == {
        "name": "order_update", "language": "en_US", "category": "UTILITY", "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-17"]}},
            {"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped.", "example": {"body_text": [["Ana", "A-17"]]}},
            {"type": "FOOTER", "text": "Thanks"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}", "example": ["https://shop.example/t/A-17"]},
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550051310"},
                {"type": "COPY_CODE", "example": "SAVE10"}]},
        ]}
    assert graph.calls[0].request.headers["Authorization"] == "Bearer EAAG-cardio-token-123"
    template = db.session.execute(select(MessageTemplate)).scalar_one()
    assert (template.product_id, template.meta_id, template.status) == (cardio.id, "594425479261596", "PENDING")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Waiting for Meta&#39;s review." in page or "Waiting for Meta's review." in page


def test_create_with_a_media_header_and_named_variables(client, auth, tenants, graph):
    cardio, _ = tenants
    graph.add(responses.POST, f"{G}/{WABA_A}/message_templates", json={"id": "1", "status": "PENDING", "category": "MARKETING"})
    auth.as_member(cardio, role="owner")
    form = _create_form(auth.csrf_token(), category="MARKETING", header_format="IMAGE", header_handle="4::aW1hZ2U=:ARZ",
                        body="Hello {{first_name}}, see our {{season}} sale.", body_sample_first_name="Ana",
                        body_sample_season="spring", button_1_type="", button_2_type="", button_3_type="")
    assert client.post(f"/p/{cardio.id}/templates/new", data=form).status_code == 303
    sent = json.loads(graph.calls[0].request.body)
    assert sent["parameter_format"] == "NAMED"
    assert sent["components"][0] == {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U=:ARZ"]}}
    assert sent["components"][1]["example"] == {"body_text_named_params": [
        {"param_name": "first_name", "example": "Ana"}, {"param_name": "season", "example": "spring"}]}


def test_broken_rules_are_refused_before_meta_is_called(client, auth, tenants, graph):
    cardio, _ = tenants
    auth.as_member(cardio, role="owner")
    response = client.post(f"/p/{cardio.id}/templates/new", data=_create_form(
        auth.csrf_token(), name="Order Update!", body="{{1}} shipped {{3}}", body_sample_1="", body_sample_3=""))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "lowercase letters, digits and underscores" in page
    assert "in order, without gaps" in page and "start or end with a variable" in page
    assert "name=\"body_sample_1\"" in page  # the form asks for the missing samples
    assert len(graph.calls) == 0
    assert db.session.execute(select(MessageTemplate)).first() is None


def test_metas_refusal_is_shown_in_words(client, auth, tenants, graph):
    cardio, _ = tenants
    graph.add(responses.POST, f"{G}/{WABA_A}/message_templates", status=400, json={"error": {
        "message": "Invalid parameter", "type": "OAuthException", "code": 100, "error_subcode": 2388024,
        "is_transient": False, "error_user_title": "Content in this language already exists",
        "error_user_msg": "Content in this language already exists for order_update.", "fbtrace_id": "AbC"}})
    auth.as_member(cardio, role="owner")
    response = client.post(f"/p/{cardio.id}/templates/new", data=_create_form(auth.csrf_token()))
    assert response.status_code == 422
    assert "Meta refused to create the template: Content in this language already exists for order_update." in \
        response.get_data(as_text=True)
    assert db.session.execute(select(MessageTemplate)).first() is None


def test_samples_fragment_asks_for_each_variable(client, auth, tenants):
    cardio, _ = tenants
    auth.as_member(cardio, role="owner")
    html = client.post(f"/p/{cardio.id}/templates/new/samples", data={"csrf_token": auth.csrf_token(),
                                                                       "body": "Hi {{name}}, code {{code}} ok"}).get_data(as_text=True)
    assert 'name="body_sample_name"' in html and 'name="body_sample_code"' in html


def test_delete_asks_meta_then_forgets_it(client, auth, tenants, graph, make_template):
    cardio, _ = tenants
    template = make_template(cardio, meta_id="594425479261596")
    graph.add(responses.DELETE, f"{G}/{WABA_A}/message_templates", json={"success": True},
              match=[responses.matchers.query_param_matcher({"name": "order_update", "hsm_id": "594425479261596"},
                                                            strict_match=False)])
    auth.as_member(cardio, role="owner")
    response = client.post(f"/p/{cardio.id}/templates/{template.id}/delete", data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 303
    assert db.session.get(MessageTemplate, template.id) is None


def test_sync_now_button(client, auth, tenants, graph):
    cardio, _ = tenants
    graph.add(responses.GET, f"{G}/{WABA_A}/message_templates", json={"data": [
        {"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1192339204654487",
         "components": [{"type": "BODY", "text": "Welcome and congratulations!!"}]}], "paging": {"cursors": {}}})
    auth.as_member(cardio, role="owner")
    response = client.post(f"/p/{cardio.id}/templates/sync", data={"csrf_token": auth.csrf_token()}, follow_redirects=True)
    assert "Synced with Meta: 1 template(s)" in response.get_data(as_text=True)
    assert "hello_world" in response.get_data(as_text=True)
