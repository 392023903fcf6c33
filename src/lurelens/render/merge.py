"""Static and dynamic together: render a scanned message and merge what the browser fetched.

A host the browser contacted that the static inventory missed becomes a finding of its own
(RENDER_UNLISTED_FETCH): either the inventory has a gap, or the HTML is built to hide a fetch
from static readers. The message is rendered with the scanner's own part choice, ``cid:`` parts
inlined, so the browser sees what a mail client would display.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from lurelens.model import Finding, Verdict
from lurelens.parse.mime import Limits, parse_message

if TYPE_CHECKING:
    from lurelens.scanner import Scanner

__all__ = ["RenderStage", "displayed_html", "html_and_cids", "NOT_OBSERVABLE_KINDS"]

# Fetch kinds a private Chromium context never performs or never shows (DNS prefetch and
# preconnect are skipped in incognito; favicons are fetched by the browser UI, not the page).
NOT_OBSERVABLE_KINDS = frozenset({"preconnect", "dns-prefetch", "icon"})


def displayed_html(raw: bytes, limits: Limits | None = None,
                   trusted_authserv: list[str] | None = None) -> tuple[str, dict[str, tuple[str, bytes]]]:
    """The HTML a mail client would display (the scanner's part choice) and the ``cid:`` parts."""
    limits = dataclasses.replace(limits or Limits(), keep_cids=True)
    msg = parse_message(raw, limits, trusted_authserv=trusted_authserv)
    return "\n".join(h for _p, h in msg.html_parts), msg.cid_parts


def html_and_cids(raw: bytes, scanner: "Scanner") -> tuple[str, dict[str, tuple[str, bytes]]]:
    return displayed_html(raw, scanner.limits, scanner.trusted_authserv_ids)


class RenderStage:
    """A Scanner stage (``Scanner(render=RenderStage())``): renders each scanned message in one
    reused, locked-down browser and merges what it fetched into the verdict (requests, leaks,
    RENDER_UNLISTED_FETCH, score and reasons). The browser starts when the stage is built, so a
    missing Chromium is known before the first message; a pickled stage starts a new browser in
    the process that uses it."""

    def __init__(self, timeout: float = 10.0, executable_path: str | None = None):
        self.timeout = timeout
        self.executable_path = executable_path
        self.renderer: Any = None
        self._start()

    def _start(self) -> None:
        from lurelens.render.browser import BrowserRenderer

        self.renderer = BrowserRenderer(self.executable_path).start()

    def __getstate__(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "executable_path": getattr(self, "executable_path", None)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.renderer = None  # started on first use

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()

    def apply(self, scanner: "Scanner", verdict: Verdict, raw: bytes | None = None) -> None:
        """Render ``verdict``'s message and merge the result into ``verdict``. The Scanner calls
        this itself when it has the stage; ``raw`` is only needed for a message parsed without
        its ``cid:`` parts."""
        from lurelens.parse.leaks import open_leaks
        from lurelens.scoring import score
        from lurelens.scoring.explain import explain

        msg = verdict.message
        if raw is not None and (msg is None or (not msg.cid_parts and "cid:" in (msg.html or "").lower())):
            html, cids = html_and_cids(raw, scanner)
        else:
            html, cids = "\n".join(h for _p, h in msg.html_parts), msg.cid_parts
        if not html:
            verdict.extra["requests"] = []
            return
        if self.renderer is None:
            self._start()
        result = self.renderer.render(html, cid=cids, timeout=self.timeout)
        reqs: list[dict[str, Any]] = [{"url": r.url, "host": r.host, "type": r.type} for r in result.requests]
        verdict.extra["requests"] = reqs
        verdict.open_leaks = open_leaks(msg, reqs)
        if result.error:
            verdict.errors.append(f"render: {result.error}")
        if result.timed_out:
            verdict.errors.append("render: time limit reached; requests recorded so far are listed")
        static = {r.host for r in msg.resources}
        missed = sorted({r.host for r in result.requests if r.host and r.host not in static})
        # Composites are recomputed by scoring; they are known by name (some belong to other
        # groups, UNAUTHENTICATED_SENDER to "auth"), so filter on the names, not the group.
        composites = {c.name for c in scanner.scoring.composites}
        findings = [f for f in verdict.findings if f.symbol not in composites]
        for host in missed:
            url = next(r.url for r in result.requests if r.host == host)
            findings.append(Finding("RENDER_UNLISTED_FETCH", f"{host}: {url[:160]}"))
        if missed:
            new = score(findings, scanner.scoring, scanner.descriptions)
            verdict.label, verdict.score, verdict.findings, verdict.attack = new.label, new.score, new.findings, new.attack
            verdict.reasons = explain(verdict, scanner.scoring.labels)
