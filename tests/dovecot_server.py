"""A throw-away Dovecot IMAP server for tests: its own config, state and mail in a temporary directory,
listening on loopback on free ports (plain IMAP with STARTTLS, and IMAPS with a self-signed
certificate made with openssl), one passwd-file user whose Maildir lives in the same directory.

    with DovecotServer() as d:          # raises DovecotUnavailable when dovecot/openssl are missing
        d.client()                      # a logged-in imaplib connection (STARTTLS) for seeding/checking
        d.url("INBOX", tls=True)        # imaps://USER@127.0.0.1:PORT/INBOX
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "analyst", "s3cret-test-pass"


class DovecotUnavailable(RuntimeError):
    pass


def problem() -> str | None:
    """Why a test Dovecot cannot run here, or None."""
    if not os.path.exists(DOVECOT):
        return f"{DOVECOT} not installed (scripts/install-dovecot.sh)"
    if not shutil.which("openssl"):
        return "openssl not installed"
    if os.geteuid() != 0:
        return "the test Dovecot runs as root (it switches to the dovecot/dovenull users)"
    for name in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            return f"system user {name!r} missing (the dovecot-core package creates it)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotServer:
    def __init__(self) -> None:
        why = problem()
        if why:
            raise DovecotUnavailable(why)
        # Not under pytest's 0700 tmp: Dovecot's unprivileged processes must traverse this directory.
        self.dir = Path(tempfile.mkdtemp(prefix="lurelens-dovecot-"))
        self.dir.chmod(0o755)
        self.port, self.tls_port = _free_port(), _free_port()
        self.proc: subprocess.Popen | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> DovecotServer:
        d = self.dir
        mail_owner = pwd.getpwnam("dovecot")
        (d / "mail").mkdir()
        os.chown(d / "mail", mail_owner.pw_uid, mail_owner.pw_gid)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                       check=True, capture_output=True, timeout=60)
        (d / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (d / "dovecot.conf").write_text(f"""
instance_name = lurelens-test-{self.port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
default_internal_user = dovecot
default_login_user = dovenull
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_owner.pw_uid} gid={mail_owner.pw_gid} home={d}/mail/%u
}}
first_valid_uid = {mail_owner.pw_uid}
mail_location = maildir:{d}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                raise DovecotUnavailable(f"dovecot exited {self.proc.returncode}: {out}{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=1):
                    pass
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise DovecotUnavailable(f"dovecot did not listen within 30s: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    # -- helpers -------------------------------------------------------------------------------------

    @property
    def ca_file(self) -> str:
        return str(self.dir / "cert.pem")

    def url(self, folder: str = "INBOX", tls: bool = False) -> str:
        return f"imaps://{USER}@127.0.0.1:{self.tls_port}/{folder}" if tls else f"imap://{USER}@127.0.0.1:{self.port}/{folder}"

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        ctx = ssl.create_default_context(cafile=self.ca_file)
        conn.starttls(ctx)
        conn.login(USER, PASSWORD)
        return conn
