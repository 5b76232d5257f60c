"""The one way turnmeter talks to Redis: a lazy import, a bounded pool, translated errors.

Every command is bounded by ``timeout`` (connect, send, read, and the wait for a free pooled
connection), redis-py's own retries are off (a caller decides what a failure means: the budget
falls back, the guard follows its policy), and every redis or socket error leaves as
:class:`~turnmeter.errors.StoreUnavailable` whose message shows the URL with its password hidden
and has the password redacted from whatever redis-py said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from turnmeter.errors import ConfigError, StoreUnavailable
from turnmeter.transport.redact import Redactor
from turnmeter.transport.redis_url import RedisURL

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

#: Seconds one Redis command may take, connection included: loopback answers in well under a
#: millisecond and a LAN in a few; a second means the server is gone or stuck.
DEFAULT_REDIS_TIMEOUT = 1.0
#: Connections one process keeps to Redis; callers beyond it queue (within the timeout).
DEFAULT_REDIS_CONNECTIONS = 16
#: What to install when the redis package is missing.
INSTALL_HINT = "pip install 'turnmeter[redis]'"

_T = TypeVar("_T")


def redis_package() -> ModuleType:
    """``redis.asyncio``, or a ConfigError saying which extra installs it."""
    try:
        import redis.asyncio
    except ImportError:
        raise ConfigError(
            f"a Redis URL needs the redis package, which is not installed: {INSTALL_HINT}"
        ) from None
    return redis.asyncio


class RedisConnection:
    """A pool of connections to one Redis, opened on first use in each event loop."""

    def __init__(
        self,
        url: RedisURL,
        *,
        timeout: float = DEFAULT_REDIS_TIMEOUT,
        max_connections: int = DEFAULT_REDIS_CONNECTIONS,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._max_connections = max_connections
        self._redactor = Redactor(url.secrets())
        self._package = redis_package()  # fail at construction, not at the first request
        self._client: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[str, AsyncScript] = {}

    def __repr__(self) -> str:
        return f"RedisConnection({self.url.shown!r}, timeout={self.timeout:g})"

    def client(self) -> Redis:
        """The client for the running event loop (redis-py's connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._open()
            self._loop = loop
            self._scripts.clear()
        return self._client

    def script(self, source: str) -> AsyncScript:
        """``source`` registered as a Lua script (EVALSHA, loaded again after a restart)."""
        client = self.client()
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = client.register_script(source)
        return found

    async def call(self, what: str, command: Callable[[Redis], Awaitable[_T]]) -> _T:
        """``await command(client)`` within the timeout; any failure is StoreUnavailable."""
        errors = self._errors()
        try:
            async with asyncio.timeout(self.timeout):
                return await command(self.client())
        except errors as exc:
            raise self.unavailable(what, exc) from None

    async def run(self, what: str, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run the Lua ``source`` on ``keys`` with ``args`` (see :meth:`call`)."""

        async def command(_: Redis) -> Any:
            return await self.script(source)(keys=keys, args=args)

        return await self.call(what, command)

    def unavailable(self, what: str, exc: BaseException) -> StoreUnavailable:
        """A StoreUnavailable for ``exc``: the shown URL, redis-py's words with secrets out."""
        said = self._redactor.text(str(exc))[:200] or "no detail"
        return StoreUnavailable(
            f"Redis at {self.url.shown} could not {what} ({type(exc).__name__}: {said}; "
            f"each command is bounded by {self.timeout:g} s)"
        )

    async def aclose(self) -> None:
        """Close the pool of the running loop (best effort: a dead server is not an error)."""
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            try:
                await client.aclose()
            except self._errors():
                pass

    def _open(self) -> Redis:
        package = self._package
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            pool = package.BlockingConnectionPool.from_url(
                self.url.reveal(),
                max_connections=self._max_connections,
                timeout=self.timeout,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
        except (ValueError, TypeError):
            raise ConfigError(f"the Redis URL {self.url.shown} has an unusable option") from None
        client: Redis = package.Redis.from_pool(pool)  # closing the client closes the pool
        return client

    def _errors(self) -> tuple[type[BaseException], ...]:
        from redis.exceptions import RedisError

        return (RedisError, OSError, TimeoutError)
