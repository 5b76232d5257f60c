"""Credentials as small strategy objects whose reprs never show the secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Secret:
    """A string that never appears in reprs, str() or formatted output."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The secret itself; call only where it goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


@dataclass(frozen=True, slots=True)
class BearerToken:
    """An API token with *Account Analytics: Read* (``Authorization: Bearer ...``)."""

    token: Secret

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token.reveal()}"}


@dataclass(frozen=True, slots=True)
class GlobalApiKey:
    """Cloudflare's legacy e-mail plus Global API Key pair."""

    email: str
    key: Secret

    def headers(self) -> Mapping[str, str]:
        return {"X-Auth-Email": self.email, "X-Auth-Key": self.key.reveal()}


@dataclass(frozen=True, slots=True)
class NoAuth:
    """No credentials (a sandbox started without a token)."""

    def headers(self) -> Mapping[str, str]:
        return {}


Auth = BearerToken | GlobalApiKey | NoAuth
