"""Loaders for the shipped data lists, with a local overlay a user extends without editing them.

Shipped files live in ``lurelens/data``. A file of the same name in the overlay directory given to
``DataRegistry`` is merged over the shipped one: lists are extended, and for JSON registries
entries with the same id replace the shipped entry. The registry reads no environment variable and
no home directory: front ends find the user's overlay (``lurelens.adapters.environment``) and pass it.
"""

from __future__ import annotations

import json
import re
import re._constants as _sre  # the parsed-regex opcodes, for _literal_anchor
import re._parser as _sre_parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from lurelens.errors import ConfigError
from lurelens.registry.phrases import PhraseScanner, dispatch

__all__ = ["PATTERN_LISTS", "WORD_LISTS", "DataRegistry", "TrackerIndex", "load_ordered_lines", "overlay_dir"]


def overlay_dir() -> Path | None:
    """Moved: :func:`lurelens.adapters.environment.data_overlay_dir` (front ends only)."""
    from lurelens.adapters.environment import data_overlay_dir

    return data_overlay_dir()


def _shipped(name: str) -> str | None:
    try:
        path = resources.files("lurelens") / "data"
        for part in name.split("/"):  # words/x.txt: one step at a time (zip-safe)
            path = path / part
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


def _texts(name: str, extra_dir: Path | None) -> list[tuple[str, str]]:
    out = []
    shipped = _shipped(name)
    if shipped is not None:
        out.append((f"lurelens/data/{name}", shipped))
    if extra_dir is not None:
        p = extra_dir / name
        if p.is_file():
            try:
                out.append((str(p), p.read_text(encoding="utf-8")))
            except OSError as exc:
                raise ConfigError(f"cannot read overlay file {p}: {exc}") from exc
    return out


def load_lines(name: str, extra_dir: Path | None = None) -> set[str]:
    items: set[str] = set()
    for _src, text in _texts(name, extra_dir):
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip().lower()
            if line:
                items.add(line)
    return items


def load_ordered_lines(name: str, extra_dir: Path | None = None) -> list[str]:
    """The entries of a one-per-line list, lower-cased, in file order (shipped, then the overlay's),
    each once: for vocabularies whose order matters (regular-expression alternatives)."""
    items: dict[str, None] = {}
    for _src, text in _texts(name, extra_dir):
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip().lower()
            if line:
                items.setdefault(line)
    return list(items)


# Word lists under data/words/ (one entry a line, provenance in each file's header); an overlay's
# words/<name>.txt extends the shipped list. WORD_LISTS are sets of words or domains; PATTERN_LISTS
# are regular-expression alternatives, kept in file order and checked to compile.
WORD_LISTS = ("lookalike_combo_words", "well_known_services", "common_alias_words", "ordinary_labels",
              "sender_generic_words", "everyones_link_domains", "name_filler_words")
PATTERN_LISTS = ("greeting_words", "generic_addressees", "journalist_roles", "opt_out_phrases")


@contextmanager
def entries_of(src: str) -> Iterator[None]:
    """Reading the entries of data file ``src``: a wrong shape (a missing key, a string where a
    list belongs) is a ConfigError naming the file, which stops the scanner, not a crash inside
    whichever check first asked for the registry (that would quietly disable the check)."""
    try:
        yield
    except ConfigError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{src}: invalid entry ({type(exc).__name__}: {exc})") from exc


def load_json(name: str, extra_dir: Path | None = None) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for src, text in _texts(name, extra_dir):
        try:
            out.append((src, json.loads(text)))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{src}: invalid JSON: {exc}") from exc
    return out


def _host_suffixes(host: str):
    parts = host.split(".")
    for i in range(len(parts) - 1):
        yield ".".join(parts[i:])


def _parent_in(host: str, table: set[str]) -> str | None:
    """The longest proper parent suffix of ``host`` listed in ``table`` (x.web.app -> web.app, a.sa.com -> sa.com)."""
    parts = host.lower().split(".")
    for i in range(1, len(parts)):
        suffix = ".".join(parts[i:])
        if suffix in table:
            return suffix
    return None


# A host-free pattern's pre-filter anchor must be at least this long; a shorter required literal
# ("/t", "gif" is fine) would let nearly every URL through, so such a pattern runs on every URL.
MIN_ANCHOR = 3
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT} | ({_sre.POSSESSIVE_REPEAT} if hasattr(_sre, "POSSESSIVE_REPEAT") else set())


def _required_runs(items, runs: list[str], cur: list[str]) -> list[str]:
    """Walk a parsed regex sequence: every run of literal characters that any match must contain
    consecutively goes to ``runs``; returns the run still open at the end of ``items``."""
    for op, av in items:
        if op is _sre.LITERAL:
            cur.append(chr(av))
        elif op is _sre.SUBPATTERN:  # a plain group: its content is required, in sequence
            cur = _required_runs(av[-1], runs, cur)
        elif op is _sre.AT:  # ^ $ \b: zero-width, the characters either side stay adjacent
            continue
        elif op in _REPEATS and av[0] >= 1:  # x+ / x{2,}: the item's own runs occur at least once
            runs.append("".join(cur))
            runs.append("".join(_required_runs(av[2], runs, [])))
            cur = []
        else:  # a class, ".", an alternation, an optional or repeated-maybe-zero item, a look-around
            runs.append("".join(cur))
            cur = []
    return cur


def _literal_anchor(pattern: str) -> str:
    """The longest run of literal characters every match of ``pattern`` contains, lowercased, or
    '' if it has none of at least ``MIN_ANCHOR`` characters (the pattern then runs on every URL).

    Used as a substring pre-filter so most URLs never reach the regex engine. Read from the parsed
    regex, so text inside a character class, an alternation, an optional group or a repetition that
    may be zero is never taken: an anchor a match need not contain would stop the pattern ever
    running.
    """
    runs: list[str] = []
    runs.append("".join(_required_runs(_sre_parse.parse(pattern, re.I), runs, [])))
    best = max(runs, key=len)
    return best.lower() if len(best) >= MIN_ANCHOR else ""


class _AnchorFinder(tuple):
    """Which host-free tracker patterns' anchors occur in a lower-cased URL, by one regex search
    per occurrence instead of a substring test per pattern: the anchors, longest first, in one
    alternation; where several start at one place the search reports the longest, and every
    anchor that is a prefix of it (so also starts there) counts as found.
    (regex, anchor -> the anchors it starts with, anchor -> pattern indexes, free_patterns, always)."""

    @classmethod
    def build(cls, free_patterns: list[tuple[str, str, re.Pattern[str]]]) -> "_AnchorFinder":
        anchors = sorted({a for a, _n, _r in free_patterns if a}, key=lambda a: (-len(a), a))
        prefixes = {a: [b for b in anchors if a.startswith(b)] for a in anchors}
        by_anchor: dict[str, list[int]] = {}
        always: list[int] = []  # a pattern with no anchor is tried on every URL
        for i, (a, _n, _r) in enumerate(free_patterns):
            (by_anchor.setdefault(a, []) if a else always).append(i)
        # Grouped by first character (registry/phrases.py dispatch): one test per letter at each place.
        body = "|".join(re.escape(a) for a in anchors)
        rx = re.compile(dispatch([re.escape(a) for a in anchors]) or body) if anchors else None
        return cls((rx, prefixes, by_anchor, free_patterns, always))

    def candidates(self, low: str) -> list[int]:
        """Indexes of the patterns whose anchor is in ``low`` (or that have none), in list order."""
        rx, prefixes, by_anchor, _free, always = self
        if rx is None:
            return always
        found: set[str] = set()
        pos = 0
        while (m := rx.search(low, pos)) is not None:
            found.update(prefixes[m.group(0)])
            pos = m.start() + 1
        if not found:
            return always
        return sorted([i for a in found for i in by_anchor[a]] + always)


@dataclass
class TrackerIndex:
    """Tracker vendors matched against URLs.

    Host-gated patterns run only when the URL's host (or a parent) is in the vendor's host list;
    patterns with no literal host run on every URL, each behind a substring pre-filter. A single
    alternation of all ~570 patterns cost about 1 ms per URL in Python's regex engine; this costs
    microseconds.
    """

    host_patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = field(default_factory=dict)
    free_patterns: list[tuple[str, str, re.Pattern[str]]] = field(default_factory=list)  # (anchor, vendor, re)
    spacer_allow: re.Pattern[str] | None = None
    # vendor -> query parameters that identify the recipient (Mailchimp: e=, not the account's u=)
    recipient_params: dict[str, list[str]] = field(default_factory=dict)
    # Built on first use from free_patterns (rebuilt if that list is replaced).
    _anchors: "_AnchorFinder | None" = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, docs: list[tuple[str, dict[str, Any]]]) -> "TrackerIndex":
        idx = cls()
        spacer: list[str] = []
        for src, doc in docs:
            with entries_of(src):
                for v in doc.get("vendors", []):
                    name = v["name"]
                    if v.get("recipient_params"):
                        idx.recipient_params[name] = [str(p).lower() for p in v["recipient_params"]]
                    free = set(v.get("host_free_patterns", []))
                    hosts = [h.lower() for h in v.get("hosts", [])]
                    for p in v.get("patterns", []):
                        try:
                            rx = re.compile(p, re.I)
                        except re.error as exc:
                            raise ConfigError(f"{src}: tracker pattern for {name!r} does not compile: {exc}") from exc
                        if p in free or not hosts:
                            idx.free_patterns.append((_literal_anchor(p), name, rx))
                        else:
                            for h in hosts:
                                idx.host_patterns.setdefault(h, []).append((name, rx))
                sa = doc.get("spacer_allow")
                if sa:
                    spacer.extend(sa if isinstance(sa, list) else [sa])
        if spacer:
            idx.spacer_allow = re.compile("|".join(f"(?:{s})" for s in spacer), re.I)
        idx._anchors = _AnchorFinder.build(idx.free_patterns)  # now, so warm() pays for it
        return idx

    def match(self, url: str, host: str) -> str | None:
        for suffix in _host_suffixes(host):
            for name, rx in self.host_patterns.get(suffix, ()):
                if rx.search(url):
                    return name
        low = url.lower()
        finder = self._anchors
        if finder is None or finder[3] is not self.free_patterns:
            finder = self._anchors = _AnchorFinder.build(self.free_patterns)
        # Under IGNORECASE "s" also matches "ſ" and "k" the Kelvin sign, which lower() keeps: a URL
        # with non-ASCII characters skips the pre-filter rather than miss a vendor.
        for i in finder.candidates(low) if low.isascii() else range(len(self.free_patterns)):
            _anchor, name, rx = self.free_patterns[i]
            if rx.search(url):
                return name
        return None

    def is_spacer(self, url: str) -> bool:
        return bool(self.spacer_allow and self.spacer_allow.search(url))


class DataRegistry:
    """All shipped registries, with ``extra_dir`` (the local overlay, or None) merged over them.

    Registries load on first use; :meth:`load_all` loads every one now. Once loaded a registry is
    only read (``local``, the site's allow lists, swaps in a new snapshot when its files change), so threads may share one DataRegistry (two threads racing on a first load each
    build the same value; one wins).
    """

    # Every registry property, for load_all (and the test that it covers them all).
    REGISTRIES = ("trackers", "shorteners", "freemail", "redirectors", "free_hosting", "tenant_senders",
                  "abused_tlds", "sender_name_words", "vocabularies", "_word_sets", "_patterns", "entities",
                  "lookalikes", "lure_scanner", "local")

    def __init__(self, extra_dir: Path | str | None = None):
        if extra_dir == "auto":
            raise ValueError("DataRegistry reads no environment: pass the overlay directory "
                             "(lurelens.adapters.environment.data_overlay_dir()) or None")
        self.extra_dir = Path(extra_dir) if extra_dir else None

    def load_all(self) -> "DataRegistry":
        """Load every registry and build every index now (a worker's first message would pay otherwise)."""
        for name in self.REGISTRIES:
            getattr(self, name)
        return self

    @cached_property
    def trackers(self) -> TrackerIndex:
        return TrackerIndex.build(load_json("trackers.json", self.extra_dir))

    @cached_property
    def shorteners(self) -> set[str]:
        return load_lines("shorteners.txt", self.extra_dir)

    @cached_property
    def freemail(self) -> set[str]:
        return load_lines("freemail.txt", self.extra_dir)

    @cached_property
    def redirectors(self) -> dict[str, Any]:
        """Redirect endpoints by host; one host may have several (google.com /url and /amp/)."""
        hosts: dict[str, list[dict[str, Any]]] = {}
        params: list[str] = []
        for src, doc in load_json("redirectors.json", self.extra_dir):
            with entries_of(src):
                for h in doc.get("hosts", []):
                    entry = dict(h)
                    try:
                        entry["_path"] = re.compile(h["path"]) if h.get("path") else None
                        entry["_dest"] = re.compile(h["dest_in_path"]) if h.get("dest_in_path") else None
                    except re.error as exc:
                        raise ConfigError(f"{src}: redirector {h.get('host')!r}: {exc}") from exc
                    hosts.setdefault(h["host"].lower(), []).append(entry)
                params.extend(doc.get("generic_params", []))
        return {"hosts": hosts, "generic_params": [p.lower() for p in dict.fromkeys(params)]}

    def redirector_for(self, host: str, path: str = "/") -> dict[str, Any] | None:
        """The redirect endpoint a URL's host and path belong to, if any."""
        table = self.redirectors["hosts"]
        for suffix in _host_suffixes(host):
            for entry in table.get(suffix, ()):
                if entry.get("match") == "exact" and suffix != host:
                    continue
                if entry["_path"] is None or entry["_path"].search(path or "/"):
                    return entry
        return None

    def is_shortener(self, host: str) -> bool:
        """An entry covers its subdomains (maps.app.goo.gl is goo.gl's)."""
        s = self.shorteners
        return any(suffix in s for suffix in _host_suffixes(host))

    def is_freemail(self, domain: str) -> bool:
        return domain.lower() in self.freemail

    @cached_property
    def free_hosting(self) -> set[str]:
        return load_lines("free_hosting.txt", self.extra_dir)

    def free_hosting_suffix(self, host: str) -> str | None:
        """The free hosting platform a host is a tenant of (evil.firebaseapp.com -> firebaseapp.com)."""
        return _parent_in(host, self.free_hosting)

    @cached_property
    def tenant_senders(self) -> set[str]:
        return load_lines("tenant_senders.txt", self.extra_dir)

    def tenant_platform(self, host: str) -> str | None:
        """The help-desk or CRM platform a sender domain is a customer tenant of (x.zendesk.com)."""
        return _parent_in(host, self.tenant_senders)

    @cached_property
    def abused_tlds(self) -> set[str]:
        return load_lines("abused_tlds.txt", self.extra_dir)

    def abused_tld(self, domain: str) -> str | None:
        """The much-abused TLD or shared suffix a domain sits under (offers4u.sa.com -> sa.com)."""
        return _parent_in(domain.rstrip("."), self.abused_tlds)

    @cached_property
    def sender_name_words(self) -> set[str]:
        return load_lines("sender_name_words.txt", self.extra_dir)

    @cached_property
    def vocabularies(self) -> dict[str, tuple[str, ...]]:
        """Every list under data/words/, with the overlay's words/ extending it, in file order."""
        out: dict[str, tuple[str, ...]] = {}
        for name in WORD_LISTS + PATTERN_LISTS:
            out[name] = tuple(load_ordered_lines(f"words/{name}.txt", self.extra_dir))
        for name in PATTERN_LISTS:
            for alt in out[name]:
                try:
                    re.compile(alt)
                except re.error as exc:
                    raise ConfigError(f"words/{name}.txt: {alt!r} does not compile: {exc}") from exc
        return out

    @cached_property
    def _word_sets(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(self.vocabularies[name]) for name in WORD_LISTS}

    def words(self, name: str) -> frozenset[str]:
        """A word list of data/words/ (``WORD_LISTS``) as a set, overlay included."""
        return self._word_sets[name]

    @cached_property
    def _patterns(self) -> dict[str, str]:
        return {name: "|".join(self.vocabularies[name]) for name in PATTERN_LISTS}

    def pattern(self, name: str) -> str:
        """A pattern list of data/words/ (``PATTERN_LISTS``) as one alternation ``a|b|...``, overlay included."""
        return self._patterns[name]

    @cached_property
    def entities(self):
        """News outlets, brands and protected names (lurelens.registry.entities.EntityIndex)."""
        from lurelens.registry.entities import EntityIndex

        return EntityIndex.from_data(self)

    @cached_property
    def lookalikes(self):
        """The lookalike index over every domain an entity really uses."""
        from lurelens.registry.lookalike import LookalikeIndex

        pairs = [(d, e.id) for e in self.entities.entities.values() for d in e.domains if d]
        return LookalikeIndex(pairs, combo_words=self.words("lookalike_combo_words"),
                              well_known=self.words("well_known_services"))

    @cached_property
    def local(self):
        """The site's allow lists (``allowed_senders.txt``, ``allowed_hosts.txt`` in the overlay only),
        re-read when they change on disk (lurelens.registry.local.LocalLists)."""
        from lurelens.registry.local import LocalLists

        return LocalLists(self.extra_dir)

    @cached_property
    def lure_scanner(self) -> PhraseScanner:
        """Lure-language patterns of every category in one alternation matched on whole words of
        lower-cased text (so patterns are written in lower case): one pass over the text instead of
        one per category, yielding (category, match). Where two categories' phrases overlap, the
        earlier category takes the words."""
        cats: dict[str, list[str]] = {}
        for _src, doc in load_json("lure_phrases.json", self.extra_dir):
            for cat, pats in doc.get("categories", {}).items():
                cats.setdefault(cat, []).extend(pats)
        for cat, pats in cats.items():  # name the category that does not compile
            try:
                re.compile("|".join(f"(?:{p})" for p in pats))
            except re.error as exc:
                raise ConfigError(f"lure phrase category {cat!r} does not compile: {exc}") from exc
        # Matched against lower-cased text: case-insensitive matching of these long alternations
        # costs twice as much in Python's re. Leading optional or alternative groups distributed
        # and phrases grouped by first letter (registry/phrases.py): same matches, faster.
        # A phrase ends at a word's end, and not inside a contraction: "you won't" has not won.
        return PhraseScanner(cats, r"(?<!\w)", r"(?!\w|['’]t\b)")

