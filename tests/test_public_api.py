"""The public surface: every module declares ``__all__`` and every name in it exists (as httpx
checks), the package exports what the README uses, and the exception tree is complete."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import lurelens
from lurelens import errors

MODULES = sorted(m.name for m in pkgutil.walk_packages(lurelens.__path__, "lurelens."))


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_its_exports(name):
    if name.startswith("lurelens.render.browser"):
        pytest.importorskip("playwright")
    mod = importlib.import_module(name)
    assert hasattr(mod, "__all__"), f"{name} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names missing objects: {missing}"


def test_package_exports():
    assert set(lurelens.__all__) == {
        "BrowserNotAvailable", "ClusterFeatures", "ConfigError", "Finding", "InputError", "Limits", "LurelensError",
        "Message", "Scanner", "ScannerSettings", "Verdict", "__version__", "defuse",
    }


def test_exception_tree():
    from lurelens.scoring.expr import ExprError
    from lurelens.sources import SourceError

    for exc in (errors.ConfigError, errors.InputError, errors.BrowserNotAvailable, SourceError, ExprError):
        assert issubclass(exc, errors.LurelensError)
    assert issubclass(ExprError, errors.ConfigError)
    assert issubclass(SourceError, ValueError) and issubclass(ExprError, ValueError)  # what older callers caught
    every = {c for m in MODULES if not m.startswith("lurelens.render.browser")
             for c in vars(importlib.import_module(m)).values()
             if isinstance(c, type) and issubclass(c, Exception) and c.__module__.startswith("lurelens")
             and not c.__name__.startswith("_")}
    adapter_internal = {"ScanFailed", "Overloaded", "ScanTimeout", "ProtocolError"}  # never leave their adapter
    outside = sorted(c.__name__ for c in every if not issubclass(c, errors.LurelensError) and c.__name__ not in adapter_internal)
    assert not outside, f"public exceptions outside the LurelensError tree: {outside}"
    from lurelens.render.browser import BrowserNotAvailable

    assert BrowserNotAvailable is errors.BrowserNotAvailable


def test_input_error_is_raised_for_text(scanner):
    with pytest.raises(errors.InputError):
        scanner.scan("From: a@example.com\r\n\r\nhi")  # type: ignore[arg-type]
    assert scanner.scan(bytearray(b"From: a@example.com\r\n\r\nhi")).label
