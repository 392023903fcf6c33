"""lurelens: catch reconnaissance spear-phishing before the beacon fires.

The Python API (documented in docs/api.md)::

    >>> from lurelens import Scanner, defuse
    >>> scanner = Scanner()                      # loads the shipped data and scoring; reuse it
    >>> verdict = scanner.scan(open("message.eml", "rb").read())
    >>> verdict.label, verdict.score, verdict.incomplete, [f.symbol for f in verdict.findings]
    >>> verdict.to_dict()                        # the `scan --json` object (schema/verdict.schema.json)
    >>> safe = defuse(open("message.eml", "rb").read())
    >>> safe.data, safe.report.to_dict()         # the defused copy and what was changed
"""

from lurelens.errors import ConfigError, InputError, LurelensError
from lurelens.model import Finding, Message, Verdict
from lurelens.parse import Limits
from lurelens.scanner import Scanner
from lurelens.settings import ScannerSettings

__version__ = "0.1.0"


def defuse(raw: bytes, *, links: str = "visible"):
    """A copy of the message ``raw`` that is safe to open in any mail client.

    Every remote fetch is removed or replaced, links are rewritten (``links``: ``"visible"`` shows
    each destination, ``"defang"`` makes them unclickable, ``"warn"`` replaces them by a warning),
    read-receipt requests are disabled, attachments are copied through untouched. Returns a
    ``DefuseResult`` with ``data`` (the new message, bytes) and ``report`` (what was changed;
    ``report.to_dict()`` is the ``defuse --json`` object, schema/defuse.schema.json). Raises
    ValueError for an unknown ``links`` mode.
    """
    from lurelens.report.defuse import defuse as _defuse

    return _defuse(raw, links=links)


__all__ = [
    "ConfigError",
    "Finding",
    "InputError",
    "Limits",
    "LurelensError",
    "Message",
    "Scanner",
    "ScannerSettings",
    "Verdict",
    "__version__",
    "defuse",
]
