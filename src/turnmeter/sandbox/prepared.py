"""Query text -> its parsed and validated document, computed once per distinct text.

A dashboard or a poller sends the same few operations over and over with new variables, and
graphql-core's parse and validation of one small operation cost as much as its SQL. Both depend
only on the text (and the one schema), so their outcome is kept in a bounded LRU: the parsed
document when it is valid, otherwise the exact refusal or message that the uncached path sends.
The documents are shared between requests and threads; graphql-core's execution never modifies
a document.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate

from turnmeter.sandbox import guards, refusals
from turnmeter.sandbox.refusals import Refusal

#: Distinct query texts whose outcome is kept (least recently used go first). Each entry is a
#: small AST: a thousand of them take a few megabytes.
MAX_PREPARED = 1024

# graphql-core wording -> Cloudflare wording (CLOUDFLARE_API.md, "Errors", parse row).
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Cannot query field '(\w+)' on type"), 'unknown field "{0}"'),
    (re.compile(r"Field '(\w+)' is not defined by type"), 'unknown field "{0}"'),
    (
        re.compile(r"Unknown argument '\w+' on field '\w+\.(\w+)'"),
        'error parsing args for "{0}": unexpected args',
    ),
)


def cloudflare_message(message: str) -> str:
    """graphql-core's validation wording rewritten to Cloudflare's where we know it."""
    for pattern, template in _REWRITES:
        found = pattern.search(message)
        if found:
            return template.format(*found.groups())
    return message


#: A refusal as cached: (message, status, code).
RefusalFacts = tuple[str, int, str | None]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What one query text is: a valid document, or the refusal or the message it earns.

    ``text_refusal`` comes from the checks on the text (length, nesting), which the uncached
    path ran before checking the variables; ``parse_refusal`` (too many tokens) and ``message``
    (a parse or validation failure, status 400) came after.
    """

    document: DocumentNode | None = None
    text_refusal: RefusalFacts | None = None
    parse_refusal: RefusalFacts | None = None
    message: str | None = None


def raise_refusal(facts: RefusalFacts | None) -> None:
    """Raise a cached refusal again, as a new exception, if there is one."""
    if facts is not None:
        message, status, code = facts
        raise Refusal(message, status=status, code=code)


def prepare(schema: GraphQLSchema, query: str) -> Prepared:
    """The outcome of checking, parsing and validating ``query`` against ``schema`` (cached)."""
    return _prepare(schema, query)


def _facts(refusal: Refusal) -> RefusalFacts:
    return (refusal.message, refusal.status, refusal.code)


@functools.lru_cache(maxsize=MAX_PREPARED)
def _prepare(schema: GraphQLSchema, query: str) -> Prepared:
    # lru_cache is thread-safe: requests are answered in worker threads.
    try:
        guards.check_query(query)
    except Refusal as refusal:
        return Prepared(text_refusal=_facts(refusal))
    try:
        document = parse(query, max_tokens=guards.MAX_QUERY_TOKENS)
    except GraphQLError as exc:
        if f"more than {guards.MAX_QUERY_TOKENS} tokens" in exc.message:
            return Prepared(parse_refusal=_facts(refusals.too_many_tokens(guards.MAX_QUERY_TOKENS)))
        return Prepared(message=exc.message)
    problems = validate(schema, document)
    if problems:
        return Prepared(message=cloudflare_message(problems[0].message))
    return Prepared(document=document)


def cache_info() -> functools._CacheInfo:
    """Hits, misses and size of the cache (for the benchmark and the tests)."""
    return _prepare.cache_info()


def clear() -> None:
    """Forget every prepared text."""
    _prepare.cache_clear()
