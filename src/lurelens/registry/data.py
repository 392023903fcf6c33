"""Loaders for the shipped data lists, with a local overlay a user extends without editing them.

Shipped files live in ``lurelens/data``. A file of the same name in the overlay directory
(``$LURELENS_DATA_DIR``, else ``~/.config/lurelens/data.d``) is merged over the shipped one: lists
are extended, and for JSON registries entries with the same id replace the shipped entry.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from lurelens.errors import ConfigError

__all__ = ["DataRegistry", "TrackerIndex", "overlay_dir"]


def overlay_dir() -> Path | None:
    env = os.environ.get("LURELENS_DATA_DIR")
    if env:
        return Path(env)
    home = Path(os.path.expanduser("~/.config/lurelens/data.d"))
    return home if home.is_dir() else None


def _shipped(name: str) -> str | None:
    try:
        return (resources.files("lurelens") / "data" / name).read_text(encoding="utf-8")
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


@dataclass
class TrackerIndex:
    """Tracker vendors matched against URLs: a host index first, then one combined regex."""

    host_vendor: dict[str, str] = field(default_factory=dict)
    vendor_patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    combined: re.Pattern[str] | None = None
    spacer_allow: re.Pattern[str] | None = None

    @classmethod
    def build(cls, docs: list[tuple[str, dict[str, Any]]]) -> "TrackerIndex":
        idx = cls()
        sources = []
        spacer = []
        for src, doc in docs:
            for v in doc.get("vendors", []):
                name = v["name"]
                for h in v.get("hosts", []):
                    idx.host_vendor.setdefault(h.lower(), name)
                for p in v.get("patterns", []):
                    try:
                        idx.vendor_patterns.append((name, re.compile(p, re.I)))
                        sources.append(f"(?:{p})")
                    except re.error as exc:
                        raise ConfigError(f"{src}: tracker pattern for {name!r} does not compile: {exc}") from exc
            if doc.get("spacer_allow"):
                spacer.extend(doc["spacer_allow"] if isinstance(doc["spacer_allow"], list) else [doc["spacer_allow"]])
        if sources:
            idx.combined = re.compile("|".join(sources), re.I)
        if spacer:
            idx.spacer_allow = re.compile("|".join(f"(?:{s})" for s in spacer), re.I)
        return idx

    def match(self, url: str, host: str) -> str | None:
        for suffix in _host_suffixes(host):
            v = self.host_vendor.get(suffix)
            if v:
                return v
        if self.combined is not None and self.combined.search(url):
            for name, pat in self.vendor_patterns:
                if pat.search(url):
                    return name
        return None

    def is_spacer(self, url: str) -> bool:
        return bool(self.spacer_allow and self.spacer_allow.search(url))


class DataRegistry:
    """All shipped registries, loaded lazily on first use and shared across scans."""

    def __init__(self, extra_dir: Path | None | str = "auto"):
        self.extra_dir = overlay_dir() if extra_dir == "auto" else (Path(extra_dir) if extra_dir else None)

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
        hosts: dict[str, dict[str, Any]] = {}
        params: list[str] = []
        for _src, doc in load_json("redirectors.json", self.extra_dir):
            for h in doc.get("hosts", []):
                hosts[h["host"].lower()] = h
            params.extend(doc.get("generic_params", []))
        return {"hosts": hosts, "generic_params": [p.lower() for p in dict.fromkeys(params)]}

    def redirector_for(self, host: str) -> dict[str, Any] | None:
        table = self.redirectors["hosts"]
        for suffix in _host_suffixes(host):
            entry = table.get(suffix)
            if entry:
                return entry
        return None

    def is_shortener(self, host: str) -> bool:
        s = self.shorteners
        return host in s or (host.startswith("www.") and host[4:] in s)

    def is_freemail(self, domain: str) -> bool:
        return domain.lower() in self.freemail

    @cached_property
    def free_hosting(self) -> set[str]:
        return load_lines("free_hosting.txt", self.extra_dir)

    def free_hosting_suffix(self, host: str) -> str | None:
        """The free hosting platform a host is a tenant of (evil.firebaseapp.com -> firebaseapp.com)."""
        for suffix in _host_suffixes(host.lower()):
            if suffix in self.free_hosting and suffix != host.lower():
                return suffix
        return None

    @cached_property
    def lure_phrases(self) -> dict[str, re.Pattern[str]]:
        """Lure-language categories, each one compiled alternation matched on whole words."""
        cats: dict[str, list[str]] = {}
        for _src, doc in load_json("lure_phrases.json", self.extra_dir):
            for cat, pats in doc.get("categories", {}).items():
                cats.setdefault(cat, []).extend(pats)
        out = {}
        for cat, pats in cats.items():
            try:
                out[cat] = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in pats) + r")(?!\w)", re.I)
            except re.error as exc:
                raise ConfigError(f"lure phrase category {cat!r} does not compile: {exc}") from exc
        return out

