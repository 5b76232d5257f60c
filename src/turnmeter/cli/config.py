"""The optional config file: TOML with account, endpoint and output defaults, never a token.

Looked up at ``--config FILE``, else ``$TURNMETER_CONFIG``, else
``$XDG_CONFIG_HOME/turnmeter/config.toml`` (``~/.config/turnmeter/config.toml``). Flags win over
the environment, which wins over the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from turnmeter.errors import ConfigError

ENV_CONFIG = "TURNMETER_CONFIG"

#: Keys the file may set, with their types.
KNOWN_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "account_tag": str,
    "endpoint": str,
    "timeout": (int, float),
    "format": str,
    "price_per_gb": (int, float),
    "free_tier_gb": (int, float),
    "budget_usd": (int, float),
    # turnmeter exporter (flags of the same name win)
    "exporter_listen": str,
    "exporter_state_file": str,
    "exporter_settle_delay": (int, float),
    "exporter_poll_interval": (int, float),
    "exporter_labels": str,
    "exporter_top_customers": int,
    "exporter_degraded_after": int,
}
_SECRET_KEYS = ("token", "api_token", "api_key", "key", "password")


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is looked for when no path is given."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "turnmeter" / "config.toml"


def load_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The config file's settings; an absent default file is an empty config."""
    explicit = path is not None or bool(
        (os.environ if environ is None else environ).get(ENV_CONFIG)
    )
    target = path or default_config_path(environ)
    if not target.is_file():
        if explicit:
            raise ConfigError(f"config file {target} does not exist")
        return {}
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {target}: {exc}") from None
    return _validated(data, target)


def _validated(data: Mapping[str, Any], source: Path) -> dict[str, Any]:
    for key in data:
        if key.lower() in _SECRET_KEYS:
            raise ConfigError(
                f"{source}: {key!r} is not allowed: tokens come from CLOUDFLARE_API_TOKEN, "
                "never from files"
            )
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{source}: unknown key {key!r}; known: {', '.join(KNOWN_KEYS)}")
        expected = KNOWN_KEYS[key]
        if not isinstance(data[key], expected) or isinstance(data[key], bool):
            raise ConfigError(f"{source}: {key!r} has the wrong type")
    return dict(data)
