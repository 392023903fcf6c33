"""Near-duplicate text the way Sublime's message groups find it: word shingles, a MinHash signature
(``datasketch``) and LSH band hashes. A hunt stores them per suspicious-or-worse message, so finding
the stored messages whose text may be near this one is an exact lookup of band hashes (one indexed
query on SQLite and PostgreSQL alike), confirmed by the Jaccard estimate of the two signatures."""

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
# The band layout is chosen by datasketch for this Jaccard threshold: pairs at or above it collide
# in at least one band with high probability; those below are confirmed or dropped by the estimate.
LSH_THRESHOLD = 0.5
_MAX_TEXT = 200_000
_SEED = 1  # fixed: the same text gives the same signature in every process and every release
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def band_params() -> tuple[tuple[int, int], ...]:
    """The (start, end) rows of each LSH band, as datasketch's MinHashLSH lays them out."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    return tuple(lsh.hashranges)


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
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=_SEED)
    m.update_batch(sorted(sh))
    values = m.hashvalues.astype("<u4")  # datasketch keeps them under 2**32
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
