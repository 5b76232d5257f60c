"""``TurnCredentials``: mint and revoke Cloudflare TURN credentials, asking the budget first.

::

    async with TurnUsage() as turn, BudgetGuard(turn) as guard:
        async with TurnCredentials(
            key_id="...", guard=guard, policy=IssuePolicy(budget_usd=250)
        ) as creds:                                     # key token: CLOUDFLARE_TURN_KEY_TOKEN
            servers = await creds.issue(custom_identifier="acme", ttl=3600)
            send_to_browser(servers.to_json())          # {"iceServers": [...]}
            ...
            await creds.revoke(servers.username)

The TURN key's API token is a second secret, kept like the analytics token: a
:class:`~turnmeter.auth.Secret`, sent only to the TURN API's endpoint, redacted from anything a
server echoes back, never in a repr, a log record or an exception.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import aiohttp

from turnmeter.auth import BearerToken, Secret
from turnmeter.budget import BudgetGuard
from turnmeter.credentials.audit import audit
from turnmeter.credentials.ice import (
    CLOUDFLARE_STUN_URLS,
    IceServer,
    IceServers,
    parse_ice_servers,
    stun_only,
)
from turnmeter.credentials.policy import (
    CustomerMeter,
    IssueDecision,
    IssuePolicy,
    OnRefusal,
    decide,
)
from turnmeter.errors import ConfigError, CredentialRefused, TurnmeterError
from turnmeter.lifecycle import AsyncLifecycle
from turnmeter.settings import DEFAULT_TIMEOUT, ClientSettings
from turnmeter.transport.rest import RestTransport
from turnmeter.transport.retry import RetryHook, RetryPolicy

#: Cloudflare's Realtime API (the TURN key API lives under it).
CLOUDFLARE_RTC_ENDPOINT = "https://rtc.live.cloudflare.com/v1"
ENV_KEY_ID = "CLOUDFLARE_TURN_KEY_ID"
ENV_KEY_TOKEN = "CLOUDFLARE_TURN_KEY_TOKEN"
ENV_RTC_ENDPOINT = "TURNMETER_RTC_ENDPOINT"
#: Cloudflare's FAQ: credentials live at most 48 hours.
MAX_TTL = 48 * 3600
#: Key ids and usernames go into URL paths: hexadecimal at Cloudflare, so nothing that needs
#: quoting (a "/" or ".." must not reach another path).
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MAX_CUSTOM_IDENTIFIER = 256


class TurnCredentials(AsyncLifecycle):
    """Mints and revokes credentials of one TURN key, asking ``guard`` (and ``customers``)
    first when given.

    ``key_id`` and ``key_token`` fall back to ``CLOUDFLARE_TURN_KEY_ID`` and
    ``CLOUDFLARE_TURN_KEY_TOKEN``, ``endpoint`` to ``TURNMETER_RTC_ENDPOINT`` and then to
    Cloudflare's. ``policy`` says the budget, the per-customer caps and whether a refusal
    raises :class:`~turnmeter.errors.CredentialRefused` or answers STUN only; ``customers``
    measures the caps (:class:`~turnmeter.credentials.CustomerMeter`). ``retry``, ``timeout``
    and ``session`` are the transport's (:mod:`turnmeter.transport.rest`).
    """

    def __init__(
        self,
        *,
        key_id: str | None = None,
        key_token: str | Secret | None = None,
        guard: BudgetGuard | None = None,
        policy: IssuePolicy | None = None,
        customers: CustomerMeter | None = None,
        endpoint: str | None = None,
        stun_urls: tuple[str, ...] = CLOUDFLARE_STUN_URLS,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        on_retry: RetryHook | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        key = key_id or env.get(ENV_KEY_ID)
        if not key:
            raise ConfigError(f"no TURN key id: pass key_id= or set {ENV_KEY_ID}")
        self.key_id = _segment("key_id", key)
        token = key_token if key_token is not None else env.get(ENV_KEY_TOKEN)
        if not token:
            raise ConfigError(f"no TURN key token: pass key_token= or set {ENV_KEY_TOKEN}")
        if not isinstance(token, str | Secret):
            raise ConfigError(f"key_token must be a string, got {type(token).__name__}")
        url = endpoint or env.get(ENV_RTC_ENDPOINT) or CLOUDFLARE_RTC_ENDPOINT
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"endpoint must be an http(s) URL, got {str(url)[:80]!r}")
        self.policy = policy if policy is not None else IssuePolicy()
        if not isinstance(self.policy, IssuePolicy):
            raise ConfigError(f"policy must be an IssuePolicy, got {type(policy).__name__}")
        if guard is not None and not isinstance(guard, BudgetGuard):
            raise ConfigError(f"guard must be a BudgetGuard, got {type(guard).__name__}")
        if self.policy.budget_usd is not None and guard is None:
            raise ConfigError("the policy has a budget_usd: pass the guard that measures it")
        if guard is not None and self.policy.budget_usd is None:
            # Silently minting without limit would be the worst reading of this mistake.
            raise ConfigError("a guard needs a budget: pass policy=IssuePolicy(budget_usd=...)")
        if self.policy.has_caps and customers is None:
            raise ConfigError("the policy caps customers: pass customers=CustomerMeter(turn)")
        self.guard = guard
        self.customers = customers
        self.stun_urls = tuple(stun_urls)
        settings = ClientSettings(
            account_tag="",  # the TURN key API is per key, not per account
            auth=BearerToken(token if isinstance(token, Secret) else Secret(token)),
            endpoint=f"{url.rstrip('/')}/turn/keys/{self.key_id}/credentials",
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy(),
        )
        self.transport = RestTransport(settings, session=session, on_retry=on_retry)

    def __repr__(self) -> str:
        return f"TurnCredentials(key_id={self.key_id!r}, guard={self.guard!r})"

    async def _exit(self, exc: BaseException | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the HTTP session (if this client opened it)."""
        await self.transport.close()

    async def decide(self, custom_identifier: str | None = None) -> IssueDecision:
        """The policy's answer for ``custom_identifier`` (within the guards' deadline)."""
        return await decide(self.policy, self.guard, self.customers, custom_identifier)

    async def issue(self, *, custom_identifier: str | None = None, ttl: int) -> IceServers:
        """ICE servers for one end user: STUN, TURN over UDP and TCP, TURNS, as Cloudflare
        answers, with a fresh username and credential valid for ``ttl`` seconds.

        With a guard the policy is asked first: a refusal raises
        :class:`~turnmeter.errors.CredentialRefused`, or answers STUN only
        (``stun_only=True``) under :attr:`OnRefusal.STUN_ONLY`; nothing is minted then.
        """
        seconds = check_ttl(ttl)
        customer = _custom_identifier(custom_identifier)
        decision = await self.decide(customer)
        if not decision.allowed:
            return self._refused(decision, seconds)
        payload: dict[str, object] = {"ttl": seconds}
        if customer is not None:
            payload["customIdentifier"] = customer
        operation = "generate-ice-servers"
        try:
            answer = await self.transport.post(f"/{operation}", payload, operation=operation)
            servers = parse_ice_servers(answer.body, operation)
        except TurnmeterError as exc:
            # Allowed, but nothing was issued: the record says so (the type only: a message
            # quoting a server is not an audit line's to repeat).
            audit("failed", customer=customer, reason=type(exc).__name__, detail=decision.detail)
            raise
        issued = IceServers(servers, customer, seconds, stun_only=False, decision=decision)
        audit(
            "issue",
            customer=customer,
            reason=decision.reason,
            detail=decision.detail,
            username=issued.username,
            ttl=seconds,
        )
        return issued

    async def generate(self, *, custom_identifier: str | None = None, ttl: int) -> IceServer:
        """The bare ``generate`` endpoint: one username and credential, no policy asked."""
        seconds = check_ttl(ttl)
        customer = _custom_identifier(custom_identifier)
        payload: dict[str, object] = {"ttl": seconds}
        if customer is not None:
            payload["customIdentifier"] = customer
        answer = await self.transport.post("/generate", payload, operation="generate")
        (server,) = parse_ice_servers(answer.body, "generate")[:1]
        audit(
            "generate",
            customer=customer,
            reason="no_guard",
            detail="bare generate",
            username=server.username,
            ttl=seconds,
        )
        return server

    async def revoke(self, username: str) -> None:
        """Revoke ``username`` at once: Cloudflare stops billing it (live relays may run on
        for minutes, so a guard should act early)."""
        name = _segment("username", username)
        await self.transport.post(f"/{name}/revoke", None, operation="revoke")
        audit("revoke", customer=None, reason="revoked", detail="revoked", username=name)

    def _refused(self, decision: IssueDecision, ttl: int) -> IceServers:
        if self.policy.on_refusal is OnRefusal.STUN_ONLY:
            audit(
                "stun_only",
                customer=decision.customer,
                reason=decision.reason,
                detail=decision.detail,
                ttl=ttl,
            )
            return IceServers(stun_only(self.stun_urls), decision.customer, ttl, True, decision)
        audit("refuse", customer=decision.customer, reason=decision.reason, detail=decision.detail)
        who = f"customer {decision.customer!r}" if decision.customer else "the account"
        raise CredentialRefused(
            f"no TURN credential for {who}: {decision.reason} ({decision.detail})",
            reason=decision.reason,
            customer=decision.customer,
            decision=decision,
        )


def check_ttl(ttl: object) -> int:
    """``ttl`` as whole seconds in ``[1, 48 h]``, else :class:`ConfigError`."""
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise ConfigError(f"ttl must be a whole number of seconds, got {type(ttl).__name__}")
    if not 1 <= ttl <= MAX_TTL:
        raise ConfigError(f"ttl must be between 1 and {MAX_TTL} seconds (48 h), got {ttl}")
    return ttl


def _custom_identifier(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"custom_identifier must be a non-empty string or None, got {value!r}")
    if len(value) > _MAX_CUSTOM_IDENTIFIER or not value.isprintable():
        raise ConfigError(
            f"custom_identifier must be at most {_MAX_CUSTOM_IDENTIFIER} printable characters"
        )
    return value


def _segment(name: str, value: object) -> str:
    # The value is not shown: a token pasted into the wrong variable must not be printed.
    if not isinstance(value, str) or not _PATH_SEGMENT.fullmatch(value):
        raise ConfigError(
            f"{name} must be 1-256 letters, digits, '-' or '_' (it goes into the URL path); "
            "the value given is not"
        )
    return value
