"""Who a message can claim to be: news outlets, brands and an organisation's own protected names.

Built from the shipped registries (``news_outlets.json``, ``brands.json``) plus the overlay file
``protected.json`` (same directory rules as every data file), which lets an organisation add its
own names, domains and people (say, its members of parliament) without editing shipped files.
Names are matched on normalised word n-grams, so "BANCO DO BRADESCO LIVELO" finds "Bradesco".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable

from lurelens.parse.text import INVISIBLE
from lurelens.parse.urls import registrable_domain

if TYPE_CHECKING:
    from lurelens.registry.data import DataRegistry

__all__ = ["Entity", "EntityIndex", "normalize_name"]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=65536)
def normalize_name(text: str) -> str:
    """Casefold, drop accents, fold look-alike letters, keep letters and digits as single-spaced words."""
    if not text.isascii():
        from lurelens.registry.lookalike import skeleton

        text = INVISIBLE.sub("", text)  # "Mi\u200bcrosoft" and tag characters still spell Microsoft
        # Accents and marks sprinkled between letters ("Aܿmܿaܿzܿoܿn") go before words are split.
        text = "".join(c for c in text if not unicodedata.category(c).startswith("M"))
        text = re.sub(r"[^\w]+", " ", text)
        folded = []
        for word in text.split():
            try:
                w = unicodedata.normalize("NFKD", word)
                w = "".join(c for c in w if not unicodedata.combining(c))
                folded.append(w if w.isascii() else skeleton(w))
            except Exception:  # noqa: BLE001
                folded.append(word)
        text = " ".join(folded)
    return _NON_ALNUM.sub(" ", text.casefold()).strip()


@dataclass
class Entity:
    id: str
    kind: str  # "outlet", "brand" or "protected"
    name: str
    domains: set[str]  # registrable domains it really uses (web and mail)
    country: str = ""
    tier: int = 1
    category: str = ""
    people: list[str] = field(default_factory=list)


@dataclass
class _Alias:
    entity: Entity
    ambiguous: bool  # only counts where the name stands alone (a whole display name)
    caps: str = ""  # a short all-capitals alias ("ANN", "BB"): must appear in capitals ("Ann" is a name)
    caps_rx: "re.Pattern[str] | None" = None  # that alias standing alone, compiled once


class EntityIndex:
    def __init__(self, entities: Iterable[tuple[Entity, list[str], set[str]]], common_words: Iterable[str] = ()):
        """``common_words``: single words that are also aliases but mean something else far more
        often (data/words/common_alias_words.txt): such an alias only counts standing alone."""
        common = frozenset(common_words)
        self.entities: dict[str, Entity] = {}
        self.by_alias: dict[str, list[_Alias]] = {}
        self.by_domain: dict[str, Entity] = {}
        self.max_words = 1
        # First word of each alias -> the most words an alias starting with it has: find() builds
        # only the word n-grams that can name something (most words start no alias).
        self.first_words: dict[str, int] = {}
        for ent, aliases, ambiguous in entities:
            self.entities[ent.id] = ent
            for d in ent.domains:
                self.by_domain.setdefault(d, ent)
            for alias in [ent.name, *aliases]:
                norm = normalize_name(alias)
                if not norm or len(norm) < 2:
                    continue
                amb = (
                    alias in ambiguous
                    or norm in common
                    or (" " not in norm and len(norm) <= 3 and not alias.isupper())
                    or ent.tier >= 3
                )
                caps = alias if alias.isupper() and alias.isascii() and len(alias) <= 4 else ""
                caps_rx = re.compile(rf"(?<![A-Za-z]){re.escape(caps)}(?![A-Za-z])") if caps else None
                self.by_alias.setdefault(norm, []).append(_Alias(ent, amb, caps, caps_rx))
                n_words = norm.count(" ") + 1
                self.max_words = max(self.max_words, min(6, n_words))
                first = norm.split(" ", 1)[0]
                self.first_words[first] = max(self.first_words.get(first, 0), n_words)

    @classmethod
    def from_data(cls, data: "DataRegistry") -> "EntityIndex":
        from lurelens.registry.data import entries_of, load_json

        # A malformed entry names its file (ConfigError) instead of crashing the check that asked.
        items: list[tuple[Entity, list[str], set[str]]] = []
        for src, doc in load_json("news_outlets.json", data.extra_dir):
            with entries_of(src):
                for o in doc.get("outlets", []):
                    doms = {registrable_domain(d) for d in o.get("web_domains", []) + o.get("mail_domains", [])}
                    amb = set(o.get("ambiguous_aliases", []))
                    if o.get("ambiguous"):
                        amb |= {o["name"], *o.get("aliases", [])}
                    items.append((Entity(o["id"], "outlet", o["name"], doms, o.get("country", ""), int(o.get("tier", 1))),
                                  list(o.get("aliases", [])), amb))
        for src, doc in load_json("brands.json", data.extra_dir):
            with entries_of(src):
                for b in doc.get("brands", []):
                    doms = {registrable_domain(d) for d in b.get("domains", []) + b.get("mail_domains", [])}
                    amb = set(b.get("ambiguous_aliases", []))
                    if b.get("ambiguous"):
                        # "Ledger" is a word; "Ledger Live" is not. A brand's aliases carry their own flag.
                        amb.add(b["name"])
                    items.append((Entity(b["id"], "brand", b["name"], doms, category=b.get("category", "")),
                                  list(b.get("aliases", [])), amb))
        for src, doc in load_json("protected.json", data.extra_dir):
            with entries_of(src):
                for p in doc.get("entities", []):
                    doms = {registrable_domain(d) for d in p.get("domains", [])}
                    items.append((Entity(p["id"], "protected", p["name"], doms, people=list(p.get("people", []))),
                                  list(p.get("aliases", [])) + list(p.get("people", [])), set(p.get("ambiguous_aliases", []))))
        with entries_of("news_outlets.json, brands.json or protected.json (an alias or name of the wrong type)"):
            return cls(items, data.words("common_alias_words"))

    def entity_for_domain(self, domain: str) -> Entity | None:
        return self.by_domain.get(registrable_domain(domain)) if domain else None

    def find(self, text: str, *, standalone: bool = False, limit: int = 5) -> list[tuple[Entity, str, bool]]:
        """Entities named in ``text``: (entity, matched alias, matched an ambiguous alias).

        Ambiguous aliases match only when they are the whole normalised text (``standalone``
        callers pass a display name; "Next" alone claims a bank, "next week" does not).
        """
        norm = normalize_name(text[:400])
        if not norm:
            return []
        words = norm.split()
        out: list[tuple[Entity, str, bool]] = []
        seen: set[str] = set()
        # The n-grams that can be aliases (they start with an alias's first word and are no longer
        # than its longest), in the order of the plain loop: longest first, then left to right.
        first_words, top, count = self.first_words, min(self.max_words, len(words)), len(words)
        grams = sorted((-n, i) for i, w in enumerate(words) if w in first_words
                       for n in range(1, min(top, first_words[w], count - i) + 1))
        for neg_n, i in grams:
            gram = " ".join(words[i : i - neg_n])
            for a in self.by_alias.get(gram, ()):
                if a.entity.id in seen:
                    continue
                if a.ambiguous and not (standalone and gram == norm):
                    continue
                if a.caps_rx is not None and not a.caps_rx.search(text):
                    continue
                seen.add(a.entity.id)
                out.append((a.entity, gram, a.ambiguous))
                if len(out) >= limit:
                    return out
        return out


def load_protected_example() -> dict[str, Any]:
    """The shape of an overlay ``protected.json`` (documented in docs/data.md)."""
    return {
        "meta": {"source": "your organisation", "licence": "internal", "date": "YYYY-MM-DD"},
        "entities": [
            {"id": "parliament-example", "name": "Example Parliament", "aliases": ["Parliament"],
             "domains": ["parliament.example.org"], "people": ["Jane Smith MP"]}
        ],
    }
