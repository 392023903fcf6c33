"""Cross-validation on the dev corpus: each message's findings extracted once (cached), grouped
folds that keep one campaign / sender domain and month together, and per-set figures measured
only on held-out folds. Shared by ``bench/eval.py --cv`` and ``scripts/fit_weights.py``.

Checks do not read weights, so findings are extracted once and re-scored with any scoring
config by the engine's own ``score()`` (group caps, composites and thresholds included).
"""

from __future__ import annotations

import hashlib
import pickle
import statistics
import sys
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import iter_sets  # noqa: E402

import lurelens  # noqa: E402
from lurelens.model import Finding  # noqa: E402
from lurelens.model.verdict import SEVERITY  # noqa: E402
from lurelens.parse.urls import registrable_domain  # noqa: E402
from lurelens.scoring import ScoringConfig, score  # noqa: E402

# Sets whose figures the issue sets targets for; the rest (spam, malformed, auth-tests) are shown
# for information only.
PHISH_SETS = ("phishing_pot",)
HAM_SETS = ("easy_ham", "usrp-users", "hard_ham", "unspy")


@dataclass(slots=True)
class Record:
    """One message as the fit and the CV need it: where it is from, its group, its raw findings."""

    set: str
    kind: str
    file: str
    group: str
    findings: list[tuple[str, float, bool]]  # (symbol, strength, nested)
    fold: int = -1
    extra: dict = field(default_factory=dict)


def code_fingerprint() -> str:
    """Hash of everything findings depend on (checks, parsers, data), not the scoring file."""
    root = Path(lurelens.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".txt", ".json") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def group_key(msg, set_name: str) -> str:
    """Sender registrable domain + month of the Date header (domain alone when undated): one
    campaign or one sender's month of mail never straddles a training and a held-out fold."""
    dom = ""
    if msg is not None and msg.from_:
        dom = registrable_domain(msg.from_[0].domain or "") or msg.from_[0].addr.lower()
    month = "nodate"
    if msg is not None and msg.date:
        try:
            month = parsedate_to_datetime(msg.date).strftime("%Y-%m")
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return f"{set_name}|{dom or '?'}|{month}"


def extract(corpus: Path, sets: list[str] | None = None, cache: Path | None = None,
            refresh: bool = False) -> list[Record]:
    """Scan every dev message once and keep its findings; reuse ``cache`` when the code matches."""
    fp = code_fingerprint()
    key = f"{fp}|{corpus.resolve()}|{','.join(sets or [])}"
    if cache is None:
        cache = Path("/tmp") / f"lurelens-findings-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pkl"
    if cache.is_file() and not refresh:
        try:
            with cache.open("rb") as fh:
                stored_key, records = pickle.load(fh)
            if stored_key == key:
                print(f"findings from cache {cache} ({len(records)} messages)", file=sys.stderr)
                return records
        except Exception:  # noqa: BLE001 - a stale or broken cache is rebuilt
            pass
    from lurelens import Scanner

    scanner = Scanner()
    records: list[Record] = []
    t0 = time.time()
    for name, kind, files in iter_sets(corpus, sets):
        for f in files:
            v = scanner.scan(f.read_bytes(), file=str(f))
            comp = {c.name for c in scanner.scoring.composites}
            fnd = [(x.symbol, float(x.strength), bool(x.nested)) for x in v.findings if x.symbol not in comp]
            records.append(Record(name, kind, str(f.relative_to(corpus)), group_key(v.message, name), fnd))
        print(f"  extracted {name}: {len(files)} messages ({time.time() - t0:.0f}s)", file=sys.stderr)
    with cache.open("wb") as fh:
        pickle.dump((key, records), fh)
    print(f"findings cached in {cache}", file=sys.stderr)
    return records


def assign_folds(records: list[Record], k: int) -> None:
    """Grouped, per-set folds: groups sorted by size (largest first, ties by a stable hash) go to
    the fold with the fewest messages of that set, so folds are balanced and deterministic."""
    by_set: dict[str, dict[str, list[Record]]] = {}
    for r in records:
        by_set.setdefault(r.set, {}).setdefault(r.group, []).append(r)
    for groups in by_set.values():
        sizes = [0] * k
        order = sorted(groups, key=lambda g: (-len(groups[g]), hashlib.sha1(g.encode()).hexdigest()))
        for g in order:
            i = min(range(k), key=lambda j: (sizes[j], j))
            for r in groups[g]:
                r.fold = i
            sizes[i] += len(groups[g])


def label_of(rec: Record, cfg: ScoringConfig) -> tuple[str, float]:
    """The label and score ``cfg`` gives this message, computed by the engine itself."""
    fnd = [Finding(s, strength=st, nested="1" if n else None) for s, st, n in rec.findings]
    v = score(fnd, cfg, {})
    return v.label, v.score


@dataclass
class SetFigures:
    n: int = 0
    bad: int = 0  # suspicious or worse
    severe: int = 0  # phishing or recon

    @property
    def bad_rate(self) -> float:
        return self.bad / self.n if self.n else 0.0


def cv_figures(records: list[Record], k: int, cfg_for_fold: Callable[[int], ScoringConfig]
               ) -> dict[str, list[SetFigures]]:
    """Per set, the figures of each held-out fold scored with the config fitted without it."""
    out: dict[str, list[SetFigures]] = {}
    for fold in range(k):
        cfg = cfg_for_fold(fold)
        per: dict[str, SetFigures] = {}
        for r in records:
            if r.fold != fold:
                continue
            lbl, _ = label_of(r, cfg)
            fig = per.setdefault(r.set, SetFigures())
            fig.n += 1
            fig.bad += SEVERITY.get(lbl, 0) >= SEVERITY["suspicious"]
            fig.severe += lbl in ("phishing", "recon")
        for s, fig in per.items():
            out.setdefault(s, [None] * k)[fold] = fig  # type: ignore[list-item]
    return out


def print_cv_table(figs: dict[str, list[SetFigures]], k: int, title: str) -> None:
    print(f"{title}: {k}-fold grouped cross-validation, every figure on held-out folds only")
    print(f"{'set':14} {'n':>5}  {'suspicious-or-worse':>20} {'mean':>7} {'min':>7} {'max':>7}  phishing/recon")
    for s, folds in figs.items():
        present = [f for f in folds if f is not None and f.n]
        n = sum(f.n for f in present)
        bad = sum(f.bad for f in present)
        severe = sum(f.severe for f in present)
        rates = [f.bad_rate for f in present]
        mean = statistics.fmean(rates) if rates else 0.0
        print(f"{s:14} {n:5}  {bad:>9} = {bad / n if n else 0:7.1%} {mean:7.1%} {min(rates, default=0):7.1%} "
              f"{max(rates, default=0):7.1%}  {severe}")
