"""Attachments whose type is risky in itself: HTML files (a credential form past link filters),
executables and scripts, macro-enabled Office documents, and names that hide their real type
behind a second extension."""

from __future__ import annotations

import re

from lurelens.checks.base import Check, Context, Symbol
from lurelens.model import Finding, Message

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("ATTACH_HTML", "An HTML file is attached (a common way to carry a credential form past link filters)"),
    Symbol("ATTACH_EXECUTABLE", "An executable or script is attached"),
    Symbol("ATTACH_DOUBLE_EXTENSION", "An attachment name hides its real type behind a second extension"),
    Symbol("ATTACH_MACRO_OFFICE", "A macro-enabled Office document is attached"),
)

_EXEC = re.compile(
    r"\.(exe|scr|com|pif|bat|cmd|js|jse|vbs|vbe|wsf|wsh|hta|ps1|msi|msp|lnk|jar|iso|img|vhdx?|cpl|dll|reg|appx|msix|one|xll)$",
    re.I,
)
_MACRO = re.compile(r"\.(docm|xlsm|pptm|dotm|xltm|xlam|ppam|sldm)$", re.I)
_DOUBLE = re.compile(r"\.(pdf|docx?|xlsx?|jpe?g|png|txt|zip)\s*\.[a-z0-9]{2,4}$", re.I)


def run(msg: Message, ctx: Context):
    for att in msg.attachments:
        name = att.filename or ""
        # Needs a file name: list servers turn a post's HTML body into a nameless text/html part.
        if name and re.search(r"\.(s?html?|xhtml|svg|shtml|mht|mhtml)$", name, re.I):
            yield Finding("ATTACH_HTML", name or att.content_type)
        if _EXEC.search(name) or att.content_type in ("application/x-msdownload", "application/x-ms-installer"):
            yield Finding("ATTACH_EXECUTABLE", name or att.content_type)
        if _DOUBLE.search(name):
            yield Finding("ATTACH_DOUBLE_EXTENSION", name)
        if _MACRO.search(name):
            yield Finding("ATTACH_MACRO_OFFICE", name)


CHECK = Check("attachments", SYMBOLS, run)
