"""The brand registry (brands.json), and the phishing-corpus brand frequency table for the docs."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from builders.common import DATA_SRC, Report, casekey, dump_json, meta_block, parse_psv, slugify, split_list, valid_domain


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
