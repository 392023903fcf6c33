"""Validate the shipped data registries in src/lurelens/data (see docs/data.md)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "lurelens" / "data"
CORPUS = ROOT.parent / "shared" / "corpus"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def valid_domain(d: str) -> bool:
    if not isinstance(d, str) or not d or d != d.lower() or d.strip() != d or d.startswith(".") or d.endswith("."):
        return False
    try:
        a = d.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = a.split(".")
    return len(labels) >= 2 and len(a) <= 253 and all(LABEL_RE.match(x) for x in labels)


def load(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def read_txt(name):
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    header = [l for l in lines if l.startswith("#")]
    items = [l.strip() for l in lines if l.strip() and not l.startswith("#")]
    return header, items


def check_meta(meta):
    assert isinstance(meta, dict)
    assert meta.get("sources"), "meta.sources missing"
    assert all(isinstance(s, dict) and s.get("name") for s in meta["sources"])
    assert meta.get("licence"), "meta.licence missing"
    assert DATE_RE.match(meta.get("date", "")), "meta.date missing or not YYYY-MM-DD"


JSON_FILES = ["trackers.json", "redirectors.json", "news_outlets.json", "brands.json"]
TXT_FILES = ["shorteners.txt", "freemail.txt"]


# ----------------------------------------------------------------------------- generic


@pytest.mark.parametrize("name", JSON_FILES)
def test_json_meta(name):
    check_meta(load(name)["meta"])


@pytest.mark.parametrize("name", TXT_FILES)
def test_txt_header(name):
    header, items = read_txt(name)
    text = "\n".join(header)
    assert re.search(r"^# source: \S", text, re.M)
    assert re.search(r"^# licence: \S", text, re.M)
    m = re.search(r"^# date: (\S+)", text, re.M)
    assert m and DATE_RE.match(m.group(1))
    m = re.search(r"^# count: (\d+)", text, re.M)
    assert m and int(m.group(1)) == len(items)


def test_every_json_in_data_dir_parses():
    for p in sorted(DATA.glob("*.json")):
        json.loads(p.read_text(encoding="utf-8"))


def test_third_party_licences_shipped():
    for f in ["mailtrackerblocker-LICENSE", "jannikarndt-emailtrackerblocker-LICENSE", "fundus-LICENSE"]:
        p = DATA / "LICENSES" / f
        assert p.is_file() and p.stat().st_size > 500, f
    assert "Aaron Lee" in (DATA / "LICENSES" / "mailtrackerblocker-LICENSE").read_text()
    assert "Apache License" in (DATA / "LICENSES" / "jannikarndt-emailtrackerblocker-LICENSE").read_text()
    assert "MIT License" in (DATA / "LICENSES" / "fundus-LICENSE").read_text()


# ----------------------------------------------------------------------------- trackers


def test_trackers_structure_and_regexes():
    d = load("trackers.json")
    assert set(d) == {"meta", "vendors", "generic_pixel", "spacer_allow"}
    names = [v["name"] for v in d["vendors"]]
    assert len(names) == len(set(names)) and len(names) >= 300
    n_pat = 0
    for v in d["vendors"]:
        assert set(v) >= {"name", "patterns", "hosts", "host_free_patterns"}
        assert v["patterns"], v["name"]
        for p in v["patterns"]:
            re.compile(p, re.I)
            n_pat += 1
        assert set(v["host_free_patterns"]) <= set(v["patterns"])
        for h in v["hosts"]:
            assert valid_domain(h), (v["name"], h)
        # every host-gated pattern belongs to a vendor that has a host entry
        if len(v["host_free_patterns"]) < len(v["patterns"]):
            assert v["hosts"], v["name"]
    assert n_pat >= 480
    if d["generic_pixel"] is not None:
        re.compile(d["generic_pixel"], re.I)
    for s in d["spacer_allow"]:
        re.compile(s, re.I)
    st = d["meta"]["stats"]
    assert st["patterns"] == n_pat
    assert st["host_indexable_patterns"] + st["host_free_patterns"] == n_pat


def _tracker_vendors_for(url, d):
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    hits = []
    for v in d["vendors"]:
        gated = any(host == h or host.endswith("." + h) for h in v["hosts"])
        pats = v["patterns"] if gated else v["host_free_patterns"]
        if any(re.search(p, url, re.I) for p in pats):
            hits.append(v["name"])
    return hits


@pytest.mark.parametrize("url", [
    "https://example.us5.list-manage.com/track/open.php?u=abc&id=def&e=123",
    "https://t.yesware.com/t/abc/def.png",
    "https://www.google-analytics.com/collect?v=1&tid=UA-1",
    "https://u123.ct.sendgrid.net/wf/open?upn=xyz",
])
def test_known_trackers_found_via_host_index(url):
    assert _tracker_vendors_for(url, load("trackers.json"))


def test_plain_link_is_not_a_tracker():
    assert _tracker_vendors_for("https://www.example.org/about/team", load("trackers.json")) == []


# ----------------------------------------------------------------------------- redirectors


def test_redirectors():
    d = load("redirectors.json")
    assert set(d) == {"meta", "hosts", "generic_params"}
    assert len(d["hosts"]) >= 40
    keys = set()
    for e in d["hosts"]:
        assert set(e) - {"encoding"} == {"host", "match", "path", "params", "dest_in_path", "kind", "note"}
        assert e.get("encoding") in (None, "proofpoint_v2")
        assert valid_domain(e["host"]), e
        assert e["kind"] in {"open_redirect", "click_tracker", "safelinks"}
        assert e["match"] in {"exact", "suffix"}
        assert isinstance(e["params"], list)
        for k in ("path", "dest_in_path"):
            if e[k] is not None:
                re.compile(e[k])
        if e["dest_in_path"]:
            assert "(?P<dest>" in e["dest_in_path"]
        keys.add((e["host"], e["path"]))
    assert len(keys) == len(d["hosts"])
    hosts = {e["host"] for e in d["hosts"]}
    for h in ["google.com", "l.facebook.com", "linkedin.com", "youtube.com", "safelinks.protection.outlook.com",
              "urldefense.proofpoint.com", "list-manage.com", "sendgrid.net", "mandrillapp.com", "mailchi.mp"]:
        assert h in hosts, h
    gp = {p.lower() for p in d["generic_params"]}
    for p in ["url", "u", "q", "redirect", "redirect_uri", "target", "dest", "destination", "next", "goto", "link",
              "r", "to", "out", "continue", "return", "returnurl"]:
        assert p in gp, p


# ----------------------------------------------------------------------------- news outlets

NEWS_KEYS = {"id", "name", "aliases", "ambiguous", "ambiguous_aliases", "country", "web_domains", "mail_domains",
             "mail_domains_provenance", "tier", "sources"}


def test_news_outlets():
    d = load("news_outlets.json")
    outlets = d["outlets"]
    assert len(outlets) >= 1000
    ids = [o["id"] for o in outlets]
    assert len(ids) == len(set(ids))
    seen_web = {}
    for o in outlets:
        assert set(o) == NEWS_KEYS, o["id"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", o["id"]), o["id"]
        assert o["name"].strip()
        assert re.fullmatch(r"[A-Z]{2}", o["country"]) or o["country"] == "INT", o["id"]
        assert o["web_domains"], o["id"]
        for dm in o["web_domains"] + o["mail_domains"]:
            assert valid_domain(dm), (o["id"], dm)
        for dm in o["web_domains"]:
            assert dm not in seen_web, (dm, o["id"], seen_web.get(dm))
            seen_web[dm] = o["id"]
        assert set(o["mail_domains_provenance"]) == set(o["mail_domains"]), o["id"]
        assert set(o["ambiguous_aliases"]) <= set(o["aliases"]), o["id"]
        for a in o["aliases"]:
            assert a.strip() == a and a
            if len(a) < 3:
                assert a in o["ambiguous_aliases"], (o["id"], a)
        if len(o["name"]) < 3:
            assert o["ambiguous"], o["id"]
        assert o["tier"] in (1, 2, 3)
        assert o["sources"]


def test_news_outlets_cover_required_outlets():
    outlets = load("news_outlets.json")["outlets"]
    by_dom = {dm: o for o in outlets for dm in o["web_domains"]}
    required = [
        "bbc.co.uk", "reuters.com", "apnews.com", "afp.com", "nytimes.com", "washingtonpost.com", "wsj.com",
        "theguardian.com", "ft.com", "economist.com", "bloomberg.com", "cnn.com", "foxnews.com", "thesun.co.uk",
        "metro.co.uk", "dailymail.co.uk", "telegraph.co.uk", "thetimes.co.uk", "lemonde.fr", "lefigaro.fr",
        "spiegel.de", "faz.net", "sueddeutsche.de", "zeit.de", "elpais.com", "corriere.it", "repubblica.it",
        "nhk.or.jp", "asahi.com", "yomiuri.co.jp", "nikkei.com", "mainichi.jp", "japantimes.co.jp",
        "taipeitimes.com", "focustaiwan.tw", "ltn.com.tw", "udn.com", "scmp.com", "rthk.hk", "hongkongfp.com",
        "mingpao.com", "thestandard.com.hk", "cbc.ca", "theglobeandmail.com", "thestar.com", "abc.net.au",
        "smh.com.au", "theage.com.au", "theaustralian.com.au", "politico.com", "axios.com", "npr.org",
        "aljazeera.com", "dw.com", "france24.com", "rfa.org", "voanews.com", "rfi.fr", "euronews.com",
        "asia.nikkei.com", "thediplomat.com", "foreignpolicy.com",
    ]
    missing = [r for r in required if r not in by_dom]
    assert not missing, missing
    assert {"US", "GB", "CA", "AU", "JP", "TW", "HK", "DE", "FR", "IT", "ES", "NL", "PL"} <= {o["country"] for o in outlets}


def test_news_ambiguous_aliases_flagged():
    outlets = {o["id"]: o for o in load("news_outlets.json")["outlets"]}
    assert "The Times" in outlets["new-york-times"]["ambiguous_aliases"]
    assert outlets["metro-gb"]["ambiguous"]
    assert outlets["the-sun-gb"]["ambiguous"]
    ap = next(o for o in outlets.values() if "apnews.com" in o["web_domains"])
    assert "AP" in ap["ambiguous_aliases"]


# ----------------------------------------------------------------------------- brands

BRAND_CATEGORIES = {
    "mail/office", "webmail", "cloud", "e-signature", "security", "social", "messaging", "crypto", "streaming",
    "parcel", "bank", "payment", "retail", "telecom", "government", "travel", "insurance", "health", "gaming",
    "tech", "loyalty", "automotive", "utilities", "food", "hosting", "finance",
}


def test_brands():
    brands = load("brands.json")["brands"]
    assert len(brands) >= 150
    ids = [b["id"] for b in brands]
    assert len(ids) == len(set(ids))
    for b in brands:
        assert set(b) == {"id", "name", "aliases", "ambiguous", "ambiguous_aliases", "category", "domains", "mail_domains"}
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", b["id"]), b["id"]
        assert b["category"] in BRAND_CATEGORIES, b
        assert b["domains"], b["id"]
        for dm in b["domains"] + b["mail_domains"]:
            assert valid_domain(dm), (b["id"], dm)
        assert set(b["ambiguous_aliases"]) <= set(b["aliases"])
        for a in b["aliases"]:
            if len(a) < 3:
                assert a in b["ambiguous_aliases"], (b["id"], a)
    names = {b["name"].casefold() for b in brands} | {a.casefold() for b in brands for a in b["aliases"]}
    for n in ["itaú", "bradesco", "caixa econômica federal", "banco do brasil", "nubank", "santander", "correios",
              "mercado livre", "magalu", "americanas", "netflix", "microsoft", "outlook", "office 365", "dhl", "amazon",
              "apple", "paypal", "docusign", "meta", "facebook", "instagram", "whatsapp", "linkedin", "coinbase",
              "binance", "mcafee", "norton"]:
        assert n in names, n


# ----------------------------------------------------------------------------- plain lists


def test_freemail():
    _, items = read_txt("freemail.txt")
    assert len(items) >= 300
    assert len(items) == len(set(items))
    assert all(valid_domain(x) for x in items)
    for x in ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "aol.com",
              "gmx.de", "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "126.com", "proton.me",
              "protonmail.com", "icloud.com", "me.com", "zoho.com", "tutanota.com", "naver.com"]:
        assert x in items, x


def test_shorteners():
    _, items = read_txt("shorteners.txt")
    assert len(items) >= 150
    assert len(items) == len(set(items))
    assert all(valid_domain(x) for x in items)
    for x in ["bit.ly", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
              "shorturl.at", "rb.gy", "t.ly", "bit.do", "s.id"]:
        assert x in items, x
    _, free = read_txt("freemail.txt")
    assert not set(items) & set(free)


# ----------------------------------------------------------------------------- generator


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "lists").is_dir(), reason="development corpus not present")
def test_generator_reproduces_shipped_files():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_data.py"), "--check", "-q",
                        "--corpus", str(CORPUS)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
