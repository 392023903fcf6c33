"""The package as a user installs it: a wheel built from the repository, installed into a fresh
virtualenv (not the editable install the rest of the suite uses), must carry every file the
package reads and scan the bundled lure as the development checkout does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

PKG = REPO / "src" / "lurelens"


def _data_files() -> set[str]:
    """Every non-Python file under src/lurelens, as a wheel path (lurelens/...)."""
    out = set()
    for p in PKG.rglob("*"):
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts:
            out.add("lurelens/" + p.relative_to(PKG).as_posix())
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: the venv already has setuptools; isolation would fetch it again.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        # Fall back to an isolated build (downloads setuptools from PyPI).
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
            capture_output=True, text=True, timeout=600,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = list(out.glob("lurelens-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_every_package_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_data_files() - names)
    assert not missing, f"package data not declared in pyproject.toml: {missing}"
    assert "lurelens/scoring/scores.toml" in names


def test_wheel_in_fresh_venv_scans_the_example(wheel, tmp_path, apt31_example):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    # Dependencies come from the package index (PyPI); lurelens itself only from the built wheel.
    proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # Run from an empty directory so the checkout's src/ cannot be imported by accident.
    where = subprocess.run([str(py), "-c", "import lurelens, sys; print(lurelens.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert str(venv) in where.stdout, where.stdout + where.stderr
    proc = subprocess.run([str(venv / "bin" / "lurelens"), "scan", "--json", str(apt31_example)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    d = json.loads(proc.stdout.splitlines()[0])
    assert d["verdict"] == "recon"
    assert d["remote_resources"], "the example's beacon must be listed"
