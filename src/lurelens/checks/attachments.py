"""Attachments whose type is risky in itself: HTML files (a credential form past link filters),
executables and scripts, macro-enabled Office documents, and names that hide their real type
behind a second extension; and the marks of a lure document: a name of random letters minted per
message, a declared type its name contradicts, a text that says nothing beside the document."""

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
    Symbol("ATTACH_NAME_RANDOM", "An attachment's name is a token of random mixed-case letters and digits, minted per message to defeat hash and name filters"),
    Symbol("ATTACH_TYPE_MISMATCH", "An attachment's name says one kind of file (a PDF) while its declared type says another (an image)"),
    Symbol("ATTACH_BODY_EMPTY", "The text says next to nothing and a document is attached: the lure is in the attachment"),
)

_EXEC = re.compile(
    r"\.(exe|scr|com|pif|bat|cmd|js|jse|vbs|vbe|wsf|wsh|hta|ps1|msi|msp|lnk|jar|iso|img|vhdx?|cpl|dll|reg|appx|msix|one|xll)$",
    re.I,
)
_MACRO = re.compile(r"\.(docm|xlsm|pptm|dotm|xltm|xlam|ppam|sldm)$", re.I)
_DOUBLE = re.compile(r"\.(pdf|docx?|xlsx?|jpe?g|png|txt|zip)\s*\.[a-z0-9]{2,4}$", re.I)
# Documents a lure is carried in (not inline images: a signature logo is not a document).
_DOCUMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|odt|rtf|s?html?|svg|zip|rar|7z|iso|img)$", re.I)
_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CASE_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_VOWEL = re.compile(r"[aeiouAEIOU]")
_IMAGE_EXT = ("jpg", "jpeg", "png", "gif", "bmp", "webp")
_DOC_EXT = ("pdf", "doc", "docx", "xls", "xlsx")
_BODY_EMPTY_WORDS = 20  # fewer words of text than this, beside a document, says nothing
_MAX_NAMED = 10  # attachments whose names are read (Limits bound the parts; this bounds the work)


def _random_token(tok: str) -> bool:
    """Letter salad such as 'pBDp08qj9IiC6' or 'ZwdLKpiPxvo68U5y1n': mixed case switching often,
    as generators mint, in which several case-words have no vowel. People's names ('JohnSmith',
    'McDonald'), camel-case words ('InvoiceMarch'), shouting ('INVOICE2024'), hex and serial
    numbers are not."""
    if len(tok) < 7:
        return False
    letters = [c for c in tok if c.isalpha()]
    if len(letters) < 5:
        return False
    upper = sum(1 for c in letters if c.isupper())
    if upper in (0, len(letters)):
        return False
    switches = sum(1 for a, b in zip(letters, letters[1:]) if a.isupper() != b.isupper())
    digits_inside = any(c.isdigit() for c in tok[1:-1]) and not tok[-4:].isdigit()
    if not (switches >= 5 or (switches >= 3 and digits_inside)):
        return False
    # Camel-cased words ('McDonaldsReceipt', 'TitanSpinsWinZone') have vowels in nearly every word.
    words = _CASE_WORDS.findall("".join(letters))
    return sum(1 for w in words if not _VOWEL.search(w)) >= 2


def _type_mismatch(name: str, ctype: str) -> bool:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    ctype = ctype.lower()
    if ext in _DOC_EXT and ctype.startswith("image/"):
        return True
    return ext in _IMAGE_EXT and ("pdf" in ctype or "msword" in ctype or "officedocument" in ctype)


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
    named = [(a.filename, a.content_type) for a in msg.attachments[:_MAX_NAMED] if a.filename and not a.inline]
    for fname, _ctype in named:
        if any(_random_token(t) for t in _TOKEN_SPLIT.split(fname.rsplit(".", 1)[0])):
            yield Finding("ATTACH_NAME_RANDOM", fname)
            break
    for fname, ctype in named:
        if _type_mismatch(fname, ctype):
            yield Finding("ATTACH_TYPE_MISMATCH", f"{fname} declared {ctype}")
            break
    docs = [fname for fname, _ctype in named if _DOCUMENT.search(fname)]
    words = len(msg.visible_text[:2000].split()) if docs else _BODY_EMPTY_WORDS  # a bounded prefix
    if words < _BODY_EMPTY_WORDS and not msg.nested:
        yield Finding("ATTACH_BODY_EMPTY", f"{words} words of text beside {docs[0]}")


CHECK = Check("attachments", SYMBOLS, run)
