#!/usr/bin/env python3
"""Build lurelens' shipped data registries (src/lurelens/data/*) from their sources.

Inputs
  * hand-curated sources under ``data-src/`` (CC0-1.0, written by the lurelens maintainers):
      news_outlets.psv, brands.psv, shorteners.txt, freemail.txt, redirectors.json
  * third-party lists under the development corpus (``--corpus``, default ``../shared/corpus``):
      lists/email-trackers/mailtrackerblocker/{trackers.json,LICENSE}          BSD-3-Clause
      lists/email-trackers/jannikarndt-emailtrackerblocker/{HOSTS.txt,LICENSE} Apache-2.0
      lists/news-outlets/fundus/{supported_publishers.md,LICENSE}              MIT
      lists/news-outlets/yang3kc-list_of_news_domains/{news_domains.csv,raw/} no licence (Zenodo DOI)

Outputs (deterministic: same inputs + same --date + same tldextract snapshot -> same bytes)
  src/lurelens/data/trackers.json, redirectors.json, news_outlets.json, brands.json,
  shorteners.txt, freemail.txt, LICENSES/*

Usage
  python scripts/build_data.py                 # regenerate
  python scripts/build_data.py --check         # exit 1 if the shipped files are stale
  python scripts/build_data.py --brand-freq    # print the phishing-corpus brand frequency table (markdown)

Only the standard library and tldextract (a lurelens dependency, used offline with its bundled
public-suffix snapshot) are needed.  Nothing is fetched from the network.
"""
from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_SRC = REPO / "data-src"
DEFAULT_OUT = REPO / "src" / "lurelens" / "data"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DATA_DATE = "2026-11-23"  # date stamped into every meta block; bump when the data is refreshed

# ----------------------------------------------------------------------------- helpers

_TLD = None


def tld():
    global _TLD
    if _TLD is None:
        import tldextract

        # offline: bundled snapshot only, no cache, no HTTP
        _TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    return _TLD


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def write_outputs(files: dict[str, str], out: Path, *, check: bool) -> list[str]:
    """The output files (relative paths) whose text differs from what is on disk; written
    unless ``check``. Shared with scripts/build_iocs.py."""
    stale = []
    for rel, text in sorted(files.items()):
        p = out / rel
        old = p.read_text(encoding="utf-8") if p.exists() else None
        if old != text:
            stale.append(rel)
            if not check:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text, encoding="utf-8")
    return stale


def valid_domain(d: str) -> bool:
    """Lowercase, idna-encodable host name with at least two labels."""
    if not d or d != d.lower() or d.strip() != d or d.startswith(".") or d.endswith("."):
        return False
    try:
        ascii_d = d.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_d.split(".")
    return len(labels) >= 2 and len(ascii_d) <= 253 and all(_LABEL.match(x) for x in labels)


def registrable(host: str) -> str:
    r = tld()(host)
    if not r.suffix or not r.domain:
        return ""
    return f"{r.domain}.{r.suffix}"


def norm_host(h: str) -> str:
    h = h.strip().lower().rstrip(".")
    h = re.sub(r"^[a-z][a-z0-9+.-]*://", "", h)
    h = h.split("/")[0].split("?")[0].split("#")[0].split(":")[0]
    h = re.sub(r"^(www\d?|m)\.(?=[^.]+\.[^.]+)", "", h)
    return h


def slugify(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.encode("ascii", "ignore").decode().lower()
    s = s.replace("&", " and ").replace("+", " plus ")
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s


def casekey(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", s).strip().casefold()


def meta_block(name, description, sources, licence, extra=None):
    m = {
        "name": name,
        "description": description,
        "date": DATA_DATE,
        "licence": licence,
        "sources": sources,
        "generator": "scripts/build_data.py",
    }
    if extra:
        m.update(extra)
    return m


def dump_json(obj, list_keys=()):
    """Pretty JSON, except that the items of the lists named in list_keys go one per line."""
    out = io.StringIO()
    out.write("{\n")
    keys = list(obj.keys())
    for i, k in enumerate(keys):
        v = obj[k]
        out.write(f" {json.dumps(k)}: ")
        if k in list_keys and isinstance(v, list):
            if not v:
                out.write("[]")
            else:
                out.write("[\n")
                out.write(",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in v))
                out.write("\n ]")
        else:
            txt = json.dumps(v, ensure_ascii=False, indent=1)
            out.write(txt.replace("\n", "\n "))
        out.write(",\n" if i < len(keys) - 1 else "\n")
    out.write("}\n")
    return out.getvalue()


class Report:
    def __init__(self):
        self.lines = []

    def __call__(self, *a):
        self.lines.append(" ".join(str(x) for x in a))


# ----------------------------------------------------------------------------- trackers

MTB_REPO = "https://github.com/apparition47/MailTrackerBlocker"
MTB_COMMIT = "8a8c43c7f9b1e4817d45903374c192ff09b11280"
JA_REPO = "https://github.com/JannikArndt/EMailTrackerBlocker"
JA_COMMIT = "4e61396b30633f1bf9b4ad11012e3ce84ed83a09"

# Upstream (MTBBlockedMessage.m) writes "(\\w){10,}"; the extracted trackers.json lost the
# backslash and says "(w){10,}" (a literal 'w').  Restore the upstream meaning.
PATTERN_FIXES = {
    "/o/(w){10,}/(w){10,}": "/o/(\\w){10,}/(\\w){10,}",
}

# ObjC/ICU regex constructs Python's re does not understand -> Python equivalents.
def icu_to_python(p: str) -> str:
    # \Q...\E literal quoting
    p = re.sub(r"\\Q(.*?)(\\E|$)", lambda m: re.escape(m.group(1)), p)
    p = p.replace("\\h", "[ \\t]")
    p = re.sub(r"\[\[:(\w+):\]\]", lambda m: {
        "alpha": "[A-Za-z]", "digit": "[0-9]", "alnum": "[A-Za-z0-9]", "space": "\\s",
        "upper": "[A-Z]", "lower": "[a-z]", "xdigit": "[0-9A-Fa-f]", "punct": "[!-/:-@\\[-`{-~]",
    }.get(m.group(1), m.group(0)), p)
    p = p.replace("(?w)", "")
    return p


# HOSTS.txt entries that are only the vendor's own marketing/product site: flagging every link
# to them as a tracker would be wrong (they appear in "powered by" footers).  Documented in meta.
JA_DROP = {
    "mailchimp.com": "vendor marketing site; Mailchimp tracking is list-manage.com (kept)",
    "constantcontact.com": "vendor marketing site; Constant Contact tracking is rs6.net/ctctcdn (MTB rs6.net pattern kept)",
    "maileon.com": "vendor marketing site; Maileon tracks on customer domains",
    "xqueue.de": "vendor (XQueue/Maileon) corporate site",
    "infusionsoft.com": "whole product domain; MTB keeps the specific infusionsoft.com/app/emailOpened pattern",
    "mixpanel.com": "whole product domain; api.mixpanel.com (kept) is the tracking host",
}
# vendor names for HOSTS.txt hosts that no MailTrackerBlocker pattern covers
JA_VENDOR_NAMES = {
    "mixmax.com": "Mixmax", "yesware.com": "Yesware", "getsidekick.com": "HubSpot", "hsms06.com": "HubSpot",
    "mailtrack.io": "Mailtrack", "mailstat.us": "Boomerang", "toutapp.com": "Adobe", "outreach.io": "Outreach",
    "cirrusinsight.com": "Cirrus Insight", "appspot.com": "Streak", "launchbit.com": "LaunchBit",
    "cmail1.com": "Campaign Monitor", "intercom.io": "Intercom", "intercom-mail-200.com": "Intercom",
    "mandrillapp.com": "Mandrill", "relateiq.com": "Salesforce", "rjmetrics.com": "RJMetrics",
    "frontapp.com": "Front", "sendgrid.net": "SendGrid", "icptrack.com": "iContact", "bl-1.com": "Bombcomm",
    "answerbook.com": "Yesware", "google-analytics.com": "Google", "mkt4477.com": "Acoustic",
    "list-manage.com": "Mailchimp", "list-manage1.com": "Mailchimp", "ihrgeld2016.com": "ihrgeld2016.com",
    "doubleclick.net": "Google", "webtrekk.net": "Webtrekk", "elaine-asp.de": "artegic ELAINE",
    "atlassian.com": "Atlassian", "exct.net": "Salesforce", "mixpanel.com": "Mixpanel", "azure.com": "Microsoft",
    "azalead.com": "Azalead", "mkto-k0023.com": "Marketo", "sigopn01.com": "HubSpot",
}

# MailTrackerBlocker files some vendors under their parent company; an analyst knows the product.
MTB_VENDOR_RENAME = {"Intuit": "Mailchimp"}
# Which query parameter of a vendor's open-tracking URL identifies the recipient (the others name
# the sender's account or the campaign): Mailchimp's open.php?u=ACCOUNT&id=CAMPAIGN&e=SUBSCRIBER.
VENDOR_RECIPIENT_PARAMS = {"Mailchimp": ["e"]}

_HOSTCH = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def _read_literal_host(s: str):
    """Read a literal host (letters, digits, '-', '.', '\\.') at the start of s -> (host, rest)."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and s[i + 1 : i + 2] == ".":
            out.append(".")
            i += 2
        elif c.lower() in _HOSTCH or c == ".":
            out.append(c.lower())
            i += 1
        else:
            break
    return "".join(out), s[i:]


def _host_ok(h: str) -> bool:
    return valid_domain(h) and bool(registrable(h))


def host_of_pattern(p: str):
    """If every URL this pattern is meant for has a host equal to / under a literal name,
    return that name (a hostname, or a registrable suffix).  Else None (host-free pattern)."""
    s = p[1:] if p.startswith("^") else p
    s = re.sub(r"^(https\?|https|http)(:|\\:)//", "", s)
    lead_dot = s.startswith(".") or s.startswith("\\.")
    if s.startswith("\\."):
        s = s[2:]
    elif s.startswith("."):
        s = s[1:]
    host, rest = _read_literal_host(s)
    host = host.strip(".") if lead_dot else host
    terminators = ("/", "(:", ":", "\\?", "?")
    if host and (rest == "" or rest.startswith(terminators)) and _host_ok(host):
        return host
    # regex prefix followed by a literal ".suffix" before the first '/'
    head = p.split("/", 1)[0]
    if not any(x in head for x in ("|", ".*", ".+", "\\/", "(", ")")):
        m = re.search(r"(?:\\\.|\.)((?:[a-z0-9-]+(?:\\\.|\.))+[a-z0-9-]+)$", head, re.I)
        if m:
            suf = m.group(1).replace("\\.", ".").lower()
            # the suffix must contain a registrable domain (not just ".com")
            if _host_ok(suf) and registrable(suf) and len(suf) >= len(registrable(suf)):
                return suf
    return None


def host_pattern(host: str) -> str:
    """Anchored Python regex matching any URL whose host is `host` or a subdomain of it."""
    return r"^(?:[a-z][a-z0-9+.-]*:)?//(?:[^/?#@]*@)?(?:[^/?#@]*\.)?" + re.escape(host) + r"(?=[:/?#]|$)"


def build_trackers(corpus: Path, rep: Report):
    base = corpus / "lists" / "email-trackers"
    mtb = json.loads((base / "mailtrackerblocker" / "trackers.json").read_text(encoding="utf-8"))
    ja_lines = (base / "jannikarndt-emailtrackerblocker" / "HOSTS.txt").read_text(encoding="utf-8").splitlines()

    vendors = {}  # name -> dict
    dropped, converted, fixed = [], [], []
    n_in = 0
    for mtb_name in sorted(mtb["vendors"], key=lambda s: (s.casefold(), s)):
        name = MTB_VENDOR_RENAME.get(mtb_name, mtb_name)
        v = vendors.setdefault(name, {"name": name, "patterns": [], "hosts": [], "host_free_patterns": [],
                                      "sources": ["mailtrackerblocker"]})
        for p in mtb["vendors"][mtb_name]:
            n_in += 1
            if p in PATTERN_FIXES:
                fixed.append({"vendor": name, "from": p, "to": PATTERN_FIXES[p]})
                p = PATTERN_FIXES[p]
            try:
                re.compile(p, re.I)
            except re.error:
                q = icu_to_python(p)
                try:
                    re.compile(q, re.I)
                    converted.append({"vendor": name, "from": p, "to": q})
                    p = q
                except re.error as e:
                    dropped.append({"vendor": name, "pattern": p, "error": str(e)})
                    continue
            if p in v["patterns"]:
                continue
            v["patterns"].append(p)

    n_mtb_kept = sum(len(v["patterns"]) for v in vendors.values())
    # HOSTS.txt (jannikarndt): attach each host to the vendor whose patterns already match it,
    # else to a named vendor; give it an anchored host pattern so it is host-indexable.
    ja_added, ja_dropped, ja_dupes = [], [], []
    compiled = {n: [re.compile(p, re.I) for p in v["patterns"]] for n, v in vendors.items()}
    for raw in ja_lines:
        h = raw.strip().lower()
        if not h or h.startswith("#"):
            continue
        if h in JA_DROP:
            ja_dropped.append({"host": h, "reason": JA_DROP[h]})
            continue
        if not valid_domain(h):
            ja_dropped.append({"host": h, "reason": "not a valid host name"})
            continue
        probe = f"https://{h}/"
        owner = None
        for n in sorted(vendors, key=lambda s: (s.casefold(), s)):
            if any(c.search(probe) for c in compiled.get(n, [])):
                owner = n
                break
        if owner is None:
            reg = registrable(h)
            owner = JA_VENDOR_NAMES.get(reg) or JA_VENDOR_NAMES.get(h) or reg
            if owner not in vendors:
                # case-insensitive match on an existing vendor name
                for n in vendors:
                    if n.casefold() == owner.casefold():
                        owner = n
                        break
        v = vendors.setdefault(owner, {"name": owner, "patterns": [], "hosts": [], "host_free_patterns": [],
                                       "sources": []})
        if "jannikarndt" not in v["sources"]:
            v["sources"].append("jannikarndt")
        hp = host_pattern(h)
        # already covered by a host-only pattern (the literal host itself, or a parent of it)?
        covered = False
        for p in v["patterns"]:
            ph = host_of_pattern(p)
            if ph and (h == ph or h.endswith("." + ph)) and _read_literal_host(p.lstrip("."))[1] == "":
                covered = True
                break
        if hp in v["patterns"] or covered:
            ja_dupes.append(h)
            continue
        v["patterns"].append(hp)
        ja_added.append({"host": h, "vendor": owner})

    # host index
    n_pat = n_idx = 0
    for v in vendors.values():
        hosts = set()
        free = []
        for p in v["patterns"]:
            n_pat += 1
            if p.startswith("^(?:[a-z][a-z0-9+.-]*:)?//"):
                m = re.search(r"\(\?:\[\^/\?#@\]\*\\\.\)\?(.+)\(\?=", p)
                h = m.group(1).replace("\\", "") if m else None
            else:
                h = host_of_pattern(p)
            if h:
                hosts.add(h)
                n_idx += 1
            else:
                free.append(p)
        v["hosts"] = sorted(hosts)
        v["host_free_patterns"] = free
    empty = sorted(n for n, v in vendors.items() if not v["patterns"])
    out_vendors = sorted((v for v in vendors.values() if v["patterns"]), key=lambda v: (v["name"].casefold(), v["name"]))
    for v in out_vendors:
        v["sources"] = sorted(v["sources"])
        if v["name"] in VENDOR_RECIPIENT_PARAMS:
            v["recipient_params"] = VENDOR_RECIPIENT_PARAMS[v["name"]]

    generic = mtb.get("generic_pixel_regex")
    if generic:
        re.compile(generic, re.I)
    spacer = [s for s in (mtb.get("spacer_allowlist_regex") or "").split("|") if s]
    for s in spacer:
        re.compile(s, re.I)
    n_hosts = sum(len(v["hosts"]) for v in out_vendors)
    n_free = sum(len(v["host_free_patterns"]) for v in out_vendors)
    stats = {
        "vendors": len(out_vendors),
        "patterns": n_pat,
        "patterns_from_mailtrackerblocker": n_mtb_kept,
        "patterns_from_jannikarndt_hosts": len(ja_added),
        "host_indexable_patterns": n_idx,
        "host_free_patterns": n_free,
        "host_index_entries": n_hosts,
        "vendors_fully_host_indexed": sum(1 for v in out_vendors if v["patterns"] and not v["host_free_patterns"]),
    }
    meta = meta_block(
        "trackers",
        "E-mail tracking (open-pixel / click-tracking) URL patterns by vendor.",
        [
            {"name": "MailTrackerBlocker", "url": MTB_REPO, "commit": MTB_COMMIT,
             "file": "Source/MTBBlockedMessage.m getTrackerDict (as extracted to lists/email-trackers/mailtrackerblocker/trackers.json)",
             "licence": "BSD-3-Clause", "copyright": "Copyright (c) 2020, Aaron Lee",
             "licence_file": "LICENSES/mailtrackerblocker-LICENSE",
             "taken": "all vendor URL regexes, the generic 0/1-px <img> regex and the spacer allow-list"},
            {"name": "EMailTrackerBlocker", "url": JA_REPO, "commit": JA_COMMIT, "file": "HOSTS.txt",
             "licence": "Apache-2.0", "licence_file": "LICENSES/jannikarndt-emailtrackerblocker-LICENSE",
             "taken": "tracker host names (turned into anchored host patterns)"},
        ],
        "BSD-3-Clause AND Apache-2.0 (derived data; see LICENSES/)",
        {
            "semantics": {
                "patterns": "Python re, compile with re.IGNORECASE, use .search() on the full URL (scheme://host/path?query).",
                "hosts": "Pre-filter index: a vendor's patterns can only match a URL whose host equals an entry or ends with '.'+entry. "
                         "Patterns NOT listed in host_free_patterns are host-gated: run them only when the host is indexed.",
                "host_free_patterns": "Patterns without a literal host (path/query shapes); run them against every URL.",
                "generic_pixel": "Python regex (IGNORECASE) for a whole HTML <img ...> tag declaring width 0/1 px; not a URL pattern.",
                "spacer_allow": "Python regexes (IGNORECASE, search on the image URL) for images that are layout spacers, not trackers.",
            },
            "stats": stats,
            "pattern_fixes": fixed,
            "converted_from_icu": converted,
            "dropped_patterns": dropped,
            "vendors_without_patterns_dropped": empty,
            "jannikarndt_hosts_dropped": ja_dropped,
            "jannikarndt_hosts_already_present": ja_dupes,
        },
    )
    doc = {"meta": meta, "vendors": out_vendors, "generic_pixel": generic or None, "spacer_allow": spacer}
    rep(f"trackers: {stats}")
    rep(f"  fixed={len(fixed)} converted={len(converted)} dropped={len(dropped)} ja_added={len(ja_added)} ja_dropped={len(ja_dropped)}")
    return dump_json(doc, list_keys=("vendors",)), stats


# ----------------------------------------------------------------------------- plain lists


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
        f"# date: {DATA_DATE}",
        f"# count: {count}",
        "# generator: scripts/build_data.py (from data-src/); format: one lowercase host per line, '#' starts a comment",
        "",
    ]
    body = []
    for t, items in sections:
        body.append(f"# --- {t}")
        body.extend(items)
    return "\n".join(head + body) + "\n"


# ----------------------------------------------------------------------------- redirectors


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


# ----------------------------------------------------------------------------- news outlets

FUNDUS_REPO = "https://github.com/flairNLP/fundus"
FUNDUS_COMMIT = "18da6e53592f99cf0ac5770dc63d6ba99ba63ae8"
YANG_REPO = "https://github.com/yang3kc/list_of_news_domains"
YANG_COMMIT = "6704146bcf683b090bf9bde8a292081c3ce01994"

FUNDUS_CC = {"UK": "GB", "IND": "IN", "ISL": "IS"}

MBFC_COUNTRY = {
    "USA": "US", "United States": "US", "Canada": "CA", "United Kingdom": "GB", "Australia": "AU", "India": "IN",
    "France": "FR", "Germany": "DE", "Netherlands": "NL", "Israel": "IL", "Japan": "JP", "South Africa": "ZA",
    "Belgium": "BE", "Ireland": "IE", "Ukraine": "UA", "Philippines": "PH", "Italy": "IT", "Turkey": "TR",
    "Spain": "ES", "Indonesia": "ID", "Pakistan": "PK", "Sweden": "SE", "Hong Kong": "HK", "Romania": "RO",
    "Switzerland": "CH", "United Arab Emirates": "AE", "South Korea": "KR", "Taiwan": "TW", "Finland": "FI",
    "Argentina": "AR", "Malaysia": "MY", "Kenya": "KE", "Egypt": "EG", "Singapore": "SG", "New Zealand": "NZ",
    "Iran": "IR", "Slovenia": "SI", "Austria": "AT", "Poland": "PL", "Iceland": "IS", "Mexico": "MX",
    "Czech Republic": "CZ", "Thailand": "TH", "Norway": "NO", "Nigeria": "NG", "Denmark": "DK", "Ecuador": "EC",
    "Greece": "GR", "Russia": "RU", "Cyprus": "CY", "Sri Lanka": "LK", "Qatar": "QA", "France/Germany": "INT",
    "Croatia": "HR", "Saudi Arabia": "SA", "Andorra": "AD", "Costa Rica": "CR", "Belize": "BZ", "Iraq": "IQ",
    "Venezuela": "VE", "Tanzania": "TZ", "Serbia": "RS", "Albania": "AL", "Tunisia": "TN", "Estonia": "EE",
    "Bulgaria": "BG", "Guam": "GU", "Jordan": "JO", "Belarus": "BY", "China": "CN", "Latvia": "LV",
    "Cambodia": "KH", "Panama": "PA", "Macedonia": "MK", "North Macedonia": "MK", "Brazil": "BR", "Chile": "CL",
    "Colombia": "CO", "Peru": "PE", "Portugal": "PT", "Hungary": "HU", "Lithuania": "LT", "Slovakia": "SK",
    "Luxembourg": "LU", "Malta": "MT", "Lebanon": "LB", "Syria": "SY", "Bangladesh": "BD", "Vietnam": "VN",
    "Ghana": "GH", "Uganda": "UG", "Zimbabwe": "ZW", "Jamaica": "JM", "Puerto Rico": "PR", "Georgia": "GE",
    "Armenia": "AM", "Azerbaijan": "AZ", "Kazakhstan": "KZ", "Moldova": "MD", "Bosnia and Herzegovina": "BA",
    "Montenegro": "ME", "Kosovo": "XK", "Nepal": "NP", "Afghanistan": "AF", "Myanmar": "MM", "Mongolia": "MN",
    "Bahrain": "BH", "Kuwait": "KW", "Oman": "OM", "Yemen": "YE", "Morocco": "MA", "Algeria": "DZ",
    "Libya": "LY", "Sudan": "SD", "Ethiopia": "ET", "Somalia": "SO", "Rwanda": "RW", "Senegal": "SN",
    "Cameroon": "CM", "Zambia": "ZM", "Namibia": "NA", "Botswana": "BW", "Mauritius": "MU", "Fiji": "FJ",
    "Papua New Guinea": "PG", "Cuba": "CU", "Dominican Republic": "DO", "Haiti": "HT", "Honduras": "HN",
    "Guatemala": "GT", "El Salvador": "SV", "Nicaragua": "NI", "Bolivia": "BO", "Paraguay": "PY", "Uruguay": "UY",
    "Trinidad and Tobago": "TT", "Bahamas": "BS", "Barbados": "BB", "Bermuda": "BM", "Palestine": "PS",
    "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB", "England": "GB", "UK": "GB",
}

# ordinary words: a name/alias equal to one of these (after dropping a leading "The") is flagged ambiguous
AMBIGUOUS_WORDS = set("""
time times sun star post mirror express independent guardian observer nation hill week slate vox fortune money wired
nature science people complex insider tribune herald journal chronicle globe record news today daily register examiner
advocate courier sentinel gazette patch salon mic verge atlantic blaze federalist intercept hustle bulwark dispatch
spectator tablet forward reason current press citizen standard mail telegraph world metro i e monitor republic
reporter voice eagle beacon leader signal review bulletin enterprise free press mercury pioneer planet progress union
democrat republican independent post-gazette edge root street scout american focus capital information variety deadline
insider people entrepreneur inc quartz athletic wire hindu mint dawn punch vanguard semana tempo open domani marca
sabah stuff source city local local news breaking news online the news national politics report source
""".split())


def is_ambiguous_word(s: str) -> bool:
    k = casekey(s)
    k = re.sub(r"^the ", "", k)
    return len(k) < 3 or k in AMBIGUOUS_WORDS


def parse_psv(path: Path, ncols: int):
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("|")]
        cols += [""] * (ncols - len(cols))
        if len(cols) > ncols:
            raise SystemExit(f"{path}:{n}: too many columns")
        rows.append((n, cols))
    return rows


def split_list(s: str):
    return [x.strip() for x in s.split(",") if x.strip()]


def parse_fundus(path: Path):
    t = path.read_text(encoding="utf-8")
    secs = re.split(r"^## (\S+)-Publishers", t, flags=re.M)
    out = []
    for i in range(1, len(secs), 2):
        cc = FUNDUS_CC.get(secs[i], secs[i])
        for tr in re.findall(r"<tr>(.*?)</tr>", secs[i + 1], flags=re.S):
            m = re.search(r"<div>(.*?)</div>.*?<a href=\"([^\"]+)\"", tr, flags=re.S)
            if not m:
                continue
            name = html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()
            deprecated = "<strike>" in m.group(1)
            out.append({"country": cc, "name": name, "host": norm_host(m.group(2)), "deprecated": deprecated})
    return out


# domains that are platforms, portals or brands, never an outlet's own site (derived rows only)
PLATFORM_DOMAINS = {
    "apple.com", "bing.com", "google.com", "news.google.com", "youtube.com", "facebook.com", "twitter.com", "x.com",
    "instagram.com", "tiktok.com", "reddit.com", "medium.com", "substack.com", "wordpress.com", "blogspot.com",
    "whitehouse.gov", "wikipedia.org", "linkedin.com", "github.com", "rumble.com", "bitchute.com", "patreon.com",
    "msn.com", "aol.com", "yahoo.com", "apple.news", "flipboard.com", "feedly.com", "amazon.com", "go.com",
    "news.excite.com", "daylife.com", "newsvine.com", "msn.foxsports.com", "tumblr.com", "vimeo.com", "soundcloud.com",
    "podbean.com", "libsyn.com", "spotify.com", "telegram.org", "t.me", "gab.com", "parler.com", "gettr.com",
    "truthsocial.com", "mewe.com", "minds.com", "odysee.com", "archive.org", "change.org", "gofundme.com",
    # reference / data sites rated by MBFC but not news outlets
    "statista.com", "researchgate.net", "ourworldindata.org", "economicshelp.org", "listverse.com",
    # defunct outlets whose domains' current owners are unknown
    "appledaily.com", "thestandnews.com", "hkcnews.com",
}


def excluded_domain(d: str, extra: set) -> bool:
    if d in PLATFORM_DOMAINS or d in extra:
        return True
    if re.search(r"(^|\.)(gov|mil)(\.[a-z]{2})?$", d) or d.endswith(".gov.uk") or d.endswith(".gc.ca"):
        return True
    return registrable(d) in PLATFORM_DOMAINS and registrable(d) != d and d.split(".")[0] in ("www",)


MAIL_TAGS = {"own", "staff", "newsletter", "tracker"}
MAIL_TAG_TEXT = {
    "own": "curated: outlet's own domain seen in From of its mail (maintainer knowledge, unverified)",
    "staff": "curated: staff/journalist mailbox domain (maintainer knowledge, unverified)",
    "newsletter": "curated: outlet newsletter sending subdomain (maintainer knowledge, unverified)",
    "tracker": "MailTrackerBlocker lists a tracker on this host for the outlet (see trackers.json)",
}


def build_news(corpus: Path, rep: Report, freemail: set, brand_domains: set):
    lists = corpus / "lists" / "news-outlets"
    outlets = []
    by_domain = {}

    def index(o):
        for d in o["web_domains"]:
            if d in by_domain and by_domain[d] is not o:
                raise SystemExit(f"news: web domain {d} in both {by_domain[d]['name']} and {o['name']}")
            by_domain[d] = o

    def find(host):
        if host in by_domain:
            return by_domain[host], True
        best = None
        for d, o in by_domain.items():
            if host.endswith("." + d) and (best is None or len(d) > len(best[0])):
                best = (d, o)
        return (best[1], False) if best else (None, False)

    # 1. curated
    for n, c in parse_psv(DATA_SRC / "news_outlets.psv", 6):
        cc, name, web, aliases, mail, oid = c
        amb_name = name.startswith("~")
        name = name.lstrip("~")
        if not (re.fullmatch(r"[A-Z]{2}", cc) or cc == "INT"):
            raise SystemExit(f"news_outlets.psv:{n}: bad country {cc}")
        web_domains = [norm_host(d) for d in split_list(web)]
        al, amb_al = [], []
        for a in split_list(aliases):
            amb = a.startswith("~")
            a = a.lstrip("~").strip()
            if casekey(a) == casekey(name) or casekey(a) in map(casekey, al):
                continue
            al.append(a)
            if amb:
                amb_al.append(a)
        md, prov = [], {}
        for tok in split_list(mail):
            d, _, tag = tok.partition(":")
            d = d.strip().lower()
            tag = tag.strip() or "own"
            if tag not in MAIL_TAGS:
                raise SystemExit(f"news_outlets.psv:{n}: bad mail tag {tag}")
            if d not in md:
                md.append(d)
                prov[d] = MAIL_TAG_TEXT[tag]
        o = {"id": oid, "name": name, "aliases": al, "ambiguous": amb_name, "ambiguous_aliases": amb_al,
             "country": cc, "web_domains": web_domains, "mail_domains": md, "mail_domains_provenance": prov,
             "tier": 1, "sources": ["lurelens-curated"]}
        outlets.append(o)
        index(o)
    n_cur = len(outlets)

    def new_outlet(name, cc, host, source, tier):
        o = {"id": "", "name": name, "aliases": [], "ambiguous": False, "ambiguous_aliases": [], "country": cc,
             "web_domains": [host], "mail_domains": [], "mail_domains_provenance": {}, "tier": tier, "sources": [source]}
        outlets.append(o)
        index(o)
        return o

    extra_excl = set(freemail) | set(brand_domains)
    stats = Counter()
    # names used by 3+ different domains in one derived source (site networks such as "State News")
    # identify nothing; such rows are skipped.
    def repeated_names(rows, key):
        c = Counter(casekey(r.get(key) or "") for r in rows)
        return {k for k, n in c.items() if n >= 3}
    # 2. fundus
    for r in parse_fundus(lists / "fundus" / "supported_publishers.md"):
        h = r["host"]
        if not valid_domain(h):
            stats["fundus_invalid"] += 1
            continue
        o, exact = find(h)
        if o:
            if "fundus" not in o["sources"]:
                o["sources"].append("fundus")
            if exact and casekey(r["name"]) != casekey(o["name"]) and casekey(r["name"]) not in map(casekey, o["aliases"]) \
                    and not is_ambiguous_word(r["name"]) and len(r["name"]) >= 3:
                o["aliases"].append(r["name"])
            stats["fundus_merged"] += 1
        else:
            if excluded_domain(h, extra_excl):
                stats["fundus_excluded"] += 1
                continue
            new_outlet(r["name"], r["country"], h, "fundus", 2)
            stats["fundus_new"] += 1

    # 3. MBFC (via yang3kc raw/mbfc_ratings.csv)
    ydir = lists / "yang3kc-list_of_news_domains"
    with open(ydir / "raw" / "mbfc_ratings.csv", encoding="utf-8", newline="") as fh:
        mbfc = list(csv.DictReader(fh))
    mbfc_rep = repeated_names(mbfc, "page")
    for r in mbfc:
        h = norm_host(r.get("domain") or "")
        name = re.sub(r"\s+", " ", (r.get("page") or "").strip())
        country = re.sub(r"\s*\(.*", "", r.get("country") or "").strip()
        cc = MBFC_COUNTRY.get(country)
        traffic = r.get("trafficpopularity") or ""
        cred = r.get("credibility_rating") or ""
        fact = r.get("factual_reporting") or ""
        mtype = r.get("media_type") or ""
        if not h or not name or not valid_domain(h):
            stats["mbfc_invalid"] += 1
            continue
        o, exact = find(h)
        if o:
            if "mbfc" not in o["sources"]:
                o["sources"].append("mbfc")
            stats["mbfc_merged"] += 1
            continue
        if casekey(name) in mbfc_rep:
            stats["mbfc_skipped_repeated_name"] += 1
            continue
        bias = (r.get("bias_rating") or "").upper()
        if not mtype or mtype in ("Organization/Foundation", "Journal") or cred.startswith("LOW") \
                or fact in ("LOW", "VERY LOW") or re.search(r"SATIRE|CONSPIRACY|PSEUDO|PSUEDO|QUACK|JUNK|PRO.?SCIENCE", bias):
            stats["mbfc_skipped_type_bias_or_credibility"] += 1
            continue
        if cc is None:
            stats["mbfc_skipped_unknown_country"] += 1
            continue
        if cc == "US" and not traffic.startswith(("High", "Medium")):
            stats["mbfc_skipped_us_low_traffic"] += 1
            continue
        if excluded_domain(h, extra_excl):
            stats["mbfc_excluded_domain"] += 1
            continue
        new_outlet(name, cc, h, "mbfc", 2 if traffic.startswith("High") else 3)
        stats["mbfc_new"] += 1

    # 4. ABYZ (via yang3kc raw/abyz.csv): US national and statewide outlets
    low_cred = {norm_host(r.get("domain") or "") for r in mbfc
                if (r.get("credibility_rating") or "").startswith("LOW") or r.get("factual_reporting") in ("LOW", "VERY LOW")}
    with open(ydir / "raw" / "abyz.csv", encoding="utf-8", newline="") as fh:
        abyz = list(csv.DictReader(fh))
    abyz = [r for r in abyz if r.get("scope") in ("National", "State")]
    abyz_rep = repeated_names(abyz, "media_name")
    for r in abyz:
        if casekey(r.get("media_name") or "") in abyz_rep:
            stats["abyz_skipped_repeated_name"] += 1
            continue
        h = norm_host(r.get("domain") or "")
        name = re.sub(r"\s+", " ", (r.get("media_name") or "").strip())
        if not h or not name or not valid_domain(h):
            stats["abyz_invalid"] += 1
            continue
        o, exact = find(h)
        if o:
            if "abyz" not in o["sources"]:
                o["sources"].append("abyz")
            stats["abyz_merged"] += 1
            continue
        if h in low_cred or excluded_domain(h, extra_excl):
            stats["abyz_excluded"] += 1
            continue
        new_outlet(name, "US", h, "abyz", 3)
        stats["abyz_new"] += 1

    # 5. yang3kc news_domains.csv: provenance only (domain confirmed as a news domain)
    with open(ydir / "news_domains.csv", encoding="utf-8", newline="") as fh:
        ydomains = {norm_host(r["domain"]) for r in csv.DictReader(fh) if r.get("domain")}
    for o in outlets:
        if any(d in ydomains for d in o["web_domains"]) and "yang3kc-news-domains" not in o["sources"]:
            o["sources"].append("yang3kc-news-domains")
            stats["yang3kc_confirmed"] += 1

    # ambiguity: names/aliases that are ordinary words, < 3 chars, or shared by several outlets
    owners = defaultdict(set)
    for i, o in enumerate(outlets):
        for s in [o["name"]] + o["aliases"]:
            owners[casekey(s)].add(i)
    for i, o in enumerate(outlets):
        if is_ambiguous_word(o["name"]) or len(owners[casekey(o["name"])]) > 1:
            o["ambiguous"] = True
        for a in o["aliases"]:
            if a not in o["ambiguous_aliases"] and (is_ambiguous_word(a) or len(owners[casekey(a)]) > 1):
                o["ambiguous_aliases"].append(a)
        o["ambiguous_aliases"] = [a for a in o["aliases"] if a in o["ambiguous_aliases"]]

    # ids
    used = set()
    for o in outlets:
        if o["id"]:
            if o["id"] in used:
                raise SystemExit(f"news: duplicate explicit id {o['id']}")
            used.add(o["id"])
    for o in sorted((o for o in outlets if not o["id"]), key=lambda o: (o["tier"], o["web_domains"][0])):
        base = slugify(o["name"]) or slugify(o["web_domains"][0].replace(".", "-"))
        cands = [base, f"{base}-{o['country'].lower()}", f"{base}-{slugify(o['web_domains'][0])}"]
        oid = next((c for c in cands if c not in used), None)
        k = 2
        while oid is None:
            if f"{base}-{k}" not in used:
                oid = f"{base}-{k}"
            k += 1
        o["id"] = oid
        used.add(oid)

    # validation
    for o in outlets:
        for d in o["web_domains"] + o["mail_domains"]:
            if not valid_domain(d):
                raise SystemExit(f"news: invalid domain {d!r} in {o['id']}")
        for a in o["aliases"]:
            if len(a) < 3 and a not in o["ambiguous_aliases"]:
                raise SystemExit(f"news: short alias {a!r} not flagged in {o['id']}")

    key_order = ["id", "name", "aliases", "ambiguous", "ambiguous_aliases", "country", "web_domains", "mail_domains",
                 "mail_domains_provenance", "tier", "sources"]
    outlets = [{k: o[k] for k in key_order} for o in sorted(outlets, key=lambda o: o["id"])]
    counts = Counter(o["tier"] for o in outlets)
    stats = dict(sorted(stats.items()))
    meta = meta_block(
        "news_outlets",
        "News outlets (names, aliases, web and mail domains) for detecting mail that poses as a news outlet or journalist.",
        [
            {"name": "lurelens maintainers (hand-curated)", "file": "data-src/news_outlets.psv", "licence": "CC0-1.0",
             "taken": f"{n_cur} outlets: names, aliases, countries, web domains, mail domains (tier 1)"},
            {"name": "fundus supported publishers", "url": FUNDUS_REPO, "commit": FUNDUS_COMMIT,
             "file": "docs/supported_publishers.md", "licence": "MIT", "copyright": "Copyright (c) 2023 Max Dallabetta, Conrad Dobberstein, Aaron Wey",
             "licence_file": "LICENSES/fundus-LICENSE",
             "taken": "publisher name, country section and homepage host (facts); names added as aliases on exact domain match"},
            {"name": "yang3kc/list_of_news_domains: Media Bias/Fact Check ratings", "url": YANG_REPO, "commit": YANG_COMMIT,
             "file": "data/raw/mbfc_ratings.csv", "licence": "none stated; dataset published as Zenodo DOI 10.5281/zenodo.15073918 (Yang 2025)",
             "taken": "outlet name, country, domain (facts) for outlets not rated low-credibility/low-factual; US outlets only with High/Medium traffic; "
                      "organisations, journals, platforms and government domains excluded"},
            {"name": "yang3kc/list_of_news_domains: ABYZ News Links", "url": YANG_REPO, "commit": YANG_COMMIT,
             "file": "data/raw/abyz.csv", "licence": "as above",
             "taken": "media name and domain of US national- and state-scope outlets (facts), excluding MBFC low-credibility domains"},
            {"name": "yang3kc/list_of_news_domains: news_domains.csv", "url": YANG_REPO, "commit": YANG_COMMIT,
             "file": "data/output/news_domains.csv", "licence": "as above",
             "taken": "only used to mark outlets whose domain is listed ('yang3kc-news-domains' in sources); no entries added"},
        ],
        "CC0-1.0 for the curated part; fundus-derived facts MIT (see LICENSES/fundus-LICENSE); MBFC/ABYZ-derived facts "
        "(names, countries, domains) from yang3kc/list_of_news_domains, which states no licence -- cite Yang (2025), DOI 10.5281/zenodo.15073918",
        {
            "counts": {"outlets": len(outlets), "tier1_curated": counts[1], "tier2": counts[2], "tier3": counts[3]},
            "build_stats": stats,
            "semantics": {
                "tier": "1 = hand-curated major outlet (aliases reviewed); 2 = fundus publisher or MBFC high-traffic outlet; 3 = other MBFC/ABYZ outlet",
                "ambiguous": "true when the outlet name is an ordinary word, shorter than 3 characters, or shared by several outlets; match it only with supporting evidence",
                "ambiguous_aliases": "subset of aliases with the same problem (also every alias shorter than 3 characters)",
                "web_domains": "hosts without scheme or 'www.'; a URL/sender host equal to or under one of them belongs to the outlet",
                "mail_domains": "additional sender domains (staff mailboxes, newsletter subdomains) where publicly known; web_domains are senders too",
                "mail_domains_provenance": "domain -> where the mail-domain fact comes from",
            },
        },
    )
    rep(f"news_outlets: {len(outlets)} (tier1 {counts[1]}, tier2 {counts[2]}, tier3 {counts[3]}) {stats}")
    return dump_json({"meta": meta, "outlets": outlets}, list_keys=("outlets",)), len(outlets)


# ----------------------------------------------------------------------------- brands

BRAND_CATEGORIES = {
    "mail/office", "webmail", "cloud", "e-signature", "security", "social", "messaging", "crypto", "streaming",
    "parcel", "bank", "payment", "retail", "telecom", "government", "travel", "insurance", "health", "gaming",
    "tech", "loyalty", "automotive", "utilities", "food", "hosting", "finance",
}


def load_brands():
    brands = []
    for n, c in parse_psv(DATA_SRC / "brands.psv", 6):
        cat, name, aliases, domains, mail, bid = c
        if cat not in BRAND_CATEGORIES:
            raise SystemExit(f"brands.psv:{n}: unknown category {cat}")
        amb_name = name.startswith("~")
        name = name.lstrip("~")
        al, amb = [], []
        for a in split_list(aliases):
            f = a.startswith("~")
            a = a.lstrip("~").strip()
            if casekey(a) == casekey(name) or casekey(a) in map(casekey, al):
                continue
            al.append(a)
            if f or len(a) < 3:
                amb.append(a)
        doms = []
        for d in split_list(domains):
            d = d.lower()
            if d not in doms:
                doms.append(d)
        md = []
        for d in split_list(mail):
            d = d.lower()
            if d not in md:
                md.append(d)
        brands.append({"id": bid or slugify(name), "name": name, "aliases": al, "ambiguous": amb_name or len(name) < 3,
                       "ambiguous_aliases": amb, "category": cat, "domains": doms, "mail_domains": md, "_line": n})
    return brands


def build_brands(rep: Report):
    brands = load_brands()
    ids = Counter(b["id"] for b in brands)
    dup = [i for i, k in ids.items() if k > 1]
    if dup:
        raise SystemExit(f"brands: duplicate ids {dup}")
    for b in brands:
        for d in b["domains"] + b["mail_domains"]:
            if not valid_domain(d):
                raise SystemExit(f"brands.psv:{b['_line']}: invalid domain {d!r}")
        del b["_line"]
    brands.sort(key=lambda b: b["id"])
    cats = Counter(b["category"] for b in brands)
    meta = meta_block(
        "brands",
        "Brands most impersonated in phishing: names, aliases, legitimate web and mail domains.",
        [{"name": "lurelens maintainers (hand-curated)", "file": "data-src/brands.psv", "licence": "CC0-1.0",
          "taken": "all entries (general knowledge); brand coverage checked against the frequency of brand names in From "
                   "display names and Subjects of the phishing_pot dev corpus (counts only; see docs/data.md)"}],
        "CC0-1.0",
        {"counts": {"brands": len(brands), "by_category": dict(sorted(cats.items()))},
         "semantics": {
             "domains": "legitimate registrable web and mail domains (a host equal to or under one belongs to the brand)",
             "mail_domains": "domains/subdomains the brand is known to send mail from (maintainer knowledge, unverified)",
             "ambiguous": "true when the brand name is an ordinary word (Orange, Target, Chase...): require case-sensitive, whole-word matches plus other evidence",
             "ambiguous_aliases": "aliases with the same problem (also every alias shorter than 3 characters)",
         }},
    )
    rep(f"brands: {len(brands)} {dict(cats)}")
    return dump_json({"meta": meta, "brands": brands}, list_keys=("brands",)), brands


# ----------------------------------------------------------------------------- brand frequency (docs)

# a few Cyrillic/Greek letters that phishers substitute for Latin ones (counting only)
_SKELETON = str.maketrans({
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y", "\u0445": "x",
    "\u0456": "i", "\u0455": "s", "\u0458": "j", "\u043a": "k", "\u043c": "m", "\u0442": "t", "\u041c": "M",
    "\u0410": "A", "\u0415": "E", "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X",
    "\u041d": "H", "\u041a": "K", "\u0412": "B", "\u03bf": "o", "\u03b1": "a", "\u03bd": "v", "\u03c1": "p",
    "\u03c5": "u", "\u039d": "N", "\u0391": "A", "\u0395": "E", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
})


def _fix(s: str) -> str:
    try:
        s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        pass
    s = re.sub("[\u2122\u00ae\u00a9\u2120]", " ", s)  # (TM) (R) (C) (SM) would otherwise fuse with the name
    s = unicodedata.normalize("NFKC", s)
    s = s.translate(_SKELETON)
    # drop invisible / combining / tag / variation-selector characters used to break up brand names
    s = "".join(c for c in s if unicodedata.category(c) not in ("Cf", "Mn", "Me", "Cc", "Co", "Cn"))
    return s


def _fold(s: str, case: bool) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return s if case else s.casefold()


_AMB_TAIL = re.compile(r"(?i)[\s.\-_|:]+(support|team|service|services|customer service|customer care|"
                       r"account|accounts|security|billing|notification|notifications|official|app|help|online)\s*$")


def brand_frequency(corpus: Path):
    import email
    import email.policy

    brands = load_brands()
    matchers = []
    for b in brands:
        ci, cs = [], []
        for a in [b["name"]] + b["aliases"]:
            amb = (a == b["name"] and b["ambiguous"]) or a in b["ambiguous_aliases"]
            (cs if amb else ci).append(a)
        def rx(terms, case):
            if not terms:
                return None
            alts = "|".join(re.escape(_fold(t, case)) for t in sorted(terms, key=len, reverse=True))
            return re.compile(r"(?<![\w])(?:" + alts + r")(?![\w])")
        # ambiguous terms must be the whole display name (optionally + "Support", "Team"...), see below
        matchers.append((b, rx(ci, False), rx(cs, True)))
    files = sorted((corpus / "phishing_pot").glob("*.eml"))
    n_dn = Counter()
    n_any = Counter()
    for f in files:
        with open(f, "rb") as fh:
            try:
                m = email.message_from_binary_file(fh, policy=email.policy.default)
            except Exception:
                continue
        def get(h):
            try:
                v = m.get(h)
                return str(v) if v is not None else ""
            except Exception:
                return str(m.get_all(h, failobj=[""])[0])
        try:
            fr = m["From"]
            dn = fr.addresses[0].display_name if fr is not None and fr.addresses else get("From")
        except Exception:
            dn = get("From")
        dn, subj = _fix(dn or ""), _fix(get("Subject"))
        fdn, fdn_cs, fsubj = _fold(dn, False), _fold(dn, True), _fold(subj, False)
        for b, ci, cs in matchers:
            # ambiguous names/aliases (Free, Orange, Target...) count only in the display name, case-sensitively
            in_dn = bool((ci and ci.search(fdn)) or (cs and cs.fullmatch(_AMB_TAIL.sub("", fdn_cs).strip(" .-_|:"))))
            if in_dn or (ci and ci.search(fsubj)):
                n_any[b["id"]] += 1
            if in_dn:
                n_dn[b["id"]] += 1
    names = {b["id"]: (b["name"], b["category"]) for b in brands}
    return len(files), n_any, n_dn, names


# ----------------------------------------------------------------------------- main


def build_all(corpus: Path, out: Path, rep: Report):
    files = {}
    brands_json, brands = build_brands(rep)
    freemail_secs, freemail = read_list(DATA_SRC / "freemail.txt", "freemail", rep)
    short_secs, shorteners = read_list(DATA_SRC / "shorteners.txt", "shortener", rep)
    brand_domains = {d for b in brands for d in b["domains"] + b["mail_domains"]}
    files["brands.json"] = brands_json
    files["trackers.json"], tstats = build_trackers(corpus, rep)
    files["redirectors.json"], _ = build_redirectors(rep)
    files["news_outlets.json"], _ = build_news(corpus, rep, set(freemail), brand_domains)
    files["freemail.txt"] = render_list(
        "freemail.txt", "free / consumer mailbox provider domains (incl. a few ISP mailboxes and disposable-mail services)",
        "hand-curated by the lurelens maintainers from general knowledge (data-src/freemail.txt)", "CC0-1.0",
        freemail_secs, len(freemail))
    files["shorteners.txt"] = render_list(
        "shorteners.txt", "URL-shortener hosts (an entry also covers its subdomains)",
        "hand-curated by the lurelens maintainers from general knowledge (data-src/shorteners.txt)", "CC0-1.0",
        short_secs, len(shorteners))
    rep(f"freemail: {len(freemail)}  shorteners: {len(shorteners)}")
    lic = {
        "LICENSES/mailtrackerblocker-LICENSE": corpus / "lists/email-trackers/mailtrackerblocker/LICENSE",
        "LICENSES/jannikarndt-emailtrackerblocker-LICENSE": corpus / "lists/email-trackers/jannikarndt-emailtrackerblocker/LICENSE",
        "LICENSES/fundus-LICENSE": corpus / "lists/news-outlets/fundus/LICENSE",
    }
    for k, p in lic.items():
        files[k] = p.read_text(encoding="utf-8")
    return files


def main(argv=None):
    global DATA_DATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="development corpus root (containing lists/), or its lists/ directory (default: ../shared/corpus)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: src/lurelens/data)")
    ap.add_argument("--date", default=None, help=f"date for meta blocks (default {DATA_DATE})")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if any output differs")
    ap.add_argument("--brand-freq", action="store_true", help="print the phishing_pot brand frequency table and exit")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.date:
        DATA_DATE = a.date
    corpus = a.corpus.resolve()
    if corpus.name == "lists":
        corpus = corpus.parent
    if not (corpus / "lists").is_dir():
        raise SystemExit(f"corpus lists not found under {corpus}")

    if a.brand_freq:
        total, n_any, n_dn, names = brand_frequency(corpus)
        print(f"phishing_pot messages scanned: {total}\n")
        print("| # | brand | category | messages (display name or subject) | of which in display name |")
        print("|---|---|---|---|---|")
        for i, (bid, k) in enumerate(sorted(n_any.items(), key=lambda x: (-x[1], x[0])), 1):
            nm, cat = names[bid]
            print(f"| {i} | {nm} | {cat} | {k} | {n_dn[bid]} |")
        return 0

    rep = Report()
    files = build_all(corpus, a.out, rep)
    if not a.quiet:
        print("\n".join(rep.lines))
    stale = write_outputs(files, a.out, check=a.check)
    if a.check:
        if stale:
            print("stale:", ", ".join(stale))
            return 1
        print("data files up to date")
        return 0
    print(("updated: " + ", ".join(stale)) if stale else "no changes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
