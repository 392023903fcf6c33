"""Lookalike domains: which protected domain (an outlet's, a brand's, the organisation's own) a
domain in the message imitates, and how. The index (lurelens.registry.lookalike) names the
imitated domain instead of generating variants of one's own, as dnstwist does."""

from __future__ import annotations

from lurelens.checks.base import Check, Context, Symbol, capped, limit_finding, limits_of, sender_addresses
from lurelens.model import Finding, Message
from lurelens.parse.identity import sender_domains
from lurelens.parse.sending_domain import brand_own_sending_domain
from lurelens.parse.urls import registrable_domain

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("LOOKALIKE_DOMAIN_HOMOGLYPH", "A domain imitates a protected one with look-alike letters (Cyrillic, Greek, l/1, rn/m)"),
    Symbol("LOOKALIKE_DOMAIN_EDIT", "A domain is a protected one with a letter or two changed, added or dropped"),
    Symbol("LOOKALIKE_DOMAIN_COMBOSQUAT", "A domain joins a protected name with words such as news, secure or login"),
    Symbol("LOOKALIKE_DOMAIN_TLD_SWAP", "A domain is a protected name under another top-level domain"),
    Symbol("LOOKALIKE_DOMAIN_SUBDOMAIN", "A protected domain is used as a subdomain of an unrelated one"),
    Symbol("BRAND_OWN_SENDING_DOMAIN", "A domain that joins a brand's name with other words authenticates the mail, and its "
           "links and images lead only to the brand's own site or its mail provider: the brand's own sending domain"),
)

_TECHNIQUE = {
    "homoglyph": "LOOKALIKE_DOMAIN_HOMOGLYPH",
    "punycode": "LOOKALIKE_DOMAIN_HOMOGLYPH",
    "mixed_script": "LOOKALIKE_DOMAIN_HOMOGLYPH",
    "edit_distance": "LOOKALIKE_DOMAIN_EDIT",
    "combosquat": "LOOKALIKE_DOMAIN_COMBOSQUAT",
    "tld_swap": "LOOKALIKE_DOMAIN_TLD_SWAP",
    "subdomain": "LOOKALIKE_DOMAIN_SUBDOMAIN",
}
_SENDER_PLACES = frozenset({"From", "Reply-To", "Return-Path", "Sender", "DKIM d="})


def _domains(msg: Message, ctx: Context, limited: list[Finding]) -> list[tuple[str, str]]:
    """(where, host) to look up: the sender's domains, then distinct link hosts and hosts fetched
    on open, each up to its cap in Limits with hosts unrelated to the sender first."""
    out: list[tuple[str, str]] = []
    for where, addr in sender_addresses(msg):
        if "@" in addr:
            out.append((where, addr.rpartition("@")[2].lower()))
    dkim = msg.auth.get("results", {}).get("dkim")
    if dkim is not None and dkim.props.get("header.d"):
        out.append(("DKIM d=", dkim.props["header.d"].lower()))
    own = sender_domains(msg)
    limits = limits_of(ctx)
    link_hosts = list(dict.fromkeys(h for lk in msg.links for h in (lk.host, lk.final_host) if h))
    res_hosts = list(dict.fromkeys(r.host for r in msg.resources if r.host))
    for where, hosts, cap, name in (("link", link_hosts, limits.check_link_hosts, "check_link_hosts"),
                                    ("resource", res_hosts, limits.check_resource_hosts, "check_resource_hosts")):
        chosen, total = capped(hosts, cap, lambda h: registrable_domain(h) not in own)
        if total > cap:
            limited.append(limit_finding("lookalike", f"{where} hosts", cap, total, name))
        out += [(where, h) for h in chosen]
    return out


def run(msg: Message, ctx: Context):
    index = ctx.data.lookalikes
    own = sender_domains(msg)
    # A seen domain whose name is an ordinary word (online.com) is one letter away from many brands
    # (eonline.com), and a protected name that is a common word (Times) is matched by many others.
    ordinary, common = ctx.data.words("ordinary_labels"), ctx.data.words("common_alias_words")
    # Where a lookalike sits changes what it means (impersonation in the sender, a lure in a link,
    # a disguised beacon in a fetched resource): a strength per place, from scores.toml.
    strengths = ctx.strengths.get("lookalike", {})
    default = strengths.get("default", 1.0)
    seen_hosts: set[str] = set()
    emitted: set[tuple[str, str]] = set()
    limited: list[Finding] = []
    for where, host in _domains(msg, ctx, limited):
        if host in seen_hosts:
            continue
        seen_hosts.add(host)
        m = index.check(host)
        if m is None:
            continue
        if m.technique in ("edit_distance", "combosquat", "tld_swap"):
            label = registrable_domain(host).split(".")[0]
            if label in ordinary or m.imitates.split(".")[0] in common:
                continue
            if m.technique == "tld_swap" and len(label) < 5:
                continue  # three- and four-letter names are shared by unrelated organisations per country
        symbol = _TECHNIQUE.get(m.technique, "LOOKALIKE_DOMAIN_EDIT")
        if m.technique == "combosquat" and (where in _SENDER_PLACES or registrable_domain(host) in own):
            # A brand's own sending domain (brand-mail.com) is a combosquat by construction; it is
            # told from a squatter by authentication and by where the mail sends the reader.
            ent = ctx.data.entities.entity_for_domain(m.imitates)
            brand = set(ent.domains) if ent is not None else {registrable_domain(m.imitates)}
            own_evidence = brand_own_sending_domain(msg, ctx.data, host, brand)
            if own_evidence:
                if ("BRAND_OWN_SENDING_DOMAIN", m.imitates) not in emitted:
                    emitted.add(("BRAND_OWN_SENDING_DOMAIN", m.imitates))
                    yield Finding("BRAND_OWN_SENDING_DOMAIN", f"{where} {m.domain} joins {m.imitates} ({m.owner}) "
                                  f"with other words, but {own_evidence}", strength=1.0)
                continue
        if (symbol, m.imitates) in emitted:
            continue
        emitted.add((symbol, m.imitates))
        yield Finding(symbol, f"{where} {m.domain} imitates {m.imitates} ({m.owner}): {m.detail}",
                      strength=strengths.get(where, default))
    yield from limited


CHECK = Check("lookalike", SYMBOLS, run)
