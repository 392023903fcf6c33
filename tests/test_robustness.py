"""Scanning never raises and always labels: the malformed corpus, fuzzing, and a memory bound.

No timing assertions: limits are exercised elsewhere; here only "it returns, with a label"."""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lurelens import Scanner, Verdict
from lurelens.model.verdict import LABELS
from lurelens.report.jsonout import dumps, verdict_to_dict
from lurelens.testing import MessageBuilder


def _fuzz_scan(scanner: Scanner, raw: bytes) -> None:
    _check(scanner.scan(raw))


def _check(v: Verdict) -> None:
    assert isinstance(v, Verdict)
    assert v.label in LABELS
    assert not [f.evidence for f in v.findings if f.symbol == "CHECK_ERROR"]
    json.loads(dumps(verdict_to_dict(v)))  # the report can always be written


# -- the malformed corpus -----------------------------------------------------------------------


@pytest.mark.corpus
def test_malformed_corpus_scans(corpus, scanner):
    files = sorted(p for p in (corpus / "malformed").rglob("*") if p.is_file())
    if not files:
        pytest.skip("corpus/malformed is empty")
    failures = []
    for p in files:
        try:
            _check(scanner.scan(p.read_bytes(), file=str(p)))
        except Exception as exc:  # noqa: BLE001 - collect every failing file
            failures.append(f"{p.relative_to(corpus)}: {type(exc).__name__}: {exc}")
    assert failures == []


# -- fuzzing ------------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seeds() -> list[bytes]:
    return [
        MessageBuilder().text("Hello Bob, see https://www.example.com/x\r\n").build(),
        MessageBuilder()
        .text("plain")
        .html('<style>.p{display:none}</style><div class=p><img src="https://t.example.net/o?e=bob@example.org"></div>'
              '<a href="https://r.example.net/r?url=https%3A%2F%2Flogin.example.org">www.example.com</a>')
        .auth("spf=fail smtp.mailfrom=example.net; dmarc=fail header.from=example.com")
        .attach("a.pdf.exe", "application/octet-stream", b"MZ\x90\x00")
        .build(),
        MessageBuilder()
        .sender("=?utf-8?B?Ym9zc0BleGFtcGxlLm9yZw==?= <x@example.net>")
        .subject("=?iso-8859-1?Q?R=E9union?=")
        .html('<p>hi</p><img src="cid:a@example.com">')
        .related("a@example.com", "image/png", b"\x89PNG")
        .build(),
    ]


SEEDS = _seeds()


@st.composite
def mutated(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup"]))
        pos = draw(st.integers(0, len(raw)))
        if op == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=40) | st.sampled_from(
                [b"\r\n", b"\r\n\r\n", b"--", b"=?utf-8?B?", b"?=", b"<", b">", b"\x00", b"\xff", b":", b"\r\n "]))
        elif op == "delete":
            del raw[pos:pos + draw(st.integers(1, 60))]
        elif op == "replace" and pos < len(raw):
            raw[pos] = draw(st.integers(0, 255))
        else:
            n = draw(st.integers(1, 200))
            raw[pos:pos] = raw[pos:pos + n]
    return bytes(raw)


@st.composite
def nested_multiparts(draw) -> bytes:
    depth = draw(st.integers(1, 400))
    kind = draw(st.sampled_from(["mixed", "alternative", "related", "rfc822"]))
    out = b"From: a@example.com\r\nTo: bob@example.org\r\nMIME-Version: 1.0\r\n"
    closes = []
    for i in range(depth):
        if kind == "rfc822" and i % 2:
            out += b"Content-Type: message/rfc822\r\n\r\nFrom: x@example.net\r\n"
            continue
        out += b'Content-Type: multipart/%s; boundary="b%d"\r\n\r\n--b%d\r\n' % (kind.encode() if kind != "rfc822" else b"mixed", i, i)
        closes.append(b"\r\n--b%d--\r\n" % i)
    out += b'Content-Type: text/html\r\n\r\n<img src="https://t.example.net/o.gif" width=1 height=1>'
    if draw(st.booleans()):
        out += b"".join(reversed(closes))
    return out


@st.composite
def huge_headers(draw) -> bytes:
    n = draw(st.integers(1000, 300_000))
    ch = draw(st.sampled_from([b"a", b" ", b"=?utf-8?B?QUFB?= ", b"a@example.com, ", b"(", b"\r\n "]))
    name = draw(st.sampled_from([b"Subject", b"From", b"To", b"Authentication-Results", b"Received", b"X-Junk"]))
    value = (ch * (n // len(ch) + 1))[:n]
    return b"From: a@example.com\r\n" + name + b": " + value + b"\r\n\r\nbody"


@st.composite
def many_parts(draw) -> bytes:
    n = draw(st.integers(1, 3000))
    ct = draw(st.sampled_from([b"text/plain", b"text/html", b"image/png", b"message/rfc822"]))
    body = draw(st.sampled_from([b"x", b'<img src="https://t.example.net/a.gif">', b"From: q@example.net\r\n\r\nx"]))
    parts = b"".join(b"--P\r\nContent-Type: " + ct + b"\r\n\r\n" + body + b"\r\n" for _ in range(n))
    return (b"From: a@example.com\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="P"\r\n\r\n' + parts + b"--P--\r\n")


@pytest.fixture(scope="module")
def fuzz_scanner(scanner):
    return scanner


@FUZZ
@given(raw=st.binary(max_size=4096))
def test_fuzz_arbitrary_bytes(raw, fuzz_scanner):
    _fuzz_scan(fuzz_scanner, raw)


@FUZZ
@given(raw=mutated())
def test_fuzz_mutated_messages(raw, fuzz_scanner):
    _fuzz_scan(fuzz_scanner, raw)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=st.one_of(nested_multiparts(), huge_headers(), many_parts()))
def test_fuzz_structural_extremes(raw, fuzz_scanner):
    _fuzz_scan(fuzz_scanner, raw)


@FUZZ
@given(html=st.text(alphabet=st.sampled_from(list('<>/="\' abcdimgsrcstylehttp:.:;()#-0123456789\\{}@\n')),
                    max_size=600))
def test_fuzz_html_soup(html, fuzz_scanner):
    _fuzz_scan(fuzz_scanner, MessageBuilder().html(html).build())


# -- memory -------------------------------------------------------------------------------------


def test_memory_bound_on_30mb_message(scanner):
    data = os.urandom(22 * 1024 * 1024)
    raw = (MessageBuilder().text("see attached")
           .html('<p>hi</p><img src="https://t.example.net/o.gif" width="1" height="1">')
           .attach("big.bin", "application/octet-stream", data).build())
    del data
    assert len(raw) > 30 * 1000 * 1000
    scanner.scan(MessageBuilder().html("<p>warm up: load the data registries</p>").build())
    tracemalloc.start()
    try:
        v = scanner.scan(raw)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert v.label in LABELS
    assert "PARSE_LIMIT_SIZE" in v.message.limits_hit  # the default 25 MB bound applies
    assert peak < 12 * len(raw), f"peak {peak / 1e6:.0f} MB for a {len(raw) / 1e6:.0f} MB message"


def test_nul_byte_in_charset_parameter_is_a_defect_not_a_crash(scanner):
    # Found by the mutation fuzzer: email.message.get_payload() raises ValueError on it.
    raw = (b'From: "Alice Example" <alice@example.com>\r\nSubject: Hello\r\nMIME-Version: 1.0\r\n'
           b"Content-Type: text/plain; charset=\x00utf-8\r\x80\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           b"Hello Bob, see https://www.example.com/x\r\n")
    v = scanner.scan(raw)
    assert v.label in ("clean", "tracked", "suspicious", "phishing", "recon")
    assert any(d.kind == "undecodable_payload" for d in v.message.defects)
