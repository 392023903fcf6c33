"""``lurelens defuse``: a copy of a message that is safe to open in any mail client.

Every remote fetch in its HTML (and CSS parts) is removed or replaced, ``cid:`` and ``data:`` content
is kept, links are shown, defanged or disabled, and a header plus a short banner say what changed. The
copy keeps the original headers and MIME structure; only rewritten text parts are re-encoded (UTF-8,
quoted-printable or base64). Each HTML part is re-read after rewriting and, should anything remote
survive, rewritten again, and as a last resort reduced to its text.
"""

from __future__ import annotations

import base64
import html as htmllib
import quopri
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.generator import BytesGenerator
from email.message import Message as EmailMessage
from email.parser import BytesParser
from functools import lru_cache
from io import BytesIO
from typing import TYPE_CHECKING, Any

from selectolax.lexbor import LexborHTMLParser

from lurelens import __version__ as _VERSION
from lurelens.parse.headers import decode_bytes, parse_addresses
from lurelens.parse.mime import raw_header_pairs, recipient_addresses
from lurelens.parse.redirects import decode_redirect
from lurelens.parse.classify import UrlClassifier
from lurelens.parse.urls import split_url
from lurelens.defuse.css import defuse_css, host_of
from lurelens.defuse.html import LINK_MODES, HtmlContext, defang_text, defuse_html, remote_references

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry

__all__ = ["DefuseReport", "DefuseResult", "defuse", "visible_words", "word_retention", "LINK_MODES", "HEADER"]

HEADER = "X-Lurelens-Defused"
_MAX_PASSES = 3
_INVISIBLE = "style, script, template, head, iframe, noembed, noframes"
_RECEIPTS = {"disposition-notification-to", "return-receipt-to", "x-confirm-reading-to"}
_BANNER_TOKEN = f"LURELENS{uuid.uuid4().hex}BANNER"  # filled in once every part is counted
_ASCII_RUN = re.compile(rb"[\x00-\x7f]+")
_NEWLINE = re.compile(r"\r?\n")
_ANY_NEWLINE = re.compile(r"\r\n|\r|\n")  # as email.generator.NLCRE
_WORD = re.compile(r"\w+", re.UNICODE)
_LINK_DESC = {"visible": "links kept, each destination shown next to it",
              "defang": "links disabled, destinations shown defanged (hxxps://example[.]com)",
              "warn": "links disabled and replaced by a warning naming the destination"}


def visible_words(html: str) -> list[str]:
    """The words of the text a reader sees (lexbor text minus style, script, head and the like),
    case-folded. The same function measures an original and its defused copy."""
    tree = LexborHTMLParser(html)
    for node in reversed(tree.css(_INVISIBLE)):
        node.decompose()
    root = tree.body or tree.root
    text = root.text(deep=True, separator=" ") if root is not None else ""
    return [w.casefold() for w in _WORD.findall(text)]


def word_retention(original: list[str], defused: list[str]) -> float:
    """Share of the original's words (counted with multiplicity) still present in the copy."""
    if not original:
        return 1.0
    have = Counter(defused)
    kept = sum(min(n, have[w]) for w, n in Counter(original).items())
    return kept / len(original)


@dataclass
class DefuseReport:
    links: str = "visible"
    removed: Counter = field(default_factory=Counter)  # kind -> remote fetches removed
    hosts: Counter = field(default_factory=Counter)  # host -> remote fetches removed
    trackers: int = 0
    other: Counter = field(default_factory=Counter)  # links rewritten, scripts, handlers, ...
    parts: list[str] = field(default_factory=list)  # MIME parts rewritten
    text_fallback: list[str] = field(default_factory=list)  # HTML parts reduced to text

    @property
    def fetches(self) -> int:
        return sum(self.removed.values())

    def sentence(self) -> str:
        if self.fetches:
            hosts = ", ".join(h for h, _ in self.hosts.most_common(5)) + (", ..." if len(self.hosts) > 5 else "")
            what = (f"{self.fetches} remote fetch{'es' if self.fetches != 1 else ''}"
                    f" ({self.trackers} tracking) to {len(self.hosts)} host{'s' if len(self.hosts) != 1 else ''}"
                    f" ({hosts}) removed, so opening it reports nothing to anyone")
        else:
            what = "no remote content found; opening it reports nothing to anyone"
        return f"Defused copy made by lurelens: {what}. {_LINK_DESC[self.links].capitalize()}."

    def header(self) -> str:
        hosts = ",".join(h for h, _ in self.hosts.most_common(8)) + (",..." if len(self.hosts) > 8 else "")
        parts = [f"lurelens {_VERSION}", f"removed={self.fetches}", f"trackers={self.trackers}",
                 f"hosts={len(self.hosts)}" + (f" ({hosts})" if hosts else ""), f"links={self.links}"]
        parts += [f"{k.replace(' ', '-')}={v}" for k, v in sorted(self.other.items())]
        if self.text_fallback:
            parts.append(f"text-only={','.join(self.text_fallback)}")
        return "; ".join(parts)[:900]

    def to_dict(self) -> dict[str, Any]:
        return {"fetches_removed": self.fetches, "trackers_removed": self.trackers, "by_kind": dict(self.removed),
                "hosts": dict(self.hosts), "links": self.links, "other": dict(self.other), "parts": self.parts,
                "text_fallback": self.text_fallback}


@dataclass
class DefuseResult:
    data: bytes
    report: DefuseReport


@lru_cache(maxsize=1)
def _registry():
    from lurelens.registry.data import DataRegistry

    return DataRegistry()


def _leaves(msg: EmailMessage, path: str = ""):
    payload = msg.get_payload()
    if isinstance(payload, list):
        if msg.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            return  # header blocks, not bodies
        for i, sub in enumerate(payload):
            yield from _leaves(sub, f"{path}.{i + 1}" if path else f"{i + 1}")
    else:
        yield (path or "1"), msg


def _boundaries(msg: EmailMessage) -> list[str]:
    return [b for p in msg.walk() if p.is_multipart() and (b := p.get_boundary())]


def _set_text(part: EmailMessage, text: str, boundaries: list[str]) -> None:
    """Replace a leaf's content by ``text``, as UTF-8 quoted-printable (or base64 for mostly
    non-ASCII text, or when a boundary line would appear in the encoded body)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    body = text.encode("utf-8", "surrogatepass")
    non_ascii = 0 if body.isascii() else len(_ASCII_RUN.sub(b"", body))
    enc, cte = None, "quoted-printable"
    if non_ascii * 3 <= len(body):
        enc = quopri.encodestring(body).decode("ascii")
        if any(f"--{b}" in enc for b in boundaries):
            enc = None
    if enc is None:
        enc, cte = base64.encodebytes(body).decode("ascii"), "base64"
    part.set_payload(enc)
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", cte)
    else:
        part["Content-Transfer-Encoding"] = cte
    part.set_param("charset", "utf-8")


def _is_attachment(part: EmailMessage) -> bool:
    disp = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    try:
        filename = part.get_filename()
    except Exception:  # noqa: BLE001
        filename = None
    return disp == "attachment" or (bool(filename) and disp != "inline")


def _text_only(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in reversed(tree.css(_INVISIBLE)):
        node.decompose()
    root = tree.body or tree.root
    text = root.text(deep=True, separator=" ") if root is not None else ""
    return f"<html><body><pre style=\"white-space:pre-wrap\">{htmllib.escape(text)}</pre></body></html>"


class _Run:
    """One message's defusing: the tracker test, the redirect decoder, and the report."""

    def __init__(self, msg: EmailMessage, links: str, data: "DataRegistry | None" = None):
        self.report = DefuseReport(links=links)
        data = data or _registry()
        def values(name: str) -> list[str]:
            return [str(v) for v in msg.get_all(name, [])]

        to_cc = parse_addresses(values("To") + values("Cc"))
        # The same recipients as the scan (lurelens.parse.mime), so both see the same tokens.
        self.classify = UrlClassifier(recipient_addresses(to_cc, values), data.trackers)
        self.data = data

    def is_tracker(self, url: str) -> str | None:
        if split_url(url) is None:
            return None
        if self.classify.tracker(url):
            return "tracker list"
        found = self.classify.recipient_token(url)
        return f"recipient token ({found[0]})" if found else None

    def destination(self, url: str) -> str | None:
        return decode_redirect(url, self.data)

    def record(self, url: str, kind: str, tracker: bool) -> None:
        self.report.removed[kind] += 1
        self.report.hosts[host_of(url)] += 1
        self.report.trackers += bool(tracker)

    def context(self, banner: bool) -> HtmlContext:
        return HtmlContext(links=self.report.links, is_tracker=self.is_tracker, destination=self.destination,
                           banner=_BANNER_TOKEN if banner else None, record=self.record)


def _defuse_html_part(run: _Run, html: str, path: str, banner: bool) -> tuple[str, HtmlContext]:
    ctx = run.context(banner)
    out = defuse_html(html, ctx)
    for _ in range(_MAX_PASSES - 1):
        if not remote_references(out):
            break
        ctx2 = run.context(False)
        out = defuse_html(out, ctx2)
        for k, v in ctx2.other.items():
            ctx.other[k] = ctx.other.get(k, 0) + v
    else:
        if remote_references(out):
            run.report.text_fallback.append(path)
            out = _text_only(out)
    return out, ctx


def defuse(raw: bytes, *, links: str = "visible", data: "DataRegistry | None" = None) -> DefuseResult:
    """The defused copy of ``raw`` (bytes of an RFC 5322 message) and what was changed.

    ``data``: the registries (with the user's overlay) to recognise trackers and redirects by;
    None: the shipped lists only."""
    if links not in LINK_MODES:
        raise ValueError(f"links must be one of {', '.join(LINK_MODES)}")
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    run = _Run(msg, links, data)
    boundaries = _boundaries(msg)
    pending: list[tuple[str, EmailMessage, str, str]] = []  # (path, part, kind, new text)
    for path, part in _leaves(msg):
        ct = part.get_content_type()
        if not ct.startswith("text/"):
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001 - undecodable: leave the part as it is
            continue
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogateescape")
        try:
            charset = part.get_content_charset()
        except Exception:  # noqa: BLE001 - a malformed charset parameter: decode_bytes guesses
            charset = None
        text = decode_bytes(payload, charset)
        attachment = _is_attachment(part)
        if ct == "text/html" or (ct not in ("text/plain", "text/css") and "<html" in text[:2000].lower()):
            new, ctx = _defuse_html_part(run, text, path, banner=not attachment)
            run.report.other.update(ctx.other)
            pending.append((path, part, "html", new))
        elif ct == "text/css":
            new = defuse_css(text, lambda u, k: run.record(u, k, False))
            if new != text:
                pending.append((path, part, "css", new))
        elif ct == "text/plain" and not attachment:
            pending.append((path, part, "plain", defang_text(text) if links != "visible" else text))
    banner = run.report.sentence()
    for path, part, kind, new in pending:
        if kind == "html":
            new = new.replace(_BANNER_TOKEN, htmllib.escape(banner), 1)
        elif kind == "plain":
            new = f"[{banner}]\n\n{new}"
        _set_text(part, new, boundaries)
        run.report.parts.append(path)
    for _ in range(len(msg.get_all(HEADER, []))):
        del msg[HEADER]  # a forged claim that the message was already defused
    _disable_receipts(msg, run.report)
    msg[HEADER] = run.report.header()
    return DefuseResult(_generate(msg, raw), run.report)


class _Generator(BytesGenerator):
    """Writes header fields as they were (the stdlib would re-fold every one of them), and bodies in
    one write instead of one per line."""

    _NL: str  # the line separator the stdlib Generator sets in flatten() (not in typeshed)

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_ANY_NEWLINE.sub(self._NL, lines))

    def _write_headers(self, msg: EmailMessage) -> None:
        for name, value in msg.raw_items():
            self.write(f"{name}: {_NEWLINE.sub(self._NL, str(value))}{self._NL}")
        self.write(self._NL)


def _disable_receipts(msg: EmailMessage, report: DefuseReport) -> None:
    """Read-receipt requests also report an opening: renamed (value kept) so no client acts on them."""
    renamed = 0
    pairs = raw_header_pairs(msg)  # the message's own list: renaming in place keeps the order
    for i, (name, value) in enumerate(pairs):
        if name.strip().lower() in _RECEIPTS:
            pairs[i] = (f"X-Lurelens-Disabled-{name.strip()}", value)
            renamed += 1
    if renamed:
        report.other["read-receipt requests disabled"] += renamed


def _generate(msg: EmailMessage, raw: bytes) -> bytes:
    first = raw.find(b"\n")
    linesep = "\r\n" if first > 0 and raw[first - 1 : first] == b"\r" else "\n"
    out = BytesIO()
    gen = _Generator(out, mangle_from_=False, policy=policy.compat32.clone(linesep=linesep, max_line_length=0))
    gen.flatten(msg, unixfrom=msg.get_unixfrom() is not None)
    return out.getvalue()
