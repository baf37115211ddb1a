"""Every time and number the portal shows, in the request's language and time zone.

Datetimes are stored naive in UTC; each filter turns one into the viewer's zone
(Flask-Babel's selector: user, else product, else UTC) before formatting it.
Times of day are 24-hour in every language, as chat apps show them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from babel import dates
from flask_babel import format_decimal, get_locale, get_timezone, gettext, to_user_timezone

CLOCK = "HH:mm"


def local(at: datetime) -> datetime:
    """A stored (naive UTC) or aware datetime, in the viewer's zone."""
    return to_user_timezone(at)


def today() -> date:
    return local(datetime.now(timezone.utc)).date()


def day_of(at: datetime) -> date:
    """The viewer's calendar day of a moment (a message at 02:00 UTC is the day before in La Paz)."""
    return local(at).date()


def clock(at: datetime | None) -> str:
    """09:00"""
    return dates.format_time(local(at), CLOCK, locale=get_locale()) if at else ""


def short_date(day: date | datetime | None) -> str:
    """30 Nov / 30 nov; with the year when it is not this one."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day_of(day)
    skeleton = "MMMd" if day.year == today().year else "yMMMd"
    return dates.format_skeleton(skeleton, day, locale=get_locale())


def moment(at: datetime | None) -> str:
    """When something happened, as short as is clear: 09:00 today, else 30 Nov 09:00."""
    if at is None:
        return ""
    if day_of(at) == today():
        return clock(at)
    return f"{short_date(at)} {clock(at)}"


def recent(at: datetime | None) -> str:
    """A list's time column: 09:00 today, else the date only."""
    if at is None:
        return ""
    return clock(at) if day_of(at) == today() else short_date(at)


def stamp(at: datetime | None, seconds: bool = False) -> str:
    """The full moment with its zone, for tables and tooltips: 2026-11-30 09:00 (GMT-4)."""
    if at is None:
        return ""
    pattern = "yyyy-MM-dd HH:mm:ss" if seconds else "yyyy-MM-dd HH:mm"
    shown = local(at)
    return f"{dates.format_datetime(shown, pattern, locale=get_locale())} ({zone_name(shown)})"


def zone_name(shown: datetime | None = None) -> str:
    """The viewer's zone as a short offset name (UTC, GMT-4), the same in every language."""
    shown = shown or local(datetime.now(timezone.utc))
    offset = shown.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def day_label(day: date) -> str:
    """A thread's date separator: Today, Yesterday, else the weekday and date."""
    current = today()
    if day == current:
        return gettext("Today")
    if day == current - timedelta(days=1):
        return gettext("Yesterday")
    skeleton = "MMMEd" if day.year == current.year else "yMMMEd"
    return dates.format_skeleton(skeleton, day, locale=get_locale())


def iso_utc(at: datetime | None) -> str:
    """The machine-readable moment for <time datetime>: ISO 8601 in UTC."""
    if at is None:
        return ""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat() + "Z"


def number(value) -> str:
    return format_decimal(value)


def init_app(app) -> None:
    for name, function in {"clock": clock, "short_date": short_date, "moment": moment, "recent": recent, "stamp": stamp,
                           "iso_utc": iso_utc, "number": number, "day_label": day_label}.items():
        app.add_template_filter(function, name)
    app.add_template_global(get_timezone, "viewer_timezone")
    app.add_template_global(zone_name, "viewer_zone_name")
    app.add_template_global(get_locale, "viewer_locale")
