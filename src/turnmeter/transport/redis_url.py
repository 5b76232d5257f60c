"""A Redis URL as a secret: checked once, shown only with its password hidden.

``redis://user:password@host:6379/0`` carries a credential like the API token does. A
:class:`RedisURL` keeps the text whole for the one place that connects, and shows everywhere
else (reprs, logs, exception messages) the form with the password replaced by ``***``. Nothing
here imports the ``redis`` package: a budget can be configured (and checked) without it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from turnmeter.errors import ConfigError

#: The environment variable a client reads its Redis URL from when none is passed.
ENV_REDIS_URL = "TURNMETER_REDIS_URL"
#: Schemes redis-py connects to: TCP, TLS over TCP, a Unix socket.
SCHEMES = ("redis", "rediss", "unix")
#: What a hidden password is shown as.
HIDDEN = "***"


class RedisURL:
    """A checked Redis URL whose password never shows (not in repr, str or format)."""

    __slots__ = ("_shown", "_url")
    _url: str
    _shown: str

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise ConfigError(f"a Redis URL must be a string, not {type(url).__name__}")
        object.__setattr__(self, "_shown", _shown(url))
        object.__setattr__(self, "_url", url)

    @classmethod
    def of(cls, value: object) -> RedisURL:
        """``value`` (a str or a RedisURL) as a RedisURL."""
        return value if isinstance(value, RedisURL) else cls(value)  # type: ignore[arg-type]

    def reveal(self) -> str:
        """The URL itself, password included; only for the call that connects."""
        return self._url

    @property
    def shown(self) -> str:
        """The URL with its password (in the user part or the query) replaced by ``***``."""
        return self._shown

    def secrets(self) -> tuple[str, ...]:
        """The raw strings to redact from anything a library says about this URL."""
        parts = urlsplit(self._url)
        found = [parts.password or ""]
        found += [value for key, value in parse_qsl(parts.query) if key == "password"]
        return (*(secret for secret in found if secret), self._url)

    def __repr__(self) -> str:
        return f"RedisURL({self._shown!r})"

    def __str__(self) -> str:
        return self._shown

    def __format__(self, spec: str) -> str:
        return self._shown

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RedisURL) and other._url == self._url

    def __hash__(self) -> int:
        return hash((RedisURL, self._url))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RedisURL is immutable")

    def __copy__(self) -> RedisURL:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> RedisURL:
        return self

    # Pickled whole (settings sent to worker processes), as auth.Secret is.
    def __reduce__(self) -> tuple[type[RedisURL], tuple[str]]:
        return (RedisURL, (self._url,))


def _shown(url: str) -> str:
    """The display form of ``url``, or a ConfigError that quotes only that form."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a port that is no number
    except ValueError:
        raise ConfigError(
            "the Redis URL cannot be read; expected redis://[user:password@]host[:port][/db]"
        ) from None
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"  # an IPv6 literal
    if port is not None:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password is not None:
        user = parts.username or ""
        netloc = f"{user}:{HIDDEN}@{netloc}" if parts.password is not None else f"{user}@{netloc}"
    query = "&".join(
        f"{key}={HIDDEN if key == 'password' else value}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    shown = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    if parts.scheme not in SCHEMES:
        raise ConfigError(
            f"a Redis URL starts with {', '.join(s + '://' for s in SCHEMES)}; got {shown!r}"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(f"a unix:// Redis URL names a socket path; got {shown!r}")
    elif not parts.hostname:
        raise ConfigError(f"the Redis URL names no host; got {shown!r}")
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        raise ConfigError(f"the Redis URL's database must be a number; got {shown!r}")
    return shown
