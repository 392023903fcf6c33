"""IMAP and IMAPS folders (``imaps://user@host[:port]/FOLDER``), read-only with the standard library.

The folder is opened with ``EXAMINE`` (read-only) and messages are fetched with ``BODY.PEEK[]``, so a
hunt never sets ``\\Seen`` or changes a mailbox. Partitions are fixed windows of UID numbers (stable
when mail is added or removed); the locator is ``UIDVALIDITY:UID``. The password comes from the caller,
else ``LURELENS_IMAP_PASSWORD``, else ``~/.netrc``; never from the command line or the URL.
"""

from __future__ import annotations

import imaplib
import netrc
import os
import re
import socket
import ssl
from itertools import groupby
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from lurelens.sources._model import Item, Partition, register_reader
from lurelens.sources.sniff import MAX_MESSAGE_BYTES, sniff

__all__ = ["ImapSource", "ImapTarget", "connect", "find_password", "parse_url", "read_imap_partition"]

PASSWORD_ENV = "LURELENS_IMAP_PASSWORD"
CA_FILE_ENV = "LURELENS_IMAP_CA_FILE"  # a CA bundle to trust (a private or self-signed server certificate)
_FETCH_GROUP = 25  # messages per FETCH: bounds memory to a few dozen messages whatever the folder size
_TIMEOUT = 120.0
_UID_RE = re.compile(rb"UID (\d+)")


class _Secret(str):
    """A password that never shows in a repr (partitions are logged and shown by schedulers)."""

    def __repr__(self) -> str:
        return "'***'"


@dataclass(frozen=True)
class ImapTarget:
    scheme: str
    user: str
    host: str
    port: int
    folder: str

    @property
    def spec(self) -> str:
        default = 993 if self.scheme == "imaps" else 143
        port = f":{self.port}" if self.port != default else ""
        return f"{self.scheme}://{quote(self.user, safe='')}@{self.host}{port}/{quote(self.folder, safe='/')}"


def parse_url(url: str) -> ImapTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise ValueError(f"not an IMAP URL: {url}")
    if parts.password is not None:
        raise ValueError("put the IMAP password in LURELENS_IMAP_PASSWORD or ~/.netrc, not in the URL")
    if not parts.hostname or not parts.username:
        raise ValueError(f"an IMAP URL needs a user and a host: {scheme}://USER@HOST/FOLDER")
    try:
        port = parts.port or (993 if scheme == "imaps" else 143)
    except ValueError as exc:
        raise ValueError(f"bad port in {url}: {exc}") from None
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapTarget(scheme, unquote(parts.username), parts.hostname, port, folder)


def find_password(target: ImapTarget, given: str | None = None) -> str | None:
    if given:
        return given
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    try:
        auth = netrc.netrc().authenticators(target.host)
    except (OSError, netrc.NetrcParseError):
        auth = None
    if auth and (not auth[0] or auth[0] == target.user):
        return auth[2]
    return None


def _ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca = os.environ.get(CA_FILE_ENV)
    if ca:
        ctx.load_verify_locations(cafile=ca)
    return ctx


def _quote_mailbox(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def connect(target: ImapTarget, password: str | None) -> Iterator[tuple[imaplib.IMAP4, int, int]]:
    """A logged-in connection with the folder EXAMINEd: (connection, UIDVALIDITY, EXISTS)."""
    if password is None:
        raise PermissionError(f"no IMAP password for {target.user}@{target.host}: set {PASSWORD_ENV} or add it to ~/.netrc")
    if target.scheme == "imaps":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(target.host, target.port, ssl_context=_ssl_context(), timeout=_TIMEOUT)
    else:
        conn = imaplib.IMAP4(target.host, target.port, timeout=_TIMEOUT)
        if "STARTTLS" in conn.capabilities:
            conn.starttls(_ssl_context())
    try:
        conn.login(target.user, password)
        # readonly=True sends EXAMINE: nothing in the folder can change through this session.
        typ, data = conn.select(_quote_mailbox(_server_name(conn, target.folder)), readonly=True)
        if typ != "OK":
            raise FileNotFoundError(f"no such IMAP folder {target.folder!r}: {data[0]!r}")
        count = data[0] if data else None
        exists = int(count) if isinstance(count, bytes) and count else 0
        uv = conn.untagged_responses.get("UIDVALIDITY") or [b"0"]
        last = uv[-1]
        yield conn, int(last) if isinstance(last, bytes) else 0, exists
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _server_name(conn: imaplib.IMAP4, folder: str) -> str:
    """The folder as the server names it: '/' in the URL is the hierarchy delimiter (RFC 5092), which
    is '.' on a Maildir++ Dovecot."""
    if "/" not in folder:
        return folder
    typ, data = conn.list('""', '""')
    first = data[0] if typ == "OK" and data and isinstance(data[0], bytes) else None
    m = re.search(rb'\) (?:"(.)"|NIL)', first) if first else None
    delim = m.group(1).decode() if m and m.group(1) else "/"
    return folder.replace("/", delim)


def _search(conn: imaplib.IMAP4, criteria: str) -> list[int]:
    typ, data = conn.uid("SEARCH", criteria)  # no charset argument (imaplib skips a None one anyway)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
    return [int(x) for x in b" ".join(d for d in data if d).split()]


def _fetch(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH failed: {data!r}")
    out: dict[int, bytes] = {}
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            m = _UID_RE.search(part[0])
            if m:
                out[int(m.group(1))] = part[1]
    return out


class ImapSource:
    """One IMAP folder."""

    def __init__(self, target: ImapTarget, password: str | None = None):
        self.target = target
        self.spec = target.spec
        self._given = password

    @classmethod
    def from_url(cls, url: str, password: str | None = None) -> ImapSource:
        from lurelens.sources import SourceError

        try:
            return cls(parse_url(url), password)
        except ValueError as exc:
            raise SourceError(f"{url}: {exc}") from None

    def _connect(self):
        return connect(self.target, find_password(self.target, self._given))

    def _fail(self, exc: Exception):
        from lurelens.sources import SourceError

        return SourceError(f"{self.spec}: {_describe(exc)}")

    def partitions(self, target: int = 1000) -> Iterator[Partition]:
        try:
            with self._connect() as (conn, uidvalidity, _exists):
                uids = _search(conn, "ALL")
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, PermissionError, FileNotFoundError, EOFError) as exc:
            raise self._fail(exc) from None
        # Only an explicitly given password travels with the partitions (workers find env/.netrc themselves).
        options = (("password", _Secret(self._given)),) if self._given else ()
        # One partition per run of UIDs in the same window of ``target`` UIDs.
        for w, run in groupby(uids, key=lambda uid: (uid - 1) // target):
            window = list(run)
            lo, hi = w * target + 1, (w + 1) * target
            yield Partition(self.spec, "imap", f"uids:{lo}-{hi}", f"{uidvalidity}:{len(window)}:{window[-1]}",
                            len(window), (self.target, uidvalidity, lo, hi), options)

    def total(self) -> int | None:
        try:
            with self._connect() as (_conn, _uv, exists):
                return exists
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, PermissionError, FileNotFoundError, EOFError):
            return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, imaplib.IMAP4.error):
        return f"IMAP error: {exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "IMAP server timed out"
    if isinstance(exc, OSError) and not isinstance(exc, (PermissionError, FileNotFoundError)):
        return f"cannot connect: {exc.strerror or exc}"
    return str(exc)


@register_reader("imap")
def read_imap_partition(part: Partition) -> Iterator[Item]:
    target, uidvalidity, lo, hi = part.params
    password = find_password(target, part.option("password"))
    done: set[int] = set()
    try:
        with connect(target, password) as (conn, now_uv, _exists):
            if now_uv != uidvalidity:
                yield Item(part.source, f"{uidvalidity}:{lo}-{hi}", None,
                           f"unreadable: UIDVALIDITY changed from {uidvalidity} to {now_uv}: the folder was "
                           "recreated; hunt it again from the start")
                return
            uids = [u for u in _search(conn, f"UID {lo}:{hi}") if lo <= u <= hi]
            for i in range(0, len(uids), _FETCH_GROUP):
                group = uids[i:i + _FETCH_GROUP]
                got = _fetch(conn, group)
                for uid in group:
                    loc = f"{uidvalidity}:{uid}"
                    done.add(uid)
                    if uid not in got:
                        yield Item(part.source, loc, None, None, "skipped: expunged while reading")
                        continue
                    raw = got.pop(uid)
                    if len(raw) > MAX_MESSAGE_BYTES:
                        yield Item(part.source, loc, None, f"unreadable: message larger than {MAX_MESSAGE_BYTES} bytes")
                        continue
                    data, err, note = sniff(raw)
                    yield Item(part.source, loc, data, err, note)
    except (imaplib.IMAP4.error, OSError, ssl.SSLError, PermissionError, FileNotFoundError, EOFError) as exc:
        yield Item(part.source, f"{uidvalidity}:{lo}-{hi}", None,
                   f"unreadable: {_describe(exc)}" + (f" (after {len(done)} messages)" if done else ""))
