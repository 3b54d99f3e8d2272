"""A real PostgreSQL server (Debian's ``postgresql``) on 127.0.0.1, on a free port, in a
temporary folder, for the tests of the PostgreSQL store (``--database postgresql://``).

One server per test process (initdb takes about a second); each test gets a database
of its own. PostgreSQL refuses to run as root: as root, the server runs as the
``postgres`` user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.serverproc import free_port

MISSING = (
    "PostgreSQL is not installed (Debian: apt-get install postgresql; tests/run.sh installs it)"
)


def bindir() -> Path | None:
    """Debian's server programs (initdb, postgres): the newest installed version."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


def available() -> bool:
    return bindir() is not None and (os.geteuid() != 0 or _postgres_user() is not None)


def _postgres_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


class PostgresServer:
    def __init__(self, folder: Path | None = None) -> None:
        # not under pytest's temporary folders: those are the user's alone (0700), and
        # as root the server runs as another user
        self.folder = folder or Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.proc: subprocess.Popen[bytes] | None = None
        self._made = 0

    def _user(self) -> dict[str, int]:
        if os.geteuid() != 0:
            return {}
        user = _postgres_user()
        assert user is not None, MISSING
        return {"user": user.pw_uid, "group": user.pw_gid}

    def start(self, timeout: float = 30) -> PostgresServer:
        bin_ = bindir()
        assert bin_ is not None, MISSING
        self.folder.mkdir(parents=True, exist_ok=True)
        data = self.folder / "data"
        user = self._user()
        if user:
            os.chown(self.folder, user["user"], user["group"])
        subprocess.run(
            [
                str(bin_ / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **user,  # type: ignore[arg-type]
        )
        self.log = self.folder / "postgres.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(bin_ / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.folder),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    # a test server: durability is not what is tested here
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                **user,  # type: ignore[arg-type]
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            with contextlib.suppress(Exception):
                self.execute("SELECT 1")
                return self
            time.sleep(0.05)
        raise TimeoutError("postgres did not start")

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=2) as conn:
            conn.execute(sql.encode())

    def database(self, prefix: str = "t") -> str:
        """A new, empty database; its URL."""
        self._made += 1
        name = f"{prefix}{os.getpid()}_{self._made}"
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: clients are cut off
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
