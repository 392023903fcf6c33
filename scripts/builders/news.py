"""The news outlet registry (news_outlets.json) from the curated list, fundus and yang3kc's news domains."""

from __future__ import annotations

import csv
import html
import re
from collections import Counter, defaultdict
from pathlib import Path

from builders.common import (
    DATA_SRC,
    Report,
    casekey,
    dump_json,
    meta_block,
    norm_host,
    parse_psv,
    registrable,
    slugify,
    split_list,
    valid_domain,
)


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
