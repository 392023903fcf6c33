"""A throw-away Postfix instance on loopback ports, with the lurelens milter in ``smtpd_milters`` and
delivery to an ``smtp-sink`` that writes every message to a directory. Used by the milter tests and
``bench/milter_load.py``; needs Debian's ``postfix`` (``scripts/install-postfix.sh``) and root."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["Load", "MilterProcess", "PostfixInstance", "SmtpSink", "delivered", "free_port", "instance_dir", "postfix_problem"]

SBIN = Path("/usr/sbin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def postfix_problem() -> str | None:
    """None when a Postfix instance can be started here, else why not."""
    for tool in ("postfix", "postconf", "postqueue", "postcat", "smtp-sink"):
        if not (SBIN / tool).exists() and not shutil.which(tool):
            return f"{tool} not found (Debian package postfix; scripts/install-postfix.sh)"
    if os.geteuid() != 0:
        return "starting a Postfix instance needs root"
    return None


def instance_dir(prefix: str = "lurelens-postfix-") -> Path:
    """A fresh directory for an instance whose parents the postfix user can traverse."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


class SmtpSink:
    """Postfix's ``smtp-sink`` on a free port, writing each message it receives to ``dir``."""

    def __init__(self, base: Path):
        self.dir = base / "sink"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> SmtpSink:
        # -d: one file per message (the name gets a random suffix); -u: drop root to postfix.
        self.proc = subprocess.Popen(
            [str(SBIN / "smtp-sink"), "-u", "postfix", "-d", str(self.dir / "m."), "-m", "200",
             f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chown(self.dir, *_postfix_ids())
        wait_port(self.port, proc=self.proc)
        return self

    def messages(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted(self.dir.iterdir()) if p.is_file()]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _postfix_ids() -> tuple[int, int]:
    import pwd

    pw = pwd.getpwnam("postfix")
    return pw.pw_uid, pw.pw_gid


class PostfixInstance:
    """``postfix -c DIR``: its own main.cf, master.cf, queue and data directories, smtpd on
    ``smtp_port`` with ``smtpd_milters = inet:127.0.0.1:MILTER_PORT``, relaying to ``relay_port``."""

    def __init__(self, base: Path, milter_port: int, relay_port: int, *, milter_timeouts: tuple[int, int, int] = (5, 5, 30)):
        self.base = base
        self.conf = base / "etc"
        self.queue = base / "spool"
        self.data = base / "lib"
        self.smtp_port = free_port()
        self.milter_port = milter_port
        self.relay_port = relay_port
        self.timeouts = milter_timeouts  # connect, command, content (seconds)

    def postconf(self, *settings: str) -> None:
        subprocess.run([str(SBIN / "postconf"), "-c", str(self.conf), "-e", *settings], check=True,
                       capture_output=True)

    def start(self) -> PostfixInstance:
        for d in (self.conf, self.queue, self.data):
            d.mkdir(parents=True, exist_ok=True)
        # Postfix daemons run as the postfix user: every parent of the instance must be traversable
        # (so not under pytest's 0700 tmp_path; see ``instance_dir``).
        self.base.chmod(0o755)
        os.chown(self.data, *_postfix_ids())
        name = f"pf{self.smtp_port}"
        master = Path("/etc/postfix/master.cf.proto")
        master_text = master.read_text() if master.exists() else Path("/etc/postfix/master.cf").read_text()
        # Our smtpd on a loopback port instead of the standard smtp service on port 25.
        lines = [ln for ln in master_text.splitlines() if not ln.startswith("smtp      inet")]
        lines.append(f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd")
        (self.conf / "master.cf").write_text("\n".join(lines) + "\n")
        (self.conf / "main.cf").write_text("compatibility_level = 3.6\n")
        c, k, t = self.timeouts
        self.postconf(
            f"queue_directory = {self.queue}",
            f"data_directory = {self.data}",
            "meta_directory = /etc/postfix",
            "shlib_directory = /usr/lib/postfix",
            "daemon_directory = /usr/lib/postfix/sbin",
            f"syslog_name = {name}",
            f"maillog_file_prefixes = {self.base}",
            f"maillog_file = {self.base / 'maillog'}",
            f"myhostname = {name}.localdomain",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mydestination =",
            "mynetworks = 127.0.0.0/8",
            f"relayhost = [127.0.0.1]:{self.relay_port}",
            "smtp_host_lookup = native",
            "disable_dns_lookups = yes",
            "smtpd_relay_restrictions = permit_mynetworks, reject",
            "smtpd_recipient_restrictions = permit_mynetworks, reject",
            "biff = no",
            "alias_maps =",
            "alias_database =",
            "message_size_limit = 52428800",
            # The milter, and what happens when it is down: defer, never pass mail unscanned.
            f"smtpd_milters = inet:127.0.0.1:{self.milter_port}",
            f"non_smtpd_milters = inet:127.0.0.1:{self.milter_port}",
            "milter_default_action = tempfail",
            "milter_protocol = 6",
            f"milter_connect_timeout = {c}s",
            f"milter_command_timeout = {k}s",
            f"milter_content_timeout = {t}s",
            "smtpd_client_connection_count_limit = 0",
            "smtpd_client_message_rate_limit = 0",
            "smtpd_client_connection_rate_limit = 0",
            "default_process_limit = 100",
            "queue_run_delay = 2s",
            "minimal_backoff_time = 2s",
            "maximal_backoff_time = 4s",
            "smtp_connection_cache_on_demand = yes",
        )
        self._run("check")
        self._run("start")
        wait_port(self.smtp_port, 30)
        return self

    def _run(self, what: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(SBIN / "postfix"), "-c", str(self.conf), what], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"postfix {what} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def stop(self) -> None:
        subprocess.run([str(SBIN / "postfix"), "-c", str(self.conf), "stop"], capture_output=True, check=False)

    def queue_entries(self) -> list[dict]:
        """``postqueue -j``: one dict per queued message (``queue_name`` ``hold`` for quarantined)."""
        out = subprocess.run([str(SBIN / "postqueue"), "-c", str(self.conf), "-j"], capture_output=True,
                             text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def postcat(self, queue_id: str) -> str:
        return subprocess.run([str(SBIN / "postcat"), "-c", str(self.conf), "-hq", queue_id],
                              capture_output=True, text=True, check=True).stdout

    def flush(self) -> None:
        subprocess.run([str(SBIN / "postqueue"), "-c", str(self.conf), "-f"], capture_output=True, check=False)

    def log(self) -> str:
        p = self.base / "maillog"
        return p.read_text(errors="replace") if p.exists() else ""


class MilterProcess:
    """``lurelens milter`` as a child process (so a test can SIGSTOP it, kill -9 it and restart it)."""

    def __init__(self, port: int | str, log: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
        """``port``: a loopback TCP port, or the path of a unix socket."""
        self.port, self.logfile, self.args, self.env = port, log, args, env
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> MilterProcess:
        env = dict(os.environ)
        env.update(self.env or {})
        self._fh = open(self.logfile, "ab")
        spec = f"unix:{self.port}" if isinstance(self.port, str) else f"inet:{self.port}@127.0.0.1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lurelens.adapters.cli", "milter", "--socket", spec, *self.args],
            stdout=self._fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        if isinstance(self.port, str):
            end = time.monotonic() + timeout
            while not os.path.exists(self.port) and self.proc.poll() is None and time.monotonic() < end:
                time.sleep(0.1)
            if not os.path.exists(self.port):
                raise RuntimeError(f"milter did not create {self.port}")
        else:
            wait_port(self.port, timeout, proc=self.proc)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        # The whole process group: the scanner workers stop (or die) with the milter.
        os.killpg(self.proc.pid, sig)

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.proc is not None  # signal() asserted it too
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()
        if getattr(self, "_fh", None):
            self._fh.close()


class Load:
    """Send numbered messages from ``clients`` concurrent smtplib clients (each reusing its SMTP
    session for up to ``per_session`` messages) and account for every one: ``accepted`` (250 after
    DATA), ``refused`` (a 4xx anywhere in the transaction), ``failed`` (5xx) or ``uncertain`` (the
    connection dropped after the message was sent, before the reply). ``pause()`` holds the clients
    between messages so a fault can be applied with nothing in flight."""

    def __init__(self, port: int, messages: list[bytes], clients: int = 6, per_session: int = 10):
        import threading

        self.port, self.messages, self.clients, self.per_session = port, messages, clients, per_session
        self.lock = threading.Condition()
        self.next_id = 0
        self.in_flight = 0
        self.paused = False
        self.generation = 0  # bumped by new_sessions(): clients then open fresh SMTP sessions
        self.stop_at: int | None = None
        self.accepted: set[int] = set()
        self.refused: dict[int, str] = {}
        self.failed: dict[int, str] = {}
        self.uncertain: set[int] = set()
        self.latency: list[float] = []  # seconds from MAIL to the 250 after DATA, accepted messages
        self.threads: list = []

    def message(self, n: int) -> bytes:
        raw = self.messages[n % len(self.messages)]
        return f"X-Test-Id: {n}\r\n".encode() + raw

    def _take(self) -> int | None:
        with self.lock:
            while self.paused:
                self.lock.wait()
            if self.stop_at is not None and self.next_id >= self.stop_at:
                return None
            n = self.next_id
            self.next_id += 1
            self.in_flight += 1
            return n

    def _done(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.lock.notify_all()

    def _client(self) -> None:
        import smtplib

        smtp = None
        sent_in_session = 0
        generation = self.generation
        while True:
            n = self._take()
            if n is None:
                break
            data_sent = False
            try:
                if smtp is None or sent_in_session >= self.per_session or generation != self.generation:
                    generation = self.generation
                    if smtp is not None:
                        try:
                            smtp.quit()
                        except (smtplib.SMTPException, OSError):
                            pass
                    smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=120)
                    sent_in_session = 0
                sent_in_session += 1
                t0 = time.perf_counter()
                code, resp = smtp.mail(f"load{n}@example.net")
                if code < 400:
                    code, resp = smtp.rcpt(f"user{n % 7}@example.org")
                if code >= 400:
                    raise smtplib.SMTPResponseException(code, resp)
                data_sent = True
                code, resp = smtp.data(self.message(n))  # raises on DATA's 354, not on the final reply
                if code != 250:
                    raise smtplib.SMTPResponseException(code, resp)
                with self.lock:
                    self.accepted.add(n)
                    self.latency.append(time.perf_counter() - t0)
            except smtplib.SMTPResponseException as exc:
                with self.lock:
                    (self.refused if 400 <= exc.smtp_code < 500 else self.failed)[n] = f"{exc.smtp_code} {exc.smtp_error!r}"
                try:
                    if smtp is not None:
                        smtp.rset()
                except (smtplib.SMTPException, OSError, AttributeError):
                    smtp = None
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                with self.lock:
                    if data_sent:
                        self.uncertain.add(n)
                    else:
                        self.refused[n] = f"disconnected before DATA: {exc}"
                smtp = None
            finally:
                self._done()
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def start(self, total: int | None = None) -> Load:
        import threading

        self.stop_at = total
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def finish(self, total: int | None = None, timeout: float = 600) -> None:
        with self.lock:
            self.stop_at = max(self.next_id, total or 0)
            self.paused = False
            self.lock.notify_all()
        for t in self.threads:
            t.join(timeout)

    def pause(self) -> None:
        """Hold the clients and wait until no transaction is in flight."""
        with self.lock:
            self.paused = True
            while self.in_flight:
                self.lock.wait()

    def new_sessions(self) -> None:
        """Every client opens a new SMTP session for its next message (a session whose milter
        connection broke keeps being deferred by Postfix until it ends)."""
        with self.lock:
            self.generation += 1

    def resume(self) -> None:
        with self.lock:
            self.paused = False
            self.lock.notify_all()

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"sent": self.next_id - self.in_flight, "accepted": len(self.accepted), "refused": len(self.refused),
                    "failed": len(self.failed), "uncertain": len(self.uncertain)}


def delivered(sink: SmtpSink) -> dict[int, list[str]]:
    """X-Test-Id -> the X-Lurelens-Scan receipts of each copy the sink received."""
    from email import message_from_bytes, policy

    out: dict[int, list[str]] = {}
    for raw in sink.messages():
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        msg = message_from_bytes(head + b"\r\n\r\n", policy=policy.compat32)
        tid = msg.get("X-Test-Id")
        if tid is None:
            continue
        out.setdefault(int(tid), []).append(" ".join(str(msg.get("X-Lurelens-Scan", "")).split()))
    return out
