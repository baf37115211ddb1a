"""Sync: GET /{waba-id}/message_templates, every page, per product per WABA (the listing's shape
is the example of Meta's OpenAPI document, ../shared/meta-openapi, GET /{WABA-ID}/message_templates,
with the fields the portal asks for)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import responses
from sqlalchemy import select

from portal.extensions import db
from portal.message_templates.sync import sync_product
from portal.models import MessageTemplate
from portal.signals import numbers_linked

from .conftest import G, WABA_A, WABA_B


def _item(n: int, status="APPROVED") -> dict:
    return {"name": f"promo_{n}", "language": "en_US", "status": status, "category": "MARKETING", "id": f"92007035264614{n}",
            "parameter_format": "POSITIONAL", "quality_score": {"score": "GREEN"},
            "components": [{"type": "HEADER", "format": "TEXT", "text": "Fall Sale"},
                           {"type": "BODY", "text": "Hi {{1}}, our Fall Sale is on! Use promo code {{2}}.",
                            "example": {"body_text": [["Mark", "FALL25"]]}},
                           {"type": "FOOTER", "text": "Not interested? Tap Stop promotions"},
                           {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]}]}


def _pages(graph, waba_id: str, pages: list[list[dict]]):
    """Register `pages` of the listing, each pointing at the next with paging.next."""
    for index, page in enumerate(pages):
        body = {"data": page, "paging": {"cursors": {"before": "MAZDZD", "after": f"c{index}"}}}
        if index + 1 < len(pages):
            body["paging"]["next"] = f"{G}/{waba_id}/message_templates?after=c{index}&limit=2"
        graph.add(responses.GET, f"{G}/{waba_id}/message_templates", json=body,
                  match=[responses.matchers.query_param_matcher({"after": f"c{index - 1}", "limit": "2"}, strict_match=False)]
                  if index else [responses.matchers.query_param_matcher({"limit": "100"}, strict_match=False)])


def _names(product) -> list[str]:
    return sorted(db.session.execute(select(MessageTemplate.name).where(MessageTemplate.product_id == product.id)).scalars())


def test_sync_reads_every_page_of_each_products_own_waba(app, graph, tenants):
    cardio, flex = tenants
    _pages(graph, WABA_A, [[_item(1), _item(2)], [_item(3, "REJECTED"), _item(4)], [_item(5, "PENDING")]])
    _pages(graph, WABA_B, [[_item(9)]])
    result = sync_product(cardio.id)
    assert result.problems == [] and result.templates == 5
    assert _names(cardio) == ["promo_1", "promo_2", "promo_3", "promo_4", "promo_5"]
    assert _names(flex) == []  # nothing of Cardio's WABA went to Flex, and Flex's WABA was not read
    assert not any(WABA_B in call.request.url for call in graph.calls)
    # Cardio's token read Cardio's WABA; the fields asked for are the ones kept.
    first = graph.calls[0].request
    assert first.headers["Authorization"] == "Bearer EAAG-cardio-token-123"
    assert set(parse_qs(urlparse(first.url).query)["fields"][0].split(",")) >= {
        "name", "status", "category", "language", "components", "parameter_format", "quality_score", "rejected_reason"}
    promo = db.session.execute(select(MessageTemplate).where(MessageTemplate.name == "promo_1")).scalar_one()
    assert (promo.status, promo.category, promo.quality_score, promo.meta_id) == ("APPROVED", "MARKETING", "GREEN", "920070352646141")
    assert promo.components[1]["text"].startswith("Hi {{1}}")


def test_a_later_sync_drops_what_meta_no_longer_has_and_a_failed_page_changes_nothing(app, graph, tenants):
    cardio, _ = tenants
    _pages(graph, WABA_A, [[_item(1), _item(2)]])
    sync_product(cardio.id)
    graph.reset()
    _pages(graph, WABA_A, [[_item(2)]])
    assert sync_product(cardio.id).removed == 1
    assert _names(cardio) == ["promo_2"]
    graph.reset()
    graph.add(responses.GET, f"{G}/{WABA_A}/message_templates", json={
        "data": [], "paging": {"next": f"{G}/{WABA_A}/message_templates?after=x&limit=2"}})
    graph.add(responses.GET, f"{G}/{WABA_A}/message_templates", status=500, json={
        "error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1, "fbtrace_id": "Ax"}},
        match=[responses.matchers.query_param_matcher({"after": "x"}, strict_match=False)])
    result = sync_product(cardio.id)
    assert result.problems and "unknown error" in result.problems[0]
    assert _names(cardio) == ["promo_2"]  # the half-read listing removed nothing


def test_cli_syncs_one_product_and_says_so(app, graph, tenants, runner):
    cardio, _ = tenants
    _pages(graph, WABA_A, [[_item(1)], [_item(2)]])
    result = runner.invoke(args=["templates", "sync", str(cardio.id)])
    assert result.exit_code == 0, result.output
    assert "Cardio Plus: 2 template(s)" in result.output
    bad = runner.invoke(args=["templates", "sync", "not-a-product"])
    assert bad.exit_code != 0 and "no product with id" in bad.output


def test_connecting_numbers_syncs_the_products_templates_on_the_engine(app, graph, tenants):
    cardio, flex = tenants
    _pages(graph, WABA_A, [[_item(7)]])
    numbers_linked.send(app, product_id=cardio.id, phone_number_ids=["106540352242922"])
    assert _names(cardio) == ["promo_7"]
    assert _names(flex) == []
