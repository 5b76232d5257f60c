"""A real PostgreSQL server for the ledger tests: initdb + pg_ctl in a temporary folder.

PostgreSQL refuses to run as root, so as root the folder is handed to the ``postgres`` user and
the binaries run through ``runuser``. Loopback only, on a free port, with password (SCRAM)
authentication: the password is the canary and reaches clients only through ``PGPASSWORD``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port, server_binary

SUPERUSER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        """A URL without the password (clients read PGPASSWORD)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SUPERUSER, "--", *command]


@contextmanager
def running_postgres(password: str) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and delete its folder afterwards."""
    initdb, pg_ctl = server_binary("initdb"), server_binary("pg_ctl")
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="turnmeter-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    secret = folder / "pwfile"
    secret.write_text(password + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        for path in (folder, sockets, secret):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(
        _as_owner(
            [
                initdb,
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={secret}",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        **quiet,  # type: ignore[call-overload]
    )
    secret.unlink()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = folder / "server.log"
    try:
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
            **quiet,  # type: ignore[call-overload]
        )
        yield PostgresServer(port, folder)
    finally:
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
