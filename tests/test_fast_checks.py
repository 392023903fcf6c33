"""The checks' and scoring's speed rewrites give exactly what the general forms they replace gave
(docs/performance.md, "Checks and scoring"): each fast path is run beside its plain form on every
dev-corpus message (parsed once for the whole file) and on random inputs."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

# The dev sets of bench/common.py.
DEV_SETS = ("phishing_pot", "spamassassin/easy_ham", "spamassassin/hard_ham", "spamassassin/spam",
            "mailinglists/usrp-users", "newsletters/unspy", "malformed", "auth-tests")


@pytest.fixture(scope="module")
def scanner():
    from lurelens import Scanner

    return Scanner().warm()


@pytest.fixture(scope="module")
def corpus_messages(corpus: Path, scanner):
    """Every dev-corpus message, parsed and enriched as a scan does (nested messages included)."""
    out = []
    for folder in DEV_SETS:
        for p in sorted((corpus / folder).rglob("*.eml")):
            msg = scanner.parse(p.read_bytes())
            stack = [msg]
            while stack:
                m = stack.pop()
                out.append(m)
                stack.extend(m.nested)
    assert len(out) > 5000
    return out


def _plain_lure_pattern(cats: dict[str, list[str]]) -> re.Pattern[str]:
    """The lure alternation as it was first written: a named group per category, phrases as given."""
    body = "|".join(f"(?P<g{i}>" + "|".join(f"(?:{p})" for p in pats) + ")" for i, pats in enumerate(cats.values()))
    return re.compile(r"(?<!\w)(?:" + body + r")(?!\w|['’]t\b)")


def _lure_categories() -> dict[str, list[str]]:
    from lurelens.registry.data import load_json

    cats: dict[str, list[str]] = {}
    for _src, doc in load_json("lure_phrases.json", None):
        for cat, pats in doc.get("categories", {}).items():
            cats.setdefault(cat, []).extend(pats)
    return cats


def _lure_text(msg) -> str:
    att = " ".join((a.filename or "") for a in msg.attachments[:10])
    return (msg.subject.replace("_", " ") + "\n" + re.sub(r"[_.]", " ", att) + "\n" + msg.visible_text[:8000]).lower()


def test_lure_scanner_finds_what_the_plain_alternation_finds_on_the_corpus(corpus_messages, scanner):
    cats = _lure_categories()
    names = list(cats)
    plain = _plain_lure_pattern(cats)
    fast = scanner.data.lure_scanner
    assert fast.pattern.pattern != plain.pattern
    found = 0
    for msg in corpus_messages:
        text = _lure_text(msg)
        want = [(names[int(m.lastgroup[1:])], m.span()) for m in plain.finditer(text)]
        assert [(cat, m.span()) for cat, m in fast.finditer(text)] == want, msg.subject
        found += bool(want)
    assert found > 1000  # the comparison saw matches, not only empty lists


def test_dispatch_keeps_order_and_matches():
    from lurelens.registry.phrases import PhraseScanner, dispatch

    # Alternatives sharing a first letter keep their order; ones that open with a class or a
    # group stay flat together with every letter they may open with.
    body = dispatch(["ab", "(?:x)yz", "ac", "[bc]d", "bq", "\\d+x"])
    assert body is not None and body.startswith("a(?:(?:b)|(?:c))")
    assert dispatch([".x"]) is None and dispatch(["x?"]) is None
    cats = {"one": ["(?:your )?account (?:locked|closed)", "win", "[uú]ltimo aviso", "wins?"],
            "two": ["account locked now", "winner", "(?<!\\d)\\d+ ?btc"], "three": ["w(?:in|on)", "(?:e-?)?mail"]}
    scan = PhraseScanner(cats, r"(?<!\w)", r"(?!\w)")
    plain = _plain_lure_pattern(cats)
    names = list(cats)
    words = ["your", "account", "locked", "closed", "now", "win", "wins", "winner", "won", "último", "ultimo",
             "aviso", "12", "btc", "12btc", "e-mail", "email", "mail", "x"]
    rnd = random.Random(3)
    for _ in range(5000):
        t = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 10)))
        want = [(names[int(m.lastgroup[1:])], m.span()) for m in plain.finditer(t)]
        assert [(c, m.span()) for c, m in scan.finditer(t)] == want, t


def test_fold_keeps_length_and_meets_the_regex_engines_case_rules():
    import sys

    from lurelens.checks.base import fold

    # Letters of the shipped greeting and role word lists, and ASCII.
    from lurelens.registry.data import DataRegistry

    data = DataRegistry()
    words = data.pattern("greeting_words") + data.pattern("journalist_roles") + data.pattern("generic_addressees")
    letters = sorted({c for c in words + "abcdefghijklmnopqrstuvwxyz" if c.isalpha()})
    assert all(fold(c) == c for c in letters)
    any_letter = re.compile("(?i)[" + "".join(letters) + "]")
    each = {p: re.compile("(?i)" + re.escape(p)) for p in letters}
    every = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)
    folded = fold(every)
    assert len(folded) == len(every)
    for m in any_letter.finditer(every):
        ch = m.group(0)
        for p, rx in each.items():
            # The engine takes ch for p exactly when folding makes it p.
            assert bool(rx.fullmatch(ch)) == (folded[m.start()] == p), (hex(ord(ch)), p)


def _plain_greetings(data):
    words, addressees = data.pattern("greeting_words"), data.pattern("generic_addressees")
    to_address = re.compile(rf"(?:{words})\W{{1,3}}([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*)", re.I)
    generic = re.compile(
        rf"(?<!\w)(?:{words})\W{{1,3}}(?:valued |dear |esteemed |prezado |estimado )?(?:[A-Z][\w.&-]+ ){{0,2}}"
        rf"(?:{addressees})(?!\w)", re.I)
    return to_address, generic


def _span(m):
    return None if m is None else (m.span(), m.group(0))


def test_case_blind_greetings_and_role_words_equal_the_plain_searches_on_the_corpus(corpus_messages, scanner):
    from lurelens.checks.greeting import _greeting_patterns
    from lurelens.checks.impersonation import _role_patterns

    data = scanner.data
    plain_to, plain_generic = _plain_greetings(data)
    fast_to, fast_generic = _greeting_patterns(data.pattern("greeting_words"), data.pattern("generic_addressees"))
    roles = data.pattern("journalist_roles")
    plain_role = re.compile(rf"(?i:{roles})")
    fast_role = _role_patterns(roles)[2]
    assert fast_to.prefix is not None and fast_generic.prefix is not None and fast_role.prefix is not None
    hits = [0, 0, 0]
    for msg in corpus_messages:
        for text in (msg.visible_text[:3000], msg.subject):
            for i, (plain, fast) in enumerate(((plain_to, fast_to), (plain_generic, fast_generic))):
                want = _span(plain.search(text))
                assert _span(fast.search(text)) == want, text[:200]
                hits[i] += want is not None
        text = msg.visible_text[:20000]
        want = [_span(m) for m in plain_role.finditer(text)]
        assert [_span(m) for m in fast_role.finditer(text)] == want
        hits[2] += bool(want)
    assert all(hits), hits


def test_case_blind_on_random_text_with_tricky_letters(scanner):
    from lurelens.checks.base import CaseBlind
    from lurelens.checks.greeting import _greeting_patterns

    data = scanner.data
    plain_to, plain_generic = _plain_greetings(data)
    fast_to, fast_generic = _greeting_patterns(data.pattern("greeting_words"), data.pattern("generic_addressees"))
    pieces = ["Dear", "DEAR", "dear", "Hİ", "hı", "Hi", "olá", "OLÁ", "Customer", "CUSTOMER", "cuſtomer", "ſir or madam",
              "Valued", "user", "a@b.com", "İ", "ı", "K", "Kelvin", "\u212aunde", ",", " ", "  ", ":", "\n", "x", "-", "Σ", "ς"]
    rnd = random.Random(17)
    reporter = CaseBlind(re.compile(r"(?i:reporter|rep[oó]rter|korrespondent(?:in)?)"), r"reporter|rep[oó]rter|korrespondent(?:in)?")
    plain_rep = re.compile(r"(?i:reporter|rep[oó]rter|korrespondent(?:in)?)")
    for _ in range(20000):
        t = "".join(rnd.choice(pieces) + rnd.choice(["", " ", ", "]) for _ in range(rnd.randint(1, 8)))
        assert _span(fast_to.search(t)) == _span(plain_to.search(t)), t
        assert _span(fast_generic.search(t)) == _span(plain_generic.search(t)), t
        r = t.replace("Dear", "REPÓRTER").replace("user", "Korrespondentin")
        assert [_span(m) for m in reporter.finditer(r)] == [_span(m) for m in plain_rep.finditer(r)], r
    # A prefix with capitals or a range is not folded: the plain search is used.
    assert CaseBlind(re.compile("(?i)Dear"), "Dear").prefix is None
    assert CaseBlind(re.compile("(?i)[a-z]x"), "[a-z]x").prefix is None


def _plain_spaced_word(text: str) -> str | None:
    spaced = re.compile(r"(?:(?<!\S)\w ){5,}\w(?!\S)")
    for m in spaced.finditer(text):
        letters = m.group(0).replace(" ", "")
        if not letters.isalpha():
            continue
        low = letters.lower()
        if all(ord(b) - ord(a) == 1 for a, b in zip(low, low[1:])):
            continue
        return m.group(0)
    return None


def test_spaced_word_and_invisible_pretests_equal_the_plain_forms(corpus_messages):
    from lurelens.checks.obfuscation import _INVISIBLE_IN_WORD, _INVISIBLE_NOT_SHY, _spaced_word

    texts = [m.visible_text[:20000] for m in corpus_messages] + [m.subject for m in corpus_messages]
    rnd = random.Random(23)
    texts += ["".join(rnd.choice(["a", "b", "Z", "1", " ", "  ", "\n", "é", ".", "\u200b"]) for _ in range(rnd.randint(0, 40)))
              for _ in range(20000)]
    texts += ["P a y P a l", "x P a y P a l", "a b c d e f", " q w e r t y ", "1 2 3 4 5 6"]
    found = 0
    for t in texts:
        want = _plain_spaced_word(t)
        assert _spaced_word(t) == want, t[:200]
        found += want is not None
        if _INVISIBLE_IN_WORD.search(t):
            assert _INVISIBLE_NOT_SHY.search(t), t[:200]
    assert found


def _plain_received(value: str):
    from lurelens.checks.intel import _HOSTNAME, _RCV_BRACKET, _RCV_BY, _RCV_FROM, _RCV_HELO, _RCV_RDNS, _RCV_V4, _ip

    head = value.rsplit(";", 1)[0] if ";" in value else value
    hosts: list[str] = []
    for rx in (_RCV_FROM, _RCV_RDNS, _RCV_HELO, _RCV_BY):
        for m in rx.finditer(head):
            h = m.group(1).strip().rstrip(".").lower()
            if _HOSTNAME.match(h) and not h.replace(".", "").isdigit() and h not in hosts:
                hosts.append(h)
    ips = []
    for m in list(_RCV_BRACKET.finditer(head)) + list(_RCV_V4.finditer(head)):
        ip = _ip.__wrapped__(m.group(1))
        if ip is not None and ip not in ips:
            ips.append(ip)
    return hosts, ips


def test_received_hosts_and_ips_equal_the_plain_form(corpus_messages):
    from lurelens.checks.intel import received_hosts_and_ips

    values = [v for m in corpus_messages for v in m.header_all("Received")]
    rnd = random.Random(29)
    parts = ["from", "FROM", "By", "by", "helo=", "HELO ", "(", ")", "[", "]", " ", "mx.Example.COM", "a.b", "1.2.3.4",
             "10.0.0.1", ":25", "IPv6:2001:db8::1", "abfrom", "x-by", ".", "-", "ﬁ", "İ", ";"]
    values += ["".join(rnd.choice(parts) for _ in range(rnd.randint(1, 12))) for _ in range(20000)]
    named = 0
    for v in values:
        want = _plain_received(v)
        assert received_hosts_and_ips(v) == want, v
        named += bool(want[0])
    assert named > 1000


def _plain_find(ix, text: str, standalone: bool = False, limit: int = 5):
    """EntityIndex.find as first written: every word n-gram, longest first."""
    from lurelens.registry.entities import normalize_name

    norm = normalize_name(text[:400])
    if not norm:
        return []
    words = norm.split()
    out, seen = [], set()
    for n in range(min(ix.max_words, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            gram = " ".join(words[i : i + n])
            for a in ix.by_alias.get(gram, ()):
                if a.entity.id in seen or (a.ambiguous and not (standalone and gram == norm)):
                    continue
                if a.caps and not re.search(rf"(?<![A-Za-z]){re.escape(a.caps)}(?![A-Za-z])", text):
                    continue
                seen.add(a.entity.id)
                out.append((a.entity, gram, a.ambiguous))
                if len(out) >= limit:
                    return out
    return out


def test_entity_find_equals_the_plain_n_gram_loop(corpus_messages, scanner):
    ix = scanner.data.entities
    texts = []
    for m in corpus_messages:
        texts += [a.display_name for a in m.from_] + [m.subject, m.html_title, m.visible_text[:400], m.visible_text[-400:]]
    texts += ["BB news", "The New York Times | Reuters", "Banco do Brasil BB", "ANN", "ann", "Next", "PayPal Amazon Apple Google Microsoft Netflix"]
    found = 0
    for t in texts:
        for standalone in (False, True):
            want = _plain_find(ix, t, standalone)
            assert ix.find(t, standalone=standalone) == want, t
            found += bool(want)
    assert found > 1000


def _plain_tracker_match(tr, url: str, host: str) -> str | None:
    """TrackerIndex.match as first written: every host-free pattern's anchor tested with ``in``."""
    from lurelens.registry.data import _host_suffixes

    for suffix in _host_suffixes(host):
        for name, rx in tr.host_patterns.get(suffix, ()):
            if rx.search(url):
                return name
    low = url.lower()
    for anchor, name, rx in tr.free_patterns:
        if anchor and anchor not in low:
            continue
        if rx.search(url):
            return name
    return None


def test_tracker_match_equals_the_plain_anchor_loop(corpus_messages, scanner):
    tr = scanner.data.trackers
    pairs = [(lk.href or "", lk.host or "") for m in corpus_messages for lk in m.links]
    pairs += [(r.url, r.host or "") for m in corpus_messages for r in m.resources]
    anchors = [a for a, _n, _r in tr.free_patterns]
    rnd = random.Random(31)
    for _ in range(5000):  # URLs made of anchors, overlapping and nested, in any case
        path = "".join(rnd.choice(anchors + ["/", "x", "?", "=", "1"]) for _ in range(rnd.randint(1, 6)))
        pairs.append(("https://example.com/" + (path.upper() if rnd.random() < 0.2 else path), "example.com"))
    named = 0
    for url, host in pairs:
        want = _plain_tracker_match(tr, url, host)
        assert tr.match(url, host) == want, url
        named += want is not None
    assert named > 500


def test_grouped_opt_out_phrases_find_what_the_plain_alternation_finds(corpus_messages, scanner):
    from lurelens.checks.lures import _opt_out

    phrases = scanner.data.pattern("opt_out_phrases")
    plain, fast = re.compile(phrases), _opt_out(phrases)
    assert fast.pattern != plain.pattern
    found = 0
    for msg in corpus_messages:
        text = msg.visible_text[:20000].lower()
        want = _span(plain.search(text))
        assert _span(fast.search(text)) == want
        found += want is not None
    assert found > 500


def test_standalone_word_equals_the_regex_search(corpus_messages):
    from lurelens.checks.obfuscation import _standalone

    pairs = []
    for m in corpus_messages:
        names = [m.subject.lower()] + [a.display_name.lower() for a in m.from_]
        for rcpt in m.recipients[:5]:
            local = rcpt.rpartition("@")[0].lower()
            if len(local) >= 5:
                pairs += [(n, local) for n in names] + [(n + " " + local, local) for n in names[:1]]
    rnd = random.Random(37)
    for _ in range(20000):
        word = "".join(rnd.choice("ab.+-") for _ in range(rnd.randint(1, 4)))
        pairs.append(("".join(rnd.choice(["ab", "a", "b", ".", "-", "_", " ", "é", "1", word]) for _ in range(rnd.randint(0, 10))), word))
    hits = 0
    for s, word in pairs:
        m = re.search(rf"(?<![\w.\-]){re.escape(word)}(?![\w\-])", s)
        assert _standalone(s, word) == (m.start() if m else -1), (s, word)
        hits += m is not None
    assert hits > 1000


def test_compiled_composites_equal_the_tree_walk(corpus_messages, scanner):
    import pickle

    from lurelens.scoring.expr import Expr, _eval, compile_expr

    cfg = scanner.scoring
    exprs = [c.test for c in cfg.composites] + [cfg.recon_excluded_by]
    exprs += [compile_expr(t)[0] for t in ("A & !B | C", "2 of (A, B & C, !D)", "!(A | group:x) & (B | C)",
                                            "1 of (A)", "3 of (A, B, C)", "group:x & group:y")]
    names = sorted({n for e in exprs if e is not None for n in re.findall(r"'([A-Z][A-Z0-9_]*)'", repr(e.tree))})
    groups = sorted(cfg.groups) + ["x", "y"]
    rnd = random.Random(41)
    cases = [({f.symbol for f in scanner._run_checks(m, 1e18, None)}, set()) for m in corpus_messages[::25]]
    cases += [(set(rnd.sample(names, rnd.randint(0, len(names)))), set(rnd.sample(groups, rnd.randint(0, 3))))
              for _ in range(3000)]
    for e in exprs:
        assert pickle.loads(pickle.dumps(e)) == e
        for syms, grps in cases:
            assert e(syms, grps) is _eval(e.tree, syms, grps)
    assert isinstance(exprs[0], Expr)


def test_footer_cue_and_subject_prefix_pretests_equal_the_plain_searches(corpus_messages):
    from lurelens.checks.impersonation import _FOOTER_CUE, _FOOTER_CUE_FAST, _SENTENCE_END, _SUBJECT_PREFIX

    assert _FOOTER_CUE_FAST.prefix is not None
    segs = [seg for m in corpus_messages for seg in _SENTENCE_END.split(m.visible_text[-400:])]
    segs += ["Copyright 2024", "COPYRIGHT", "cOpYrIgHt", "ſubscribed", "(C) 2020", "You Received This", "newsletters", "©"]
    cued = 0
    for seg in segs:
        want = _span(_FOOTER_CUE.search(seg))
        assert _span(_FOOTER_CUE_FAST.search(seg)) == want, seg
        cued += want is not None
    assert cued > 500
    rnd = random.Random(43)
    subjects = [m.subject.lstrip()[:200] for m in corpus_messages]
    subjects += ["".join(rnd.choice(["[", "]", "|", " ", "ab", ":", "x" * 30]) for _ in range(rnd.randint(0, 12))) for _ in range(20000)]
    for head in subjects:
        m = _SUBJECT_PREFIX.match(head)
        if m is not None:  # the pre-test lets every match through
            assert head[:1] == "[" or "|" in head[:81], head
