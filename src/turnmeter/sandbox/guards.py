"""Bounds on what one request may ask of the sandbox, checked before anything is parsed.

Python's JSON decoder and graphql-core recurse once per nesting level, so a body nested a few
hundred levels deep ends in a RecursionError; and graphql-core spends about 40 microseconds per
token, so a one-megabyte query holds a CPU for seconds. These limits sit far above anything a
real analytics query needs (Cloudflare's documented TURN queries and turnmeter's own nest 5 or 6
levels and hold under 100 tokens) and keep every accepted request cheap. They are the
sandbox's own: Cloudflare does not publish such limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from turnmeter.sandbox import refusals
from turnmeter.sandbox.refusals import Refusal

#: The largest request body, in bytes (aiohttp's default, set explicitly so it is documented).
MAX_BODY_BYTES = 1024 * 1024
#: The deepest nesting of ``{``/``[`` in a JSON body (or GET's ``variables``), and of
#: ``{``/``[``/``(`` in the query text.
MAX_NESTING_DEPTH = 64
#: The longest query text, in characters.
MAX_QUERY_LENGTH = 65_536
#: The most lexical tokens in the query text (graphql-core's ``max_tokens``).
MAX_QUERY_TOKENS = 5_000
#: The most list items in all of a request's variables together. It also keeps the filter's
#: SQL parameters far below SQLite's 32,766.
MAX_LIST_ITEMS = 10_000

# What is not structure: strings (their brackets are text) and, in GraphQL, comments.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_GRAPHQL_SKIPPED = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|#[^\n\r]*', re.DOTALL
)
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")
_JSON_OPENERS = frozenset((b"[", b"{"))
_GRAPHQL_BRACKETS = re.compile(r"[\[\](){}]")
_GRAPHQL_OPENERS = frozenset("[({")


def _too_deep(structure: Any, brackets: re.Pattern[Any], openers: frozenset[Any]) -> bool:
    """Whether the brackets in ``structure`` (its strings already removed) nest too deeply."""
    found = brackets.findall(structure)
    if len(found) <= MAX_NESTING_DEPTH:
        return False  # fewer brackets than the limit cannot nest deeper than it
    depth = 0
    for bracket in found:
        depth += 1 if bracket in openers else -1
        if depth > MAX_NESTING_DEPTH:
            return True
    return False


def read_json(raw: bytes | str) -> Any:
    """Decode a JSON body (or GET's ``variables``) after checking its size and nesting."""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_BODY_BYTES:
        raise refusals.too_large("request body", len(data), MAX_BODY_BYTES, "bytes")
    if _too_deep(_JSON_STRING.sub(b'""', data), _JSON_BRACKETS, _JSON_OPENERS):
        raise refusals.too_deep(MAX_NESTING_DEPTH)
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise Refusal(refusals.QUERY_CONTAINS_ERROR) from None


def check_query(query: str) -> None:
    """Refuse query text that is too long or nested too deeply (tokens are counted by parse)."""
    if len(query) > MAX_QUERY_LENGTH:
        raise refusals.too_large("query", len(query), MAX_QUERY_LENGTH, "characters")
    if _too_deep(_GRAPHQL_SKIPPED.sub('""', query), _GRAPHQL_BRACKETS, _GRAPHQL_OPENERS):
        raise refusals.too_deep(MAX_NESTING_DEPTH)


def check_variables(variables: Mapping[str, Any]) -> None:
    """Refuse variables holding more list items than MAX_LIST_ITEMS (their depth is bounded)."""
    items = 0
    pending: list[Any] = [variables]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            items += len(value)
            if items > MAX_LIST_ITEMS:
                raise refusals.too_many_items(MAX_LIST_ITEMS)
            pending.extend(v for v in value if isinstance(v, list | dict))
        elif isinstance(value, dict):
            pending.extend(v for v in value.values() if isinstance(v, list | dict))
