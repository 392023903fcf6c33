"""bench/cv.py and scripts/fit_weights.py on synthetic records: grouped folds, sign-constrained
fit with pinned symbols, and writing weights back into a scoring file that still loads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "scripts"))

from cv import Record, assign_folds, cv_figures  # noqa: E402

from lurelens.scoring import load_scoring  # noqa: E402


def rec(set_: str, group: str, *symbols: str) -> Record:
    return Record(set_, "x", f"{set_}/{group}/{len(symbols)}", f"{set_}|{group}", [(s, 1.0, False) for s in symbols])


def test_folds_keep_a_group_together_and_are_balanced():
    records = [rec("phishing_pot", f"d{i % 7}.example|2024-0{i % 3 + 1}") for i in range(70)]
    assign_folds(records, 5)
    by_group: dict[str, set[int]] = {}
    for r in records:
        by_group.setdefault(r.group, set()).add(r.fold)
    assert all(len(f) == 1 for f in by_group.values())
    sizes = [sum(1 for r in records if r.fold == k) for k in range(5)]
    assert max(sizes) - min(sizes) <= max(len([r for r in records if r.group == g]) for g in by_group)
    assert all(s > 0 for s in sizes)


def test_cv_figures_count_each_message_once_on_its_held_out_fold():
    cfg = load_scoring()
    records = [rec("phishing_pot", f"p{i}", "LINK_USERINFO", "LINK_IP_LITERAL") for i in range(10)]
    records += [rec("easy_ham", f"h{i}") for i in range(10)]
    assign_folds(records, 5)
    figs = cv_figures(records, 5, lambda _k: cfg)
    assert sum(f.n for f in figs["phishing_pot"] if f) == 10
    assert sum(f.bad for f in figs["phishing_pot"] if f) == 10  # 7.0 points: suspicious or worse
    assert sum(f.bad for f in figs["easy_ham"] if f) == 0


def test_fit_respects_signs_and_pins(tmp_path):
    pytest.importorskip("scipy")
    import fit_weights as fw

    cfg = load_scoring()
    # LURE_PRIZE marks phishing, MAILING_LIST marks ham; AUTH_DKIM_NONE (an era marker) marks
    # phishing perfectly here and must stay pinned; LINK_FORM appears on ham only, so the fit
    # would like it negative but its sign keeps it >= 0.
    records = [rec("phishing_pot", f"p{i}", "LURE_PRIZE", "LURE_URGENCY", "AUTH_DKIM_NONE") for i in range(40)]
    records += [rec("easy_ham", f"h{i}", "MAILING_LIST", "LINK_FORM") for i in range(40)]
    records += [rec("hard_ham", f"b{i}", "LURE_URGENCY", "LINK_FORM") for i in range(20)]
    weights, plan = fw.fit(records, cfg, l2=0.002, prior="hand")
    assert "AUTH_DKIM_NONE" not in weights and "era marker" in plan.pinned["AUTH_DKIM_NONE"]
    assert weights["LURE_PRIZE"] > 0
    assert weights["LINK_FORM"] >= 0
    assert -4.0 <= weights["MAILING_LIST"] <= 0
    new, w, plan, t = fw.fit_and_threshold(records, cfg, 0.002, "hand")
    assert t >= cfg.thresholds["suspicious"]

    path = tmp_path / "scores.toml"
    path.write_text((REPO / "src/lurelens/scoring/scores.toml").read_text())
    fw.write_scores(path, w, t, t * 2, "data synthetic; date today; command test", plan)
    again = load_scoring(path)
    for name, value in w.items():
        got = again.symbols[name]["weight"] if name in again.symbols else next(
            c.weight for c in again.composites if c.name == name)
        assert got == pytest.approx(value)
    assert "# Fitted weights (scripts/fit_weights.py): data synthetic" in path.read_text()
    # Writing twice keeps one provenance block.
    fw.write_scores(path, w, t, t * 2, "data synthetic; date today; command test", plan)
    assert path.read_text().count("# end of fit provenance") == 1
    # A symbol fitted to 0 is fitted again (with its sign) from the written file, not pinned.
    again = load_scoring(path)
    zeroed = [n for n, v in w.items() if v == 0]
    _, plan2 = fw.fit(records, again, l2=0.002, prior="hand")
    assert zeroed and all(n in plan2.fitted for n in zeroed)
