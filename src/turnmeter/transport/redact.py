"""Redaction of credentials echoed back by a server.

A hostile or misconfigured server (or proxy) may quote the request's ``Authorization`` or
``X-Auth-Key`` in its body, its error messages or even its status line. Every message
turnmeter builds from what a server sent passes through a :class:`Redactor` first, so the
secret never reaches an exception, a log record or a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from turnmeter.errors import GraphQLErrorDetail, GraphQLErrors, TurnmeterError

#: What a secret is replaced with.
REDACTED = "[redacted]"


class Redactor:
    """Replaces each of a few secret strings with :data:`REDACTED`."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so that a secret containing another is replaced whole.
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"<Redactor of {len(self._secrets)} secret(s)>"

    @property
    def longest(self) -> int:
        """The length of the longest secret (0 without any)."""
        return len(self._secrets[0]) if self._secrets else 0

    def text(self, value: str) -> str:
        """``value`` with every secret replaced."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def excerpt(self, body: bytes, size: int) -> str:
        """The first ``size`` characters of ``body``, redacted before cutting.

        Cutting first could leave a recognisable half of a secret at the excerpt's end.
        """
        window = body[: size + self.longest].decode("utf-8", "replace")
        return self.text(window)[:size]

    def value(self, value: Any) -> Any:
        """``value`` (JSON-like) with every string in it redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def detail(self, detail: GraphQLErrorDetail) -> GraphQLErrorDetail:
        """One GraphQL error with its message and extensions redacted."""
        if not self._secrets:
            return detail
        path = detail.path
        if path is not None:
            path = tuple(self.text(part) if isinstance(part, str) else part for part in path)
        return replace(
            detail,
            message=self.text(detail.message),
            path=path,
            extensions=self.value(detail.extensions),
        )

    def exception(self, exc: TurnmeterError) -> TurnmeterError:
        """``exc`` with its message (and GraphQL error details) redacted, in place."""
        if self._secrets:
            exc.args = tuple(self.text(a) if isinstance(a, str) else a for a in exc.args)
            if isinstance(exc, GraphQLErrors):
                exc.errors = tuple(self.detail(d) for d in exc.errors)
        return exc


#: Redacts nothing (no credentials to hide).
NO_REDACTION = Redactor()
