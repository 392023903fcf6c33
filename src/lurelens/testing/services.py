"""Throw-away servers for the hunt's tests and benchmark: a PostgreSQL cluster (Debian's binaries,
``initdb`` + ``pg_ctl`` in a temporary directory) and a Dask scheduler with workers, both on free
loopback ports and each stopped by ``stop()``. Nothing here touches a system service."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["free_port", "postgres_bindir", "TempPostgres", "TempDask"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bindir() -> str | None:
    """Where initdb and pg_ctl are (newest Debian version first), or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{d}/initdb") and os.path.exists(f"{d}/pg_ctl"):
            return d
    found = shutil.which("initdb")
    return str(Path(found).parent) if found else None


class TempPostgres:
    """A PostgreSQL server in a temporary directory on a free loopback port, trust authentication.
    As root it runs as the ``postgres`` user (the server refuses root). ``new_db()`` -> a URL."""

    def __init__(self, bindir: str | None = None):
        self.bindir = bindir or postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("initdb not found (scripts/install-postgres.sh installs it)")
        self.tmp = tempfile.mkdtemp(prefix="lurelens-pg-")
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data, self.port = f"{self.tmp}/data", free_port()
        self.base = f"postgresql://postgres@127.0.0.1:{self.port}"
        self._names = itertools.count()

    def start(self) -> TempPostgres:
        subprocess.run([*self.as_user, f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", self.data, "-l", f"{self.tmp}/log", "-w",
                        "-t", "120", "-o", f"-k {self.tmp} -p {self.port} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=50", "start"], check=True, capture_output=True, timeout=180)
        return self

    def new_db(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(f"{self.base}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"{self.base}/{name}"

    def stop(self) -> None:
        subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.tmp, ignore_errors=True)


class TempDask:
    """A ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on loopback, each
    in its own process group so a test can kill one the way a machine dies."""

    def __init__(self, workers: int = 2, *, logdir: str | None = None):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.logdir = Path(logdir or tempfile.mkdtemp(prefix="lurelens-dask-"))
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.n = workers
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        with open(self.logdir / f"{name}.log", "wb") as log:
            return subprocess.Popen([sys.executable, "-m", *args], cwd=str(self.logdir), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout: float = 120) -> TempDask:
        from distributed import Client

        self.scheduler = self._start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--no-dashboard"], "scheduler")
        self.workers = [self._start(["distributed.cli.dask_worker", self.address, "--nworkers", "1", "--nthreads",
                                     "1", "--host", "127.0.0.1", "--no-dashboard", "--local-directory",
                                     str(self.logdir / f"w{i}")], f"worker{i}") for i in range(self.n)]
        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(self.n, timeout=timeout)
        return self

    def kill_worker(self, i: int) -> None:
        os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait(30)

    def pids(self) -> list[int]:
        return [p.pid for p in [*self.workers, self.scheduler] if p is not None and p.poll() is None]

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(30)
