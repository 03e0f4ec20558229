"""Finding a PostgreSQL server for the tests, or starting a throwaway one.

In order: `FORENSICS_TEST_PG_DSN` (a superuser DSN); a server on 127.0.0.1:5432 that lets
user `postgres` in without a password; a fresh cluster made with `initdb` and started with
`pg_ctl` (found on PATH or under /usr/lib/postgresql/*/bin) on a free port in a temporary
directory, run as an unprivileged user when the tests run as root (PostgreSQL refuses to
run as root). `Server.close` stops and deletes a cluster it started.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

LOCAL_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
UNPRIVILEGED = "nobody"


@dataclass
class Server:
    """A reachable server: `dsn(dbname)` gives a superuser DSN for one of its databases."""

    admin_dsn: str
    origin: str
    data_dir: Path | None = None
    bin_dir: Path | None = None
    owner: list[str] = field(default_factory=list)  # command prefix to run as the owner
    start_options: str = ""  # how pg_ctl starts it (port, socket directory)

    def stop(self, mode: str = "immediate") -> None:
        """Stop a started cluster (as a crash would, by default), keeping its data."""
        assert self.data_dir is not None and self.bin_dir is not None
        self._pg_ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        """Start a cluster stopped by `stop` again, on the same port."""
        assert self.data_dir is not None
        log = str(self.data_dir.parent / "server.log")
        self._pg_ctl("-o", self.start_options, "-l", log, "-w", "start")

    def _pg_ctl(self, *args: str) -> None:
        assert self.data_dir is not None and self.bin_dir is not None
        done = subprocess.run(
            [*self.owner, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[-1]} failed: {done.stderr.strip()[:300]}")

    def dsn(self, dbname: str, **changes: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname, **changes)

    def close(self) -> None:
        if self.data_dir is None or self.bin_dir is None:
            return
        subprocess.run(
            [
                *self.owner,
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def find_server() -> tuple[Server | None, str]:
    """A server, or None and the reasons each way failed."""
    reasons = []
    given = os.environ.get("FORENSICS_TEST_PG_DSN")
    if given:
        if _reachable(given):
            return Server(given, "FORENSICS_TEST_PG_DSN"), ""
        reasons.append("FORENSICS_TEST_PG_DSN is set but its server does not answer")
    elif _reachable(LOCAL_DSN):
        return Server(LOCAL_DSN, "127.0.0.1:5432"), ""
    else:
        reasons.append("no server on 127.0.0.1:5432 accepting user postgres without password")
    server, why = _throwaway()
    if server is not None:
        return server, ""
    reasons.append(why)
    return None, "; ".join(reasons)


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def throwaway() -> tuple[Server | None, str]:
    """A fresh cluster of our own on a free port (None and why when it cannot be made)."""
    return _throwaway()


def _throwaway() -> tuple[Server | None, str]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        return None, "initdb/pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin"
    owner: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="forensics-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return None, "running as root and runuser is missing (initdb refuses root)"
        user = pwd.getpwnam(UNPRIVILEGED)
        os.chown(root, user.pw_uid, user.pw_gid)
        owner = ["runuser", "-u", UNPRIVILEGED, "--"]
    data, port = root / "data", _free_port()
    init = subprocess.run(
        [
            *owner,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        return None, f"initdb failed: {init.stderr.strip()[:300]}"
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    start = subprocess.run(
        [
            *owner,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "start",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    server = Server(
        make_conninfo(LOCAL_DSN, port=str(port)),
        f"throwaway cluster on port {port}",
        data,
        bin_dir,
        owner,
        options,
    )
    if start.returncode != 0 or not _reachable(server.admin_dsn):
        server.close()
        return None, f"pg_ctl start failed: {start.stderr.strip()[:300]}"
    return server, ""


def user_of(dsn: str) -> str:
    return str(conninfo_to_dict(dsn).get("user") or "postgres")
