"""lurelens.parse.fastmime builds exactly the tree the stdlib's compat32 parser builds, or steps
aside (None): on every dev-corpus message, on generated multipart mail and on mutated bytes.
The parsed Message model is then the same whichever parser ran."""

from __future__ import annotations

import dataclasses
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lurelens.parse import fastmime, mime
from lurelens.parse.fastmime import parse_fast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from common import SETS  # noqa: E402  - the dev sets bench/ and verdict_diff.py use

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def tree(m) -> tuple:
    """Everything the compat32 parser sets on a message and its parts."""
    p = m._payload
    return (m._unixfrom, list(m._headers), [tree(x) for x in p] if isinstance(p, list) else p,
            m.preamble, m.epilogue, [(type(d).__name__, str(d)) for d in m.defects], m._default_type, m._charset)


def stdlib_tree(raw: bytes) -> tuple:
    return tree(BytesParser(policy=policy.compat32).parsebytes(raw))


def same_or_aside(raw: bytes) -> bool:
    """True when the fast path took the message (and built the stdlib's tree), False when it stepped aside."""
    fast = parse_fast(raw)
    if fast is None:
        return False
    assert tree(fast) == stdlib_tree(raw), raw[:300]
    return True


def _corpus_files() -> list[Path]:
    return [p for _n, folder, _k in SETS for p in sorted((CORPUS / folder).rglob("*.eml")) if p.is_file()]


@pytest.mark.corpus
def test_every_corpus_message_gives_the_stdlib_tree(corpus):
    files = _corpus_files()
    assert files
    taken = {}
    for f in files:
        set_name = next(n for n, folder, _k in SETS if str(f).startswith(str(corpus / folder) + "/"))
        ok = same_or_aside(f.read_bytes())
        t = taken.setdefault(set_name, [0, 0])
        t[0] += ok
        t[1] += 1
    # The point is speed: the fast path must take nearly all real mail (it took 2003 of 2006
    # phishing_pot messages and all but one easy_ham message when written).
    for name in ("phishing_pot", "easy_ham", "usrp-users"):
        if name in taken:
            assert taken[name][0] >= 0.97 * taken[name][1], (name, taken[name])


def _model(raw: bytes):
    m = mime.parse_message(raw)
    d = dataclasses.asdict(m)
    return d


@pytest.mark.corpus
def test_parsed_model_is_the_same_with_and_without_the_fast_path(corpus, monkeypatch):
    files = _corpus_files()[::7]  # a spread over every set; the tree test above covers them all
    fast = [_model(f.read_bytes()) for f in files]
    monkeypatch.setattr(mime, "parse_fast", lambda raw: None)
    for f, want in zip(files, fast):
        assert _model(f.read_bytes()) == want, f


# -- generated mail --------------------------------------------------------------------------------

_BCHARS = "abcXYZ0189'()+_,-./:=? "
_NAMES = ["From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "X-A", "Received",
          "content-type", "MIME-Version", "Content-Disposition"]
_ODD_NAMES = ["From ", " From", "Bad Name", "", "X\x80"]
_CTYPES = ["text/plain", "text/html; charset=utf-8", "application/pdf; name=a.pdf", "TEXT/PLAIN", "text", "image/png"]
_ODD_CTYPES = ["message/rfc822", "message/delivery-status", "multipart/digest", "multipart/mixed"]


def _pick(draw, odd: bool, good: list, bad: list):
    """Mostly well-formed choices (the fast path's ground), odd ones now and then when ``odd``."""
    if odd and draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(bad))
    return draw(st.sampled_from(good))


@st.composite
def _headers(draw, ctype: str | None, eol: str, odd: bool) -> str:
    out = []
    if draw(st.integers(0, 6)) == 0:
        out.append("From someone@example.org Tue Nov 10 08:00:00 2026" + eol)
    for _ in range(draw(st.integers(0, 4))):
        name = _pick(draw, odd, _NAMES, _ODD_NAMES)
        value = draw(st.text(alphabet="ab :;=\"<>@.\t\x80é", max_size=20))
        line = name + ":" + value + _pick(draw, odd, [eol], ["\r", "\n\r", ""])
        if draw(st.booleans()):
            line += _pick(draw, odd, [" ", "\t"], ["", "From "]) + "folded" + eol
        out.append(line)
    if ctype is not None:
        cte = draw(st.sampled_from(["", "Content-Transfer-Encoding: base64" + eol, "Content-Transfer-Encoding: 7bit" + eol]))
        out.insert(draw(st.integers(0, len(out))), f"Content-Type: {ctype}{eol}" + cte)
    return "".join(out)


@st.composite
def _entity(draw, depth: int = 0, eol: str | None = None, odd: bool | None = None) -> str:
    eol = eol or draw(st.sampled_from(["\r\n", "\n"]))
    odd = draw(st.booleans()) if odd is None else odd
    if depth < 3 and draw(st.integers(0, 1 + depth)) == 0:
        boundary = draw(st.text(alphabet=_BCHARS, min_size=1, max_size=12))
        sub = draw(st.sampled_from(["mixed", "alternative", "related", "digest", "MIXED"]))
        quoted = draw(st.booleans())
        ct = f'multipart/{sub}; boundary={chr(34) if quoted else ""}{boundary}{chr(34) if quoted else ""}'
        body = draw(st.sampled_from(["", "preamble" + eol, eol, "--" + boundary + "x" + eol]))
        for _ in range(draw(st.integers(0, 3))):
            delim = _pick(draw, odd, [""], ["\r"]) + "--" + boundary + _pick(draw, odd, ["", " ", "\t "], ["x", "--", "\r"]) + eol
            body += delim * _pick(draw, odd, [1], [2, 0]) + draw(_entity(depth + 1, eol, odd)) + eol
        if _pick(draw, odd, [True], [False]):
            body += "--" + boundary + "--" + draw(st.sampled_from(["", eol, "  " + eol]))
            body += draw(st.sampled_from(["", "epilogue" + eol, eol, "--" + boundary + eol]))
        return draw(_headers(ct, eol, odd)) + _pick(draw, odd, [eol], ["", "x\n"]) + body
    ct = draw(st.one_of(st.none(), st.sampled_from(_CTYPES), st.sampled_from(_ODD_CTYPES) if odd else st.nothing()))
    body = draw(st.text(alphabet="ab -=:\x80" + eol + ("\r" if odd else ""), max_size=40))
    return draw(_headers(ct, eol, odd)) + _pick(draw, odd, [eol], ["", " \n"]) + body


_SEEDS = [
    b"From: a@b.c\r\nSubject: s\r\n\r\nbody\r\n",
    b'Content-Type: multipart/mixed; boundary="B"\n\npre\n--B\nContent-Type: text/plain\n\nx\n--B\n\ny\n--B--\nepi\n',
    b"Content-Type: multipart/alternative; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/related; boundary=i\r\n"
    b"\r\n--i\r\n\r\n<p>x</p>\r\n--i--\r\n--o\r\nContent-Type: text/plain\r\n\r\nt\r\n--o--\r\n",
]
if CORPUS.is_dir():
    for _folder in ("phishing_pot", "spamassassin/easy_ham", "malformed"):
        _SEEDS += [p.read_bytes()[:6000] for p in sorted((CORPUS / _folder).rglob("*.eml"))[:15]]

_MUTANTS = [b"\r", b"\n", b"\r\n", b"--", b" ", b"\t", b":", b"From ", b"\x80", b"\n--", b"\n\n", b"boundary=x;", b""]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_entity())
def test_generated_mail_gives_the_stdlib_tree(text):
    same_or_aside(text.encode("utf-8", "surrogateescape"))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8), st.sampled_from(_MUTANTS)), max_size=6))
def test_mutated_mail_gives_the_stdlib_tree(seed, edits):
    raw = seed
    for where, cut, insert in edits:
        i = int(where * len(raw))
        raw = raw[:i] + insert + raw[i + cut :]
    same_or_aside(raw)


def test_well_formed_mail_takes_the_fast_path():
    for raw in _SEEDS[:3]:
        assert same_or_aside(raw)
    # and what it must leave to the stdlib: bare CR, no close delimiter after an empty last part,
    # a message/rfc822 part, a header block with no blank line, a continuation line first
    for raw in (b"A: b\rC: d\r\n\r\nx", b"Content-Type: multipart/mixed; boundary=B\n\n--B\n",
                b"Content-Type: message/rfc822\n\nFrom: x\n\ny", b"A: b\n", b" A: b\n\nx"):
        assert parse_fast(raw) is None, raw


@pytest.mark.parametrize("raw", [
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\n\nx\r--B\n\ny\n--B--\n",  # delimiter after a bare CR
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\n\nx\r",  # no close; the last part ends in a bare CR
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\r\nA: b\r\n\r\nx\r\r\n--B--\r\n",
    b"Content-Type: multipart/mixed; boundary=B\n\n--B \t\nA: b\n\nx\n--B--\r",  # close ended by a bare CR
    b"A: b\r\r\nC: d\r\n\r\nbody\rwith\rbare\rCRs\r\n",
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\n\nx\n--B--\n--B\n\ny\n",  # a delimiter in the epilogue
    b"Content-Type: multipart/mixed; boundary=\"B:\"\n\n--B:\nB: c\n\nx\n--B:--\n",
    b"From x@y Tue Nov 10 08:00:00 2026\r\nA: b\r\n\r\nbody",
])
def test_tricky_line_ends_give_the_stdlib_tree(raw):
    same_or_aside(raw)


def test_deep_nesting_steps_aside():
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(40)) + b"\nx\n"
    assert parse_fast(raw) is None
    assert fastmime._MAX_DEPTH < 40
