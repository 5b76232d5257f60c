"""Exit codes, one per error family, and the one-line hint printed with each."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # also: diff found breaking changes; budget exceeded
    USAGE = 2  # bad arguments (argparse's own code)
    CHANGED = 3  # diff: no breakage, but generated code would change
    CONFIG = 4  # the account, token or endpoint is missing or wrong
    AUTH = 5
    RATE_LIMITED = 6
    TRANSPORT = 7
    SERVER = 8
    QUERY = 9
    SCHEMA = 10
    PARTIAL = 11  # several accounts: some answered, the others are named on stderr
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


def _families() -> tuple[tuple[type[BaseException], ExitCode, str], ...]:
    # turnmeter.errors is imported when an error is being reported, not at every start-up.
    from turnmeter import errors
    from turnmeter.cli.setup_errors import ConfigFileError, CredentialsError

    return (
        (
            CredentialsError,
            ExitCode.CONFIG,
            " (check --account, CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID)",
        ),
        (
            errors.CredentialRefused,
            ExitCode.FAILURE,
            " (the budget policy refused; --over-budget stun-only answers STUN servers instead)",
        ),
        (ConfigFileError, ExitCode.CONFIG, ""),
        (errors.ConfigError, ExitCode.USAGE, ""),
        (
            errors.AuthError,
            ExitCode.AUTH,
            " (usage needs a token with Account Analytics: Read on this account; credentials "
            "need the TURN key's own token in CLOUDFLARE_TURN_KEY_TOKEN)",
        ),
        (
            errors.RateLimited,
            ExitCode.RATE_LIMITED,
            " (Cloudflare allows 300 queries per 5 minutes)",
        ),
        (errors.TransportError, ExitCode.TRANSPORT, " (is the endpoint reachable?)"),
        (errors.QueryError, ExitCode.QUERY, ""),
        (errors.LimitExceeded, ExitCode.QUERY, " (narrow the range or lower --limit)"),
        (errors.InvalidQuery, ExitCode.QUERY, ""),
        (errors.SchemaError, ExitCode.SCHEMA, ""),
        (errors.TurnmeterError, ExitCode.SERVER, ""),
    )


def exit_code_for(exc: BaseException, *, rate_limit: str | None = None) -> tuple[ExitCode, str]:
    """The exit code and hint for an exception; unknown exceptions are plain failures.

    ``rate_limit`` names a sandbox's own limit ("3 queries per 5 minutes") for its
    rate-limit errors, instead of Cloudflare's.
    """
    from turnmeter import errors

    for family, code, hint in _families():
        if isinstance(exc, family):
            if rate_limit and isinstance(exc, errors.RateLimited):
                hint = f" (this sandbox allows {rate_limit})"
            return code, hint
    return ExitCode.FAILURE, " (run with --debug for a traceback)"
