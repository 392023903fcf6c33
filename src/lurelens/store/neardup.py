"""Near-duplicate text the way Sublime's message groups find it: word shingles, a MinHash signature
and LSH band hashes. A hunt stores them per suspicious-or-worse message, so finding the stored
messages whose text may be near this one is an exact lookup of band hashes (one indexed query on
SQLite and PostgreSQL alike), confirmed by the Jaccard estimate of the two signatures.

The signature is datasketch's ``MinHash`` (its default "affine32" scheme, seed 1), computed here in
a few numpy operations: bit for bit the same values (tested against datasketch), without importing
datasketch, which pulls in scipy (over half a second of start-up in every hunt worker)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["MinHashSig", "NUM_PERM", "MIN_SHINGLES", "text_minhash", "jaccard", "band_params"]

NUM_PERM = 128
# Word 3-shingles: one template with a name or a story number swapped keeps most of its shingles;
# two texts drawn from one vocabulary share almost none (single words would make them look alike).
SHINGLE = 3
# Under this many shingles the Jaccard estimate says little: no signature (TLSH's limit is similar).
MIN_SHINGLES = 5
# The band layout datasketch's MinHashLSH chooses for this Jaccard threshold and NUM_PERM (25 bands
# of 5 rows; a test checks it against datasketch): pairs at or above it collide in at least one band
# with high probability; those below are confirmed or dropped by the estimate.
LSH_THRESHOLD = 0.5
_BANDS, _ROWS = 25, 5
_MAX_TEXT = 200_000
_SEED = 1  # fixed: the same text gives the same signature in every process and every release
_WORD = re.compile(r"\w+")


# MurmurHash3's 32-bit finalizer (datasketch's pre-mix of each shingle hash before the permutations).
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
# Shingles permuted at once: bounds the temporary (rows x NUM_PERM x 4 bytes) for a long text.
_BLOCK = 4096


def band_params() -> tuple[tuple[int, int], ...]:
    """The (start, end) rows of each LSH band, as datasketch's MinHashLSH lays them out."""
    return tuple((i * _ROWS, (i + 1) * _ROWS) for i in range(_BANDS))


@lru_cache(maxsize=1)
def _permutations():
    """datasketch's affine32 permutation parameters for ``_SEED``: odd multipliers ``a`` and offsets
    ``b``, drawn in its order from numpy's legacy RandomState."""
    import numpy as np

    gen = np.random.RandomState(_SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _signature(shingles: set[bytes]):
    """The MinHash values (uint32, NUM_PERM of them) of a set of shingles: each shingle's hash is the
    first 4 bytes of its SHA-1 (little-endian), mixed by fmix32, then ``a * h + b`` mod 2**32 per
    permutation; the signature is the minimum over the shingles."""
    import numpy as np

    a, b = _permutations()
    hv = np.frombuffer(b"".join(hashlib.sha1(s).digest()[:4] for s in shingles), dtype="<u4").astype(np.uint32)
    s1, m1, s2, m2, s3 = _FMIX32
    hv = hv ^ (hv >> np.uint32(s1))
    hv = hv * np.uint32(m1)  # uint32 arrays wrap: the multiplication is modulo 2**32, as intended
    hv = hv ^ (hv >> np.uint32(s2))
    hv = hv * np.uint32(m2)
    hv = hv ^ (hv >> np.uint32(s3))
    out = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    for i in range(0, len(hv), _BLOCK):
        np.minimum(out, (hv[i:i + _BLOCK, None] * a + b).min(axis=0), out=out)
    return out


@dataclass(frozen=True)
class MinHashSig:
    """A text's MinHash signature (``NUM_PERM`` 32-bit values, little-endian bytes), how many
    shingles it was built from, and its LSH band hashes (signed 64-bit, one per band)."""

    signature: bytes
    shingles: int
    bands: tuple[int, ...]

    def rows(self) -> tuple[list[dict], list[dict]]:
        """The ``text_minhash`` and ``minhash_bands`` side-table rows of one stored message."""
        return ([{"shingles": self.shingles, "signature": self.signature}],
                [{"band": i, "hash": h} for i, h in enumerate(self.bands)])


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text[:_MAX_TEXT].lower())
    if len(words) < SHINGLE:
        return {w.encode("utf-8", "surrogatepass") for w in words}
    return {" ".join(words[i:i + SHINGLE]).encode("utf-8", "surrogatepass") for i in range(len(words) - SHINGLE + 1)}


def text_minhash(text: str | None) -> MinHashSig | None:
    """The signature and band hashes of a text, or None when it is too short to compare."""
    if not text:
        return None
    sh = _shingles(text)
    if len(sh) < MIN_SHINGLES:
        return None
    values = _signature(sh).astype("<u4")
    bands = []
    for i, (start, end) in enumerate(band_params()):
        # The band number is hashed in, so one indexed column finds a band's collisions.
        h = hashlib.blake2b(i.to_bytes(2, "little") + values[start:end].tobytes(), digest_size=8).digest()
        bands.append(int.from_bytes(h, "little", signed=True))
    return MinHashSig(values.tobytes(), len(sh), tuple(bands))


def jaccard(a: bytes, b: bytes) -> float:
    """The Jaccard similarity of two texts' shingle sets, estimated from their signatures."""
    import numpy as np

    x, y = np.frombuffer(a, dtype="<u4"), np.frombuffer(b, dtype="<u4")
    if x.shape != y.shape or not len(x):
        return 0.0
    return float(np.count_nonzero(x == y)) / len(x)
