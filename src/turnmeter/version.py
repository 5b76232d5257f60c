"""turnmeter's version, read from the installed package's metadata (the one source of truth).

``pyproject.toml`` holds the number; the wheel's metadata carries it; this reads it back.
"""

from __future__ import annotations

import functools

#: What a copy that was never installed (no metadata) calls itself.
UNKNOWN_VERSION = "0+unknown"


@functools.cache
def package_version() -> str:
    """The version of the installed ``turnmeter`` distribution."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("turnmeter")
    except PackageNotFoundError:
        return UNKNOWN_VERSION
