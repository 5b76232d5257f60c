"""Credentials as small strategy objects whose reprs never show the secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from turnmeter.errors import ConfigError
from turnmeter.validate import header_value


class Secret:
    """A string that never appears in reprs, str() or formatted output.

    Not a dataclass on purpose: :func:`dataclasses.asdict` walks into dataclasses and would
    copy the raw string out; a plain object is copied whole, still hidden.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"a secret must be a string, got {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret itself; call only where it goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    # Immutable, so copies may share it; pickling keeps it (settings sent to worker processes).
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))


def _secret(name: str, value: object) -> Secret:
    # A plain string is accepted and wrapped, so the raw value is never kept as a field.
    secret = value if isinstance(value, Secret) else Secret(value)  # type: ignore[arg-type]
    header_value(name, secret.reveal())
    return secret


@dataclass(frozen=True, slots=True)
class BearerToken:
    """An API token with *Account Analytics: Read* (``Authorization: Bearer ...``)."""

    token: Secret

    def __post_init__(self) -> None:
        object.__setattr__(self, "token", _secret("api_token", self.token))

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token.reveal()}"}

    def secrets(self) -> tuple[str, ...]:
        """The raw values to redact wherever a server might echo them back."""
        return (self.token.reveal(),)


@dataclass(frozen=True, slots=True)
class GlobalApiKey:
    """Cloudflare's legacy e-mail plus Global API Key pair."""

    email: str
    key: Secret

    def __post_init__(self) -> None:
        if not isinstance(self.email, str) or not self.email:
            raise ConfigError("email must be a non-empty string")
        header_value("email", self.email)
        object.__setattr__(self, "key", _secret("key", self.key))

    def headers(self) -> Mapping[str, str]:
        return {"X-Auth-Email": self.email, "X-Auth-Key": self.key.reveal()}

    def secrets(self) -> tuple[str, ...]:
        """The raw values to redact wherever a server might echo them back."""
        return (self.key.reveal(),)


@dataclass(frozen=True, slots=True)
class NoAuth:
    """No credentials (a sandbox started without a token)."""

    def headers(self) -> Mapping[str, str]:
        return {}

    def secrets(self) -> tuple[str, ...]:
        return ()


Auth = BearerToken | GlobalApiKey | NoAuth
