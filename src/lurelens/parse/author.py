"""Who wrote the message, read the way different real implementations read it.

Spoofing attacks on the From header ("Composition Kills", Chen et al. 2020; Mailsploit, 2017)
work because the receiving server's DMARC module and the reader's mail client pick different
authors out of the same bytes. This module reads the author several ways once, at parse time:
Python's compat32 and strict ``policy.default`` parsers, ``getaddresses``, a careful RFC 5322
tokenizer of our own, the identity a receiver's DMARC module checked (its ``header.from``, or an
emulation), and what a mail client displays. Checks compare the readings; nothing here judges.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import re
from email import policy
from email.utils import getaddresses

from lurelens.model import AuthorField, AuthorReading, AuthorReadings, AuthResult
from lurelens.parse.headers import decode_bytes, fix_8bit, unfold

__all__ = ["AUTHOR_FIELDS", "display_addresses", "header_block_fields", "parse_rfc5322", "read_author", "readings_disagree"]

AUTHOR_FIELDS = ("from", "sender", "resent-from")
_MAX_BLOCK = 256 * 1024
_MAX_FIELDS = 50
_MAX_VALUE = 4096
_MAX_STRICT = 998  # RFC 5322's line limit

# A continuation line that reads as an author field of its own to a lenient receiver (" From: x").
_INDENTED = re.compile(r"^[ \t]+(from|sender|resent-from)[ \t]*:(.*)$", re.IGNORECASE | re.DOTALL)
_BLANK = re.compile(rb"\r?\n\r?\n")
_SIGNATURE_FIELDS = ("dkim-signature", "arc-", "x-google-dkim", "domainkey-signature")
# Plain forms every parser reads alike: no comments, quoted pairs, groups, routes or encoded words.
_SIMPLE = re.compile(
    r'^(?:(?:"[^"\\\x00-\x1f]*"|[\w.\'\-]+(?: [\w.\'\-]+)*) ?)?<([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+)>$|^([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+)$'
)
_EW = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
# An encoded word written with spaces inside: invalid, but a lenient decoder still decodes it.
_EW_LOOSE = re.compile(r"=\?\s*([\w\- ]{1,40}?)\s*\?\s*([bBqQ])\s*\?([^?]{0,400})\?\s*=")
_ANGLE = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_ADDR_SPACE = re.compile(r"[ \t]*([.@])[ \t]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_GETADDRESSES_STRICT = "strict" in inspect.signature(getaddresses).parameters


def header_block_fields(raw: bytes) -> list[AuthorField]:
    """From, Sender and Resent-From fields as a tolerant receiver finds them in the raw header
    block (up to the first empty line), including the forms Python's parser does not take for a
    field: an indented " From:" (a continuation line to Python), "From :" (an mbox "From " line
    to Python) and a name folded before its colon ("From\\r\\n :", which ends Python's headers)."""
    block = raw[:_MAX_BLOCK]
    m = _BLANK.search(block)
    if m:
        block = block[: m.start()]
    text = block.decode("ascii", "surrogateescape")  # 8-bit bytes fixed per author value only
    fields: list[AuthorField] = []
    group: list[str] = []

    def finish() -> None:
        if not group[0][:12].lower().startswith(("from", "sender", "resent-from")):
            return
        joined = "\r\n".join(group)
        colon = joined.find(":")
        if colon <= 0:
            return
        raw_name = joined[:colon]
        name = re.sub(r"\s+", "", raw_name).lower()
        if name not in AUTHOR_FIELDS:
            return
        issue = "folded_name" if "\n" in raw_name else ("space_before_colon" if raw_name != raw_name.strip() else "")
        fields.append(AuthorField(name, raw_name, fix_8bit(unfold(joined[colon + 1 :]).strip()[:_MAX_VALUE]), issue))

    for line in re.split(r"\r?\n", text)[:4000]:
        if len(fields) >= _MAX_FIELDS:
            break
        if line[:1] in (" ", "\t") and group:
            ind = _INDENTED.match(line)
            # A signature's folded h= list ("  From:To:Subject") is no field; a field has an address.
            if ind and "@" in ind.group(2) and not group[0].lower().startswith(_SIGNATURE_FIELDS):
                fields.append(AuthorField(ind.group(1).lower(), line[: line.index(":")], fix_8bit(ind.group(2).strip()[:_MAX_VALUE]),
                                          "leading_space"))
            group.append(line)
            continue
        if group:
            finish()
        group = [line]
    if group and len(fields) < _MAX_FIELDS:
        finish()
    return fields


# --- RFC 5322 tokenizer --------------------------------------------------------------------------

_SPECIALS = set('<>@,;:.[]"()\\')


def _tokens(value: str, tricks: list[tuple[str, str]]) -> tuple[list[tuple[str, str, int]], str]:
    """(kind, text, position) tokens: atom, qs (quoted string), comment, dlit, sp (special),
    qp (a quoted pair outside any quoted string or comment, which RFC 5322 does not allow)."""
    toks: list[tuple[str, str, int]] = []
    i, n = 0, len(value)
    error = ""
    while i < n:
        c = value[i]
        if c in " \t\r\n":
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and value[j] != '"':
                if value[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(value[j])
                j += 1
            if j >= n:
                error = error or "unterminated quoted string"
            toks.append(("qs", "".join(buf), i))
            i = j + 1
        elif c == "(":
            depth, j, buf = 1, i + 1, []
            while j < n and depth:
                if value[j] == "\\" and j + 1 < n:
                    buf.append(value[j + 1])
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(value[j], 0)
                if depth:
                    buf.append(value[j])
                j += 1
            if depth:
                error = error or "unterminated comment"
            toks.append(("comment", "".join(buf), i))
            i = j
        elif c == "[":
            j = value.find("]", i)
            j = n if j < 0 else j
            toks.append(("dlit", value[i : j + 1], i))
            i = j + 1
        elif c == "\\":
            nxt = value[i + 1] if i + 1 < n else ""
            tricks.append(("quoted_pair", f"\\{nxt} outside quotes at {i}: {value[max(0, i - 30):i + 30]!r}"))
            toks.append(("qp", nxt, i))
            i += 2
        elif c in _SPECIALS:
            toks.append(("sp", c, i))
            i += 1
        else:
            j = i
            while j < n and value[j] not in _SPECIALS and value[j] not in " \t\r\n":
                j += 1
            toks.append(("atom", value[i:j], i))
            i = j
    return toks, error


def _addr_spec(toks: list[tuple[str, str, int]]) -> tuple[str, str]:
    """local@domain from addr-spec tokens (comments already out), or ("", reason)."""
    ats = [k for k, t in enumerate(toks) if t[0] == "sp" and t[1] == "@"]
    if len(ats) != 1:
        return "", "no @" if not ats else "several @ in one address"
    a = ats[0]
    local_t, dom_t = toks[:a], toks[a + 1 :]
    if not local_t or not dom_t:
        return "", "empty local part or domain"
    for part, allowed in ((local_t, ("atom", "qs")), (dom_t, ("atom", "dlit"))):
        for k, t in enumerate(part):
            if k % 2 == 0 and t[0] not in allowed:
                return "", f"unexpected {t[1]!r}"
            if k % 2 == 1 and not (t[0] == "sp" and t[1] == "."):
                return "", f"unexpected {t[1]!r}"
        if len(part) % 2 == 0:
            return "", "address ends in a dot"
    local = ".".join(t[1] if t[0] == "atom" else '"' + t[1] + '"' for t in local_t[::2])
    domain = ".".join(t[1] for t in dom_t[::2]).lower()
    return f"{local}@{domain}", ""


def parse_rfc5322(value: str, tricks: list[tuple[str, str]] | None = None) -> tuple[list[tuple[str, str, str]], str]:
    """Mailboxes in an address-list as RFC 5322 (with its obsolete route syntax) reads them:
    [(display name, local@domain, route)], and the first syntax error ("" when valid). Tricks met
    (quoted pairs outside quotes, comments inside or holding addresses, routes, encoded words in
    an address) are appended to ``tricks``."""
    tricks = tricks if tricks is not None else []
    toks, error = _tokens(value, tricks)
    mailboxes: list[tuple[str, str, str]] = []
    # Split on top-level commas (outside angle brackets, where an obs-route has its own commas).
    items: list[list[tuple[str, str, int]]] = [[]]
    depth = 0
    for t in toks:
        if t[0] == "sp" and t[1] == "<":
            depth += 1
        elif t[0] == "sp" and t[1] == ">":
            depth = max(0, depth - 1)
        if t[0] == "sp" and t[1] == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(t)
    pending_comments: list[tuple[str, str]] = []
    for item in items:
        # A group ("name: a@b, c@d;") opens with a phrase and a colon outside any angle brackets.
        angle_at = next((k for k, t in enumerate(item) if t[0] == "sp" and t[1] == "<"), len(item))
        colon = next((k for k, t in enumerate(item[:angle_at]) if t[0] == "sp" and t[1] == ":"), None)
        if colon is not None:
            item = item[colon + 1 :]
        item = [t for t in item if not (t[0] == "sp" and t[1] == ";")]
        comments = [t for t in item if t[0] == "comment"]
        core = [t for t in item if t[0] != "comment"]
        if not core:
            continue
        for c in comments:
            m = re.search(r"@([\w\-]+(?:\.[\w\-]+)+)", c[1])
            if m:
                pending_comments.append((m.group(1).lower(), c[1]))
        opens = [k for k, t in enumerate(core) if t[0] == "sp" and t[1] == "<"]
        if opens:
            closes = [k for k, t in enumerate(core) if t[0] == "sp" and t[1] == ">"]
            if len(opens) != 1 or len(closes) != 1 or closes[0] < opens[0]:
                error = error or "several or unbalanced angle brackets in one mailbox"
                continue
            lt, gt = opens[0], closes[0]
            phrase, inner, after = core[:lt], core[lt + 1 : gt], core[gt + 1 :]
            if after:
                error = error or f"text after the angle address: {''.join(t[1] for t in after)[:60]!r}"
                continue
            if any(t[0] not in ("atom", "qs") and not (t[0] == "sp" and t[1] == ".") for t in phrase):
                error = error or "specials in the display name"
            route = ""
            if inner and inner[0][0] == "sp" and inner[0][1] == "@":
                rc = next((k for k, t in enumerate(inner) if t[0] == "sp" and t[1] == ":"), None)
                if rc is None:
                    error = error or "route without a colon"
                    continue
                route = "".join(t[1] for t in inner[:rc])
                inner = inner[rc + 1 :]
                tricks.append(("route", f"route {route}: before the address"))
            lo, hi = item.index(core[lt]), item.index(core[gt])
        else:
            phrase, inner, route = [], core, ""
            lo, hi = item.index(core[0]), item.index(core[-1])
        # A comment between an address's own tokens splits what readers take for its domain.
        if any(t[0] == "comment" for t in item[lo:hi]):
            tricks.append(("comment_in_address", "a comment inside the address"))
        addr, why = _addr_spec(inner)
        if not addr:
            error = error or f"invalid address: {why}"
            continue
        mailboxes.append((" ".join(t[1] for t in phrase if t[0] != "sp"), addr, route))
    own = {a.rpartition("@")[2] for _n, a, _r in mailboxes}
    for dom, text in pending_comments:
        if dom not in own:
            tricks.append(("comment_address", f"a comment holds another address: ({text[:80]})"))
    for _name, addr, _route in mailboxes:
        if "=?" in addr and "?=" in addr:
            tricks.append(("encoded_in_address", f"encoded word inside the address {addr[:100]!r}"))
    return mailboxes, error


# --- what a mail client shows --------------------------------------------------------------------

def _decode_word(charset: str, enc: str, text: str) -> str:
    charset = charset.replace(" ", "")
    text = text.replace(" ", "")
    if enc in "bB":
        try:
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return ""
    else:
        data = re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.replace("_", " ").encode("latin-1", "replace"))
    return decode_bytes(data, charset)


def decode_everywhere(value: str, loose: bool = False) -> str:
    """RFC 2047 decoding applied anywhere in the value, inside quotes and addresses too, the way
    the clients Mailsploit fooled decoded (RFC 2047 allows encoded words only in phrases)."""
    pat = _EW_LOOSE if loose else _EW
    return pat.sub(lambda m: _decode_word(m.group(1), m.group(2), m.group(3)), value)


def _split_top_commas(value: str) -> list[str]:
    out: list[str] = []
    buf: list[str] = []
    quoted, depth = False, 0
    for c in value:
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "<":
            depth += 1
        elif not quoted and c == ">":
            depth = max(0, depth - 1)
        if c == "," and not quoted and depth == 0:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(c)
    out.append("".join(buf))
    return out


_STOP = frozenset(' \t<>"(),;:\\[]')


def _bare_address(text: str) -> str:
    """The first local@domain run in ``text`` (a linear scan: a regex here is quadratic on junk)."""
    at = text.find("@")
    for _ in range(5):
        if at < 0:
            return ""
        lo = at
        while lo > 0 and text[lo - 1] not in _STOP and text[lo - 1] != "@":
            lo -= 1
        hi = at + 1
        while hi < len(text) and text[hi] not in _STOP and text[hi] != "@":
            hi += 1
        if lo < at and hi > at + 1:
            return text[lo:hi]
        at = text.find("@", at + 1)
    return ""


def display_addresses(value: str) -> list[str]:
    """The addresses a simple client may show for a From value: encoded words decoded everywhere,
    the text cut at the first NUL or line break (C strings, one-line display), then from each
    comma-separated item its angle address (route dropped) and any address written after it, else
    its first bare address. Clients differ on which of several they show, so all are kept."""
    text = re.split(r"[\x00\r\n]", decode_everywhere(value), maxsplit=1)[0]
    # Clients drop comments and the obsolete spaces around an address's dots and @.
    for _ in range(3):
        text = _COMMENT.sub("", text)
    text = _ADDR_SPACE.sub(r"\1", text)
    out = []
    for item in _split_top_commas(text)[:20]:
        m = _ANGLE.search(item)
        if m and "@" in m.group(1):
            # An address written after the angle address ("<a@x>b@y") is what some clients show.
            found = [m.group(1).rsplit(":", 1)[-1].strip(), _bare_address(item[m.end():])]
        else:
            found = [_bare_address(item)]
        for addr in found:
            local, _, dom = addr.rpartition("@")
            if local and dom:
                out.append(f"{local}@{dom.lower().rstrip('.')}")
    return out


def readings_disagree(author: AuthorReadings, auth: dict, list_id: str | None = None) -> tuple[set[str], set[str]] | None:
    """(authenticated, shown) registrable domains when the reader may be shown an author the
    receiver did not authenticate, else None. ``auth`` is ``Message.auth``. Two shown domains are
    their own authors, not a disagreement: the authenticating host's own (it authenticated the
    original and rewrote From to itself), and a mailing list's when the trusted result was
    written two or more hops below the top, before the list rewrote From (DMARC mitigation). An
    attacker chooses neither the trusted authserv-id nor the hops the receiver adds on top."""
    from lurelens.parse.urls import registrable_domain

    dmarc, display = author.reading("dmarc"), author.reading("display")
    if dmarc is None or display is None:
        return None
    authed = {registrable_domain(d) for d in dmarc.domains} - {""}
    shown = {registrable_domain(d) for d in display.domains} - {""}
    if auth.get("authserv_id"):
        shown -= {registrable_domain(str(auth["authserv_id"]).strip().rstrip(".").lower())}
    m = re.search(r"<([^<>\s]+)>", list_id or "")
    if m and (auth.get("hop") or 0) >= 2 and "Authentication-Results" in dmarc.source:
        shown -= {registrable_domain(m.group(1).lower())}
    return (authed, shown) if authed and shown - authed else None


# --- the readings --------------------------------------------------------------------------------

def _clean(addr: str) -> str:
    addr = addr.strip().strip("<>")
    local, _, dom = addr.rpartition("@")
    return f"{local}@{dom.lower().rstrip('.')}" if local and dom and "." in dom else ""


def _reported_header_from(auth_results: dict[str, AuthResult]) -> str:
    r = auth_results.get("dmarc")
    hf = (r.props.get("header.from") or "").strip().strip('"').lower() if r else ""
    return hf.rpartition("@")[2].rstrip(".") if hf else ""


def read_author(
    raw: bytes | None,
    headers: list[tuple[str, str]],
    auth_results: dict[str, AuthResult] | None = None,
) -> AuthorReadings:
    """All readings of the author. ``raw`` is the message's bytes (None for a nested message,
    whose header block is rebuilt from the parsed headers); ``headers`` are the compat32 fields;
    ``auth_results`` the trusted receiver's results (its DMARC ``header.from``)."""
    out = AuthorReadings()
    if raw is not None:
        out.fields = header_block_fields(raw)
    else:
        out.fields = [AuthorField(k.lower(), k, v[:_MAX_VALUE]) for k, v in headers if k.lower() in AUTHOR_FIELDS][:_MAX_FIELDS]
    py_from = [fix_8bit(v[:_MAX_VALUE]) for k, v in headers if k.lower() == "from"][:_MAX_FIELDS]
    raw_from = [f for f in out.fields if f.name == "from"]
    tricks = out.tricks
    reported = _reported_header_from(auth_results or {})

    simple = (len(raw_from) == 1 and not raw_from[0].issue and len(py_from) == 1 and "=?" not in py_from[0]
              and _SIMPLE.match(py_from[0].strip()))
    if simple:
        # One plain mailbox: every reader agrees, no need to run four parsers over it.
        m = _SIMPLE.match(py_from[0].strip())
        assert m is not None  # `simple` matched this same string
        addr = _clean(m.group(1) or m.group(2))
        addrs = [addr] if addr else []
        for reader in ("python-compat32", "python-default", "rfc5322", "display"):
            out.readings.append(AuthorReading(reader, list(addrs), "From", "plain mailbox"))
        out.readings.append(
            AuthorReading("dmarc", [reported] if reported else list(addrs),
                          "trusted Authentication-Results header.from" if reported else "first From field (emulated)")
        )
        return out

    # Python's standard library: compat32 with getaddresses (what lurelens reads by default) ...
    try:
        pairs = getaddresses(py_from)
    except Exception:  # noqa: BLE001 - a parser failing is itself a reading
        pairs = []
    out.readings.append(AuthorReading("python-compat32", [a for a in (_clean(p[1]) for p in pairs) if a], "From (compat32 fields)"))
    if _GETADDRESSES_STRICT:  # Python >= 3.11.10 / 3.12.6: strict by default, the old lenient reading on request
        try:
            lenient = getaddresses(py_from, strict=False)  # type: ignore[call-arg]
        except Exception:  # noqa: BLE001
            lenient = []
        out.readings.append(AuthorReading("python-getaddresses-lenient", [a for a in (_clean(p[1]) for p in lenient) if a], "From"))
    # ... and the strict header registry of policy.default.
    strict_addrs: list[str] = []
    notes: list[str] = []
    for v in py_from:
        if len(v) > _MAX_STRICT:
            # The stdlib's strict parser is superlinear on long runs of specials; no author needs this much.
            notes.append(f"not read: longer than {_MAX_STRICT} characters")
            continue
        try:
            h = policy.default.header_factory("From", v)
            strict_addrs += [a for a in (_clean(x.addr_spec) for x in h.addresses) if a]
            notes += [str(d) for d in h.defects][:3]
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{type(exc).__name__}")
    out.readings.append(AuthorReading("python-default", strict_addrs, "From", "; ".join(notes)[:200]))

    # RFC 5322, on every From field the raw header block holds.
    rfc_addrs: list[str] = []
    errors: list[str] = []
    for f in raw_from:
        boxes, err = parse_rfc5322(f.value, tricks)
        if err:
            errors.append(err)
        rfc_addrs += [a for a in (_clean(b[1]) for b in boxes) if a]
    out.readings.append(AuthorReading("rfc5322", [] if errors else rfc_addrs, "From", "; ".join(errors)[:200]))

    # Encoded words that change the address once decoded, or hide control characters.
    for f in raw_from:
        strict_dec = decode_everywhere(f.value)
        for loose, dec in ((False, strict_dec), (True, decode_everywhere(f.value, True))):
            base = strict_dec if loose else f.value
            control = bool(_CONTROL.search(dec) or "\r" in dec or "\n" in dec) and not _CONTROL.search(base)
            hidden = dec.count("@") > base.count("@") or dec.count("<") > base.count("<")
            what = "malformed encoded word that a lenient client decodes" if loose else "encoded word"
            if control:
                tricks.append(("encoded_control", f"{what} decodes to control characters: {dec[:100]!r}"))
            if hidden:
                tricks.append(("encoded_address", f"{what} hides an address: {dec[:100]!r}"))
        if _CONTROL.search(f.value):
            tricks.append(("control", f"control characters in the From field: {f.value[:100]!r}"))

    # What the reader sees: every From field (a client shows one; which one varies), or the
    # Sender / Resent-From a client falls back to when no From field is readable.
    shown = [a for f in raw_from for a in display_addresses(f.value)]
    source = "From"
    if not any(f for f in raw_from if not f.issue) or not shown:
        for name in ("sender", "resent-from"):
            extra = [a for f in out.fields if f.name == name for a in display_addresses(f.value)]
            if extra:
                shown += extra[:1]
                source = f"From, else {name.title()}"
                break
    out.readings.append(AuthorReading("display", list(dict.fromkeys(shown)), source))

    # The identity the receiver's DMARC module checked: its own header.from when it wrote one,
    # else the first From field in the raw block (receivers tolerate odd field names).
    if reported:
        out.readings.append(AuthorReading("dmarc", [reported], "trusted Authentication-Results header.from"))
    else:
        first = raw_from[0].value if raw_from else ""
        boxes, _err = parse_rfc5322(first, [])
        addr = _clean(boxes[0][1]) if boxes else ""
        if not addr and first:
            m = re.search(r"@([\w\-]+(?:\.[\w\-]+)+)", first)
            addr = f"x@{m.group(1).lower()}" if m else ""
        out.readings.append(AuthorReading("dmarc", [addr] if addr else [], "first From field (emulated)"))
    del tricks[50:]  # junk can produce one per character; a few are evidence enough
    return out
