"""Error messages for people at a terminal, not for Python callers.

The library speaks to Python callers ("pass clip=True", "use limit=None", "pass account_tag="),
and prints a ``timedelta`` as ``92 days, 0:00:00``. The command line says the same in its own
words: the flag to use, and durations as people write them.
"""

from __future__ import annotations

import re

from turnmeter.cli.render import format_duration

#: (what the library says to Python callers, what the command line says instead)
_PHRASES = (
    ("pass clip=True to start there instead", "pass --clip to start there instead"),
    ("use limit=None to get every row", "use --limit 0 to get every row"),
    ("pass account_tag= or set", "pass --account or set"),
    ("api_token must be", "the API token must be"),
    ("pass key_id= or set", "pass --key-id or set"),
    ("pass key_token= or set", "set"),
)
_TIMEDELTA = re.compile(r"\b(\d+) days?, (\d+):(\d\d):(\d\d)\b")


def for_people(message: str) -> str:
    """``message`` with Python parameter advice replaced by the flags that do the same."""
    for python, cli in _PHRASES:
        message = message.replace(python, cli)
    return _TIMEDELTA.sub(_duration, message)


def _duration(match: re.Match[str]) -> str:
    days, hours, minutes, seconds = (int(group) for group in match.groups())
    return format_duration(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
