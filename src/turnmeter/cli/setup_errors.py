"""The two set-up failures the command line tells apart from a bad argument (exit 4, not 2).

Their own module, not :mod:`turnmeter.cli.exit_codes`: defining them imports
:mod:`turnmeter.errors`, which ``turnmeter --help`` does not pay for.
"""

from __future__ import annotations

from turnmeter import errors


class CredentialsError(errors.ConfigError):
    """The client could not be set up: no account, no token, or a malformed one (exit 4).

    Every other :class:`~turnmeter.errors.ConfigError` a command meets is a bad argument (exit 2,
    like argparse's own), and only this one gets the credentials hint.
    """


class ConfigFileError(errors.ConfigError):
    """The config file is missing, unreadable or holds what it may not (exit 4)."""
