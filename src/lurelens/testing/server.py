"""Start a real ``lurelens serve`` on a free loopback port in a subprocess, for tests and benchmarks.

    with ApiServer(["--workers", "2"]) as srv:
        httpx.post(srv.url + "/v1/scan", content=raw)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Self

__all__ = ["ApiServer", "free_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """``lurelens serve ARGS --host 127.0.0.1 --port P`` until stopped; ``url`` is its base URL."""

    def __init__(self, args: list[str] | None = None, env: dict[str, str] | None = None,
                 log: Path | None = None, startup_timeout: float = 90.0):
        self.args = list(args or [])
        self.env = dict(os.environ, **(env or {}))
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server gets its own
        self.log_path = log
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log_file: IO[bytes] | None = None

    def start(self) -> Self:
        self._log_file = open(self.log_path, "wb") if self.log_path else None  # noqa: SIM115 - lives as long as the server
        out = self._log_file or subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lurelens.adapters.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), *self.args],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lurelens serve exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"lurelens serve did not answer within {self.startup_timeout:g} s: {self.log()[-2000:]}")

    def log(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text("utf-8", "replace")
        return ""

    def pids(self) -> list[int]:
        """The server's process and its workers (children)."""
        if self.proc is None:
            return []
        pids = [self.proc.pid]
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], check=False, capture_output=True, text=True).stdout
            pids += [int(p) for p in out.split()]
        except OSError:
            pass
        return pids

    def rss_kib(self) -> int:
        """Resident memory of the server and its workers, KiB (from /proc)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def stop(self) -> None:
        try:
            self._stop()
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful stop, workers included
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the server and its workers only
            self.proc.wait(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
