"""Every module under src/lurelens has its test file (as mitmproxy checks): ``lurelens/a/b.py`` is
tested by ``tests/test_a_b.py`` or ``tests/test_b.py`` (any tail of its dotted path) or by its
package's ``tests/test_a.py``; a module tested under another name is listed in
``TESTED_ELSEWHERE`` with the file that tests it, and that file must name the module (or the
package that re-exports it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "lurelens"
TESTS = ROOT / "tests"

# module (path under lurelens/, no .py; a package by its directory) -> the test file that covers it
TESTED_ELSEWHERE = {
    "adapters": "test_cli.py",
    "adapters/batch": "test_cli_first_contact.py",
    "adapters/_hunt_warm": "test_hunt.py",
    "adapters/feedback": "test_api_feedback.py",
    "registry/local": "test_checks_local.py",
    "adapters/environment": "test_shipping.py",
    "adapters/milter": "test_milter_protocol.py",
    "auth": "test_auth_verify.py",
    "auth/dkim": "test_auth_unit.py",
    "auth/dmarc": "test_auth_unit.py",
    "auth/inputs": "test_auth_verify.py",
    "auth/resolver": "test_auth_unit.py",
    "auth/spf": "test_auth_unit.py",
    "checks": "test_checks_meta.py",
    "checks/base": "test_purity.py",
    "checks/verify": "test_auth_verify.py",
    "errors": "test_public_api.py",
    "model": "test_verdict_model.py",
    "model/leaks": "test_parse_leaks.py",
    "model/message": "test_parse_mime.py",
    "model/verdict": "test_verdict_model.py",
    "parse": "test_parse_mime.py",
    "parse/author": "test_checks_author.py",
    "registry": "test_lookalike.py",
    "registry/entities": "test_checks_impersonation.py",
    "registry/intel/formats": "test_intel.py",
    "registry/intel_import": "test_sharing.py",
    "registry/intel/normalise": "test_intel.py",
    "registry/lookalike/confusables": "test_lookalike.py",
    "registry/lookalike/distance": "test_lookalike.py",
    "registry/lookalike/hosts": "test_lookalike.py",
    "registry/lookalike/index": "test_lookalike.py",
    "render": "test_render_browser.py",
    "render/merge": "test_defuse_browser.py",
    "report": "test_defuse.py",
    "report/defuse_css": "test_defuse_engine.py",
    "report/defuse_html": "test_defuse_engine.py",
    "report/explain": "test_verdict_meaning.py",
    "report/headers": "test_milter_protocol.py",
    "report/jsonout": "test_cli_first_contact.py",
    "report/leaks": "test_defuse_engine.py",
    "report/text": "test_defuse.py",
    "scanner": "test_checks_structure.py",
    "testing": "test_checks_links.py",
    "registry/phrases": "test_fast_paths.py",
    "testing/builder": "test_milter_protocol.py",
    "testing/fakedns": "test_auth_unit.py",
    "testing/postfix": "test_milter_postfix.py",
    "testing/server": "test_api.py",
    "testing/services": "test_store.py",
}


def _modules() -> list[str]:
    out = []
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if "migrations" in parts:  # Alembic revisions: run by tests/test_store.py, not imported
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out.append("/".join(parts))
    return out


def _conventional(module: str) -> list[str]:
    """test_a_b_c.py, test_b_c.py, test_c.py (tails), and test_a_b.py, test_a.py (the package's own file)."""
    parts = module.split("/")
    tails = ["test_" + "_".join(parts[i:]) + ".py" for i in range(len(parts))]
    heads = ["test_" + "_".join(parts[:i]) + ".py" for i in range(len(parts) - 1, 0, -1)]
    return tails + heads


def _names(test_text: str, module: str) -> bool:
    """True when the test file names the module, or a package above it that re-exports it."""
    parts = module.split("/")
    for n in range(len(parts), 0, -1):
        dotted = "lurelens." + ".".join(parts[:n])
        pkg, _, last = dotted.rpartition(".")
        if re.search(rf"\b{re.escape(dotted)}\b", test_text) or re.search(
                rf"from {re.escape(pkg)} import [^\n]*\b{re.escape(last)}\b", test_text):
            return True
    return False


MODULES = _modules()


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_its_test_file(module):
    if any((TESTS / name).is_file() for name in _conventional(module)):
        return
    assert module in TESTED_ELSEWHERE, (
        f"lurelens/{module} has no test file: add tests/{_conventional(module)[0]} (or list the file that "
        "tests it in TESTED_ELSEWHERE)")
    test_file = TESTS / TESTED_ELSEWHERE[module]
    assert test_file.is_file(), f"{test_file.name} (listed for {module}) does not exist"
    assert _names(test_file.read_text(encoding="utf-8"), module), f"{test_file.name} does not name lurelens.{module}"


def test_the_exceptions_list_has_no_stale_entries():
    stale = [m for m in TESTED_ELSEWHERE if m not in MODULES]
    conventional = [m for m in TESTED_ELSEWHERE if any((TESTS / n).is_file() for n in _conventional(m))]
    assert not stale, f"no such module: {stale}"
    assert not conventional, f"these have a conventionally named test file now: {conventional}"
