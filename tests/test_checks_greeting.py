"""lurelens.checks.greeting: one firing message and one near miss per symbol."""

from __future__ import annotations

from conftest import symbol_case_tests, text
from lurelens.checks import greeting


CASES = {
    "GREETING_USES_ADDRESS": (text("Dear bob@example.org,\nplease see below."), text("Dear Bob,\nplease see below."), False),
    "GREETING_GENERIC": (text("Dear customer,\nplease see below."), text("Dear Bob,\nplease see below."), False),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(greeting, CASES)
