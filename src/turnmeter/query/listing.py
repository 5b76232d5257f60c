"""Listings that never look complete when they are not: the facade's per-minute and per-key rows.

``timeseries()`` and ``usage_for_custom_identifier()`` list groups, and a listing can hold more
groups than one answer. The rule, per call:

* **No limit** (the default): every row. Pages of :data:`PAGE_ROWS` follow the dimensions
  ascending, each next page filtered past the last row seen (the keyset of
  :mod:`turnmeter.query.windows`, checked to advance); an ``order_by`` other than that is then
  applied here, with the dimensions ascending as tie-breakers, as the server orders. A page
  shorter than asked is the last; so is a full page of a series keyed by the minute alone whose
  last row is the range's last minute (no minute of the range is left for a row to be in).
* **An explicit limit**: at most ``limit`` rows, and :class:`TruncatedResult` (holding the first
  ``limit``) when more exist. A limit under :data:`PAGE_ROWS` asks the server for ``limit + 1``
  rows in the caller's order and drops the extra; a larger one (``limit + 1`` would be over
  Cloudflare's largest page) pages as above.

Top-N methods are not listings: their limit is the size of the ranking asked for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar

from turnmeter.errors import ConfigError, TruncatedResult
from turnmeter.generated import OrderBy
from turnmeter.query.catalog import FieldSpec, lookup
from turnmeter.query.filters import TIME_DIMENSION, encode_filter
from turnmeter.query.windows import check_page, keyset_after

#: Rows per page when paging: Cloudflare's usual maxPageSize, which every account allows.
PAGE_ROWS = 10_000

T = TypeVar("T")
Fetch = Callable[[dict[str, Any]], Awaitable[list[T]]]


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing operation: its decoder paths (row fields, in order) and paging dimensions."""

    operation: str
    paths: tuple[str, ...]
    #: The selected dimensions (decoder paths) in the order pages follow, ascending.
    keys: tuple[str, ...]

    @property
    def order(self) -> tuple[FieldSpec, ...]:
        return tuple(lookup(path, "dimension") for path in self.keys)

    @property
    def paging_enums(self) -> list[str]:
        return [f"{spec.order}_ASC" for spec in self.order]


#: The facade's listings: decoder paths in row order, then the paging dimensions.
SERIES = Listing(
    "UsageTimeseries",
    ("dimensions.datetimeMinute", "sum.egressBytes"),
    ("dimensions.datetimeMinute",),
)
PER_KEY = Listing(
    "UsageForCustomIdentifier",
    ("dimensions.customIdentifier", "dimensions.keyId", "sum.egressBytes"),
    ("dimensions.keyId", "dimensions.customIdentifier"),
)


async def collect(
    listing: Listing,
    fetch: Fetch[T],
    row: type[T],
    variables: dict[str, Any],
    limit: int | None,
    order: list[OrderBy] | None,
) -> list[T]:
    """The rows of ``listing`` under the rule of this module (``variables`` without a limit)."""
    if limit is not None and limit < PAGE_ROWS:
        asked = dict(variables, limit=limit + 1)
        if order is not None:
            asked["orderBy"] = [value.value for value in order]
        return _within(listing, await fetch(asked), limit)
    sort = order is not None and [v.value for v in order] != listing.paging_enums
    sort_keys = _sort_keys(listing, row, order) if sort and order is not None else []
    # Kept in paging order, limit + 1 rows tell whether more exist; re-sorted, every row counts.
    want = None if limit is None or sort else limit + 1
    rows = await _pages(listing, fetch, row, variables, want)
    for attribute, descending in reversed(sort_keys):
        rows.sort(key=lambda item: getattr(item, attribute), reverse=descending)
    return rows if limit is None else _within(listing, rows, limit)


def _within(listing: Listing, rows: list[T], limit: int) -> list[T]:
    if len(rows) <= limit:
        return rows
    raise TruncatedResult(
        f"{listing.operation}: more than limit={limit} rows match; the first {limit} are in "
        ".rows. Call without limit= for every row (paged), or narrow the range",
        rows=rows[:limit],
        limit=limit,
    )


async def _pages(
    listing: Listing,
    fetch: Fetch[T],
    row: type[T],
    variables: dict[str, Any],
    want: int | None,
) -> list[T]:
    order = listing.order
    # One attrgetter reads a page's keys in C (a value per row, or a tuple for several names).
    read_keys = attrgetter(*_attributes(listing, row, listing.keys))
    rows: list[T] = []
    last: Any = None
    base_filter = variables["filter"]
    final = _last_minute(listing, base_filter)
    while True:
        size = PAGE_ROWS if want is None else min(PAGE_ROWS, want - len(rows))
        filter_ = base_filter
        if last is not None:
            after = keyset_after(order, last if len(order) > 1 else (last,))
            filter_ = {**base_filter, "AND": [encode_filter(after)]}
        asked = dict(variables, filter=filter_, limit=size, orderBy=listing.paging_enums)
        page = await fetch(asked)
        keys = list(map(read_keys, page))
        check_page(order, last, keys, f"a page of {listing.operation}")
        rows.extend(page)
        if len(page) < size or (want is not None and len(rows) >= want):
            return rows
        last = keys[-1]
        if final is not None and last >= final:
            return rows  # the page after could only hold minutes past the range


def _last_minute(listing: Listing, filter_: dict[str, Any]) -> datetime | None:
    """The last minute a series keyed by the minute alone can hold (None for other listings).

    Its rows are whole minutes before the filter's ``datetimeMinute_lt``: the minute that end
    falls in, or the one before it when the end is a whole minute. A full page that reaches it
    is complete, and the one-row request that would prove it is not sent.
    """
    end = filter_.get(f"{TIME_DIMENSION}_lt")
    if listing.keys != (f"dimensions.{TIME_DIMENSION}",) or not isinstance(end, str):
        return None
    moment = datetime.fromisoformat(end)
    minute = moment.replace(second=0, microsecond=0)
    return minute - timedelta(minutes=1) if minute == moment else minute


def _attributes(listing: Listing, row: type[Any], paths: Sequence[str]) -> list[str]:
    # Decoder paths map by position onto the row dataclass's fields.
    names = [f.name for f in fields(row)]
    return [names[listing.paths.index(path)] for path in paths]


def _sort_keys(
    listing: Listing, row: type[Any], order: Sequence[OrderBy]
) -> list[tuple[str, bool]]:
    # An orderBy value is "<stem>_ASC|_DESC"; a path "dimensions.keyId" has the stem "keyId",
    # "sum.egressBytes" the stem "sum_egressBytes".
    stems = {_stem(path): path for path in listing.paths}
    keys: list[tuple[str, bool]] = []
    for value in order:
        stem, _, direction = value.value.rpartition("_")
        path = stems.get(stem)
        if path is None:
            raise ConfigError(
                f"order_by {value.value} is on a field {listing.operation} does not return, so "
                "its rows cannot be paged in that order; pass limit= (at most "
                f"{PAGE_ROWS - 1}) to let the server order one page"
            )
        keys.append((_attributes(listing, row, [path])[0], direction == "DESC"))
    return keys


def _stem(path: str) -> str:
    block, _, name = path.partition(".")
    return name if block == "dimensions" else f"{block}_{name}"
