"""lurelens: catch reconnaissance spear-phishing before the beacon fires.

The Python API (documented in docs/api.md)::

    >>> from lurelens import Scanner, defuse      # defuse(raw, links=...) is the lurelens.defuse package, callable
    >>> scanner = Scanner()                      # loads the shipped data and scoring; reuse it
    >>> verdict = scanner.scan(open("message.eml", "rb").read())
    >>> verdict.label, verdict.score, verdict.incomplete, [f.symbol for f in verdict.findings]
    >>> verdict.to_dict()                        # the `scan --json` object (schema/verdict.schema.json)
    >>> safe = defuse(open("message.eml", "rb").read())
    >>> safe.data, safe.report.to_dict()         # the defused copy and what was changed
"""

from lurelens.errors import BrowserNotAvailable, ConfigError, InputError, LurelensError
from lurelens.model import ClusterFeatures, Finding, Message, Verdict
from lurelens.parse import Limits
from lurelens.scanner import Scanner
from lurelens.settings import ScannerSettings

__version__ = "0.1.0"

# The defuse package is callable: ``lurelens.defuse(raw, links=...)`` (see lurelens.defuse). A plain
# function of that name here would be replaced by the package as soon as it is imported.
from lurelens import defuse  # noqa: E402  (it reads __version__)


__all__ = [
    "BrowserNotAvailable",
    "ClusterFeatures",
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
