"""lurelens.checks.greeting: one firing message and one near miss per symbol."""

from __future__ import annotations

from conftest import symbol_case_tests
from lurelens.checks import greeting
from lurelens.testing import MessageBuilder


def text(body: str, subject: str = "Hello", sender: str | None = None) -> bytes:
    b = MessageBuilder().subject(subject).text(body)
    if sender:
        b.sender(sender)
    return b.build()


def html(body: str) -> bytes:
    return MessageBuilder().html(body).build()


def link(href: str) -> bytes:
    return MessageBuilder().text("x").html(f'<p>Hi Bob,</p><a href="{href}">the site</a>').build()


CASES = {
    "GREETING_USES_ADDRESS": (text("Dear bob@example.org,\nplease see below."), text("Dear Bob,\nplease see below."), False),
    "GREETING_GENERIC": (text("Dear customer,\nplease see below."), text("Dear Bob,\nplease see below."), False),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(greeting, CASES)
