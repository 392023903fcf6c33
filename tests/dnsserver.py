"""A real authoritative DNS server for the tests: Knot DNS on a free loopback port, in a temp dir.

``knot_dns`` (session fixture) starts ``knotd`` with no zones; tests publish zones with
``knot_dns.add_zone(origin, records)`` (written to a zone file and loaded with ``knotc reload``)
and point lurelens at ``knot_dns.server`` ("127.0.0.1:PORT"). ``DkimKey`` creates RSA and ed25519
keys and gives the TXT record to publish; ``sign``/``arc_sign`` sign messages with dkimpy.

``knot_dns`` is registered by tests/conftest.py (one server per session): just ask for it. Import
the helpers with ``from dnsserver import DkimKey, sign, txt`` (tests/ is on sys.path); do not
import ``knot_dns`` into a test module (that would start a second server).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

__all__ = ["DkimKey", "KnotServer", "arc_sign", "free_port", "knot_dns", "sign", "txt"]


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (knot needs both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port")


def txt(value: str) -> str:
    """A TXT rdata in zone-file syntax: quoted, split into 255-byte strings."""
    value = value.replace("\\", "\\\\").replace('"', '\\"')
    return " ".join(f'"{value[i:i + 250]}"' for i in range(0, max(len(value), 1), 250))


class KnotServer:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        self.zones: dict[str, list[str]] = {}
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._serial = int(time.time()) % 1_000_000_000
        (root / "zones").mkdir(parents=True, exist_ok=True)
        (root / "db").mkdir(exist_ok=True)

    # -- configuration -------------------------------------------------------------------------
    def _conf(self) -> str:
        zones = "".join(f"  - domain: {z}\n" for z in sorted(self.zones))
        return (
            "server:\n"
            f"    rundir: {self.root}\n"
            f"    listen: 127.0.0.1@{self.port}\n"
            "log:\n  - target: stderr\n    any: warning\n"
            f"database:\n    storage: {self.root}/db\n"
            f"control:\n    listen: {self.root}/knot.sock\n"
            "template:\n  - id: default\n"
            f"    storage: {self.root}/zones\n"
            '    file: "%s.zone"\n'
            "    zonefile-sync: -1\n"
            "    zonefile-load: whole\n"
            "    journal-content: none\n"
            "    semantic-checks: off\n"
            + ("zone:\n" + zones if zones else "")
        )

    def _write_zone(self, origin: str, records: list[str]) -> None:
        self._serial += 1
        head = [
            f"$ORIGIN {origin}.",
            "$TTL 300",
            f"@ SOA ns.{origin}. hostmaster.{origin}. {self._serial} 3600 600 86400 60",
            f"@ NS ns.{origin}.",
            "ns A 127.0.0.1",
        ]
        (self.root / "zones" / f"{origin}.zone").write_text("\n".join(head + records) + "\n")

    def add_zone(self, origin: str, records: list[str]) -> None:
        """Publish (or replace) a zone. ``records`` are zone-file lines relative to the origin,
        e.g. ``'@ TXT "v=spf1 -all"'``; use :func:`txt` for long TXT values."""
        origin = origin.rstrip(".").lower()
        with self._lock:
            self.zones[origin] = list(records)
            self._write_zone(origin, records)
            (self.root / "knot.conf").write_text(self._conf())
            if self.proc is not None:
                self._knotc("reload")
                self._wait(origin)

    def remove_zone(self, origin: str) -> None:
        with self._lock:
            self.zones.pop(origin.rstrip(".").lower(), None)
            (self.root / "knot.conf").write_text(self._conf())
            if self.proc is not None:
                self._knotc("reload")

    def _knotc(self, *args: str) -> None:
        subprocess.run(["knotc", "-c", str(self.root / "knot.conf"), "-s", str(self.root / "knot.sock"),
                        "-t", "10", *args], check=True, capture_output=True, timeout=30)

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        (self.root / "knot.conf").write_text(self._conf())
        self.log = open(self.root / "knotd.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["knotd", "-c", str(self.root / "knot.conf")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd exited: " + (self.root / "knotd.log").read_text()[-2000:])
            if (self.root / "knot.sock").exists():
                try:
                    self._knotc("status")
                    for z in self.zones:
                        self._wait(z)
                    return
                except subprocess.CalledProcessError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("knotd did not come up: " + (self.root / "knotd.log").read_text()[-2000:])

    def _wait(self, origin: str) -> None:
        """Until the server answers the zone's current serial over UDP."""
        import dns.message
        import dns.query
        import dns.rdatatype

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                r = dns.query.udp(dns.message.make_query(origin, dns.rdatatype.SOA), "127.0.0.1",
                                  timeout=1, port=self.port)
                if r.answer and r.answer[0][0].serial == self._serial_of(origin):
                    return
            except Exception:  # noqa: BLE001, S110 - not up yet: ask again
                pass
            time.sleep(0.05)
        raise RuntimeError(f"zone {origin} not served: " + (self.root / "knotd.log").read_text()[-2000:])

    def _serial_of(self, origin: str) -> int:
        for line in (self.root / "zones" / f"{origin}.zone").read_text().splitlines():
            if line.startswith("@ SOA"):
                return int(line.split()[4])
        return -1

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
            self.log.close()


def _knot_problem() -> str | None:
    for tool in ("knotd", "knotc"):
        if shutil.which(tool) is None:
            return f"{tool} not found (scripts/install-knot.sh installs Debian's knot)"
    try:
        import dkim  # noqa: F401
        import dns  # noqa: F401
    except ImportError as exc:
        return f"the auth extra is not installed ({exc})"
    return None


@pytest.fixture(scope="session")
def knot_dns():
    """A running Knot DNS server on 127.0.0.1 (free port); stopped after the session."""
    from conftest import (
        require_component,  # here, not at import: conftest imports this module
    )

    require_component("Knot DNS (knotd)", _knot_problem())
    root = Path(tempfile.mkdtemp(prefix="lurelens-knot-"))
    srv = KnotServer(root)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if not os.environ.get("LURELENS_KEEP_KNOT"):
            shutil.rmtree(root, ignore_errors=True)


class DkimKey:
    """A DKIM key pair: ``kind`` "rsa" (2048 bits by default) or "ed25519"."""

    def __init__(self, kind: str = "rsa", bits: int = 2048):
        from cryptography.hazmat.primitives import serialization as ser
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        self.kind = kind
        if kind == "rsa":
            k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            self.private = k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL,
                                           ser.NoEncryption())
            pub = k.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
            self.algorithm = b"rsa-sha256"
        else:
            k = ed25519.Ed25519PrivateKey.generate()
            # dkimpy takes the 32-byte seed, base64.
            self.private = base64.b64encode(k.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw,
                                                            ser.NoEncryption()))
            pub = k.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
            self.algorithm = b"ed25519-sha256"
        self.public_b64 = base64.b64encode(pub).decode()

    def record(self, extra: str = "") -> str:
        """The TXT value to publish at selector._domainkey.domain."""
        return f"v=DKIM1; k={self.kind}; {extra}p={self.public_b64}"


def sign(raw: bytes, key: DkimKey, domain: str, selector: str, *, headers: list[bytes] | None = None,
         length: bool = False) -> bytes:
    """``raw`` with a DKIM-Signature by ``key`` for d=domain, s=selector prepended."""
    import dkim

    sig = dkim.sign(raw, selector.encode(), domain.encode(), key.private,
                    include_headers=headers or [b"from", b"to", b"subject", b"date", b"message-id"],
                    length=length, signature_algorithm=key.algorithm, linesep=b"\r\n")
    return sig + raw


def arc_sign(raw: bytes, key: DkimKey, domain: str, selector: str, srv_id: str) -> bytes:
    """``raw`` with one more ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results)
    by ``domain``; the chain validation state is read from the Authentication-Results for srv_id."""
    import dkim

    lines = dkim.arc_sign(raw, selector.encode(), domain.encode(), key.private, srv_id.encode(),
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                          linesep=b"\r\n")
    return b"".join(lines) + raw
