"""Helpers shared by the data builders: paths, the registrable domain (the runtime Public Suffix List
lurelens itself uses, so the built data and the scanner agree on what a registrable domain is),
host and name normalising, the meta block every data file carries, deterministic JSON, writing."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path

from lurelens.parse.urls import PSL

REPO = Path(__file__).resolve().parent.parent.parent
DATA_SRC = REPO / "data-src"
DEFAULT_OUT = REPO / "src" / "lurelens" / "data"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DATA_DATE = "2026-11-23"  # date stamped into every meta block; bump when the data is refreshed (--date sets it)


def registrable(host: str) -> str:
    """The registrable domain of ``host`` by the runtime PSL (lurelens.parse.urls.PSL, private
    suffixes included), or "" when it has none (a bare suffix, an unknown TLD)."""
    try:
        return PSL.privatesuffix(host.lower().rstrip("."), accept_unknown=False) or ""
    except Exception:  # noqa: BLE001 - odd labels have no registrable domain
        return ""


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
