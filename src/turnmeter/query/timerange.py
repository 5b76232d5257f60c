"""Time ranges a person types: ``7d``, ``2024-07-15``, ``2024-07``, today, this month. Always UTC.

Pure functions of their text and a ``now``; the CLI and config use them, tests call them directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta

from turnmeter.errors import ConfigError

_RELATIVE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")

#: The range a command covers when none is given.
DEFAULT_SPAN = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open UTC range [since, until)."""

    since: datetime
    until: datetime

    def describe(self) -> str:
        """``2024-07-01 00:00 to 2024-08-01 00:00 UTC``."""
        return f"{self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC"


def floor_minute(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to its minute (the dataset's finest bucket)."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def parse_moment(text: str, now: datetime, *, name: str) -> datetime:
    """An instant: ``7d`` (ago), ``2024-07-15`` (UTC midnight) or an ISO 8601 datetime."""
    try:
        return _moment(text, now)
    except OverflowError:
        # `99999999999d`, `800000d` or `9999-12-31T23:00-05:00`: no datetime holds it.
        raise ConfigError(
            f"{name} {text!r} is outside the years 1 to 9999 (UTC) that times can take"
        ) from None
    except ValueError:
        raise ConfigError(
            f"{name} {text!r} is not a time: use 7d, 12h, 30m, 2w, 2024-07-15 or "
            "2024-07-15T10:00:00Z"
        ) from None


def _moment(text: str, now: datetime) -> datetime:
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return floor_minute(now) - timedelta(**{_UNITS[unit]: amount})
    if len(text.strip()) == 10:
        return datetime.combine(date.fromisoformat(text.strip()), time(), tzinfo=UTC)
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def month_range(text: str) -> TimeRange:
    """``2024-07`` -> [2024-07-01, 2024-08-01)."""
    match = _MONTH.match(text)
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 1 <= month <= 12:
        raise ConfigError(f"month {text!r} must look like 2024-07")
    # A range ends at the next month's first instant, which 9999-12 (like year 0) has not.
    if year < MINYEAR or (year, month) >= (MAXYEAR, 12):
        raise ConfigError(f"month {text!r} must fall between 0001-01 and 9999-11")
    start = datetime(year, month, 1, tzinfo=UTC)
    return TimeRange(start, next_month(start))


def next_month(start: datetime) -> datetime:
    """The first instant of the month after ``start``'s month."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s UTC month."""
    utc_now = now.astimezone(UTC)
    return datetime(utc_now.year, utc_now.month, 1, tzinfo=UTC)


def resolve_range(
    now: datetime,
    *,
    since: str | None = None,
    until: str | None = None,
    month: str | None = None,
    today: bool = False,
    this_month: bool = False,
    default_span: timedelta = DEFAULT_SPAN,
) -> TimeRange:
    """The range selected by the CLI's time options (at most one way of choosing it)."""
    chosen = [
        name
        for name, on in (
            ("--month", month),
            ("--today", today),
            ("--this-month", this_month),
            ("--since", since),
        )
        if on
    ]
    if len(chosen) > 1:
        raise ConfigError(f"choose one of {', '.join(chosen)}")
    end = floor_minute(now)
    if month:
        if until:
            raise ConfigError("--until cannot be combined with --month")
        return month_range(month)
    if today:
        return _checked(TimeRange(end.replace(hour=0, minute=0), end))
    if this_month:
        return _checked(TimeRange(month_start(end), end))
    stop = parse_moment(until, now, name="--until") if until else end
    start = parse_moment(since, now, name="--since") if since else _before(stop, default_span)
    return _checked(TimeRange(start, stop))


def _before(stop: datetime, span: timedelta) -> datetime:
    try:
        return stop - span
    except OverflowError:
        raise ConfigError(
            f"the range needs a start: {stop.date().isoformat()} leaves no {span.days} days "
            "before it; give --since"
        ) from None


def _checked(span: TimeRange) -> TimeRange:
    if span.since >= span.until:
        raise ConfigError(f"the range is empty: {span.describe()}")
    return span
