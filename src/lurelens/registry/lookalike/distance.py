"""Edit distance between domain labels, and whether the edits look like a typo-squat.

Optimal-string-alignment (Damerau) distance, bit-parallel; the edit script behind it; each edit
classified (omission, repetition, keyboard neighbour, vowel swap, bit flip, ...) and judged; the
SymSpell deletion neighbourhoods the index keys its candidates by.
"""

from __future__ import annotations

import difflib
from itertools import combinations
from operator import add

from lurelens.registry.lookalike.confusables import _ascii_fold

__all__ = ["edit_budget", "judge_edit", "osa_distance"]

_VOWELS = frozenset("aeiouy")
# Letters that read alike in lower case, beyond what the fold already merges (1/l, 0/o, rn/m,
# vv/w, cl/d). Not folded, because merging i and l would make too many real names collide.
_READS_ALIKE = frozenset({("i", "l"), ("l", "i")})
# Neighbouring keys on a QWERTY keyboard (as in dnstwist's keyboard map).
_KEYS = {
    "1": "2q", "2": "3wq1", "3": "4ew2", "4": "5re3", "5": "6tr4", "6": "7yt5", "7": "8uy6",
    "8": "9iu7", "9": "0oi8", "0": "po9",
    "q": "12wa", "w": "3esaq2", "e": "4rdsw3", "r": "5tfde4", "t": "6ygfr5", "y": "7uhgt6",
    "u": "8ijhy7", "i": "9okju8", "o": "0plki9", "p": "lo0",
    "a": "qwsz", "s": "edxzaw", "d": "rfcxse", "f": "tgvcdr", "g": "yhbvft", "h": "ujnbgy",
    "j": "ikmnhu", "k": "olmji", "l": "kop",
    "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}


def _osa(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment (Damerau) distance, or ``limit + 1`` once it is above ``limit``.

    After stripping the common prefix and suffix (candidates usually share most of their
    letters), the middles are compared with Hyyrö's bit-parallel OSA recurrence (one pass of
    integer operations per letter of ``b``, instead of a row of DP cells)."""
    la, lb = len(a), len(b)
    if la - lb > limit or lb - la > limit:
        return limit + 1
    i = 0
    while i < la and i < lb and a[i] == b[i]:
        i += 1
    while la > i and lb > i and a[la - 1] == b[lb - 1]:
        la -= 1
        lb -= 1
    m = la - i
    if not m or lb == i:
        d = m if m > lb - i else lb - i
        return d if d <= limit else limit + 1
    a, b = a[i:la], b[i:lb]
    # Each edit adds or removes at most two letters to the letters one side has and the other
    # lacks (a transposition none): a cheap lower bound that settles most non-matches.
    if len(set(a).symmetric_difference(b)) > 2 * limit:
        return limit + 1
    peq: dict[str, int] = {}
    bit = 1
    for c in a:
        peq[c] = peq.get(c, 0) | bit
        bit <<= 1
    mask = bit - 1
    high = bit >> 1
    vp, vn, d0, pm_prev = mask, 0, 0, 0
    score = m
    get = peq.get
    for c in b:
        pm = get(c, 0)
        # Hyyrö (2003): Myers' step plus the transposition term of the previous column.
        d0 = (((pm & vp) + vp) ^ vp) | pm | vn | ((((~d0) & pm) << 1) & pm_prev)
        hp = vn | ~(d0 | vp)
        hn = d0 & vp
        if hp & high:
            score += 1
        elif hn & high:
            score -= 1
        hp = (hp << 1) | 1
        vp = ((hn << 1) | ~(d0 | hp)) & mask
        vn = d0 & hp
        pm_prev = pm
    return score if score <= limit else limit + 1


def _osa_ops(src: str, dst: str) -> list[tuple[str, str, str, int]]:
    """Edit script turning ``src`` (protected) into ``dst`` (seen): (op, from, to, pos in dst)."""
    # Work on the differing middle only; positions are shifted back at the end.
    start = 0
    while start < len(src) and start < len(dst) and src[start] == dst[start]:
        start += 1
    la, lb = len(src), len(dst)
    while la > start and lb > start and src[la - 1] == dst[lb - 1]:
        la -= 1
        lb -= 1
    if start:  # keep one shared letter of context so transpositions at the edge still show
        start -= 1
    la, lb = min(la + 1, len(src)), min(lb + 1, len(dst))
    return [(op, a, b, pos + start) for op, a, b, pos in _osa_ops_full(src[start:la],
                                                                         dst[start:lb])]


def _osa_ops_full(src: str, dst: str) -> list[tuple[str, str, str, int]]:
    la, lb = len(src), len(dst)
    d = [list(range(lb + 1))]
    for i in range(1, la + 1):
        prev = d[i - 1]
        row = [i] * (lb + 1)
        a = src[i - 1]
        a2 = src[i - 2] if i > 1 else None
        prev2 = d[i - 2] if i > 1 else prev  # read only when a2 is set (i > 1)
        left = i
        for j in range(1, lb + 1):
            b = dst[j - 1]
            v = prev[j - 1] + (a != b)
            t = prev[j] + 1
            if t < v:
                v = t
            t = left + 1
            if t < v:
                v = t
            if a2 is not None and j > 1 and a == dst[j - 2] and a2 == b:
                t = prev2[j - 2] + 1
                if t < v:
                    v = t
            row[j] = left = v
        d.append(row)
    ops: list[tuple[str, str, str, int]] = []
    i, j = la, lb
    while i > 0 or j > 0:
        if (i > 1 and j > 1 and src[i - 1] == dst[j - 2] and src[i - 2] == dst[j - 1]
                and src[i - 1] != src[i - 2] and d[i][j] == d[i - 2][j - 2] + 1):
            ops.append(("transpose", src[i - 2:i], dst[j - 2:j], j - 2))
            i, j = i - 2, j - 2
        elif i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (src[i - 1] != dst[j - 1]):
            if src[i - 1] != dst[j - 1]:
                ops.append(("replace", src[i - 1], dst[j - 1], j - 1))
            i, j = i - 1, j - 1
        elif j > 0 and d[i][j] == d[i][j - 1] + 1:
            ops.append(("insert", "", dst[j - 1], j - 1))
            j -= 1
        else:
            ops.append(("delete", src[i - 1], "", j))
            i -= 1
    ops.reverse()
    return ops


# Kinds of single edits. "Strong" ones are the classic typo-squats; vowel swaps and bit flips
# are weaker, and a distance-2 match may have at most one of those. Any other letter swapped or
# added ("dctribune" for "bctribune", "kansas" for "kansan") is a different name, not a typo,
# and so is any edit to digits (channel and frequency numbers: abc26 is not abc22, khon is not
# khon2).
_STRONG = frozenset({"omission", "repetition", "hyphen", "transposition", "keyboard", "visual",
                     "neighbour_insert"})
_WEAK = frozenset({"vowel", "bitflip"})


def _classify(op: str, a: str, b: str, seen: str, pos: int) -> tuple[str, str]:
    """(kind, words) for one edit step from the protected label to the seen one."""
    if op == "delete":
        if a == "-":
            return "hyphen", "hyphen removed"
        if a.isdigit():
            return "digit", f"digit '{a}' omitted"
        return "omission", f"one letter omitted ('{a}')"
    if op == "insert":
        near = seen[pos - 1:pos] + seen[pos + 1:pos + 2]
        if b == "-":
            return "hyphen", "hyphen inserted"
        if b.isdigit():
            return "digit", f"digit '{b}' inserted"
        if b in near:
            return "repetition", f"letter '{b}' repeated"
        if any(b in _KEYS.get(c, "") for c in near):
            return "neighbour_insert", f"extra '{b}' inserted (neighbouring key)"
        return "insert", f"extra '{b}' inserted"
    if op == "transpose":
        if not a.isalpha():
            return "digit" if any(c.isdigit() for c in a) else "transposition", \
                f"'{a}' transposed to '{b}'"
        return "transposition", f"'{a}' transposed to '{b}'"
    if _ascii_fold(a) == _ascii_fold(b) or (a, b) in _READS_ALIKE:
        return "visual", f"'{b}' in place of '{a}' (reads alike)"
    if a.isdigit() or b.isdigit():
        return "digit", f"'{b}' in place of '{a}'"
    if b in _KEYS.get(a, ""):
        return "keyboard", f"'{b}' in place of neighbouring key '{a}'"
    if a in _VOWELS and b in _VOWELS:
        return "vowel", f"vowel '{b}' in place of '{a}'"
    x = ord(a) ^ ord(b)
    if x & (x - 1) == 0:
        return "bitflip", f"'{b}' in place of '{a}' (one-bit flip)"
    return "other", f"'{b}' in place of '{a}'"


def _judge_edit(protected: str, seen: str, fold_p: str, fold_s: str,
                dist: int) -> str | None:
    """Plain words for a typo match, or None when the edits do not look like a typo-squat."""
    if dist == 0:
        parts = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, protected, seen,
                                                          autojunk=False).get_opcodes():
            if tag != "equal":
                parts.append(f"'{seen[j1:j2]}' in place of '{protected[i1:i2]}'")
        return (", ".join(parts) or "same reading") + " (reads alike)"
    if seen.isascii() and _osa(protected, seen, dist) == dist:
        src, dst = protected, seen
    else:  # look-alike spellings in play: judge on the folded forms
        src, dst = fold_p, fold_s
    ops = _osa_ops(src, dst)
    kinds, words = [], []
    for op, a, b, pos in ops:
        kind, text = _classify(op, a, b, dst, pos)
        kinds.append(kind)
        words.append(text)
    if any(k not in _STRONG and k not in _WEAK for k in kinds):
        return None
    if len(ops) >= 2:
        if sum(k in _WEAK for k in kinds) > 1:
            return None
        # Two letters chopped off (or added at) the same end is a different name, not a typo:
        # arkansasnews is not nwarkansasnews.
        if len(ops) == 2 and kinds[0] == kinds[1] and ops[0][0] in ("delete", "insert"):
            p0, p1 = ops[0][3], ops[1][3]
            end = len(dst)
            if abs(p1 - p0) <= 1 and (min(p0, p1) == 0 or max(p0, p1) >= end - 1):
                return None
    return "; ".join(words) or "same letters"


# Deletion neighbourhoods are taken over the first _PREFIX letters only (SymSpell's prefix
# trick). That stays exact: if two strings are within k edits, their first-p windows are too,
# counting the letters an edit pushes past the window end as deletions, and no side needs more
# than k deletions. Full distances are then checked on the (few) candidates.
_PREFIX = 8


def _delete_keys(s: str, depth: int) -> set[str]:
    """``s`` and every string made by deleting up to ``depth`` letters from it."""
    n = len(s)
    keys = {s}
    if depth and n > 1:
        keys.update(map("".join, combinations(s, n - 1)))
        if depth > 1 and n > 2:
            keys.update(map("".join, combinations(s, n - 2)))
    return keys


def _budget(label: str) -> int:
    n = len(label)
    return 0 if n <= 4 else 1 if n <= 8 else 2


def _bigrams(s: str) -> frozenset[str]:
    return frozenset(map(add, s, s[1:]))  # s[i] + s[i + 1] for each i, in C


osa_distance = _osa
judge_edit = _judge_edit
edit_budget = _budget
