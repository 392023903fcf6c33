"""The lookalike index: protected registrable domains by how they read, and the lookup that names
what a seen domain imitates (see the package docstring for the techniques and what stays quiet)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from itertools import chain, combinations, islice
from typing import Any, Iterable

from lurelens.registry.data import load_ordered_lines
from lurelens.registry.lookalike.confusables import _ascii_fold, _describe_chars, _scripts, skeleton
from lurelens.registry.lookalike.distance import (
    _PREFIX,
    _bigrams,
    _budget,
    _delete_keys,
    _judge_edit,
    _osa,
)
from lurelens.registry.lookalike.hosts import _normalize, _normalize_host, _psl, _psl_rules, _public_len

__all__ = ["COMBO_WORDS", "LookalikeIndex", "LookalikeMatch", "TECHNIQUES", "WELL_KNOWN"]

TECHNIQUES = (
    "homoglyph",
    "punycode",
    "mixed_script",
    "edit_distance",
    "combosquat",
    "tld_swap",
    "subdomain",
)

# The shipped defaults (data/words/; a DataRegistry passes its own, overlay included): words stuck
# onto a brand in combosquats, and registrable domains of big mail, web and hosting services, which
# are real services and never lookalikes of a protected name however close (wordpress.com vs
# worldpress.org); only the subdomain trick is still looked for under them.
COMBO_WORDS = frozenset(load_ordered_lines("words/lookalike_combo_words.txt"))
WELL_KNOWN = frozenset(load_ordered_lines("words/well_known_services.txt"))

_CACHE_SIZE = 65536
_CAND_CACHE_SIZE = 16384
_RD_CACHE_SIZE = 16384
# Technique rank for choosing the best match (lower is stronger evidence).
_RANK = {"punycode": 0, "homoglyph": 0, "subdomain": 1, "tld_swap": 2, "mixed_script": 4,
         "combosquat": 5}


@dataclass(frozen=True)
class LookalikeMatch:
    """One finding: ``domain`` imitates ``imitates`` by ``technique``.

    ``distance`` is set for homoglyph / punycode (0), edit_distance and mixed_script matches
    found by distance: the number of edits after look-alike characters are folded, so 0 means
    the label reads the same as the protected one.
    """

    domain: str
    imitates: str
    owner: str | None
    technique: str
    detail: str
    distance: int | None = None


def _raw_split(label: str, core_fold: str) -> tuple[str, str, str]:
    """Split ``label`` around the stretch that reads as ``core_fold`` (folded, no hyphens)."""
    if label.isascii():
        # Folding only shortens a label at rn/vv/cl; without those, letters map one to one.
        letters = [i for i, c in enumerate(label) if c != "-"]
        bare = skeleton(label).replace("-", "")
        if len(bare) == len(letters):
            k = bare.find(core_fold)
            if k >= 0:
                i, j = letters[k], letters[k + len(core_fold) - 1] + 1
                return label[:i], label[i:j], label[j:]
    n = len(label)
    for i in range(n):
        for j in range(i + 1, n + 1):
            if skeleton(label[i:j]).replace("-", "") == core_fold:
                return label[:i], label[i:j], label[j:]
    return "", label, ""


@dataclass(frozen=True)
class _Entry:
    domain: str  # normalized protected domain (Unicode form)
    owner: str | None
    label: str  # brand label: the first label (left of the public suffix for registrable ones)
    suffix: str  # everything after the brand label
    fold: str
    budget: int


def _forget_older_half(cache: dict) -> None:
    """Make room in a full cache dict: drop the older half of its entries (insertion order)."""
    for key in list(islice(cache, len(cache) // 2 or 1)):
        del cache[key]


class _Query:
    """Per-lookup state: the host, its registrable label and the matches found so far."""

    __slots__ = ("host", "labels", "puny", "rd_idx", "label", "suffix", "fold", "found",
                 "_chars", "_mixed", "log")

    def __init__(self, host: str, labels: tuple[str, ...], puny: dict[int, str], rd_idx: int, suffix: str) -> None:
        self.host = host
        self.labels = labels
        self.puny = puny
        self.rd_idx = rd_idx
        self.label = labels[rd_idx]
        self.suffix = suffix
        label = self.label
        # Labels come lower-cased from _normalize: an ASCII one skips skeleton's lower().
        self.fold = _ascii_fold(label) if label.isascii() else skeleton(label)
        self.found: dict[tuple[str, str], tuple[tuple, LookalikeMatch]] = {}
        self._chars: str | None = None
        self._mixed: bool | None = None
        self.log: list | None = None  # when a list, add() records its arguments there

    def add(self, e: _Entry, technique: str, detail: str, distance: int | None,
            rank: float) -> None:
        if self.log is not None:
            self.log.append((e, technique, detail, distance, rank))
        key = (e.domain, technique)
        prio = (rank, distance or 0, e.suffix != self.suffix, -len(e.label), e.domain)
        old = self.found.get(key)
        if old is None or prio < old[0]:
            self.found[key] = (prio, LookalikeMatch(self.host, e.domain, e.owner, technique,
                                                    detail, distance))

    def add_read(self, e: _Entry, technique: str, ascii_detail: str, reads_as: str,
                 distance: int | None, rank: float) -> None:
        """Add a finding for an ASCII label as is; a non-ASCII one says which letters deceive and
        what the label reads as, and is a mixed-script finding when it mixes scripts."""
        if self.label.isascii():
            self.add(e, technique, ascii_detail, distance, rank)
            return
        text = f"{self.chars()}; reads as {reads_as}"
        if self.mixed:
            self.add(e, "mixed_script", text, distance, _RANK["mixed_script"])
        else:
            self.add(e, technique, text, distance, rank)

    def where(self, e: _Entry) -> str:
        if e.suffix == self.suffix:
            return ""
        return f"; under .{self.suffix} instead of .{e.suffix}"

    def chars(self) -> str:
        """How the non-ASCII letters of the label deceive (with its punycode form if given so)."""
        if self._chars is None:
            desc = _describe_chars(self.label)
            if self.rd_idx in self.puny:
                desc = f"'{self.puny[self.rd_idx]}' is punycode for '{self.label}': {desc}"
            self._chars = desc
        return self._chars

    @property
    def mixed(self) -> bool:
        if self._mixed is None:
            self._mixed = not self.label.isascii() and len(_scripts(self.label)) > 1
        return self._mixed


# --------------------------------------------------------------------------- index


class LookalikeIndex:
    """Index of protected registrable domains; ``check(domain)`` names what a domain imitates."""

    def __init__(self, protected: Iterable[tuple[str, str | None]], *, combo_words: Iterable[str] | None = None,
                 well_known: Iterable[str] | None = None):
        psl = _psl()
        self._well_known = frozenset(WELL_KNOWN if well_known is None else well_known)
        combo = COMBO_WORDS if combo_words is None else combo_words
        self._domains: dict[str, _Entry] = {}
        self._by_fold: dict[str, list[_Entry]] = {}
        self._by_fold_domain: dict[str, list[_Entry]] = {}
        self._by_bare: dict[str, list[_Entry]] = {}  # folded label without hyphens
        # deletion key -> folded labels (lists while building, then tuples)
        self._deletes: dict[str, Any] = {}
        # folded label -> (folded label, budget, length, bigrams, fewest bigrams a match keeps):
        # all the candidate filter needs, in one tuple.
        self._fold_rec: dict[str, tuple[str, int, int, frozenset[str], int]] = {}
        label_counts: set[int] = set()
        for domain, owner in protected:
            norm = _normalize(domain)
            if norm is None:
                continue
            labels = norm[0]
            full = ".".join(labels)
            if full in self._domains:
                continue
            suffix = psl.publicsuffix(full) if len(labels) > 1 else None
            n_suffix = suffix.count(".") + 1 if suffix and suffix != full else 1
            rd_idx = len(labels) - n_suffix - 1
            if rd_idx < 0:
                # A bare public suffix or single label: exact matches only.
                self._domains[full] = _Entry(full, owner, "", full, "", 0)
                continue
            # The brand is the registrable label (abs-cbn for news.abs-cbn.com); the whole
            # host still counts for legitimacy and for hosts spelled out inside other hosts.
            label = labels[rd_idx]
            fold = skeleton(label)
            e = _Entry(full, owner, label, ".".join(labels[rd_idx + 1:]), fold, _budget(label))
            self._domains[full] = e
            self._by_fold.setdefault(fold, []).append(e)
            self._by_bare.setdefault(fold.replace("-", ""), []).append(e)
            key = ".".join(skeleton(x) for x in labels)
            self._by_fold_domain.setdefault(key, []).append(e)
            label_counts.add(len(labels))
        self._label_counts = tuple(sorted(label_counts))
        self._domain_sizes = tuple(sorted({d.count(".") + 1 for d in self._domains}))
        self._fd_firsts = frozenset(key.split(".", 1)[0] for key in self._by_fold_domain)
        self._words = frozenset(skeleton(w) for w in combo)
        self._word_lens = sorted({len(w) for w in self._words}, reverse=True)
        # Word lengths by a word's first / last two letters, longest first like _word_lens.
        self._word_lens_from: dict[str, list[int]] = {}
        self._word_lens_to: dict[str, list[int]] = {}
        for k in self._word_lens:
            for w in sorted(w for w in self._words if len(w) == k):
                for table, key in ((self._word_lens_from, w[:2]), (self._word_lens_to, w[-2:])):
                    lst = table.setdefault(key, [])
                    if k not in lst:
                        lst.append(k)
        alts = "|".join(sorted(self._words, key=len, reverse=True))
        self._starts_word = re.compile(f"(?:{alts})").match
        self._has_word = re.compile(f"(?:{alts})").search
        rev = "|".join(sorted((w[::-1] for w in self._words), key=len, reverse=True))
        self._ends_word = re.compile(f"(?:{rev})").match  # on the reversed label
        self._generic = self._find_generic()
        lens1: set[int] = set()  # folded lengths of labels with budget 1
        lens2: set[int] = set()  # ... with budget 2
        self._fold_budget: dict[str, int] = {}
        self._fold_bigrams: dict[str, frozenset[str]] = {}
        for folded, entries in self._by_fold.items():
            budget = max(e.budget for e in entries)
            if not budget:
                continue
            self._fold_budget[folded] = budget
            self._fold_bigrams[folded] = _bigrams(folded)
            grams = self._fold_bigrams[folded]
            self._fold_rec[folded] = (folded, budget, len(folded), grams,
                                      len(grams) - 3 * budget)
            (lens1 if budget == 1 else lens2).add(len(folded))
            for d in _delete_keys(folded[:_PREFIX], budget):
                self._deletes.setdefault(d, []).append(folded)
        # Tuples keep their items inline (one memory access fewer than a list per key).
        self._deletes = {d: tuple(labels) for d, labels in self._deletes.items()}
        # A frozenset intersects faster than the dict's key view (denser table, fewer misses).
        self._delete_keys = frozenset(self._deletes)
        # Deletion depth a query needs, by its folded length.
        top = max(lens1 | lens2 | {0}) + 3
        self._depth = [0] * (top + 1)
        for n in range(top + 1):
            if any(abs(n - m) <= 2 for m in lens2):
                self._depth[n] = 2
            elif any(abs(n - m) <= 1 for m in lens1):
                self._depth[n] = 1
        _psl_rules()  # load the PSL rule tables now rather than on the first lookup
        # Edit-distance candidates by folded head, for hosts that share a registrable label
        # (or its first letters): one dict per query deletion depth. Both caches drop their
        # older half when full.
        self._cand_cache: tuple[dict[str, tuple], ...] = ({}, {}, {})
        # Findings on a registrable label (see _lookup).
        self._rd_cache: dict[str | tuple[str, str], tuple] = {}
        self._init_caches()

    def _init_caches(self) -> None:
        # Results by queried domain. Plain per-instance dicts rather than an lru_cache around a
        # bound method, so the index pickles; readers only ``get``, and every write (with the
        # eviction that iterates a dict) holds the lock, so threads can share one index.
        self._results: dict[str, tuple[LookalikeMatch, ...]] = {}
        self._cache_lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        # Caches are rebuilt on use; the lock cannot be pickled.
        state["_results"] = {}
        state["_cand_cache"] = ({}, {}, {})
        state["_rd_cache"] = {}
        del state["_cache_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache_lock = threading.Lock()

    def _remember(self, cache: dict, key, value, size: int) -> None:
        """Store ``value`` in a bounded cache dict, dropping its older half when full."""
        with self._cache_lock:
            if len(cache) >= size:
                _forget_older_half(cache)
            cache[key] = value

    def _cached(self, domain: str) -> tuple[LookalikeMatch, ...]:
        found = self._results.get(domain)
        if found is None:
            found = self._lookup(domain)
            self._remember(self._results, domain, found, _CACHE_SIZE)
        return found

    def _find_generic(self) -> frozenset[str]:
        """Folded labels too generic to combosquat on: listed filler words, and labels found
        inside the labels of two or more other owners' protected domains ("times" inside
        nytimes, latimes, ...; "news"). Judged on the protected list itself."""
        bare_owners: dict[str, set] = {}
        for folded, entries in self._by_fold.items():
            bare = folded.replace("-", "")
            bare_owners.setdefault(bare, set()).update(
                e.owner if e.owner is not None else e.domain for e in entries)
        containers: dict[str, set] = {}
        for bare, owners in bare_owners.items():
            n = len(bare)
            subs = {bare[i:j] for i in range(n) for j in range(i + 3, n + 1)} - {bare}
            for sub in subs:
                if sub in bare_owners:
                    containers.setdefault(sub, set()).update(owners)
        generic = set(self._words)
        for bare, owners in bare_owners.items():
            if len(containers.get(bare, set()) - owners) >= 2:
                generic.add(bare)
        return frozenset(generic)

    def __len__(self) -> int:
        return len(self._domains)

    # ------------------------------------------------------------------ public

    def check(self, domain: str) -> LookalikeMatch | None:
        """Best match for ``domain`` or None (legitimate, unrelated or unparseable)."""
        found = self._cached(domain)
        return found[0] if found else None

    def check_all(self, domain: str) -> list[LookalikeMatch]:
        """Every match for ``domain``, best first."""
        return list(self._cached(domain))

    def cache_clear(self) -> None:
        """Empty the result cache in front of ``check`` and the two caches inside ``_lookup``."""
        with self._cache_lock:
            self._results.clear()
            for cache in self._cand_cache:
                cache.clear()
            self._rd_cache.clear()

    # ------------------------------------------------------------------ lookup

    def _lookup(self, domain: str) -> tuple[LookalikeMatch, ...]:
        """Uncached lookup (``check``/``check_all`` put a cache in front of it)."""
        norm = _normalize_host(domain)
        if norm is None:
            return ()
        labels, puny, host = norm
        n = len(labels)
        if n < 2:
            return ()
        domains = self._domains
        if host in domains:
            return ()
        for k in self._domain_sizes:  # label counts of protected domains, ascending
            if k >= n:
                break
            if ".".join(labels[n - k:]) in domains:
                return ()  # a subdomain of a protected domain
        if host.isascii():
            pub = _public_len(labels)
            if not pub or pub >= n:
                return ()
            suffix = ".".join(labels[n - pub:]) if pub > 1 else labels[-1]
            rd_idx = n - pub - 1
        else:
            public = _psl().publicsuffix(host)
            if not public or public == host:
                return ()
            suffix = public
            rd_idx = n - suffix.count(".") - 2
        rd = host if not rd_idx else ".".join(labels[rd_idx:])
        # One subdomain label (www., mail., ...) leaves nothing to find there when it is short
        # (not a protected label on its own) and no protected host starts with it.
        subs = rd_idx > 1 or (rd_idx == 1 and not (
            len(labels[0]) < 6 and labels[0].isascii()
            and _ascii_fold(labels[0]) not in self._fd_firsts))
        well_known = rd in self._well_known
        if well_known and not subs:
            return ()  # a well-known service: only the subdomain trick is looked for
        q = _Query(host, labels, puny, rd_idx, suffix)
        if not well_known:
            # What the registrable label reads as depends on nothing else (the label, its
            # public suffix, its punycode form): hosts sharing it replay the same findings.
            # (The registrable domain fixes its public suffix, so it stands for both.)
            key = rd if rd_idx not in puny else (rd, puny[rd_idx])
            cache = self._rd_cache
            adds = cache.get(key)
            if adds is None:
                q.log = []
                self._same_reading(q)
                self._edit_distance(q)
                self._combos(q)
                adds = tuple(q.log)
                q.log = None
                self._remember(cache, key, adds, _RD_CACHE_SIZE)
            else:
                for args in adds:
                    q.add(*args)
        if subs:
            self._subdomains(q)
        if not q.found:
            return ()
        return tuple(m for _, m in sorted(q.found.values(), key=lambda pm: pm[0]))

    def _same_reading(self, q: _Query) -> None:
        """Homoglyph, punycode, ASCII look-alike, TLD swap: the label reads as a protected one."""
        label = q.label
        for e in self._by_fold.get(q.fold, ()):
            if label == e.label:
                if e.suffix == q.suffix:
                    continue  # the registrable parent of a protected host (abs-cbn.com)
                # Generic words under other suffixes are other people's sites (news.cn vs
                # news.blogspot.com, times.com.mx vs times.com).
                if len(e.label) >= 3 and e.fold.replace("-", "") not in self._generic:
                    q.add(e, "tld_swap", f"'{label}' registered under .{q.suffix} instead of "
                          f".{e.suffix}", None, _RANK["tld_swap"])
            elif not label.isascii():
                tech = "punycode" if q.rd_idx in q.puny else "homoglyph"
                q.add(e, tech, q.chars() + q.where(e), 0, 0)
            elif len(e.label) >= 5:  # ASCII look-alikes are typos: none for short labels
                q.add(e, "edit_distance",
                      (_judge_edit(e.label, label, e.fold, q.fold, 0) or "") + q.where(e), 0, 3)

    def _edit_distance(self, q: _Query) -> None:
        fold = q.fold
        if fold in self._words:
            return  # online.com is a word, not a typo of eonline.com
        n = len(fold)
        depth = self._depth[n] if n < len(self._depth) else 0
        if depth:
            cache = self._cand_cache[depth]
            head = fold[:_PREFIX]
            recs = cache.get(head)
            if recs is None:
                recs = self._candidates(head, depth)
                self._remember(cache, head, recs, _CAND_CACHE_SIZE)
            if recs:
                qgrams: frozenset[str] | None = None
                nq = 0
                for other, budget, m, grams, need in recs:
                    if m - n > budget or n - m > budget or other == fold:
                        continue
                    # Each edit removes at most 3 distinct bigrams (a transposition does).
                    if qgrams is None:
                        qgrams = _bigrams(fold)
                        nq = len(qgrams)
                    shared = len(qgrams & grams)
                    if shared < nq - 3 * budget or shared < need:
                        continue
                    dist = _osa(fold, other, budget)
                    if dist > budget:
                        continue
                    for e in self._by_fold[other]:
                        # One edit less when the public suffix differs too.
                        if dist <= e.budget - (e.suffix != q.suffix):
                            self._add_distance(q, e, dist)
        # Hyphens put into a protected label ("c-nn", "washington-post").
        if "-" in fold:
            for e in self._by_fold.get(fold.replace("-", ""), ()):
                if len(e.label) >= 3 and (e.suffix == q.suffix or e.budget):
                    self._add_distance(q, e, fold.count("-"), rank=3.5)

    def _candidates(self, head: str, depth: int) -> tuple:
        """Records of the folded labels whose deletion neighbourhood meets that of ``head``
        (the first _PREFIX folded letters of a label), each once: SymSpell candidates."""
        # The query's deletion neighbourhood, streamed into the intersection (no set of its
        # own): the keys of _delete_keys(head, depth).
        h = len(head)
        if h > 2 and depth > 1:
            keys = self._delete_keys.intersection(chain(
                (head,), map("".join, combinations(head, h - 1)),
                map("".join, combinations(head, h - 2))))
        elif h > 1:
            keys = self._delete_keys.intersection(chain(
                (head,), map("".join, combinations(head, h - 1))))
        else:
            keys = self._delete_keys.intersection((head,))
        if not keys:
            return ()
        # Each label once (a close one is reached by many keys), all in C loops.
        return tuple(map(self._fold_rec.__getitem__, set(chain.from_iterable(
            map(self._deletes.__getitem__, keys)))))

    def _add_distance(self, q: _Query, e: _Entry, dist: int, rank: float | None = None) -> None:
        words = _judge_edit(e.label, q.label, e.fold, q.fold, dist)
        if words is None:
            return
        rank = 5 + dist if rank is None else rank
        q.add_read(e, "edit_distance", words + q.where(e), f"'{q.fold}': {words}{q.where(e)}", dist, rank)

    def _segmentable(self, s: str) -> bool:
        """True when ``s`` is a run of combo words (empty counts)."""
        if not s:
            return True
        n = len(s)
        ok = [False] * (n + 1)
        ok[0] = True
        words = self._words
        for i in range(n):
            if ok[i]:
                for k in self._word_lens:
                    if i + k <= n and s[i:i + k] in words:
                        ok[i + k] = True
        return ok[n]

    def _combos(self, q: _Query) -> None:
        fold = q.fold
        hyphen = "-" in fold
        bare = fold.replace("-", "") if hyphen else fold
        n = len(bare)
        if n < 4:
            return
        # (A word is 2+ letters: no word can start or end the label unless one starts or
        # ends with its first or last two letters; most labels stop at that dict lookup.)
        starts = bare[:2] in self._word_lens_from and self._starts_word(bare) is not None
        ends = bare[-2:] in self._word_lens_to and self._ends_word(bare[::-1]) is not None
        if not (starts or ends or hyphen):
            return
        words, by_bare = self._words, self._by_bare
        hits: list[_Entry] = []
        if starts or ends:
            # Positions reachable from the start by filler words, and from which the end is.
            # (Only word lengths whose words start / end with the two letters there.)
            lens_from, lens_to = self._word_lens_from, self._word_lens_to
            pre = [0]
            if starts:
                i = 0
                while i < len(pre):
                    p = pre[i]
                    for k in lens_from.get(bare[p:p + 2], ()):
                        if p + k < n and bare[p:p + k] in words and p + k not in pre:
                            pre.append(p + k)
                    i += 1
            suf = [n]
            if ends:
                i = 0
                while i < len(suf):
                    r = suf[i]
                    for k in (lens_to.get(bare[r - 2:r], ()) if r >= 2 else ()):
                        if r - k > 0 and bare[r - k:r] in words and r - k not in suf:
                            suf.append(r - k)
                    i += 1
            for a in pre:
                for b in suf:
                    if b - a >= 2 and not (a == 0 and b == n):
                        hits.extend(by_bare.get(bare[a:b], ()))
        if hyphen and not fold.startswith("-") and not fold.endswith("-"):
            # The protected label as whole hyphen-separated token(s), anything around it.
            toks = [t for t in fold.split("-") if t]
            t = len(toks)
            for a in range(t):
                for b in range(a + 1, t + 1):
                    if a == 0 and b == t:
                        continue
                    for e in by_bare.get("".join(toks[a:b]), ()):
                        # Any other word may stand beside a label of 3+ letters kept whole
                        # (bbc-xyz); a label cut by hyphens (the-guardian-angels) or of two
                        # letters (ft-tools) needs listed words around it.
                        if (len(e.label) >= 3 and b == a + 1) or (
                                self._segmentable("".join(toks[:a]))
                                and self._segmentable("".join(toks[b:]))):
                            hits.append(e)
        if not hits:
            return
        hits = list(dict.fromkeys(hits))
        # A label of nothing but filler words ("worldnews") is only a combosquat of a long,
        # compound protected label ("dailymail-uk"), never of a short one ("news").
        generic = self._segmentable(bare)
        for e in hits:
            if (generic and len(e.fold) < 7) or e.fold.replace("-", "") in self._generic:
                continue
            left, core, right = _raw_split(q.label, e.fold.replace("-", ""))
            extra = " and ".join(f"'{x}'" for x in (left, right) if x)
            rank = _RANK["combosquat"] + (0.5 if len(e.label) <= 4 else 0)
            q.add_read(e, "combosquat", f"'{core}' combined with {extra}{q.where(e)}",
                       f"'{e.label}' combined with {extra}{q.where(e)}", None, rank)

    def _subdomains(self, q: _Query) -> None:
        labels, rd_idx = q.labels, q.rd_idx
        rd_label = labels[rd_idx]
        by_fd = self._by_fold_domain
        firsts = self._fd_firsts
        by_fold = self._by_fold
        rd: str | None = None
        full_hits: set[str] = set()
        # Folded subdomain labels, once each (skeleton is the costly part of a key).
        # (Labels come lower-cased from _normalize: ASCII ones skip skeleton's lower().)
        sk = [_ascii_fold(x) if x.isascii() else skeleton(x) for x in labels[:rd_idx]]
        for i in range(rd_idx):
            first = sk[i]
            # A key starts with the first label's fold: skip hosts no protected key starts
            # like (a fold holding a dot, from a confusable, is never skipped).
            if first not in firsts and "." not in first:
                continue
            for k in self._label_counts:
                end = i + k - 1
                if end > rd_idx:
                    break
                tail = ""
                if end == rd_idx:
                    if "-" not in rd_label:
                        continue
                    head, tail = rd_label.split("-", 1)
                    tail = "-" + tail + "." + ".".join(labels[rd_idx + 1:])
                    key = ".".join(sk[i:end] + [skeleton(head)])
                else:
                    key = ".".join(sk[i:end + 1])
                found = by_fd.get(key)
                if not found:
                    continue
                parts = list(labels[i:end + 1])
                if tail:
                    parts[-1] = head
                if rd is None:
                    rd = ".".join(labels[rd_idx:])
                for e in found:
                    shown = ".".join(parts)
                    if tail:
                        detail = (f"'{shown}' followed by '{tail}' so the host starts like "
                                  f"{e.domain}; the real domain is {rd}")
                    else:
                        detail = f"'{shown}' used as a subdomain of {rd}"
                    if shown != e.domain:
                        detail += f" ({_describe_chars(''.join(parts)) or 'look-alike spelling'})"
                    full_hits.add(e.domain)
                    q.add(e, "subdomain", detail, None, _RANK["subdomain"])
        # A long protected label alone as a subdomain label ("nytimes.press-desk.net").
        made_up: bool | None = None
        for i in range(rd_idx):
            lab = labels[i]
            if len(lab) < 6:
                continue
            for e in by_fold.get(sk[i], ()):
                if (e.domain in full_hits or len(e.label) < 6 or e.fold in self._generic
                        or self._segmentable(e.fold)):
                    continue
                # Only under a registrable label that looks made up for the purpose
                # (press-desk, secure-login, news24): not a hosting tenant like
                # 700wlw.iheart.com.
                if made_up is None:
                    made_up = bool("-" in rd_label or self._has_word(rd_label)
                                   or any(c.isdigit() for c in rd_label))
                if not made_up:
                    continue
                if rd is None:
                    rd = ".".join(labels[rd_idx:])
                q.add(e, "subdomain", f"'{lab}' used as a subdomain of {rd}", None, 8)
