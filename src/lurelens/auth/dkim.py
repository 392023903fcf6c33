"""DKIM (RFC 6376) and ARC (RFC 8617) with dkimpy, keys fetched through our DNS session.

Every DKIM-Signature is verified, not only the first (a forger adds a broken signature of a big
domain above a valid one of their own, or the reverse). For each we report d=, s=, the result,
whether l= leaves part of the body unsigned, and why it failed: the body hash (body changed
after signing) or the header signature (signed headers changed, wrong key).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dkim as dkimpy
from dkim.canonicalization import CanonicalizationPolicy

from lurelens.auth.resolver import DnsAnswer, DnsSession

if TYPE_CHECKING:  # cryptography is optional at run time (imported where used)
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = ["ArcResult", "DkimSignature", "check_arc", "check_dkim"]

MAX_SIGNATURES = 10  # beyond this, signatures are reported as not checked (a DNS-cost bound)


class _DnsTemp(Exception):
    """A key lookup failed temporarily; deliberately not a DKIMException so dkimpy lets it out."""


class _KeyLookup:
    """dkimpy's ``dnsfunc``: the TXT record at selector._domainkey.domain, or None."""

    def __init__(self, session: DnsSession):
        self.session = session
        self.last: DnsAnswer | None = None

    def __call__(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        qname = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        self.last = ans = self.session.txt(qname)
        if ans.temporary:
            raise _DnsTemp(f"{ans.rcode} for {qname.rstrip('.')} TXT")
        if not ans.records:
            return None
        return ans.records[0].encode("utf-8", "surrogateescape")


@dataclass(slots=True)
class DkimSignature:
    d: str
    s: str
    result: str  # pass, fail, neutral (not checked), temperror, permerror
    failure: str = ""  # body_hash, header_signature, no_key, key_revoked, bad_key, syntax, dns, not_checked
    reason: str = ""
    a: str = ""
    i: str = ""
    length: int | None = None  # l=
    unsigned_body: int = 0  # canonical body bytes after l= (content added after signing)
    body_hash_ok: bool | None = None  # bh= against the body, checked without the key (None: unknown)
    signed_headers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"d": self.d, "s": self.s, "a": self.a, "i": self.i, "result": self.result,
                "failure": self.failure, "reason": self.reason, "l": self.length,
                "l_present": self.length is not None, "unsigned_body_bytes": self.unsigned_body,
                "body_hash_ok": self.body_hash_ok,
                "signed_headers": self.signed_headers}


@dataclass(slots=True)
class ArcResult:
    cv: str  # pass, fail, none, temperror
    instances: int
    reason: str = ""
    sealers: list[str] = field(default_factory=list)  # d= of each ARC-Seal, newest first

    def to_dict(self) -> dict[str, Any]:
        return {"cv": self.cv, "instances": self.instances, "reason": self.reason, "sealers": self.sealers}


def _s(v: bytes | None) -> str:
    return v.decode("ascii", "replace") if isinstance(v, bytes) else (v or "")


_RSA_KEYS: dict[tuple[int, int], RSAPublicKey] = {}
_pure_rsa_verify = dkimpy.RSASSA_PKCS1_v1_5_verify


def _rsa_verify(hash_, signature: bytes, public_key: dict) -> bool:
    """dkimpy's RSASSA-PKCS1-v1_5 verification done by OpenSSL (``cryptography``): the same check,
    about 20x faster than dkimpy's pure-Python big-number code, which was most of a verify's CPU.
    Anything unusual goes to dkimpy's own function."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

        algo = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}[hash_.name]()
        n, e = public_key["modulus"], public_key["publicExponent"]
        key = _RSA_KEYS.get((n, e))
        if key is None:
            key = rsa.RSAPublicNumbers(e, n).public_key()
            if len(_RSA_KEYS) > 4096:
                _RSA_KEYS.clear()
            _RSA_KEYS[(n, e)] = key
    except Exception:  # noqa: BLE001 - no cryptography, odd hash or key: the library's own code
        return _pure_rsa_verify(hash_, signature, public_key)
    try:
        key.verify(signature, hash_.digest(), padding.PKCS1v15(), utils.Prehashed(algo))
        return True
    except InvalidSignature:
        return False


# dkimpy calls this module-level name from DKIM and ARC verification.
dkimpy.RSASSA_PKCS1_v1_5_verify = _rsa_verify

_KEYS: dict[tuple[bytes, bytes], tuple] = {}  # (name, TXT) -> parsed key: parsing is most of a verify


def _load_key(name: bytes, dnsfunc) -> tuple:
    txt = dnsfunc(name)
    hit = _KEYS.get((name, txt or b""))
    if hit is None:
        hit = dkimpy.evaluate_pk(name, txt)
        if len(_KEYS) > 4096:
            _KEYS.clear()
        _KEYS[(name, txt or b"")] = hit
    return hit


class _Keyed:
    """dkimpy's verify_sig with parsed keys cached by their TXT record (the record is still asked
    every time, through the session, so the evidence and a withdrawn key are seen)."""

    def verify_sig(self, sig, include_headers, sig_header, dnsfunc):
        name = sig[b"s"] + b"._domainkey." + sig[b"d"] + b"."
        try:
            self.pk, self.keysize, self.ktag, self.seqtlsrpt = _load_key(name, dnsfunc)
        except (dkimpy.KeyFormatError, binascii.Error):
            return False
        return self.verify_sig_process(sig, include_headers, sig_header, dnsfunc)


class _DKIM(_Keyed, dkimpy.DKIM):
    pass


class _ARC(_Keyed, dkimpy.ARC):
    pass


def parse(raw: bytes) -> tuple[list, bytes]:
    """dkimpy's split of a message into headers and body, done once for DKIM and ARC."""
    return dkimpy.rfc822_parse(raw)


def _load(cls, raw: bytes, parsed: tuple[list, bytes] | None):
    obj = cls(None if parsed is not None else raw, logger=_QUIET, minkey=1024)
    if parsed is not None:
        obj.headers, obj.body = parsed
    return obj


def check_dkim(raw: bytes, session: DnsSession, parsed: tuple[list, bytes] | None = None) -> list[DkimSignature]:
    """One result per DKIM-Signature header, in header order. ``parsed``: ``parse(raw)``."""
    try:
        d = _load(_DKIM, raw, parsed)
    except Exception as exc:  # noqa: BLE001 - unparseable message: nothing verifiable
        return [DkimSignature("", "", "permerror", "syntax", f"message: {type(exc).__name__}")]
    count = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
    out: list[DkimSignature] = []
    for idx in range(count):
        if idx >= MAX_SIGNATURES:
            out.append(DkimSignature("", "", "neutral", "not_checked", f"more than {MAX_SIGNATURES} signatures"))
            break
        # One parsed message serves every signature: verify(idx) reads it, never changes it.
        out.append(_verify_one(d, idx, session))
    return out


def _verify_one(d: dkimpy.DKIM, idx: int, session: DnsSession) -> DkimSignature:
    lookup = _KeyLookup(session)
    sig = DkimSignature("", "", "permerror")
    try:
        fields = dkimpy.parse_tag_value(
            [v for k, v in d.headers if k.lower() == b"dkim-signature"][idx])
        sig.d, sig.s, sig.a, sig.i = (_s(fields.get(k)).lower() if k != b"i" else _s(fields.get(k))
                                      for k in (b"d", b"s", b"a", b"i"))
        sig.signed_headers = [h.strip().lower() for h in _s(fields.get(b"h")).split(":") if h.strip()]
        if b"l" in fields:
            sig.length = int(_s(fields[b"l"]).strip())
            policy = CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple"))
            sig.unsigned_body = max(0, len(policy.canonicalize_body(d.body)) - sig.length)
    except Exception as exc:  # noqa: BLE001
        sig.failure, sig.reason = "syntax", f"{type(exc).__name__}: {exc}"[:200]
        return sig
    try:
        ok = d.verify(idx=idx, dnsfunc=lookup)
    except _DnsTemp as exc:
        sig.result, sig.failure, sig.reason = "temperror", "dns", str(exc)
        return sig
    except dkimpy.ValidationError as exc:
        text = str(exc)
        if text.startswith("body hash mismatch"):
            sig.result, sig.failure, sig.reason = "fail", "body_hash", "body hash mismatch: body changed after signing"
            sig.body_hash_ok = False
        else:
            sig.result, sig.failure, sig.reason = "permerror", "syntax", text[:200]
            sig.body_hash_ok = _body_hash_ok(d, fields)
        return sig
    except dkimpy.KeyFormatError as exc:
        sig.result, sig.failure, sig.reason = "permerror", "bad_key", str(exc)[:200]
        sig.body_hash_ok = _body_hash_ok(d, fields)
        return sig
    except Exception as exc:  # noqa: BLE001 - MessageFormatError, UnknownKeyTypeError, library bugs
        sig.result, sig.failure, sig.reason = "permerror", "syntax", f"{type(exc).__name__}: {exc}"[:200]
        sig.body_hash_ok = _body_hash_ok(d, fields)
        return sig
    if ok:
        sig.result, sig.body_hash_ok = "pass", True
        return sig
    sig.body_hash_ok = _body_hash_ok(d, fields)
    # dkimpy returns False both for a missing/unusable key and for a bad header signature;
    # the recorded key lookup tells them apart.
    key = lookup.last
    if key is None or not key.records:
        sig.result, sig.failure = "permerror", "no_key"
        sig.reason = f"no key at {sig.s}._domainkey.{sig.d} ({key.rcode if key else 'not asked'})"
    elif re.search(r"(?:^|;)\s*p\s*=\s*(?:;|$)", key.records[0]):
        sig.result, sig.failure, sig.reason = "permerror", "key_revoked", "the key record has an empty p= (revoked)"
    elif (bad := _key_problem(key.records[0])) is not None:
        sig.result, sig.failure, sig.reason = "permerror", "bad_key", bad
    else:
        sig.result, sig.failure = "fail", "header_signature"
        sig.reason = "signature over the signed headers does not verify (headers changed or wrong key)"
    return sig


def _body_hash_ok(d: dkimpy.DKIM, fields: dict) -> bool | None:
    """Whether bh= matches the body, checked without the key: when the key is missing the body
    can still be told intact (key withdrawn since) or changed. None when it cannot be computed."""
    try:
        hasher = dkimpy.HASH_ALGORITHMS.get(fields.get(b"a", b""))
        if hasher is None or b"bh" not in fields:
            return None
        body = CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple")).canonicalize_body(d.body)
        if b"l" in fields:
            body = body[: int(_s(fields[b"l"]).strip())]
        return hasher(body).digest() == base64.b64decode(re.sub(rb"\s+", b"", fields[b"bh"]))
    except Exception:  # noqa: BLE001 - malformed tags: unknown
        return None


def _key_problem(record: str) -> str | None:
    """Why dkimpy could not use a key record (it logs this and returns False), or None."""
    try:
        dkimpy.evaluate_pk(b"key", record.encode("utf-8", "surrogateescape"))
    except Exception as exc:  # noqa: BLE001 - KeyFormatError, binascii.Error, ...
        return f"unusable key record: {type(exc).__name__}: {exc}"[:200]
    return None


def check_arc(raw: bytes, session: DnsSession, parsed: tuple[list, bytes] | None = None) -> ArcResult:
    lookup = _KeyLookup(session)
    try:
        a = _load(_ARC, raw, parsed)
        instances, _ = a.sorted_arc_headers()
    except Exception as exc:  # noqa: BLE001
        return ArcResult("fail", 0, f"{type(exc).__name__}: {exc}"[:200])
    if not instances:
        return ArcResult("none", 0, "no ARC sets")
    sealers = []
    for k, v in a.headers:
        if k.lower() == b"arc-seal":
            try:
                sealers.append(_s(dkimpy.parse_tag_value(v).get(b"d")).lower())
            except Exception:  # noqa: BLE001
                sealers.append("?")
    try:
        cv, _results, reason = a.verify(dnsfunc=lookup)
    except _DnsTemp as exc:
        return ArcResult("temperror", instances, str(exc), sealers)
    except Exception as exc:  # noqa: BLE001
        return ArcResult("fail", instances, f"{type(exc).__name__}: {exc}"[:200], sealers)
    return ArcResult(_s(cv).lower() or "fail", instances, str(reason)[:200], sealers)


class _Quiet:
    """dkimpy logs every failure at error level; verification failures are results, not errors."""

    def debug(self, *a: Any, **k: Any) -> None: ...
    info = warning = error = exception = debug

    def isEnabledFor(self, level: int) -> bool:
        return False


_QUIET = _Quiet()
