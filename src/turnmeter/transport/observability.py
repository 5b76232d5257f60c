"""Logging and optional OpenTelemetry spans for every request turnmeter sends.

Loggers are children of ``"turnmeter"``: ``turnmeter.transport`` (one DEBUG record per attempt,
one WARNING when a request finally fails), ``turnmeter.retry`` (one INFO record per retry) and
``turnmeter.budget``; their names stay as they were before the modules moved into folders. Records
carry the operation name, attempt, duration and outcome as
``extra`` fields (``turnmeter_operation``, ``turnmeter_attempt``, ``turnmeter_duration_ms``,
``turnmeter_outcome``) for structured handlers. They never carry the token, headers, variables
or bodies.

If ``opentelemetry`` is importable, each attempt is also a span named ``turnmeter <operation>``
with the same attributes; without it, spans cost nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from turnmeter.transport.retry import RetryEvent

# A library's records are for its user's handlers: without one, logging.lastResort would print
# every WARNING to stderr (the CLI's one-line errors came out as two lines).
logging.getLogger("turnmeter").addHandler(logging.NullHandler())
transport_logger = logging.getLogger("turnmeter.transport")
retry_logger = logging.getLogger("turnmeter.retry")
budget_logger = logging.getLogger("turnmeter.budget")

#: The instrumentation scope name spans are created under.
TRACER_NAME = "turnmeter"


def _load_tracer() -> Any:
    try:
        trace = importlib.import_module("opentelemetry.trace")
    except ImportError:
        return None
    return trace.get_tracer(TRACER_NAME)


_tracer: Any = _load_tracer()

#: The span context of every attempt without opentelemetry: one shared, reusable no-op.
_NO_SPAN: AbstractContextManager[None] = contextlib.nullcontext()


def observing() -> bool:
    """Whether an attempt has anyone to report to: a tracer, or DEBUG records for
    ``turnmeter.transport``. Without either, attempts are neither timed nor wrapped in spans."""
    return _tracer is not None or transport_logger.isEnabledFor(logging.DEBUG)


def attempt_span(operation: str | None, attempt: int) -> AbstractContextManager[Any]:
    """An OpenTelemetry span around one attempt (a no-op without opentelemetry)."""
    # Without a tracer no generator-based context is built per request (about 1 us each).
    return _NO_SPAN if _tracer is None else _span(operation, attempt)


@contextlib.contextmanager
def _span(operation: str | None, attempt: int) -> Iterator[Any]:
    attributes = {"turnmeter.operation": operation or "", "turnmeter.attempt": attempt}
    with _tracer.start_as_current_span(f"turnmeter {operation or 'request'}") as span:
        span.set_attributes(attributes)
        yield span


def record_outcome(span: Any, outcome: str, status: int | None) -> None:
    """Set the outcome (``ok`` or an exception class name) on a span, if there is one."""
    if span is None:
        return
    span.set_attribute("turnmeter.outcome", outcome)
    if status is not None:
        span.set_attribute("http.response.status_code", status)


def log_attempt(
    operation: str | None, attempt: int, seconds: float, outcome: str, status: int | None
) -> None:
    """One DEBUG record per attempt: operation, attempt, duration, outcome, status."""
    if not transport_logger.isEnabledFor(logging.DEBUG):
        return
    transport_logger.debug(
        "%s attempt %d: %s (HTTP %s) in %.1f ms",
        operation or "request",
        attempt,
        outcome,
        status if status is not None else "-",
        seconds * 1000,
        extra=_extra(operation, attempt, seconds, outcome),
    )


def log_retry(event: RetryEvent) -> None:
    """One INFO record per retry."""
    retry_logger.info(
        "%s",
        event,
        extra=_extra(event.operation, event.attempt, event.elapsed, type(event.error).__name__),
    )


def log_failure(operation: str | None, attempts: int, seconds: float, error: BaseException) -> None:
    """One WARNING when a request fails for good (after its retries)."""
    transport_logger.warning(
        "%s failed after %d attempt(s) in %.1f ms: %s",
        operation or "request",
        attempts,
        seconds * 1000,
        type(error).__name__,
        extra=_extra(operation, attempts, seconds, type(error).__name__),
    )


def _extra(operation: str | None, attempt: int, seconds: float, outcome: str) -> dict[str, Any]:
    return {
        "turnmeter_operation": operation,
        "turnmeter_attempt": attempt,
        "turnmeter_duration_ms": round(seconds * 1000, 1),
        "turnmeter_outcome": outcome,
    }
