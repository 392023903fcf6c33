"""Who the message claims to be, against who really sent it.

Claims come from the display name, the From local part, subject prefixes, bylines and signature
blocks ("reporter at Reuters"), the masthead (alt text, title, first line) and the outlets whose
articles it links. Each is compared with the authenticated sender: the DMARC-aligned From domain,
else a DKIM d= that passed, else the unauthenticated From domain, which counts for less. The
APT31 mail posed as news outlets and journalists; most phishing poses as a brand.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lurelens.checks.base import CaseBlind, Check, Context, Symbol, limits_of
from lurelens.parse.identity import beacon_hosts, sender_identity
from lurelens.model import Finding, Message
from lurelens.parse.headers import is_feed_gateway_local
from lurelens.parse.text import mixes_latin_and_lookalikes
from lurelens.parse.sending_domain import brand_own_sending_domain
from lurelens.parse.urls import registrable_domain
from lurelens.registry.entities import Entity, normalize_name

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("IMPERSONATION_BRAND", "The message claims to be from a brand but comes from a domain the brand does not use"),
    Symbol("IMPERSONATION_NEWS_OUTLET", "The message claims to be from a news outlet but comes from a domain the outlet does not use"),
    Symbol("IMPERSONATION_PROTECTED", "The message names a protected organisation or person but comes from outside its domains"),
    Symbol("IMPERSONATION_FREEMAIL", "A brand or news outlet is claimed from a free-mail address"),
    Symbol("JOURNALIST_FREEMAIL", "A journalist persona (byline or signature naming an outlet) writes from free mail"),
    Symbol("NEWS_CONTENT_UNRELATED_SENDER", "News articles are carried by a sender unrelated to their outlet, with an open-time beacon"),
    Symbol("CLAIM_SENDER_UNLISTED", "The claimed brand or outlet's own links fill the message, but the sending domain is not one it is known to use"),
)



@lru_cache(maxsize=8)
def _role_patterns(roles: str) -> tuple[re.Pattern[str], re.Pattern[str], CaseBlind]:
    """Bylines ("reporter at X", "X correspondent") and the role word alone, for the journalist
    roles of data/words/journalist_roles.txt (an alternation; compiled once per list). The role
    word is searched case-sensitively in the folded text (checks/base.py CaseBlind): the
    case-blind alternation at every position of the text was most of this check's cost."""
    byline = re.compile(
        rf"(?i:{roles})\s*(?:at|for|with|of|from|,|\||-|–|—|bei|chez|en|na|da|del|de)\s+"
        r"((?:the\s+)?[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,4})"
    )
    byline_rev = re.compile(
        r"((?:the\s+)?[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,3})\s+"
        rf"(?i:senior |chief |political |foreign |staff |special )?(?i:{roles})\b"
    )
    return byline, byline_rev, CaseBlind(re.compile(rf"(?i:{roles})"), roles)


# Matched against the subject without its leading whitespace, every repetition bounded: a
# leading \s* before the lazy group backtracked cubically (a Subject of 16,000 spaces: 55 s).
_SUBJECT_PREFIX = re.compile(r"(?:\[([^\]]{2,40})\]|([^:|\[\]]{2,40}?)\s{1,40}[|])")
_FORWARD = re.compile(r"^\s*(?:fwd?|fw|wg|tr|rv|enc|i)\s*:", re.I)
_MIXED_WORD = re.compile(r"\w{4,}")
# A footer that says whose publication this is: "You received this briefing because you follow
# X", "(c) 2026 X", "X Newsletter | unsubscribe". Only the closing lines are read, and only a line
# with such a cue, so an outlet quoted in the text ("as X reported") is not a claim.
_FOOTER_CUE = re.compile(
    r"(?i)\b(?:you (?:received|are receiving|get)|(?:sent|delivered) to you|because you (?:follow|subscribed|signed up)"
    r"|subscri(?:bed|ber|ption)|newsletter|briefing|unsubscribe|all rights reserved|copyright)\b|©|\(c\)")
FOOTER_CHARS = 400
# The same cue searched case-sensitively in the folded segment first (checks/base.py CaseBlind):
# the case-blind alternation at every position of every closing line was most of _claims' cost.
_FOOTER_CUE_FAST = CaseBlind(_FOOTER_CUE, _FOOTER_CUE.pattern.removeprefix("(?i)"))
_SENTENCE_END = re.compile(r"(?<=[.?])\s+|\n|\s[-~]{5,}\S*\s")
_LOCAL_SPLIT = re.compile(r"[._\-+0-9]+")
_NAME_CUE = re.compile(r"\s+(?:from|at|von|da|do)\s+|\s*[|@]\s*", re.I)
_DOMAIN_IN_NAME = re.compile(r"(?<![\w.@-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?![\w.-])")
_SPACED_LETTERS = re.compile(r"(?<!\w)(?:\w[ .]){2,}\w(?!\w)")
_INNER_MARK = re.compile(r"(?<=\w)['’`´.](?=\w)")
_L_IN_CAPS = re.compile(r"(?<![\w])l(?=[A-Z]{2,})")
_CAP_I_IN_LOWER = re.compile(r"(?<=[a-z])I(?=[a-z])")
_WORD_START_I = re.compile(r"(?<![\w])I(?=[a-z]{2,}\b)")


def undisguise(name: str) -> str:
    """A name with the usual filter-dodging undone: spaced letters ("T E M U"), marks inside a
    word ("D'isney", "Net.flix"), a lower-case l for an I in capitals ("lTAU"), a capital I for
    an l in lower case ("PayPaI")."""
    return _INNER_MARK.sub("", _letters_fixed(name))


def _letters_fixed(name: str) -> str:
    out = _SPACED_LETTERS.sub(lambda m: m.group(0).replace(" ", "").replace(".", ""), name)
    out = _L_IN_CAPS.sub("I", out)
    return _CAP_I_IN_LOWER.sub("l", out)


def _disguise_variants(name: str) -> list[str]:
    """Readings of a disguised name, most likely first: undisguised; with its dots kept
    ("lRS.GOV" is IRS.GOV); with a leading capital I read as l ("Ledger Iive")."""
    plain = undisguise(name)
    out = [plain, _letters_fixed(name), _WORD_START_I.sub("l", plain)]
    return [v for i, v in enumerate(out) if v != name and v not in out[:i]]


def _claims(msg: Message, ctx: Context, forwarded: bool, personal: bool,
            bylines: list[tuple[Entity, str]]) -> list[tuple[Entity, str, str]]:
    """(entity, where the claim was made, the words that made it), strongest place first."""
    ix = ctx.data.entities
    out: list[tuple[Entity, str, str]] = []
    seen: set[str] = set()

    def add(found, where: str) -> None:
        for ent, words, _amb in found:
            if ent.id not in seen:
                seen.add(ent.id)
                out.append((ent, where, words))

    frm = next((a for a in msg.from_ if "@" in a.addr), None)
    if frm and frm.display_name:
        add(ix.find(frm.display_name, standalone=True), "display name")
        plain = undisguise(frm.display_name)
        for variant in _disguise_variants(frm.display_name):
            add([x for x in ix.find(variant, standalone=True) if not x[2]], "disguised display name")
        # A brand whose name is also a word ("Ledger", "Lido") counts when the rest of the name
        # only says which part of it writes: "Ledger News", "Lido Community", "Gemini Support".
        # "Katie from Ledger", "Support | Gemini": the organisation is the part after the cue.
        filler = ctx.data.words("name_filler_words")
        for part in [plain] + _NAME_CUE.split(plain)[1:2]:
            words = normalize_name(part).split()
            core = [w for w in words if w not in ctx.data.sender_name_words and w not in filler]
            if core and (len(core) < len(words) or part is not plain):
                add(ix.find(" ".join(core), standalone=True), "display name")
        # A display name that is a domain ("Stellar.org", "IRS.gov") names whoever owns it.
        for dom in _DOMAIN_IN_NAME.findall(_letters_fixed(frm.display_name).lower()):
            ent = ix.entity_for_domain(dom)
            if ent is not None:
                add([(ent, dom, False)], "display name")
    if frm and frm.local:
        for tok in _LOCAL_SPLIT.split(frm.local.lower()):
            if len(tok) >= 5:
                add([x for x in ix.find(tok) if not x[2]], "From address")
    # A brand name spelt with look-alike letters ("Amаzon" with a Cyrillic а) is a claim that
    # tries to hide from filters: read it wherever it is in the subject.
    for word in _MIXED_WORD.findall(msg.subject):
        if not word.isascii() and mixes_latin_and_lookalikes(word):
            add(ix.find(word, standalone=True), "disguised name in subject")
    if not forwarded:
        # Only the start matters; on a whole subject of folded whitespace the pattern is quadratic.
        # A "[Tag]" opens with "[", and a "Name |" has its "|" within 81 characters: tried only then.
        head = msg.subject.lstrip()[:200]
        m = _SUBJECT_PREFIX.match(head) if head[:1] == "[" or "|" in head[:81] else None
        if m:
            add(ix.find(m.group(1) or m.group(2), standalone=True), "subject prefix")
        # A masthead is the HTML title and the first image's alt text (the logo). Later alt texts
        # are mostly "Follow us on Facebook" icons, and the opening line of text quotes outlets
        # as often as it claims to be one, so neither is read.
        logo = " | ".join([msg.html_title] + msg.alt_texts[:1])
        add([x for x in ix.find(logo) if not x[2] and x[0].tier == 1 and x[0].category != "social"], "masthead")
        # Read in personal-looking HTML mail only: plain-text list footers ("Your use of X Groups
        # is subject to ...") name their host, not an identity the sender claims.
        footer = [seg for seg in _SENTENCE_END.split(msg.visible_text[-FOOTER_CHARS:])
                  if _FOOTER_CUE_FAST.search(seg)] if personal and msg.has_html else []
        if footer:
            add([x for x in ix.find(" | ".join(footer)) if not x[2] and x[0].kind == "outlet" and x[0].tier == 1],
                "footer")
        if frm and ctx.data.is_freemail(frm.domain) and not msg.header("In-Reply-To"):
            # A free-mail message that opens with a brand's name ("PayPal  Hi Dear customer",
            # "NUBANK: purchase held") speaks in that brand's voice.
            opening = undisguise(msg.visible_text[:60])
            add([x for x in ix.find(opening) if not x[2] and x[0].kind == "brand"], "opening line")
        if personal:
            # Bylines count in personal mail; a news digest quotes other outlets' bylines.
            for ent, line in bylines:
                add([(ent, line, False)], "byline")
    return out


def _byline_outlets(msg: Message, ctx: Context) -> list[tuple[Entity, str]]:
    """Outlets named in bylines and signatures ("Correspondent at The Guardian")."""
    ix = ctx.data.entities
    found: list[tuple[Entity, str]] = []
    cap = limits_of(ctx).check_text_chars
    text = msg.visible_text[:cap]
    # The byline patterns are costly at every capital letter of a long text; run them only in a
    # window around each role word.
    byline, byline_rev, role_word = _role_patterns(ctx.data.pattern("journalist_roles"))
    for rm in role_word.finditer(text):
        window = text[max(0, rm.start() - 60) : rm.end() + 80]
        for rx in (byline, byline_rev):
            for bm in rx.finditer(window):
                # The role word already says "news outlet", so a name shared by several outlets
                # ("The Guardian") counts when it is the whole phrase.
                for ent, _w, _a in ix.find(bm.group(1), standalone=True):
                    if ent.kind == "outlet" and all(ent is not e for e, _l in found):
                        found.append((ent, bm.group(0)[:80]))
        if len(found) >= 3:
            break
    return found


_LIST_ID = re.compile(r"<([^<>\s]+)>")


def _main_domains(ent: Entity, n: int = 4) -> list[str]:
    """The entity's domains with the ones that carry its name first (microsoft.com before bing.com)."""
    key = ent.id.replace("-", "")
    return sorted(ent.domains, key=lambda d: (key not in d.replace("-", ""), len(d), d))[:n]


def _is_list_or_invite(msg: Message) -> bool:
    """Calendar invitations and mailing-list mail: their From is someone else's by design."""
    if any(p.content_type == "text/calendar" for p in msg.parts):
        return True
    list_id = msg.header("List-Id")
    if not list_id:
        return False
    res = msg.auth.get("results", {})
    arc = res.get("arc")
    if (arc is not None and arc.result == "pass") or msg.header("List-Post"):
        return True
    m = _LIST_ID.search(list_id)
    list_dom = registrable_domain(m.group(1).lower()) if m else ""
    relays = {msg.sender.domain if msg.sender else "", msg.return_path.rpartition("@")[2] if msg.return_path else ""}
    return bool(list_dom) and list_dom in {registrable_domain(d.lower()) for d in relays if d}


def run(msg: Message, ctx: Context):
    frm = next((a for a in msg.from_ if "@" in a.addr), None)
    if frm is None or _is_list_or_invite(msg):
        return
    forwarded = bool(_FORWARD.match(msg.subject)) or bool(msg.nested)
    # The APT31 lures were personal-looking mail with a few article links; a bulk digest (it has
    # List-Unsubscribe, or dozens of links) carrying many outlets' articles is a newsletter.
    personal = not msg.header("List-Unsubscribe") and len(msg.links) <= 15
    ids, how, weight = sender_identity(msg)
    data = ctx.data
    free = data.is_freemail(frm.domain)
    content_domains = [lk.domain for lk in msg.links if lk.domain]
    content_domains += [registrable_domain(lk.final_host) for lk in msg.links if lk.final_host]
    content_domains += [r.domain for r in msg.resources]
    # The sender's own click-tracking and image hosts say nothing about whom it speaks for.
    content_domains = [d for d in content_domains if d not in ids]
    emitted: set[str] = set()
    bylines = _byline_outlets(msg, ctx) if personal else []
    claims = _claims(msg, ctx, forwarded, personal, bylines)
    # The strongest claim (display name first) is who the message says it is; later mentions
    # (a sister publication in the masthead, a partner's logo) are not separate identities.
    for ent, where, words in claims[:1]:
        if ent.domains & ids:
            continue  # the claimed organisation really sent it (or its listed mail service did)
        claim = f"{where} '{words}' claims {ent.name}"
        compared = f"sender {', '.join(sorted(ids)) or '?'} ({how}); {ent.name} uses {', '.join(_main_domains(ent))}"
        if free:
            if "IMPERSONATION_FREEMAIL" not in emitted:
                emitted.add("IMPERSONATION_FREEMAIL")
                yield Finding("IMPERSONATION_FREEMAIL", f"{claim} from free mail {frm.addr}")
            continue
        own = sum(1 for d in content_domains if d in ent.domains)
        gateway = is_feed_gateway_local(frm.local) and where == "display name"
        # A provider's newsletter has a body of links; a logo and one button are a copied look.
        if ent.kind == "brand" and where != "byline":
            # The brand's own sending domain (brand-mail.com): authenticated, and its links and
            # images lead to the brand or its mail provider (checks/brand_domain.py).
            m = data.lookalikes.check(frm.domain)
            own_sender = (m is not None and m.technique == "combosquat" and registrable_domain(m.imitates) in ent.domains
                          and brand_own_sending_domain(msg, ctx.data, frm.domain, set(ent.domains)))
            if own_sender:
                if "CLAIM_SENDER_UNLISTED" not in emitted:
                    emitted.add("CLAIM_SENDER_UNLISTED")
                    yield Finding("CLAIM_SENDER_UNLISTED", f"{claim}; {compared}; but {own_sender}")
                continue
        if (gateway or len(content_domains) >= 5 and own / len(content_domains) >= 0.4) and where != "byline":
            # Mail whose links and images mostly come from the organisation itself, sent from an
            # unlisted domain, is usually its mail service provider: reported, not impersonation.
            if "CLAIM_SENDER_UNLISTED" not in emitted:
                emitted.add("CLAIM_SENDER_UNLISTED")
                yield Finding("CLAIM_SENDER_UNLISTED", f"{claim}; {compared}; {own}/{len(content_domains)} links and images are {ent.name}'s")
            continue
        symbol = {"outlet": "IMPERSONATION_NEWS_OUTLET", "brand": "IMPERSONATION_BRAND"}.get(ent.kind, "IMPERSONATION_PROTECTED")
        if symbol in emitted:
            continue
        emitted.add(symbol)
        strength = weight * (0.7 if where in ("masthead", "footer", "From address") else 1.0)
        yield Finding(symbol, f"{claim}; {compared}", strength=strength)
    if free and personal:
        for ent, line in bylines[:1]:
            yield Finding("JOURNALIST_FREEMAIL", f"'{line}' written from {frm.addr}")
    if not forwarded and personal and beacon_hosts(msg):
        outlets = {}
        for lk in msg.links:
            for url, dom in ((lk.href, lk.domain), (lk.final_url or "", registrable_domain(lk.final_host or ""))):
                linked = data.entities.entity_for_domain(dom) if dom else None
                if linked is not None and linked.kind == "outlet" and url.count("/") >= 4:
                    outlets[linked.id] = linked
        unrelated = [e for e in outlets.values() if not (e.domains & ids)]
        if unrelated:
            names = ", ".join(e.name for e in unrelated[:3])
            yield Finding("NEWS_CONTENT_UNRELATED_SENDER",
                          f"links to articles of {names} sent by {', '.join(sorted(ids))} ({how}), with a beacon to {', '.join(sorted(beacon_hosts(msg))[:3])}")


CHECK = Check("impersonation", SYMBOLS, run)
