"""The hand-curated one-per-line lists (freemail.txt, shorteners.txt) and redirectors.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

from builders import common
from builders.common import DATA_SRC, Report, dump_json, meta_block, valid_domain


def read_list(path: Path, kind: str, rep: Report):
    """Read a curated one-per-line list; returns (sections[(title, [items])], all_items)."""
    sections, seen, bad = [], set(), []
    cur = ("", [])
    for line in path.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("# ---"):
            if cur[1]:
                sections.append(cur)
            cur = (s.lstrip("# -").strip(), [])
            continue
        if s.startswith("#"):
            continue
        d = s.lower()
        if not valid_domain(d):
            bad.append(d)
            continue
        if d in seen:
            continue
        seen.add(d)
        cur[1].append(d)
    if cur[1]:
        sections.append(cur)
    if bad:
        raise SystemExit(f"{path}: invalid {kind} entries: {bad}")
    return sections, [d for _, items in sections for d in items]


def render_list(title, description, sources, licence, sections, count):
    head = [
        f"# lurelens data: {title}",
        f"# {description}",
        f"# source: {sources}",
        f"# licence: {licence}",
        f"# date: {common.DATA_DATE}",
        f"# count: {count}",
        "# generator: scripts/build_data.py (from data-src/); format: one lowercase host per line, '#' starts a comment",
        "",
    ]
    body = []
    for t, items in sections:
        body.append(f"# --- {t}")
        body.extend(items)
    return "\n".join(head + body) + "\n"


def build_redirectors(rep: Report):
    src = json.loads((DATA_SRC / "redirectors.json").read_text(encoding="utf-8"))
    out_hosts = []
    seen = set()
    for e in src["hosts"]:
        host = e["host"].lower()
        if not valid_domain(host):
            raise SystemExit(f"redirectors: bad host {host}")
        kind = e["kind"]
        if kind not in ("open_redirect", "click_tracker", "safelinks"):
            raise SystemExit(f"redirectors: bad kind {kind}")
        for k in ("path", "dest_in_path"):
            if e.get(k):
                re.compile(e[k])
        if e.get("dest_in_path") and "(?P<dest>" not in e["dest_in_path"]:
            raise SystemExit(f"redirectors: dest_in_path without (?P<dest>...) for {host}")
        if e.get("encoding") not in (None, "proofpoint_v2"):
            raise SystemExit(f"redirectors: unknown encoding {e['encoding']!r} for {host}")
        key = (host, e.get("path"))
        if key in seen:
            raise SystemExit(f"redirectors: duplicate {key}")
        seen.add(key)
        out_hosts.append({
            "host": host,
            "match": e.get("match", "exact"),
            "path": e.get("path"),
            "params": list(e.get("params", [])),
            "dest_in_path": e.get("dest_in_path"),
            **({"encoding": e["encoding"]} if e.get("encoding") else {}),
            "kind": kind,
            "note": e.get("note", ""),
        })
    gp = []
    for p in src["generic_params"]:
        if p.lower() not in [x.lower() for x in gp]:
            gp.append(p)
    meta = meta_block(
        "redirectors",
        "Open-redirect, link-wrapping (safe-links) and click-tracking endpoints, and generic redirect parameter names.",
        [{"name": "lurelens maintainers (hand-curated)", "file": "data-src/redirectors.json",
          "taken": "all entries; curated from general knowledge of public URL formats, not from any list"}],
        "CC0-1.0",
        {"semantics": {
            "host/match": "match='exact': URL host == host; match='suffix': host == host or endswith('.'+host).",
            "path": "optional Python regex, re.search on the URL path (no query); null = any path.",
            "encoding": "optional; 'proofpoint_v2': in the parameter value '-' stands for '%' and '_' for '/'.",
            "params": "query-parameter names (compare case-insensitively) whose value is the destination URL; [] = destination opaque or in the path.",
            "dest_in_path": "optional Python regex on the path with a named group 'dest' holding the (possibly percent-encoded) destination.",
            "kind": "open_redirect | click_tracker | safelinks",
            "generic_params": "parameter names that commonly carry a redirect destination on any host (compare case-insensitively); "
                              "only treat as a redirect when the value parses as an absolute URL.",
        },
         "counts": {"hosts": len(out_hosts), "generic_params": len(gp)}},
    )
    rep(f"redirectors: {len(out_hosts)} entries, {len(gp)} generic params")
    return dump_json({"meta": meta, "hosts": out_hosts, "generic_params": gp}, list_keys=("hosts",)), len(out_hosts)
