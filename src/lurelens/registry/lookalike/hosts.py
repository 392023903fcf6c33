"""Hosts as the lookalike index reads them: labels lower-cased and IDNA-decoded, and the length of
their public suffix from the process's one Public Suffix List (walked label by label for speed).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from lurelens.parse.urls import PSL, host_labels

__all__ = ["public_suffix_len"]



def _psl() -> PublicSuffixList:
    """The process's one Public Suffix List (lurelens.parse.urls.PSL)."""
    return PSL


_PSL_RULES: tuple[dict[str, int], frozenset[str]] | None = None


def _psl_rules() -> tuple[dict[str, int], frozenset[str]] | None:
    """The PSL rules as {rule: 0 exception, 1 wildcard, 2 exact} plus every label-wise tail of
    a rule, so ``_public_len`` can walk a host from its TLD up and stop early. None when the
    installed ``publicsuffixlist`` keeps its rules differently (``publicsuffix()`` is used)."""
    global _PSL_RULES
    if _PSL_RULES is None:
        rules = getattr(_psl(), "_publicsuffix", None)
        if not isinstance(rules, frozenset):
            return None
        kind: dict[str, int] = {}
        for r in rules:
            if r.startswith("!"):
                r, k = r[1:], 0
            elif r.startswith("*."):
                r, k = r[2:], 1
            else:
                k = 2
            if k < kind.get(r, 3):  # the library tries exception, wildcard, exact, in turn
                kind[r] = k
        tails: set[str] = set()
        for r in kind:
            parts = r.split(".")
            tails.update(".".join(parts[i:]) for i in range(len(parts)))
        _PSL_RULES = (kind, frozenset(tails))
    return _PSL_RULES


def _public_len(labels: tuple[str, ...]) -> int:
    """Number of labels in the public suffix of an ASCII lower-case host given as non-empty
    labels: what ``len(_psl().publicsuffix(host).split("."))`` gives (0 for None), with one
    dict lookup per label instead of building and probing every longer suffix."""
    rules = _PSL_RULES or _psl_rules()
    if rules is None:
        suffix = _psl().publicsuffix(".".join(labels))
        return suffix.count(".") + 1 if suffix else 0
    kind, tails = rules
    n = len(labels)
    s = labels[-1]
    if n > 1 and labels[-2] + "." + s not in tails:
        # No rule is longer than the TLD here (the usual case): its rule alone decides.
        k = kind.get(s)
        if k is None or k == 2:
            return 1
        return 2 if k == 1 else 0
    depth = 1
    found_depth, found_kind = 0, -1
    while s in tails:
        k = kind.get(s)
        if k is not None:
            found_depth, found_kind = depth, k
        if depth == n:
            break
        depth += 1
        s = labels[-depth] + "." + s
    if not found_depth:
        return 1  # unknown TLD: accept_unknown
    if found_kind == 2:
        return found_depth
    if found_kind == 1:
        return found_depth + 1 if found_depth < n else found_depth
    return found_depth - 1


def _normalize(domain: str) -> tuple[tuple[str, ...], dict[int, str]] | None:
    """Lower-cased, IDNA-decoded labels of a host, and {label index: A-label} for xn-- ones."""
    norm = _normalize_host(domain)
    return None if norm is None else (norm[0], norm[1])


def _normalize_host(domain: str) -> tuple[tuple[str, ...], dict[int, str], str] | None:
    """``_normalize`` plus the host, its labels joined by dots. A URL or ``user@host`` is cut to
    its host; the rest is lurelens.parse.urls.normalise_host (the one host normaliser)."""
    s = domain.strip()
    if not s:
        return None
    if "/" in s or "@" in s or ":" in s:
        if "://" not in s:
            s = "//" + s
        try:
            host = urlsplit(s).hostname
        except ValueError:
            return None
        if not host:
            return None
        s = host
    labels, puny = host_labels(s)
    if not labels or labels[-1].isdigit():  # nothing left, or an IPv4 literal
        return None
    return labels, puny, ".".join(labels)


public_suffix_len = _public_len
