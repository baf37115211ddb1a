"""Nothing lost: changes for numbers no product has linked are kept and replayed on link."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AccountEvent, Conversation, Message, Product, UnroutedChange
from portal.signals import numbers_linked
from tests.webhook import payloads as p

NEW_NUMBER = "109999999999001"
NEW_WABA = "209999999999001"


def kept_changes():
    return list(db.session.execute(select(UnroutedChange).order_by(UnroutedChange.received_at)).scalars())


def messages_of(product):
    return list(db.session.execute(select(Message).where(Message.product_id == product.id).order_by(Message.wamid)).scalars())


def early_body():
    return p.envelope(p.entry(NEW_WABA,
                              p.messages_change(NEW_NUMBER, [p.text_message("wamid.U1", "before link"), p.image_message("wamid.U2")]),
                              p.field_change("account_update", {"event": "VERIFIED_ACCOUNT"})))


def test_unknown_number_is_kept_once_and_answered_200(client, two_products):
    body = early_body()
    answer = p.post_signed(client, body)
    assert answer.status_code == 200 and answer.json["unrouted"] == 2
    p.post_signed(client, body)  # redelivered: the same bytes
    kept = kept_changes()
    assert len(kept) == 2
    assert {k.phone_number_id for k in kept} == {NEW_NUMBER, None}
    assert db.session.execute(select(func.count()).select_from(Message)).scalar_one() == 0


def test_kept_changes_replay_when_the_number_is_linked(app, client, make_product, link_number, two_products):
    p.post_signed(client, early_body())
    late = make_product("Late Product")
    link_number(late, NEW_NUMBER, NEW_WABA)
    numbers_linked.send(app, product_id=late.id, phone_number_ids=[NEW_NUMBER])
    assert [m.wamid for m in messages_of(late)] == ["wamid.U1", "wamid.U2"]
    conversation = db.session.execute(select(Conversation).where(Conversation.product_id == late.id)).scalar_one()
    assert conversation.unread_count == 2
    [event] = db.session.execute(select(AccountEvent).where(AccountEvent.product_id == late.id)).scalars().all()
    assert event.field == "account_update"
    assert all(k.replayed_at is not None for k in kept_changes())
    # Replaying again, or Meta redelivering after the link, stores nothing twice.
    numbers_linked.send(app, product_id=late.id, phone_number_ids=[NEW_NUMBER])
    p.post_signed(client, early_body())
    db.session.expire_all()
    assert len(messages_of(late)) == 2
    assert db.session.get(Conversation, conversation.id).unread_count == 2


def test_replay_by_hand_with_the_cli(client, runner, make_product, link_number, two_products):
    p.post_signed(client, early_body())
    result = runner.invoke(args=["webhooks", "replay"])
    assert result.exit_code == 0 and "replayed 0 kept change(s); 2 still" in result.output
    late = make_product("Late Product")
    link_number(late, NEW_NUMBER, NEW_WABA)
    result = runner.invoke(args=["webhooks", "replay"])
    assert result.exit_code == 0 and "replayed 2 kept change(s); 0 still" in result.output
    assert len(messages_of(late)) == 2


def test_replay_only_for_the_linked_number(app, client, make_product, link_number, two_products):
    other = p.envelope(p.entry("777", p.messages_change("777000", [p.text_message("wamid.other")])))
    p.post_signed(client, other)
    p.post_signed(client, early_body())
    late = make_product("Late Product")
    link_number(late, NEW_NUMBER, NEW_WABA)
    numbers_linked.send(app, product_id=late.id, phone_number_ids=[NEW_NUMBER])
    still = [k for k in kept_changes() if k.replayed_at is None]
    assert [k.phone_number_id for k in still] == ["777000"]


def test_replay_receiver_works_inside_a_product_request_scope(app, client, make_product, link_number, two_products):
    """The connect flow sends the signal from a product request: the replay leaves that scope while it runs."""
    from portal.tenancy import current_product_id, enter_product, leave_product

    cardio, _ = two_products
    p.post_signed(client, early_body())
    late = make_product("Late Product")
    link_number(late, NEW_NUMBER, NEW_WABA)
    enter_product(cardio.id)
    try:
        numbers_linked.send(app, product_id=late.id, phone_number_ids=[NEW_NUMBER])
        assert current_product_id() == cardio.id
    finally:
        leave_product()
    assert len(messages_of(late)) == 2


def test_the_catch_up_replays_what_a_link_missed_and_leaves_the_rest(client, make_product, link_number, two_products):
    """A drain that read the routes just before a link committed keeps its change as unrouted
    after the link's replay ran (no signal comes again): the engine's catch-up job stores it."""
    from portal.jobs import enqueue
    from portal.webhook.replay import catch_up

    p.post_signed(client, p.envelope(p.entry("777", p.messages_change("777000", [p.text_message("wamid.other")]))))
    p.post_signed(client, early_body())
    late = make_product("Late Product")
    link_number(late, NEW_NUMBER, NEW_WABA)  # linked, and no replay ran for it
    assert messages_of(late) == []
    late_id = late.id
    enqueue(catch_up)  # (run at once in tests, in an app context of its own)
    db.session.expire_all()
    late = db.session.get(Product, late_id)
    assert [m.wamid for m in messages_of(late)] == ["wamid.U1", "wamid.U2"]
    [event] = db.session.execute(select(AccountEvent).where(AccountEvent.product_id == late.id)).scalars().all()
    assert event.field == "account_update"  # the WABA's own event (no phone_number_id) too
    still = [k for k in kept_changes() if k.replayed_at is None]
    assert [k.phone_number_id for k in still] == ["777000"]
    enqueue(catch_up)  # again: nothing is stored twice
    db.session.expire_all()
    late = db.session.get(Product, late_id)
    assert len(messages_of(late)) == 2
    assert db.session.execute(select(Conversation).where(Conversation.product_id == late.id)).scalar_one().unread_count == 2


def test_the_engine_runs_the_catch_up_every_minute(app):
    from datetime import datetime

    from portal.webhook.replay import catch_up

    huey = app.extensions["jobs"].huey
    name = app.extensions["jobs"].task_for(catch_up).name
    for minute in (0, 1, 37):
        assert name in [task.name for task in huey.read_periodic(datetime(2026, 11, 30, 12, minute))]
