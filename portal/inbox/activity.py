"""The product at a glance: messages per day in and out, and the median first-response time,
over the last 30 days, drawn as an SVG on the server (no chart library, no script).

Days are the viewer's days (their time zone, else the product's).

First response: from a customer's message that finds nobody answering (the first inbound
message after the team's last reply) to the team's next reply in that conversation. It
counts on the day the customer wrote.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import INBOUND, OUTBOUND, Conversation, Message

DAYS = 30
MAX_ROWS_FOR_RESPONSE_TIMES = 200_000  # a very busy product gets the times of its latest messages only


@dataclass
class Day:
    day: date
    inbound: int = 0
    outbound: int = 0
    response_times: list = field(default_factory=list)  # seconds

    @property
    def median_response(self) -> float | None:
        return statistics.median(self.response_times) if self.response_times else None


def _midnights_utc(first: date, days: int, zone: ZoneInfo) -> list[datetime]:
    """The UTC moments (naive, as stored) at which each local day starts, and the end of the last:
    a day is 23 or 25 hours where the zone changes its clocks."""
    return [datetime.combine(first + timedelta(days=i), time.min, zone).astimezone(timezone.utc).replace(tzinfo=None)
            for i in range(days + 1)]


def last_days(today: date | None = None, days: int = DAYS, zone: str = "UTC") -> list[Day]:
    """The last `days` days of the team's calendar in `zone` (the viewer's), up to `today` (local)."""
    tz = ZoneInfo(zone)
    today = today or datetime.now(tz).date()
    first = today - timedelta(days=days - 1)
    by_day = {first + timedelta(days=i): Day(first + timedelta(days=i)) for i in range(days)}
    starts = _midnights_utc(first, days, tz)
    since, until = starts[0], starts[-1]
    # Which local day a stored (UTC) time falls on: the last day start it has passed. One CASE, the same
    # on SQLite and PostgreSQL, exact on the days a zone changes its clocks.
    day_index = case(*[(Message.created_at >= start, index) for index, start in reversed(list(enumerate(starts[:-1])))],
                     else_=-1)
    counted = db.session.execute(
        select(day_index, Message.direction, func.count())
        .where(Message.created_at >= since, Message.created_at < until, Message.type != "reaction")
        .group_by(day_index, Message.direction)
    ).all()
    for index, direction, count in counted:
        entry = by_day.get(first + timedelta(days=index))
        if entry is not None:
            if direction == INBOUND:
                entry.inbound += count
            elif direction == OUTBOUND:
                entry.outbound += count
    rows = db.session.execute(
        select(Message.conversation_id, Message.direction, Message.created_at)
        .where(Message.created_at >= since, Message.created_at < until, Message.type != "reaction",
               Message.conversation_id.is_not(None))
        .order_by(Message.created_at.desc()).limit(MAX_ROWS_FOR_RESPONSE_TIMES)
    ).all()
    waiting: dict = {}
    for conversation_id, direction, at in sorted(rows, key=lambda r: r[2]):
        if direction == INBOUND:
            waiting.setdefault(conversation_id, at)
        elif direction == OUTBOUND and conversation_id in waiting:
            started = waiting.pop(conversation_id)
            entry = by_day.get(started.replace(tzinfo=timezone.utc).astimezone(tz).date())
            if entry is not None:
                entry.response_times.append((at - started).total_seconds())
    return [by_day[d] for d in sorted(by_day)]


def chart(days: list[Day], width: int = 720, height: int = 220) -> dict:
    """Geometry for the SVG: bars per day (in, out), a line of the median response (minutes)."""
    left, right, top, bottom = 36, 44, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(d.inbound, d.outbound) for d in days] + [1])
    medians = [d.median_response / 60 if d.median_response is not None else None for d in days]
    peak_minutes = max([m for m in medians if m is not None] + [1])
    slot = plot_w / len(days)
    bar = max(slot / 2 - 1, 1)
    bars, points, labels = [], [], []
    for i, d in enumerate(days):
        x = left + i * slot
        for j, (value, kind) in enumerate(((d.inbound, "in"), (d.outbound, "out"))):
            h = plot_h * value / peak
            bars.append({"x": round(x + j * bar + .5, 1), "y": round(top + plot_h - h, 1), "w": round(bar, 1),
                         "h": round(h, 1), "kind": kind,
                         "title": (_("%(day)s: %(count)d received", day=_day(d.day), count=value) if kind == "in"
                                   else _("%(day)s: %(count)d sent", day=_day(d.day), count=value))})
        if medians[i] is not None:
            points.append((round(x + slot / 2, 1), round(top + plot_h - plot_h * medians[i] / peak_minutes, 1)))
        if i % 5 == 0 or i == len(days) - 1:
            labels.append({"x": round(x + slot / 2, 1), "text": _day(d.day)})
    return {
        "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w, "plot_h": plot_h,
        "bars": bars, "line": " ".join(f"{x},{y}" for x, y in points), "points": points, "labels": labels,
        "peak": peak, "peak_minutes": round(peak_minutes), "bottom": top + plot_h,
        "total_in": sum(d.inbound for d in days), "total_out": sum(d.outbound for d in days),
        "median_minutes": _overall_median(days),
    }


def _day(day: date) -> str:
    """"07 Nov" in the reader's language."""
    return format_date(day, "dd MMM")


def _overall_median(days: list[Day]) -> float | None:
    times = [t for d in days for t in d.response_times]
    return round(statistics.median(times) / 60, 1) if times else None


def last_message_received() -> dict:
    """phone_number_id -> when a customer last wrote to it (the newest conversation activity)."""
    rows = db.session.execute(
        select(Conversation.phone_number_id, func.max(Conversation.last_inbound_at)).group_by(Conversation.phone_number_id)
    ).all()
    return {number: at for number, at in rows if at is not None}
