"""The e-mail tracker index (trackers.json) from MailTrackerBlocker and EMailTrackerBlocker."""

from __future__ import annotations

import json
import re
from pathlib import Path

from builders.common import Report, dump_json, meta_block, registrable, valid_domain


MTB_REPO = "https://github.com/apparition47/MailTrackerBlocker"
MTB_COMMIT = "8a8c43c7f9b1e4817d45903374c192ff09b11280"
JA_REPO = "https://github.com/JannikArndt/EMailTrackerBlocker"
JA_COMMIT = "4e61396b30633f1bf9b4ad11012e3ce84ed83a09"

# Upstream (MTBBlockedMessage.m) writes "(\\w){10,}"; the extracted trackers.json lost the
# backslash and says "(w){10,}" (a literal 'w').  Restore the upstream meaning.
PATTERN_FIXES = {
    "/o/(w){10,}/(w){10,}": "/o/(\\w){10,}/(\\w){10,}",
}

# Host-free patterns (no literal host: they run on every URL) reviewed by hand. A generic path
# shape there credits an attacker's own beacon server to a marketing vendor, which removes
# TRACKER_UNLISTED_BEACON, the sign of that server. Until session 4 these nine never ran (their
# pre-filter anchor came from inside a character class or an optional group); fixing the anchor
# alone let Epsilon's "/O/<word>" claim Klaviyo's and Mailgun's pixels and any "/o/..." beacon.
# Decisions: kept, dropped, host_gated (run only on the vendor's hosts), moved:<vendor> (the pixel is that vendor's), replaced:<pattern> (the
# published regex misses the vendor's real URLs). Each, with its reason, goes to
# meta.reviewed_host_free_patterns.
FREE_PATTERN_REVIEW: dict[tuple[str, str], tuple[str, str]] = {
    ("Epsilon", "/O/[a-z0-9_]+/[a-z0-9_]+"): (
        "dropped", "any '/o/<word>/<word>' path on any host: not Epsilon's alone (Klaviyo's and Mailgun's "
        "pixels, an attacker's /o/<id> beacon match it); Epsilon's hosts keep their own patterns"),
    ("Epsilon", "/O/[a-z0-9_-]+"): (
        "dropped", "any '/o/<word>' path on any host: not Epsilon's alone (see the other /O/ pattern)"),
    ("Sailthru", "/img/[a-z0-9_.]+/[a-z0-9_][a-z0-9_][a-z0-9_][a-z0-9_][a-z0-9_][a-z0-9_][a-z0-9_][a-z0-9_].gif"): (
        "dropped", "'/img/<dir>/<8 chars>.gif' is an ordinary image path (/img/icons/facebook.gif); "
        "Sailthru tracks on customer link domains, so it cannot be tied to a host; sailthru.com/trk kept"),
    ("Sendy", "/t/[a-zA-Z0-9_]+/[a-zA-Z0-9_]"): (
        "dropped", "Sendy is self-hosted (no vendor host) and '/t/<a>/<b>' is a common path shape: "
        "a Sendy install on an attacker's server is an unlisted beacon, not a known vendor"),
    ("beehiiv", "/ss/o/[a-zA-Z0-9_.]+/[a-z0-9][a-z0-9][a-z0-9]/[a-zA-Z0-9_.-]+/ho.gif"): (
        "moved:SendGrid", "'/ss/o/<token>/<3 chars>/<token>/ho.gif' is SendGrid's open pixel on a branded "
        "link domain (SendGrid's own entry lists sendgrid.net/ss/o and ablink.<customer>/ss/o/); beehiiv "
        "and Optimove are SendGrid senders, so the pixel names SendGrid"),
    ("Optimove", "/ss/o/[a-zA-Z0-9_.-]+/[a-z0-9][a-z0-9][a-z0-9]/[a-zA-Z0-9_]+/ho.gif"): (
        "moved:SendGrid", "the same SendGrid open-pixel shape as beehiiv's (see there)"),
    ("Iterable", "/s/eo/[a-zA-Z0-9_-]+/[a-zA-Z0-9]+/[0-9][0-9]"): (
        "kept", "'/s/eo/' (e-mail open) with two tokens and a two-digit field on the sender's link domain "
        "(links.email.<brand>.com, as ad-block lists name Iterable's)"),
    ("Mailjet", "/oo/[a-z0-9]+/[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]/e.gif"): (
        "replaced:/oo/[a-z0-9_-]+/[a-z0-9]{8}/e\\.gif",
        "open pixel '/oo/<message token>/<8 chars>/e.gif' on <id>.mjt.lu; the token is base64url, so it "
        "holds '-' and '_', which the published class left out (a real Mailjet pixel did not match)"),
    ("Ongage", "/\\?x[ou]l=.+&(amp;)?eih="): (
        "kept", "Ongage's tracking URLs sit at the tracking domain's root with x-prefixed query "
        "parameters (xol/xul ... eih); anchor 'eih=' (was 'amp;', from the optional group)"),
    # Second pass: patterns that did run, and credited other senders' (or a phishing site's) URLs in
    # the dev corpus to the vendor.
    ("Aurea", "/1.gif"): (
        "dropped", "any '/1.gif' (or '/1xgif') on any host: a list server's own /do/.../1.gif pixel was named Aurea"),
    ("Pepipost", "[A-Z][A-Z][A-Z][A-Z][A-Z][A-Z][A-Z][A-Z][A-Z]\\?id="): (
        "dropped", "any nine letters before '?id=' (case-blind): 'OTServlet?id=' of another sender and "
        "a phishing site's 'unsubscribe?id=' were named Pepipost"),
    ("Zoho", "/open.gif"): (
        "host_gated", "any '/open.gif' on any host (a Rails 'ahoy' pixel, a list server's bcast/open.gif were "
        "named Zoho); runs only on Zoho's hosts (maillist-manage.com, zohoinsights-crm.com)"),
    ("FreshMail", "/o/(\\w){10,}/(\\w){10,}"): (
        "dropped", "'/o/<10+ word chars>/<10+ word chars>' on any host is what an attacker's own open beacon "
        "looks like ('/o/<recipient id>/<campaign id>'); FreshMail's 'mail.<...>.pl/o/' is kept"),
    ("Alida", ".png1"): (
        "dropped", "any character then 'png1' anywhere in a URL ('logopng1', 'x.png100'): not a shape of its own"),
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
    reviewed: list[dict[str, str]] = []
    moves: list[tuple[str, str]] = []
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
        for p in list(free):
            decision = FREE_PATTERN_REVIEW.get((v["name"], p))
            if decision is None:
                continue
            reviewed.append({"vendor": v["name"], "pattern": p, "decision": decision[0], "reason": decision[1]})
            if decision[0] == "host_gated":  # the vendor's own hosts only (it must have some)
                if not hosts:
                    raise SystemExit(f"FREE_PATTERN_REVIEW: {v['name']} has no hosts to gate {p!r} on")
                free.remove(p)
                n_idx += 1
            elif decision[0] != "kept":
                free.remove(p)
                v["patterns"].remove(p)
                if decision[0].startswith("moved:"):
                    moves.append((decision[0][len("moved:"):], p))
                elif decision[0].startswith("replaced:"):
                    moves.append((v["name"], decision[0][len("replaced:"):]))
                else:
                    n_pat -= 1
        v["hosts"] = sorted(hosts)
        v["host_free_patterns"] = free
    for target, p in moves:  # the vendor whose pixel it is, or the corrected pattern; still host-free
        vendors[target]["patterns"].append(p)
        vendors[target]["host_free_patterns"].append(p)
    stale = set(FREE_PATTERN_REVIEW) - {(r["vendor"], r["pattern"]) for r in reviewed}
    if stale:  # the upstream list changed: review again rather than silently ship the pattern
        raise SystemExit(f"FREE_PATTERN_REVIEW names patterns that are not host-free in the source: {sorted(stale)}")
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
            "reviewed_host_free_patterns": reviewed,
            "vendors_without_patterns_dropped": empty,
            "jannikarndt_hosts_dropped": ja_dropped,
            "jannikarndt_hosts_already_present": ja_dupes,
        },
    )
    doc = {"meta": meta, "vendors": out_vendors, "generic_pixel": generic or None, "spacer_allow": spacer}
    rep(f"trackers: {stats}")
    rep(f"  fixed={len(fixed)} converted={len(converted)} dropped={len(dropped)} ja_added={len(ja_added)} ja_dropped={len(ja_dropped)}")
    return dump_json(doc, list_keys=("vendors",)), stats
