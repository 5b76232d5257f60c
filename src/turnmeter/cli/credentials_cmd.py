"""``credentials issue`` and ``credentials revoke``: the TURN key API, behind the budget."""

from __future__ import annotations

import argparse
import re
from typing import Any

from turnmeter.cli.options import (
    add_command,
    add_connection_options,
    add_pricing_options,
    decimal_of,
    non_empty,
)

_DURATION = re.compile(r"\s*(\d+)\s*([smhd]?)\s*", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

_ISSUE_HELP = "ICE servers with a fresh TURN username and credential"
_ISSUE_EXAMPLE = "turnmeter credentials issue --customer acme --ttl 1h --budget 250"
_REVOKE_HELP = "revoke a TURN username at once (Cloudflare stops billing it)"
_REVOKE_EXAMPLE = "turnmeter credentials revoke 5f2c...e9 (options after USERNAME: --sandbox [URL])"


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "credentials",
        "Mint TURN credentials with the TURN key's own API token "
        "(CLOUDFLARE_TURN_KEY_ID, CLOUDFLARE_TURN_KEY_TOKEN), or revoke one. With --budget (or "
        "budget_usd in the config file) or --customer-cap-gb, the month-to-date usage is read "
        "first (CLOUDFLARE_API_TOKEN) and the credential is refused, or STUN only is answered, "
        "once the budget or the cap is reached.",
        "Example: turnmeter credentials issue --sandbox --customer acme --ttl 1h",
    )
    commands = parser.add_subparsers(dest="credentials_command", metavar="ACTION", required=True)

    issue = _action(commands, "issue", _ISSUE_HELP, _ISSUE_EXAMPLE)
    issue.add_argument("--customer", type=non_empty, help="custom identifier (your end user)")
    issue.add_argument(
        "--ttl", type=_ttl, required=True, help="lifetime: 3600, 90s, 30m, 1h, 2d (at most 48 h)"
    )
    group = issue.add_argument_group("budget (default: none, or the config file's budget_usd)")
    group.add_argument(
        "--budget",
        type=decimal_of("the budget"),
        metavar="USD",
        help="the account's monthly budget",
    )
    group.add_argument(
        "--customer-cap-gb",
        type=decimal_of("the cap"),
        metavar="GB",
        help="refuse --customer once its month-to-date egress has reached GB",
    )
    group.add_argument(
        "--over-budget",
        choices=("refuse", "stun-only"),
        default="refuse",
        help="refuse (exit 1, the default) or answer STUN servers only",
    )
    add_pricing_options(issue)
    output = issue.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=("table", "json"),
        help="json: {'iceServers': [...]} as RTCPeerConnection takes it",
    )
    output.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    issue.set_defaults(handler=_run("issue_command"))

    revoke = _action(commands, "revoke", _REVOKE_HELP, _REVOKE_EXAMPLE)
    revoke.add_argument("username", type=non_empty, help="the username issue answered")
    revoke.set_defaults(handler=_run("revoke_command"))


def _action(commands: Any, name: str, help_: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help_, epilog=f"Example: {example}"
    )
    add_connection_options(parser)
    group = parser.add_argument_group("TURN key (its token only from the environment)")
    group.add_argument("--key-id", type=non_empty, help="default: $CLOUDFLARE_TURN_KEY_ID")
    group.add_argument(
        "--rtc-endpoint",
        help="TURN key API base (default: $TURNMETER_RTC_ENDPOINT, else Cloudflare's; with "
        "--sandbox the sandbox's)",
    )
    return parser


def _ttl(text: str) -> int:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 3600, 30m, 1h or 2d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def _run(function: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from turnmeter.cli import credentials

        return int(getattr(credentials, function)(args))

    return run
