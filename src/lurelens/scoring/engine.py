"""From findings to a verdict. Every number comes from the scoring file (``scores.toml``).

The shape follows rspamd: a symbol's weight lives outside the check, symbols belong to groups
whose positive total is capped (many weak signals of one kind must not add up to a verdict), and
composites ("A and B and not C") add or subtract score when signals meet.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from lurelens.errors import ConfigError
from lurelens.model import Finding, Verdict
from lurelens.model.verdict import LABELS
from lurelens.scoring.expr import ExprError, compile_expr

__all__ = ["ScoringConfig", "load_scoring", "score"]


@dataclass
class Composite:
    name: str
    expression: str
    weight: float
    group: str
    description: str
    attack: list[str]
    test: Callable[[set[str], set[str]], bool]
    names: set[str] = field(default_factory=set)


@dataclass
class ScoringConfig:
    symbols: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    composites: list[Composite]
    thresholds: dict[str, float]
    recon_composites: list[str]
    tracked_groups: list[str]
    labels: dict[str, str]
    floor_suspicious: list[str] = field(default_factory=list)
    nested_factor: float = 0.5
    tracked_symbols: list[str] = field(default_factory=list)
    recon_excluded_by: Callable[[set[str], set[str]], bool] | None = None
    incomplete_groups: list[str] = field(default_factory=list)
    incomplete_symbols: list[str] = field(default_factory=list)
    # [strengths.<check>]: a finding's strength by where its item sits (checks read it via Context)
    strengths: dict[str, dict[str, float]] = field(default_factory=dict)
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> dict[str, tuple[str, tuple[str, ...], float, bool]]:
        """Per symbol, read once: (group, ATT&CK ids, weight, weight is zero). Built again when
        ``symbols`` is replaced (scripts/fit_weights.py copies a config with new weights so)."""
        cached = self.__dict__.get("_table")
        if cached is None or cached[0] is not self.symbols:
            cached = (self.symbols, {name: (sym.get("group", "other"), tuple(sym.get("attack", [])),
                                            float(sym.get("weight", 0.0)), sym.get("weight", 0) == 0)
                                     for name, sym in self.symbols.items()})
            self.__dict__["_table"] = cached
        return cached[1]


def load_scoring(path: str | Path | None = None) -> ScoringConfig:
    try:
        if path is None:
            text = (resources.files("lurelens") / "scoring" / "scores.toml").read_text(encoding="utf-8")
            source = "lurelens/scoring/scores.toml"
        else:
            text = Path(path).read_text(encoding="utf-8")
            source = str(path)
        doc = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot load scoring file {path or 'scores.toml'}: {exc}") from exc
    try:
        symbols = doc["symbols"]
        groups = doc.get("groups", {})
        verdict = doc["verdict"]
        comps = []
        for c in doc.get("composites", []):
            fn, names = compile_expr(c["expression"])
            comps.append(
                Composite(c["name"], c["expression"], float(c.get("weight", 0.0)), c.get("group", "composite"),
                          c.get("description", ""), list(c.get("attack", [])), fn, names)
            )
        for name in verdict.get("floor_suspicious", []):
            if name not in symbols:
                raise ConfigError(f"{source}: floor_suspicious names unknown symbol {name!r}")
        for name, sym in symbols.items():
            if sym.get("group") and sym["group"] not in groups:
                raise ConfigError(f"{source}: symbol {name} names unknown group {sym['group']!r}")
        cfg = ScoringConfig(
            symbols=symbols,
            groups=groups,
            composites=comps,
            thresholds={"suspicious": float(verdict["suspicious"]), "phishing": float(verdict["phishing"])},
            recon_composites=list(verdict.get("recon_composites", [])),
            tracked_groups=list(verdict.get("tracked_groups", [])),
            labels=dict(doc.get("labels", {})),
            floor_suspicious=list(verdict.get("floor_suspicious", [])),
            nested_factor=float(verdict.get("nested_factor", 0.5)),
            tracked_symbols=list(verdict.get("tracked_symbols", [])),
            recon_excluded_by=compile_expr(verdict["recon_excluded_by"])[0] if verdict.get("recon_excluded_by") else None,
            incomplete_groups=list(verdict.get("incomplete_groups", [])),
            incomplete_symbols=list(verdict.get("incomplete_symbols", [])),
            strengths={check: {where: float(v) for where, v in table.items()}
                       for check, table in doc.get("strengths", {}).items()},
            source=source,
            raw=doc,
        )
    except (KeyError, TypeError, ValueError, ExprError) as exc:
        raise ConfigError(f"{source}: invalid scoring file: {exc}") from exc
    missing = [lbl for lbl in LABELS if lbl not in cfg.labels]
    if missing:
        raise ConfigError(f"{source}: labels without a written definition: {', '.join(missing)}")
    return cfg


_UNSCORED: tuple[str, tuple[str, ...], float, bool] = ("other", (), 0.0, True)  # a symbol the scoring file does not list


def score(findings: list[Finding], cfg: ScoringConfig, descriptions: dict[str, str]) -> Verdict:
    best: dict[str, Finding] = {}
    table = cfg.table
    for f in findings:
        group, attack_ids, weight, _zero = table.get(f.symbol, _UNSCORED)
        f.group = group
        f.attack = list(attack_ids)
        f.description = descriptions.get(f.symbol, f.description)
        raw = weight * f.strength
        if f.nested:
            raw *= cfg.nested_factor
        f.score = raw
        prev = best.get(f.symbol)
        if prev is None or abs(raw) > abs(prev.score):
            best[f.symbol] = f
    # A symbol counts once, at its strongest; repeats stay listed as evidence with no score.
    for f in findings:
        if best.get(f.symbol) is not f:
            f.score = 0.0

    group_totals: dict[str, float] = {}
    for f in best.values():
        if f.score > 0:
            group_totals[f.group] = group_totals.get(f.group, 0.0) + f.score
    present = {s for s, f in best.items() if f.score != 0 or table.get(s, _UNSCORED)[3]}
    present_groups = {g for g, t in group_totals.items() if t > 0}

    # Composites are tested per message: the outer message's own findings, then each attached
    # message's (message/rfc822), so a forwarded lure's beacon never combines with the
    # forwarder's authentication. A composite fires once, for the outermost message it fits;
    # for an attached message it is attributed to it and weighs nested_factor.
    scopes: dict[str | None, tuple[set[str], set[str]]] = {None: (set(), set())}
    for f in findings:
        weight = table.get(f.symbol, _UNSCORED)[2]
        syms, groups = scopes.setdefault(f.nested, (set(), set()))
        if weight * f.strength != 0 or weight == 0:
            syms.add(f.symbol)
        if weight * f.strength > 0:
            groups.add(f.group)
    composite_findings: list[Finding] = []
    for c in cfg.composites:
        for scope, (syms, groups) in scopes.items():
            if not c.test(syms, groups):
                continue
            syms.add(c.name)
            if c.weight > 0:
                groups.add(c.group)
            if any(cf.symbol == c.name for cf in composite_findings):
                continue  # already fired for an outer message
            # Evidence names the signals that met, not the whole expression.
            met = sorted(n for n in c.names if n in syms)
            weight = c.weight * (cfg.nested_factor if scope else 1.0)
            cf = Finding(c.name, evidence=" + ".join(met) or c.expression, score=weight,
                         description=c.description, group=c.group, attack=c.attack, nested=scope)
            composite_findings.append(cf)
            present.add(c.name)
            if weight > 0:
                group_totals[c.group] = group_totals.get(c.group, 0.0) + weight
                present_groups.add(c.group)

    total = 0.0
    for g, t in group_totals.items():
        cap = cfg.groups.get(g, {}).get("cap")
        total += min(t, float(cap)) if cap is not None else t
    for f in list(best.values()) + composite_findings:
        if f.score < 0:
            total += f.score

    th = cfg.thresholds
    beacon = any(c.symbol in cfg.recon_composites for c in composite_findings)
    if beacon and total >= th["suspicious"]:
        # `recon` is the reconnaissance pattern: the beacon is the point of the message. A lure
        # that also asks for credentials or money (recon_excluded_by) is phishing that tracks.
        label = "phishing" if cfg.recon_excluded_by is not None and cfg.recon_excluded_by(present, present_groups) \
            else "recon"
    elif total >= th["phishing"]:
        label = "phishing"
    elif total >= th["suspicious"] or any(f.symbol in cfg.floor_suspicious and f.score > 0 for f in best.values()):
        # A floor symbol makes the message suspicious whatever credit the rest earned.
        label = "suspicious"
    elif any(g in present_groups for g in cfg.tracked_groups) or any(s in present for s in cfg.tracked_symbols):
        label = "tracked"
    else:
        label = "clean"

    # What was not scanned is never called clean (the groups and symbols are in scores.toml).
    gaps = [f for f in findings
            if f.group in cfg.incomplete_groups or f.symbol in cfg.incomplete_symbols]
    incomplete_reasons = list(dict.fromkeys(
        f"{f.symbol}{' [attached ' + f.nested + ']' if f.nested else ''}: {f.evidence}" for f in gaps))
    if gaps and label == "clean":
        label = "incomplete"

    all_findings = findings + composite_findings
    all_findings.sort(key=lambda f: -f.score)
    attack = sorted({a for f in all_findings if f.score > 0 for a in f.attack})
    return Verdict(label=label, score=round(total, 3), findings=all_findings, reasons=[], attack=attack,
                   incomplete=bool(gaps), incomplete_reasons=incomplete_reasons)
