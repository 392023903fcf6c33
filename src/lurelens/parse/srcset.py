"""The one ``srcset`` parser, as the HTML standard splits the attribute: a candidate's URL runs to
the next whitespace (it may contain commas), then its descriptors run to the next comma outside
parentheses. The inventory, the leak report and defuse all use it, so they agree on what is fetched."""

from __future__ import annotations

__all__ = ["srcset_candidates", "srcset_urls"]

_SPACE = " \t\n\r\f"


def srcset_candidates(value: str) -> list[tuple[str, str]]:
    """(URL, descriptors) pairs of a srcset attribute, in order."""
    out, i, n = [], 0, len(value)
    while i < n:
        while i < n and value[i] in _SPACE + ",":
            i += 1
        j = i
        while j < n and value[j] not in _SPACE:
            j += 1
        url, desc, i = value[i:j], "", j
        if url.endswith(","):
            url = url.rstrip(",")  # "a.png," ends the candidate: no descriptors
        else:
            depth, k = 0, i
            while k < n and not (value[k] == "," and depth == 0):
                if value[k] == "(":
                    depth += 1
                elif value[k] == ")":
                    depth = max(depth - 1, 0)
                k += 1
            desc, i = value[i:k].strip(), k + 1
        if url:
            out.append((url, desc))
    return out


def srcset_urls(value: str) -> list[str]:
    """The candidate URLs of a srcset attribute, in order."""
    return [u for u, _d in srcset_candidates(value)]
