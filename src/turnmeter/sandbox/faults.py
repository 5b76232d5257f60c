"""Fault injection: scripted failures for clients' tests ("fail twice, then answer").

Each pushed :class:`Fault` is consumed by the next ``/graphql`` request. Faults travel as JSON
through the control API (``POST /__sandbox/faults``) so another process can script them too.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["status", "reset", "truncated", "html", "not_json", "delay", "graphql_error"]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]

DEFAULT_HTML_STATUS = 502
#: The longest ``delay`` fault and ``latency``, in seconds: longer than any client timeout a
#: test would set, short enough that a typo (``600`` for ``0.6``) does not hang a run for long.
MAX_DELAY = 60.0
#: Scripted statuses: a final HTTP answer that carries a body (no 1xx, 204, 205 or 304).
MIN_STATUS, MAX_STATUS = 200, 599
_BODILESS = frozenset((204, 205, 304))
_FIELDS = {"kind", "status", "http_status", "body", "message", "code", "seconds"}


def check_seconds(name: str, value: object) -> float:
    """``value`` as a delay in seconds: a finite number in ``[0, MAX_DELAY]``, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f'"{name}" must be a number of seconds, not {value!r}')
    # NaN compares false with everything, so it must be caught before the range check
    if not math.isfinite(value) or not 0 <= value <= MAX_DELAY:
        raise ValueError(f'"{name}" must be between 0 and {MAX_DELAY:g} seconds, not {value!r}')
    return float(value)


def _check_status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'"status" must be an integer HTTP status, not {value!r}')
    if not MIN_STATUS <= value <= MAX_STATUS or value in _BODILESS:
        raise ValueError(
            f'"status" must be an HTTP status from {MIN_STATUS} to {MAX_STATUS} that carries '
            f"a body, not {value}"
        )
    return value


@dataclass(frozen=True)
class Fault:
    """One scripted failure; build it with the class methods, e.g. ``Fault.status(503)``."""

    kind: FaultKind
    http_status: int = 200
    body: str | None = None
    message: str | None = None
    code: str | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f'"kind" must be one of {", ".join(FAULT_KINDS)}, not {self.kind!r}')
        _check_status(self.http_status)
        check_seconds("seconds", self.seconds)
        for name in ("body", "message", "code"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f'"{name}" must be a string, not {value!r}')

    @classmethod
    def status(cls, status: int, body: str | None = None) -> Fault:
        """Answer with HTTP ``status``; ``body`` as given, else Cloudflare's JSON for it."""
        return cls("status", http_status=status, body=body)

    @classmethod
    def reset(cls) -> Fault:
        """Drop the connection with a TCP reset before any response byte."""
        return cls("reset")

    @classmethod
    def truncated(cls) -> Fault:
        """Send the real answer's headers and half its body, then close the connection."""
        return cls("truncated")

    @classmethod
    def html(cls, status: int = DEFAULT_HTML_STATUS) -> Fault:
        """An HTML error page (as a proxy in front of the API would send)."""
        return cls("html", http_status=status)

    @classmethod
    def not_json(cls, status: int = 200, body: str = "upstream connect error") -> Fault:
        """A plain-text body where JSON was expected."""
        return cls("not_json", http_status=status, body=body)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds``, then answer normally."""
        return cls("delay", seconds=seconds)

    @classmethod
    def graphql_error(cls, message: str, code: str | None = None, status: int = 200) -> Fault:
        """A Cloudflare-shaped ``errors[]`` body with ``message`` (and ``extensions.code``)."""
        return cls("graphql_error", http_status=status, message=message, code=code)

    def to_json(self) -> dict[str, Any]:
        """This fault as a JSON object for the control API."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from its JSON form; ``status`` is accepted for ``http_status``.

        Raises ValueError naming the first bad field: a typo'd key is an error, not a default.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f'"faults" must hold fault objects, not {data!r}')
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise ValueError(f'"{unknown[0]}" is not a fault field; expected {sorted(_FIELDS)}')
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f'"kind" must be one of {", ".join(FAULT_KINDS)}, not {kind!r}')
        fields = {k: v for k, v in data.items() if k in _FIELDS - {"kind", "status"}}
        if "status" in data:
            fields["http_status"] = data["status"]
        default_status = DEFAULT_HTML_STATUS if kind == "html" else 200
        fields.setdefault("http_status", default_status)
        return cls(kind, **fields)


def parse_fault_spec(spec: str) -> Fault:
    """A CLI fault spec: ``503``, ``status:500``, ``reset``, ``truncated``, ``html``,
    ``not_json``, ``delay:0.5``, ``error:MESSAGE``."""
    kind, _, arg = spec.partition(":")
    if kind.isdigit():
        return Fault.status(int(kind))
    builders: dict[str, Callable[[], Fault]] = {
        "status": lambda: Fault.status(int(arg)),
        "reset": Fault.reset,
        "truncated": Fault.truncated,
        "html": lambda: Fault.html(int(arg) if arg else DEFAULT_HTML_STATUS),
        "not_json": Fault.not_json,
        "delay": lambda: Fault.delay(float(arg)),
        "error": lambda: Fault.graphql_error(arg or "Internal server error"),
    }
    if kind not in builders:
        raise ValueError(f"unknown fault {spec!r}; try 503, reset, truncated, html, delay:0.5")
    return builders[kind]()


class FaultQueue:
    """Faults waiting for the next requests, plus a latency added to every request."""

    def __init__(self) -> None:
        self._pending: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self._latency = 0.0

    @property
    def latency(self) -> float:
        """Seconds added to every ``/graphql`` request (0 to MAX_DELAY)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        # validated here, for every caller: a NaN latency made every request hang
        self._latency = check_seconds("latency", seconds)

    def push(self, *faults: Fault) -> None:
        """Queue faults; the next requests consume them in order."""
        with self._lock:
            self._pending.extend(faults)

    def pop(self) -> Fault | None:
        """The next fault, or None when the next request should be answered normally."""
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def clear(self) -> None:
        """Drop every pending fault and the latency."""
        with self._lock:
            self._pending.clear()
            self._latency = 0.0

    def pending(self) -> list[Fault]:
        """The faults still queued, next first."""
        with self._lock:
            return list(self._pending)

    def __len__(self) -> int:
        return len(self._pending)
