"""The channels page at a glance: messages per day in and out and the median first response
over 30 days (a server-drawn SVG), and when each number last received a message."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from portal.inbox import activity
from portal.models import utcnow
from portal.tenancy import enter_product, leave_product


def test_days_count_messages_and_first_responses(app, inbox, make_product):
    product, other = make_product("Cardio Plus"), make_product("Flex 60")
    conversation = inbox.conversation(inbox.account(product))
    today = utcnow().date()
    morning = datetime.combine(today - timedelta(days=1), datetime.min.time()) + timedelta(hours=9)
    inbox.message(conversation, "hi", created_at=morning)
    inbox.message(conversation, "are you there?", created_at=morning + timedelta(minutes=2))  # still waiting
    inbox.message(conversation, "yes", direction="out", created_at=morning + timedelta(minutes=10))
    inbox.message(conversation, "thanks", created_at=morning + timedelta(minutes=20))
    inbox.message(conversation, "welcome", direction="out", created_at=morning + timedelta(minutes=24))
    inbox.message(conversation, "old", created_at=morning - timedelta(days=40))  # outside the 30 days
    elsewhere = inbox.conversation(inbox.account(other))
    inbox.message(elsewhere, "not ours", created_at=morning)
    enter_product(product.id)
    try:
        days = activity.last_days(today=today)
    finally:
        leave_product()
    assert len(days) == 30 and days[-1].day == today
    yesterday = days[-2]
    assert (yesterday.inbound, yesterday.outbound) == (3, 2)
    assert sorted(yesterday.response_times) == [240.0, 600.0]  # 10 min from the first unanswered, then 4 min
    assert yesterday.median_response == 420.0
    assert sum(d.inbound for d in days) == 3
    chart = activity.chart(days)
    assert chart["total_in"] == 3 and chart["total_out"] == 2 and chart["median_minutes"] == 7.0
    assert len(chart["bars"]) == 60


def test_channels_page_draws_the_chart_and_the_last_message_received(client, auth, inbox, make_product):
    product = make_product("Cardio Plus")
    account = inbox.account(product)
    conversation = inbox.conversation(account)
    inbox.message(conversation, "hi")
    auth.as_member(product)
    page = client.get(f"/p/{product.id}/channels").get_data(as_text=True)
    svg = page.split('<svg class="activity-chart"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r"<rect ", svg)) == 60 and "received</title>" in svg
    assert "<script" not in svg and "style=" not in svg  # nothing the CSP would refuse
    received = page.split("Last message received</dt>", 1)[1].split("</dd>", 1)[0]
    assert conversation.last_inbound_at.strftime("%Y-%m-%d %H:%M") in received


def test_days_are_the_teams_local_days(app, inbox, make_product):
    # 02:00 UTC on the 30th is 22:00 on the 29th in La Paz (UTC-4): it counts on the 29th there, on the 30th in UTC.
    from datetime import date

    product = make_product("Cardio Plus")
    conversation = inbox.conversation(inbox.account(product))
    inbox.message(conversation, "late", created_at=datetime(2026, 11, 30, 2, 0))
    inbox.message(conversation, "answer", direction="out", created_at=datetime(2026, 11, 30, 3, 30))
    enter_product(product.id)
    try:
        la_paz = {d.day: d for d in activity.last_days(today=date(2026, 11, 30), zone="America/La_Paz")}
        utc = {d.day: d for d in activity.last_days(today=date(2026, 11, 30), zone="UTC")}
    finally:
        leave_product()
    assert (la_paz[date(2026, 11, 29)].inbound, la_paz[date(2026, 11, 30)].inbound) == (1, 0)
    assert la_paz[date(2026, 11, 29)].response_times == [5400.0]  # counted on the day the customer wrote, locally
    assert la_paz[date(2026, 11, 29)].outbound == 1  # 23:30 local
    assert (utc[date(2026, 11, 29)].inbound, utc[date(2026, 11, 30)].inbound) == (0, 1)


def test_a_day_the_clocks_change_is_counted_whole(app, inbox, make_product):
    # New York, 8 March 2026: clocks jump from 02:00 to 03:00, the day lasts 23 hours (05:00 UTC to 04:00 UTC next day).
    from datetime import date

    product = make_product("Cardio Plus")
    conversation = inbox.conversation(inbox.account(product))
    for at in (datetime(2026, 3, 8, 5, 0), datetime(2026, 3, 9, 3, 59), datetime(2026, 3, 9, 4, 0)):
        inbox.message(conversation, "x", created_at=at)
    enter_product(product.id)
    try:
        days = {d.day: d for d in activity.last_days(today=date(2026, 3, 9), zone="America/New_York")}
    finally:
        leave_product()
    assert (days[date(2026, 3, 8)].inbound, days[date(2026, 3, 9)].inbound) == (2, 1)
