"""A brand's own sending domain versus a combosquat of it: ``brand-mail.com`` and a squatter's
``brand-secure.com`` look alike; authentication and where the mail sends the reader tell them
apart. Shared by the lookalike and impersonation checks so both read the same evidence (``data``
is the DataRegistry: entities, trackers, redirectors)."""

from __future__ import annotations

from lurelens.model import Message
from lurelens.parse.urls import registrable_domain

__all__ = ["authenticated_domains", "brand_own_sending_domain"]

def authenticated_domains(msg: Message) -> set[str]:
    """Registrable domains the receiver authenticated for this message: the From domain when DMARC
    passed, and a passing DKIM signature's d=."""
    res = msg.auth.get("results", {})
    out: set[str] = set()
    dmarc, dkim = res.get("dmarc"), res.get("dkim")
    if dmarc is not None and dmarc.result == "pass":
        out |= {registrable_domain(a.domain) for a in msg.from_ if a.domain}
    if dkim is not None and dkim.result == "pass" and dkim.props.get("header.d"):
        out.add(registrable_domain(dkim.props["header.d"].lower()))
    out.discard("")
    return out


def brand_own_sending_domain(msg: Message, data, domain: str, brand_domains: set[str]) -> str | None:
    """Evidence that ``domain``, a combosquat of a brand, is that brand's own sending domain
    (``brand-mail.com``, a retailer's own mail-provider domain), or None.

    All of these must hold: the receiver authenticated the mail for ``domain`` (DMARC pass or a
    passing DKIM d=); it has links and at least one leads to the brand's own site; every link
    leads to the brand's site, a social or app-store page, a known mail-provider/tracking host,
    or a subdomain of ``domain`` (the provider's click host, ``click.brand-mail.com``) that is not
    its web site; there is no form; every remote fetch comes from the brand, ``domain`` or a known
    vendor. A combosquat that authenticates itself but sends the reader to itself (its ``www`` or
    bare name, where a phishing page lives) or anywhere else keeps firing."""
    rd = registrable_domain(domain)
    if not rd or rd not in authenticated_domains(msg) or not brand_domains:
        return None
    to_brand = 0
    everyones = data.words("everyones_link_domains")  # links every brand's mail carries ("follow us", app stores)
    links = [lk for lk in msg.links if lk.kind != "text"]
    for lk in links:
        if lk.kind == "form":
            return None
        dests = [registrable_domain(lk.final_host)] if lk.final_host else []
        if lk.domain in brand_domains or (dests and dests[0] in brand_domains):
            to_brand += 1
            continue
        if not lk.domain or lk.domain in everyones:
            continue
        ent = data.entities.entity_for_domain(lk.domain)
        if ent is not None and ent.category in ("social", "messaging"):
            continue
        if dests and dests[0] not in brand_domains and dests[0] != rd:
            return None  # a redirect out to somewhere else
        vendor = data.trackers.match(lk.href, lk.host) or (data.redirector_for(lk.host, "") or {}).get("kind") == "click_tracker"
        if vendor:
            continue
        host = lk.host.lower().rstrip(".")
        if lk.domain == rd and host != rd and not host.startswith("www."):
            continue  # the provider's click host on the brand's sending domain
        return None
    if to_brand == 0:
        return None
    for r in msg.resources:
        if r.domain and r.domain not in brand_domains and r.domain != rd and not r.tracker:
            return None
    return (f"{domain} authenticates the mail and {to_brand} of {len(links)} links lead to "
            f"{', '.join(sorted(brand_domains)[:2])}; the rest to its mail provider")
