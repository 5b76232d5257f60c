"""Checks for public parameters: a bad value becomes a :class:`ConfigError` naming it.

Each setting is checked once, where it is constructed, so that a wrong value fails at once
with its name instead of later inside aiohttp, asyncio or the retry arithmetic (``nan`` as a
timeout disables it, ``inf`` overflows timers, ``"5"`` raises a ``TypeError`` mid-request).
"""

from __future__ import annotations

import math

from turnmeter.errors import ConfigError

#: The longest duration any setting accepts (seconds): a year. Longer is surely a mistake, and
#: event-loop timers and date arithmetic overflow on values near infinity.
MAX_SECONDS = 365 * 86400.0


def seconds(name: str, value: object, *, allow_zero: bool = False) -> float:
    """``value`` as a finite duration in seconds: positive (or zero when ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value > MAX_SECONDS:
        raise ConfigError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        rule = "must not be negative" if allow_zero else "must be positive"
        raise ConfigError(f"{name} {rule}, got {value!r}")
    return float(value)


def positive_int(name: str, value: object) -> int:
    """``value`` as an integer of at least 1 (``True`` is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value!r}")
    return value


def header_value(name: str, value: str) -> str:
    """``value`` if it can go into an HTTP header as it is; the message never shows it.

    A line break would end the header (aiohttp refuses it only when the request is sent);
    other control characters are never part of a token or an address.
    """
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ConfigError(
            f"{name} contains a line break or another control character (the value is not "
            "shown; check how it was read, e.g. a trailing newline from a file)"
        )
    if not value.isascii():
        raise ConfigError(f"{name} contains non-ASCII characters (the value is not shown)")
    return value
