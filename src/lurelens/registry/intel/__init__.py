"""Threat-intel indicators (domains, IPs, URLs, file hashes, e-mail addresses) from local files.

Files are read from the shipped ``lurelens/data/iocs/`` plus the directories the store is given
(front ends pass ``$LURELENS_INTEL_DIR`` and ``<data overlay>/iocs/``; the store itself reads no
environment). Every ``*.txt``
file holds one indicator per line::

    domain  evil.example.net      # comment, e.g. a report URL
    ip      203.0.113.0/24        # CIDR ranges are accepted
    url     hxxps://evil[.]example[.]net/a.php
    sha256  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

(a line with a value only has its type inferred), and every ``*.csv`` file has the columns
``type,value,comment`` (a header row is optional). Defanged forms (``hxxp``, ``[.]``, ``(dot)``,
``[@]``, ``[:]``) are accepted. A malformed line is skipped and counted in :attr:`IntelStore.errors`;
loading never raises.

The store notices when files change on disk: at most once every ``recheck_seconds`` (0 = on every
lookup) a lookup compares the directory listings and each file's mtime and size with what was
loaded, re-reads only the files that changed and swaps in a new index. Lookups read an immutable
snapshot, so concurrent threads in one process see either the old or the new index, never half of
one. See docs/intel.md.

Modules: ``normalise`` (the indexed form of each indicator type), ``formats`` (the line and CSV
file formats), ``store`` (the store, its index and lookups).
"""

from __future__ import annotations

from lurelens.registry.intel.formats import INDICATOR_TYPES, parse_csv, parse_lines
from lurelens.registry.intel.normalise import normalise_domain, normalise_email, normalise_url, refang
from lurelens.registry.intel.store import IntelHit, IntelStore, default_store

__all__ = [
    "INDICATOR_TYPES",
    "IntelHit",
    "IntelStore",
    "default_store",
    "normalise_domain",
    "normalise_email",
    "normalise_url",
    "parse_csv",
    "parse_lines",
    "refang",
]
