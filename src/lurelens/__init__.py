"""lurelens: catch reconnaissance spear-phishing before the beacon fires.

    >>> from lurelens import Scanner
    >>> verdict = Scanner().scan(open("message.eml", "rb").read())
    >>> verdict.label, verdict.score, [f.symbol for f in verdict.findings]
"""

from lurelens.errors import BrowserNotAvailable, ConfigError, InputError, LurelensError
from lurelens.model import ClusterFeatures, Finding, Message, Verdict
from lurelens.parse import Limits
from lurelens.scanner import Scanner
from lurelens.settings import ScannerSettings

__version__ = "0.1.0"

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
]
