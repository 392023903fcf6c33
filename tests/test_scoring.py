"""lurelens.scoring: weights, group caps, composites, thresholds and labels; engine symbols."""

from __future__ import annotations

import textwrap

import pytest

from lurelens import ConfigError, Finding, Scanner
from lurelens.checks import CHECKS, Check, Symbol
from lurelens.model.verdict import LABELS
from lurelens.scoring import load_scoring, score
from lurelens.scoring.expr import ExprError, compile_expr
from lurelens.testing import MessageBuilder

BASE = """
version = 1
[verdict]
suspicious = 5.0
phishing = 9.0
recon_composites = ["RECON"]
tracked_groups = ["tracking"]
nested_factor = 0.5

[labels]
clean = "c"
incomplete = "i"
tracked = "t"
suspicious = "s"
phishing = "p"
recon = "r"

[groups.tracking]
cap = 2.0
[groups.bad]
cap = 20.0
[groups.auth]
[groups.composite]

[symbols]
PIXEL = { weight = 1.5, group = "tracking" }
TOKEN = { weight = 1.5, group = "tracking" }
BAD4 = { weight = 4.0, group = "bad" }
BAD6 = { weight = 6.0, group = "bad" }
GOOD = { weight = -2.0, group = "auth" }
ZERO = { weight = 0.0, group = "auth" }
AUTHBAD = { weight = 0.5, group = "auth" }
"""


def cfg_from(tmp_path, extra: str = "", base: str = BASE):
    p = tmp_path / "scores.toml"
    p.write_text(textwrap.dedent(base) + textwrap.dedent(extra), encoding="utf-8")
    return load_scoring(p)


def run(cfg, *symbols: str, **strength: float):
    findings = [Finding(s, strength=strength.get(s, 1.0)) for s in symbols]
    return score(findings, cfg, {})


def syms(v) -> list[str]:
    return [f.symbol for f in v.findings]


# -- weights, caps, counting -------------------------------------------------------------------


def test_group_cap_limits_positive_total(tmp_path):
    cfg = cfg_from(tmp_path)
    v = run(cfg, "PIXEL", "TOKEN")  # 1.5 + 1.5 in a group capped at 2.0
    assert v.score == pytest.approx(2.0)


def test_symbol_counts_once_at_its_strongest(tmp_path):
    cfg = cfg_from(tmp_path)
    findings = [Finding("BAD4", strength=0.5), Finding("BAD4", strength=1.0), Finding("BAD4", strength=0.25)]
    v = score(findings, cfg, {})
    assert v.score == pytest.approx(4.0)
    scored = [f.score for f in v.findings if f.symbol == "BAD4"]
    assert sorted(scored) == [0.0, 0.0, 4.0]  # repeats stay as evidence with no score


def test_strength_scales_weight(tmp_path):
    assert run(cfg_from(tmp_path), "BAD4", BAD4=0.5).score == pytest.approx(2.0)


def test_negative_weights_subtract_and_are_not_capped(tmp_path):
    cfg = cfg_from(tmp_path)
    assert run(cfg, "BAD6", "GOOD").score == pytest.approx(4.0)
    assert run(cfg, "GOOD").score == pytest.approx(-2.0)
    assert run(cfg, "GOOD").label == "clean"


def test_unknown_symbol_scores_zero(tmp_path):
    v = run(cfg_from(tmp_path), "NOT_IN_THE_FILE")
    assert v.score == 0 and v.label == "clean"


def test_nested_findings_count_at_nested_factor(tmp_path):
    cfg = cfg_from(tmp_path)
    f = Finding("BAD6")
    f.nested = "1"
    assert score([f], cfg, {}).score == pytest.approx(3.0)


# -- composites ----------------------------------------------------------------------------------

COMPOSITES = """
[[composites]]
name = "BOTH"
expression = "PIXEL & BAD4"
weight = 1.0
[[composites]]
name = "NOT_GOOD"
expression = "BAD4 & !GOOD"
weight = 1.0
[[composites]]
name = "PARENS"
expression = "(PIXEL | TOKEN) & (BAD6 | BAD4)"
weight = 0.5
[[composites]]
name = "GROUP"
expression = "group:tracking & !group:auth"
weight = 0.25
[[composites]]
name = "RECON"
expression = "PIXEL & BAD6"
weight = 1.0
[[composites]]
name = "DISCOUNT"
expression = "BAD4 & GOOD"
weight = -1.0
"""


@pytest.mark.parametrize(
    "symbols, expected",
    [
        (("PIXEL", "BAD4"), {"BOTH", "NOT_GOOD", "PARENS", "GROUP"}),
        (("BAD4", "GOOD"), {"DISCOUNT"}),
        (("TOKEN", "BAD6"), {"PARENS", "GROUP"}),
        (("PIXEL",), {"GROUP"}),
        (("PIXEL", "GOOD"), {"GROUP"}),  # a negative score does not make group:auth present
        (("PIXEL", "AUTHBAD"), set()),  # a positive one does
        (("PIXEL", "BAD6"), {"PARENS", "GROUP", "RECON"}),
        (("ZERO",), set()),
    ],
)
def test_composites(tmp_path, symbols, expected):
    cfg = cfg_from(tmp_path, COMPOSITES)
    v = run(cfg, *symbols)
    fired = {f.symbol for f in v.findings} - set(symbols)
    assert fired == expected


def test_composite_weights_add_to_score(tmp_path):
    cfg = cfg_from(tmp_path, COMPOSITES)
    # PIXEL 1.5 (tracking, cap 2) + BAD4 4 + BOTH 1 + NOT_GOOD 1 + PARENS 0.5 + GROUP 0.25
    assert run(cfg, "PIXEL", "BAD4").score == pytest.approx(8.25)
    # negative composite: BAD4 4 - GOOD 2 - DISCOUNT 1
    assert run(cfg, "BAD4", "GOOD").score == pytest.approx(1.0)


@pytest.mark.parametrize(
    "expr, present, groups, expected",
    [
        ("A", {"A"}, set(), True),
        ("!A", {"A"}, set(), False),
        ("!!A", {"A"}, set(), True),
        ("A & B | C", {"C"}, set(), True),
        ("A & (B | C)", {"C"}, set(), False),
        ("A & !(B | C)", {"A"}, set(), True),
        ("group:sender & !A", set(), {"sender"}, True),
        ("group:sender", set(), {"links"}, False),
        ("2 of (A, B, C)", {"A", "C"}, set(), True),
        ("2 of (A, B, C)", {"C"}, set(), False),
        ("2 of (A, B | C, group:links) & !D", {"C"}, {"links"}, True),
        ("2 of (A, B | C, group:links) & !D", {"C", "D"}, {"links"}, False),
        ("1 of (A, B) | C", {"C"}, set(), True),
    ],
)
def test_expression_language(expr, present, groups, expected):
    fn, _names = compile_expr(expr)
    assert fn(present, groups) is expected


@pytest.mark.parametrize("bad", ["A &", "(A | B", "A B", "a & b", "A && B", "group:", ")",
                                 "2 of A", "3 of (A, B)", "2 of (A, B", "0 of (A)", "A, B"])
def test_bad_expressions_raise(bad):
    with pytest.raises(ExprError):
        compile_expr(bad)


# -- thresholds and labels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "symbols, label",
    [
        ((), "clean"),
        (("GOOD",), "clean"),
        (("PIXEL",), "tracked"),
        (("BAD6",), "suspicious"),
        (("BAD4", "BAD6"), "phishing"),
        (("PIXEL", "BAD6"), "recon"),  # RECON composite and a score >= suspicious
    ],
)
def test_thresholds_to_labels(tmp_path, symbols, label):
    cfg = cfg_from(tmp_path, COMPOSITES)
    assert run(cfg, *symbols).label == label


def test_recon_needs_the_recon_composite(tmp_path):
    cfg = cfg_from(tmp_path, COMPOSITES)
    v = run(cfg, "TOKEN", "BAD4", "BAD6")  # high score and a beacon, but RECON does not fire
    assert "RECON" not in syms(v)
    assert v.label == "phishing"


def test_recon_composite_below_threshold_is_not_recon(tmp_path):
    cfg = cfg_from(tmp_path, COMPOSITES)
    v = run(cfg, "PIXEL", "BAD6", "GOOD", BAD6=0.5)  # RECON fires, score below suspicious
    assert "RECON" in syms(v)
    assert v.score < 5.0
    assert v.label != "recon"


def test_shipped_recon_needs_recon_beacon(scanner):
    cfg = scanner.scoring
    assert cfg.recon_composites == ["RECON_BEACON"]
    v = score([Finding("AUTH_DMARC_FAIL"), Finding("LINK_USERINFO"), Finding("TRACKER_KNOWN_VENDOR")], cfg, {})
    assert v.score >= cfg.thresholds["suspicious"]
    assert v.label != "recon"
    v = score([Finding("AUTH_DMARC_FAIL"), Finding("TRACKER_PIXEL_HIDDEN"), Finding("LINK_USERINFO")], cfg, {})
    assert "RECON_BEACON" in syms(v)
    assert v.label == "recon"


def test_shipped_labels_have_written_definitions(scanner):
    for label in LABELS:
        text = scanner.scoring.labels.get(label)
        assert isinstance(text, str) and len(text.split()) >= 5, label


def test_shipped_caps_and_thresholds_are_consistent(scanner):
    cfg = scanner.scoring
    assert 0 < cfg.thresholds["suspicious"] < cfg.thresholds["phishing"]
    # tracking alone must never reach "suspicious": a newsletter is at most "tracked"
    assert cfg.groups["tracking"]["cap"] < cfg.thresholds["suspicious"]
    v = score([Finding(s) for s in ("TRACKER_PIXEL_HIDDEN", "TRACKER_KNOWN_VENDOR", "TRACKER_RECIPIENT_TOKEN",
                                     "TRACKER_OPAQUE_ID", "TRACKER_UNLISTED_BEACON")], cfg, {})
    assert v.label == "tracked"


# -- invalid scoring files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s + "\n[broken\n", "cannot load scoring file"),
        (lambda s: s.replace("[verdict]", "[verdictx]"), "invalid scoring file"),
        (lambda s: s.replace('suspicious = 5.0', 'suspicious = "high"'), "invalid scoring file"),
        (lambda s: s.replace('group = "bad" }', 'group = "nosuchgroup" }', 1), "unknown group 'nosuchgroup'"),
        (lambda s: s + '\n[[composites]]\nname = "X"\nexpression = "PIXEL &"\n', "invalid scoring file"),
        (lambda s: s.replace('recon = "r"\n', ""), "labels without a written definition: recon"),
    ],
)
def test_invalid_scoring_file_raises_config_error(tmp_path, mutate, message):
    p = tmp_path / "bad.toml"
    p.write_text(mutate(textwrap.dedent(BASE)), encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_scoring(p)
    assert message in str(ei.value)
    assert str(p) in str(ei.value) or "scores.toml" in str(ei.value) or "bad.toml" in str(ei.value)


def test_missing_scoring_file_raises_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot load scoring file"):
        Scanner(scoring=tmp_path / "nope.toml")


def test_custom_scoring_file_is_used_by_scanner(tmp_path, make_scanner):
    from importlib import resources

    text = (resources.files("lurelens") / "scoring" / "scores.toml").read_text(encoding="utf-8")
    text = text.replace("TRACKER_PIXEL_HIDDEN = { weight = 1.0,", "TRACKER_PIXEL_HIDDEN = { weight = 0.0,")
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    raw = MessageBuilder().html('<img src="https://t.example.net/o.gif" width=1 height=1>').build()
    v = make_scanner(scoring=p).scan(raw)
    assert [f.score for f in v.findings if f.symbol == "TRACKER_PIXEL_HIDDEN"] == [0.0]


# -- engine symbols --------------------------------------------------------------------------------


def _crash(msg, ctx):
    raise RuntimeError("boom")
    yield  # pragma: no cover


def _undeclared(msg, ctx):
    yield Finding("SOMETHING_ELSE")


@pytest.mark.parametrize(
    "bad_check, detail",
    [
        (Check("crasher", (Symbol("CRASH_X", "never emitted"),), _crash), "crasher: RuntimeError: boom"),
        (Check("liar", (Symbol("LIAR_X", "declared"),), _undeclared), "undeclared symbol SOMETHING_ELSE"),
    ],
)
def test_check_error_when_a_check_raises_and_scan_goes_on(bad_check, detail, make_scanner):
    s = make_scanner(checks=(bad_check, *CHECKS))
    raw = MessageBuilder().html('<img src="https://t.example.net/o.gif" width=1 height=1>').build()
    v = s.scan(raw)
    errs = [f for f in v.findings if f.symbol == "CHECK_ERROR"]
    assert len(errs) == 1 and detail in errs[0].evidence
    assert errs[0].score == 0
    # the checks after it still ran
    assert {"AUTH_NOT_CHECKED", "TRACKER_PIXEL_HIDDEN"} <= set(syms(v))
    assert v.label == "tracked"


def test_render_unlisted_fetch_merged_into_verdict(scanner):
    """RenderStage.apply with a stand-in renderer: a host the browser hit that the static
    inventory missed becomes RENDER_UNLISTED_FETCH and the verdict is rescored."""
    from types import SimpleNamespace

    from lurelens.render.merge import RenderStage

    class FakeRenderer:
        def render(self, html, cid=None, timeout=None):
            reqs = [
                SimpleNamespace(url="https://img.example.net/a.png", host="img.example.net", type="image"),
                SimpleNamespace(url="https://hidden.example.org/b.gif", host="hidden.example.org", type="image"),
            ]
            return SimpleNamespace(requests=reqs, error=None, timed_out=False)

    stage = RenderStage.__new__(RenderStage)
    stage.timeout = 1.0
    stage.renderer = FakeRenderer()
    raw = MessageBuilder().text("x").html('<img src="https://img.example.net/a.png" width=600 height=100>').build()
    v = scanner.scan(raw)
    assert "RENDER_UNLISTED_FETCH" not in syms(v)
    stage.apply(scanner, v, raw)
    hits = [f for f in v.findings if f.symbol == "RENDER_UNLISTED_FETCH"]
    assert [h.evidence.split(":")[0] for h in hits] == ["hidden.example.org"]
    assert v.score > 0 and v.label == "tracked"
    assert len(v.extra["requests"]) == 2


def test_render_merge_does_not_duplicate_composites(scanner):
    """Re-scoring after a render recomputes composites; none may appear twice, whatever its group."""
    from collections import Counter
    from types import SimpleNamespace

    from lurelens.render.merge import RenderStage

    class FakeRenderer:
        def render(self, html, cid=None, timeout=None):
            req = SimpleNamespace(url="https://late.example.org/x.gif", host="late.example.org", type="image")
            return SimpleNamespace(requests=[req], error=None, timed_out=False)

    stage = RenderStage.__new__(RenderStage)
    stage.timeout = 1.0
    stage.renderer = FakeRenderer()
    raw = (MessageBuilder().auth("spf=softfail smtp.mailfrom=example.net; dkim=none; dmarc=none")
           .html('<p>x</p><img src="https://px.example.net/o.gif" width=1 height=1>').build())
    v = scanner.scan(raw)
    assert "UNAUTHENTICATED_SENDER" in syms(v)
    stage.apply(scanner, v, raw)
    counts = Counter(f.symbol for f in v.findings)
    assert counts["UNAUTHENTICATED_SENDER"] == 1 and counts["RENDER_UNLISTED_FETCH"] == 1


@pytest.mark.parametrize(
    "present, composite, fires",
    [
        (("FROM_FREEMAIL", "LURE_ADVANCE_FEE"), "FREEMAIL_LURE", True),
        (("FROM_FREEMAIL", "LURE_URGENCY"), "FREEMAIL_LURE", False),  # urgency alone is how people write
        (("LURE_PRIZE",), "FREEMAIL_LURE", False),
        (("BULK_NO_LIST_UNSUBSCRIBE", "AUTH_DKIM_NONE"), "BULK_UNSIGNED", True),
        (("TRACKER_PIXEL_HIDDEN", "AUTH_DKIM_FAIL"), "BULK_UNSIGNED", True),
        (("TRACKER_PIXEL_HIDDEN", "AUTH_DKIM_FAIL", "MAILING_LIST"), "BULK_UNSIGNED", False),  # lists break DKIM
        (("BULK_NO_LIST_UNSUBSCRIBE",), "BULK_UNSIGNED", False),  # not checked is not unsigned
        (("FROM_FREEMAIL", "LURE_PRIZE", "MAILING_LIST"), "FREEMAIL_LURE", False),  # a list post
        (("LINKS_ELSEWHERE", "AUTH_DKIM_NONE"), "BULK_SPAM_SIGNS", True),
        (("FROM_NAME_DECORATED", "FROM_ABUSED_TLD"), "BULK_SPAM_SIGNS", True),
        (("LINKS_ELSEWHERE",), "BULK_SPAM_SIGNS", False),  # one weak sign is not enough
        (("BULK_NO_LIST_UNSUBSCRIBE", "HTML_HIDDEN_TEXT", "MAILING_LIST"), "BULK_SPAM_SIGNS", False),
    ],
)
def test_shipped_calibration_composites(scanner, present, composite, fires):
    v = score([Finding(s) for s in present], scanner.scoring, {})
    assert (composite in syms(v)) is fires


def test_floor_suspicious_overrides_credit(tmp_path):
    floored = BASE.replace('nested_factor = 0.5', 'nested_factor = 0.5\nfloor_suspicious = ["AUTHBAD"]')
    cfg = cfg_from(tmp_path, base=floored)
    v = run(cfg, "AUTHBAD", "GOOD")  # 0.5 - 2.0: far below the threshold, floored all the same
    assert v.score < 0 and v.label == "suspicious"
    assert run(cfg, "AUTHBAD", AUTHBAD=0.0).label == "clean"  # a floor symbol that scored nothing
    assert run(cfg_from(tmp_path), "AUTHBAD", "GOOD").label == "clean"  # no floor configured
    assert run(cfg, "AUTHBAD", "BAD6", "BAD4").label == "phishing"  # a floor never lowers a label


def test_floor_of_an_unknown_symbol_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="floor_suspicious"):
        cfg_from(tmp_path, base=BASE.replace("nested_factor = 0.5", 'nested_factor = 0.5\nfloor_suspicious = ["NOPE"]'))
