"""Open-time beacons: remote fetches that tell a sender the message was opened, and by whom.

SpamAssassin reads a web bug as a sign of ordinary bulk mail and rspamd computes tiny-image
features without scoring them. Here a beacon is a finding in its own right, and a beacon to an
unlisted host (an attacker's own server rather than a marketing vendor) is called out separately:
that is what the APT31 mail used.
"""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol, first_time
from lurelens.model import Finding, Message
from lurelens.parse.identity import IMAGE_KINDS, is_open_beacon, sender_domains
from lurelens.parse.leaks import read_receipt_requests
from lurelens.parse.urls import is_ip_literal, is_public_ip

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("REMOTE_CONTENT", "Opening the message fetches content from remote hosts"),
    Symbol("TRACKER_PIXEL_HIDDEN", "A hidden or 0-2 px remote image is fetched on open: a web beacon"),
    Symbol("TRACKER_KNOWN_VENDOR", "A URL fetched on open belongs to a known e-mail tracking vendor"),
    Symbol("TRACKER_RECIPIENT_TOKEN", "A URL fetched on open carries the recipient's address, in clear, encoded or hashed"),
    Symbol("TRACKER_OPAQUE_ID", "A hidden fetch carries a high-entropy identifier, likely minted per recipient"),
    Symbol(
        "TRACKER_UNLISTED_BEACON",
        "A hidden beacon goes to a host that is neither a known tracking vendor nor the sender's domain",
    ),
    Symbol(
        "TRACKER_OPEN_REPORTED",
        "Opening it reports the reader: a hidden fetch, a tracking vendor's URL or the recipient's address in a URL (never scored; makes the message at least tracked)",
    ),
    Symbol(
        "READ_RECEIPT_REQUESTED",
        "The message asks for a read receipt (Disposition-Notification-To, Return-Receipt-To, X-Confirm-Reading-To): the sender learns when it was opened if the client sends one",
    ),
    Symbol("REMOTE_IP_LITERAL", "Content fetched on open comes from a bare IP address"),
    Symbol("REMOTE_DOCUMENT", "Opening the message loads a remote document (iframe, object, embed, meta refresh)"),
)

def reports_reader(r) -> bool:
    """Does this fetch tell someone who opened the message, beyond an ordinary image load? A hidden
    fetch, a tracking vendor's URL, or the recipient's address in the URL. (An opaque identifier
    in a visible image is not enough: banner and upload file names look just as random.)"""
    return bool(r.hidden or r.tracker or (r.recipient_token or "").startswith("email:"))


def run(msg: Message, ctx: Context):
    for name, addr in read_receipt_requests(msg):
        yield Finding("READ_RECEIPT_REQUESTED", f"{name}: {addr}")
    res = msg.resources
    if not res:
        return
    hosts = sorted({r.host for r in res})
    yield Finding("REMOTE_CONTENT", f"{len(res)} fetch{'es' if len(res) != 1 else ''} to {len(hosts)} "
                  f"host{'s' if len(hosts) != 1 else ''}: {', '.join(hosts[:6])}")
    reporting = sorted({r.host for r in res if reports_reader(r)})
    if reporting:
        yield Finding("TRACKER_OPEN_REPORTED", f"{', '.join(reporting[:6])}"
                      + (f" and {len(reporting) - 6} more" if len(reporting) > 6 else ""))
    own = sender_domains(msg)
    spacer = ctx.data.trackers
    # Hosts the site's analysts allowed (allowed_hosts.txt) still fetch on open (REMOTE_CONTENT,
    # TRACKER_OPEN_REPORTED: the message stays at least `tracked`), but are not counted as trackers.
    allowed = ctx.data.local
    once = first_time()

    for r in res:
        if not allowed.host_entry(r.host):
            yield from _tracking(r, own, spacer, once)
        if is_ip_literal(r.host) and is_public_ip(r.host) and once("REMOTE_IP_LITERAL", r.host):
            yield Finding("REMOTE_IP_LITERAL", f"{r.kind} from {r.host}: {r.url[:160]}")
        # A document from the sender's own site is the sender's own page, not a remote payload.
        if r.kind in ("frame", "object", "meta-refresh") and r.domain not in own and once("REMOTE_DOCUMENT", r.url):
            yield Finding("REMOTE_DOCUMENT", f"{r.element}: {r.url[:160]}")


def _tracking(r, own: set[str], spacer, once):
    """The tracker findings of one fetch."""
    if r.tracker and once("TRACKER_KNOWN_VENDOR", r.tracker):
        yield Finding("TRACKER_KNOWN_VENDOR", f"{r.tracker}: {r.host} ({r.kind})")
    if r.recipient_token and r.recipient_token.startswith("email:") and once("TRACKER_RECIPIENT_TOKEN", r.host):
        yield Finding("TRACKER_RECIPIENT_TOKEN", f"{r.host} gets the recipient as {r.recipient_token[6:]}: {r.url[:160]}")
    if is_open_beacon(r) and not spacer.is_spacer(r.url):
        if r.hidden and r.kind in IMAGE_KINDS and once("TRACKER_PIXEL_HIDDEN", r.host):
            yield Finding("TRACKER_PIXEL_HIDDEN", f"{r.host}: {r.hidden_reason}: {r.url[:160]}")
        if r.recipient_token == "opaque_id" and once("TRACKER_OPAQUE_ID", r.host):
            yield Finding("TRACKER_OPAQUE_ID", f"{r.host} ({r.kind}): identifier {r.token_evidence}", strength=0.8)
        if not r.tracker and r.domain not in own and once("TRACKER_UNLISTED_BEACON", r.host):
            yield Finding(
                "TRACKER_UNLISTED_BEACON",
                f"{r.host} ({r.kind}) is not a known tracking vendor and not the sender's domain "
                f"({', '.join(sorted(own)) or 'none'})",
            )


CHECK = Check("trackers", SYMBOLS, run)
