"""Links: where a click really goes, compared with what the reader is shown.

Text that shows one domain over an href to another, hosts written as IP numbers or with userinfo
(``https://paypal.com@evil.example/``), punycode and mixed scripts, shorteners and redirectors that
hide the destination, and article links routed through an unrelated tracking host.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from lurelens.checks.base import ADDR_IN_NAME, Check, Context, Symbol, capped, first_time, limit_finding, limits_of
from lurelens.model import Finding, Message
from lurelens.parse.identity import sender_domains
from lurelens.parse.redirects import decode_redirect  # noqa: F401 - its old import path
from lurelens.parse.urls import has_known_suffix, is_ip_literal, is_public_ip, registrable_domain, split_url, to_unicode_host

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("LINK_TEXT_HOST_MISMATCH", "A link's visible text shows a domain its href does not go to"),
    Symbol("LINK_IP_LITERAL", "A link goes to a bare IP address"),
    Symbol("LINK_USERINFO", "A link hides its real host behind user-info (name@host)"),
    Symbol("LINK_PUNYCODE", "A link's host is punycode (internationalised)"),
    Symbol("LINK_MIXED_SCRIPT", "A link's host mixes Latin letters with another script in one label"),
    Symbol("LINK_SHORTENER", "A link goes through a URL shortener that hides the destination"),
    Symbol("LINK_REDIRECT_PARAM", "A link carries another URL in a parameter (a redirect); the final target is decoded"),
    Symbol("LINK_OPEN_REDIRECTOR", "A link goes through a known open redirector"),
    Symbol("LINK_VIA_TRACKING_HOST", "Links pass through a tracking host unrelated to the sender"),
    Symbol("LINK_SCRIPT_SCHEME", "A link uses a javascript: or data: URL"),
    Symbol("LINK_FORM", "The message contains a form that submits to a remote host"),
    Symbol("SENDER_OWN_SITE", "Most links lead to the sender's own site and remote content comes from sites it "
           "links to or a known mail provider: an organisation's own mail"),
    Symbol("LINKS_ELSEWHERE", "No link of this HTML mail leads to the sender's own site: an organisation's mail links home"),
    Symbol("LINK_FREE_HOSTING", "Links lead to a tenant site on a free hosting platform"),
)

_DOMAINISH = re.compile(
    r"(?:https?://)?((?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9\-]{2,30}))(?=$|[/:\s?#])",
    re.I,
)
_URLISH = re.compile(r"^(?:https?|hxxps?|ftp)://", re.I)
_FILE_LIKE = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|zip|png|jpe?g|gif|html?|php|aspx?|txt|csv)$", re.I)


def _shown_domain(text: str) -> str | None:
    """The domain a link's text displays, when the text is a lone URL or domain name."""
    t = text.strip().lower()
    if not t or len(t) > 300 or " " in t:
        # A sentence that mentions a domain is not a displayed URL.
        return None
    m = _DOMAINISH.match(t)
    if not m:
        return None
    host = m.group(1).rstrip(".")
    if not _URLISH.match(t) and (_FILE_LIKE.search(host) or not has_known_suffix(host)):
        return None  # "report.pdf" or "index.html" is a file name, not a domain
    return host


def _scripts(label: str) -> set[str]:
    out = set()
    for ch in label:
        if ch.isascii():
            if ch.isalpha():
                out.add("LATIN")
            continue
        try:
            name = unicodedata.name(ch)
        except ValueError:
            continue
        out.add(name.split()[0])
    return out


def _links(msg: Message, ctx: Context):
    if not msg.links:
        return
    data = ctx.data
    own = sender_domains(msg)
    cap = limits_of(ctx).check_links
    links, total = capped(msg.links, cap, lambda lk: lk.domain not in own)
    if total > cap:
        yield limit_finding("links", "links", cap, total, "check_links")
    trackers = data.trackers
    once = first_time()
    via_hosts: dict[str, int] = {}

    dests: list[str] = []  # where each followable link ends up (registrable domain)
    for lk in links:
        href = lk.href
        low = href[:12].lower()
        if low.startswith(("javascript:", "data:", "vbscript:")):
            if once("LINK_SCRIPT_SCHEME", href[:40]):
                yield Finding("LINK_SCRIPT_SCHEME", f"{href[:80]}")
            continue
        info = split_url(href)
        if info is None:
            continue
        host = info.host
        if lk.kind == "form":
            # A form posting to the sender's own site (a newsletter's search box) asks nothing of
            # the reader that the sender could not ask at home.
            if info.domain not in own and once("LINK_FORM", host):
                yield Finding("LINK_FORM", f"form posts to {host}")
            continue
        if info.userinfo and once("LINK_USERINFO", host):
            yield Finding("LINK_USERINFO", f"'{unquote(info.userinfo)[:60]}@' before the real host {host}")
        if is_ip_literal(host) and is_public_ip(host) and once("LINK_IP_LITERAL", host):
            yield Finding("LINK_IP_LITERAL", href[:160])
        if "xn--" in host:
            uh = to_unicode_host(host)
            if once("LINK_PUNYCODE", host):
                yield Finding("LINK_PUNYCODE", f"{host} is {uh}")
            for label in uh.split("."):
                sc = _scripts(label)
                if len(sc) > 1 and once("LINK_MIXED_SCRIPT", host):
                    yield Finding("LINK_MIXED_SCRIPT", f"{uh}: label '{label}' mixes {', '.join(sorted(sc))}")
                    break
        if data.is_shortener(host) and once("LINK_SHORTENER", host):
            yield Finding("LINK_SHORTENER", f"{host}: {href[:120]}")
        red = data.redirector_for(host, info.path)
        final = lk.final_url  # decoded once at enrich time
        if final:
            fi = split_url(final)
            if fi and fi.domain != info.domain and once("LINK_REDIRECT_PARAM", fi.host):
                yield Finding("LINK_REDIRECT_PARAM", f"{host} forwards to {final[:160]}", strength=1.0 if red is None else 0.6)
        if red is not None and red.get("kind") == "open_redirect" and once("LINK_OPEN_REDIRECTOR", host):
            yield Finding("LINK_OPEN_REDIRECTOR", f"{host}" + (f" -> {lk.final_host}" if lk.final_host else ""))
        tracking_host = (red is not None and red.get("kind") == "click_tracker") or trackers.match(href, host)
        if tracking_host and info.domain not in own and lk.kind != "text":
            via_hosts[host] = via_hosts.get(host, 0) + 1
        if lk.kind in ("a", "area") and info.domain and not (tracking_host and not lk.final_host) and not data.is_shortener(host):
            dests.append(registrable_domain(lk.final_host) if lk.final_host else info.domain)
        shown = _shown_domain(lk.text) if lk.kind != "text" else None
        if shown:
            shown_rd = registrable_domain(shown)
            real = {info.domain}
            if lk.final_host:
                real.add(registrable_domain(lk.final_host))
            if shown_rd and shown_rd not in real and once("LINK_TEXT_HOST_MISMATCH", shown_rd + ">" + info.domain):
                # A click-tracking ESP host that is not decoded is weaker evidence than a bare swap.
                strength = 0.5 if tracking_host else 1.0
                if info.domain in own and data.entities.entity_for_domain(shown_rd) is None:
                    # The sender's own click host showing a partner's or its own other site
                    # (ummail.unitedmedia.com under "dilbert.com"): the old ESP habit, not a
                    # disguise. Showing a known brand or outlet it is not keeps full weight.
                    strength = 0.3
                yield Finding("LINK_TEXT_HOST_MISMATCH", f"text shows {shown} but the link goes to {host}", strength=strength)
    for host, n in sorted(via_hosts.items(), key=lambda kv: -kv[1])[:3]:
        yield Finding("LINK_VIA_TRACKING_HOST", f"{n} link(s) pass through {host}, unrelated to the sender")
    split = _home_split(msg, ctx, dests, own)
    elsewhere = _links_elsewhere(split)
    if elsewhere:
        yield Finding("LINKS_ELSEWHERE", elsewhere)
    consistent = _own_site(msg, split)
    if consistent:
        yield Finding("SENDER_OWN_SITE", consistent)


def _home_split(msg: Message, ctx: Context, dests: list[str], own: set[str]) -> tuple[str, list[str], list[str]] | None:
    """(sender's domain, link destinations on its own site, the others) for an organisation's
    HTML mail; None for people, hosted tenants and lists, whose links may go anywhere."""
    frm = next((a for a in msg.from_ if a.domain), None)
    if frm is None or not msg.html or msg.header("List-Post"):
        return None
    data = ctx.data
    fdom = registrable_domain(frm.domain)
    if not fdom or data.is_freemail(frm.domain) or data.free_hosting_suffix(frm.domain) or data.tenant_platform(frm.domain):
        return None  # people and hosted tenants link wherever they like
    shown = ADDR_IN_NAME.search(frm.display_name)
    if shown:
        # A masking or forwarding service rewrote the From ("news@site.com [relay]" <x@relay>):
        # the site named in the display name is the one whose links count as home.
        own = own | {registrable_domain(shown.group(1).lower())}
    ents = data.entities
    sender_ent = ents.entity_for_domain(fdom)
    label = fdom.split(".")[0].replace("-", "")
    home: list[str] = []
    elsewhere: list[str] = []
    everyones = data.words("everyones_link_domains")  # links every organisation's mail carries
    for d in dests:
        if not d or d in everyones:
            continue
        ent = ents.entity_for_domain(d)
        if ent is not None and ent.category in ("social", "messaging"):
            continue  # "follow us" icons
        dl = d.split(".")[0].replace("-", "")
        if (d in own or (sender_ent is not None and ent is sender_ent)
                or (len(label) >= 4 and label in d.replace("-", "")) or (len(dl) >= 4 and dl in fdom.replace("-", ""))):
            home.append(d)
        else:
            elsewhere.append(d)
    return fdom, home, elsewhere


def _links_elsewhere(split: tuple[str, list[str], list[str]] | None) -> str | None:
    """Evidence when an organisation's HTML mail has links and none leads to its own site."""
    if split is None or split[1] or not split[2]:
        return None
    fdom, _, counted = split
    shown = ", ".join(sorted(set(counted))[:3])
    return f"{len(counted)} link(s) lead to {shown}; none to the sender's {fdom}"


# An organisation's own mail: most links lead home, and what it loads comes from home, from
# where its links go, or from a known mail-provider/tracking vendor.
HOME_LINK_SHARE = 0.6
HOME_RESOURCE_SHARE = 0.8
MIN_HOME_LINKS = 2


def _own_site(msg: Message, split: tuple[str, list[str], list[str]] | None) -> str | None:
    """Evidence when the mail keeps to its sender's own site (links and remote content)."""
    if split is None:
        return None
    fdom, home, elsewhere = split
    if len(home) < MIN_HOME_LINKS or len(home) < HOME_LINK_SHARE * (len(home) + len(elsewhere)):
        return None
    linked = set(home) | set(elsewhere)
    res = [r for r in msg.resources if r.domain]
    ok = sum(1 for r in res if r.domain in linked or r.tracker)
    if res and ok < HOME_RESOURCE_SHARE * len(res):
        return None
    return (f"{len(home)} of {len(home) + len(elsewhere)} links lead to {fdom}'s own site"
            + (f"; {ok} of {len(res)} remote fetches from sites it links to or a known mail provider" if res else ""))


def _free_hosting(msg: Message, ctx: Context):
    """The first link host (riskiest first) that is a tenant of a free hosting platform."""
    data = ctx.data
    hosts = list(dict.fromkeys(lk.host for lk in msg.links if lk.host))
    own = sender_domains(msg)
    cap = limits_of(ctx).check_link_hosts
    hosts, total = capped(hosts, cap, lambda h: registrable_domain(h) not in own)
    if total > cap:
        yield limit_finding("links (free hosting)", "link hosts", cap, total, "check_link_hosts")
    for host in hosts:
        fh = data.free_hosting_suffix(host)
        if fh:
            yield Finding("LINK_FREE_HOSTING", f"{host} is a {fh} tenant")
            break


def run(msg: Message, ctx: Context):
    yield from _links(msg, ctx)
    yield from _free_hosting(msg, ctx)


CHECK = Check("links", SYMBOLS, run)
