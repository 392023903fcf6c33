"""What the message says and how it says it: lure language, personalised or randomised subjects,
Unicode used to dodge filters, senders on free hosting platforms and From domains that cannot exist.

Lure language alone proves little (a bank's real notice says "verify"); it is weighted lightly and
counts most together with the sender and link signals.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from lurelens.checks.base import Check, Context, Symbol, capped, limit_finding, limits_of, text_limit_finding
from lurelens.model import Finding, Message
from lurelens.parse.identity import sender_domains
from lurelens.parse.text import INVISIBLE, email_matches, INVISIBLE_CHARS, LOOKALIKE_RANGES, SMALL_CAPS, foreign_marks, mixes_latin_and_lookalikes
from lurelens.parse.urls import has_known_suffix, is_ip_literal, registrable_domain

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("LURE_CREDENTIAL", "The text asks the reader to verify, confirm or unlock an account or password"),
    Symbol("LURE_URGENCY", "The text presses for urgent action or threatens a deadline"),
    Symbol("LURE_PRIZE", "The text promises a prize, gift, bonus or reward"),
    Symbol("LURE_DELIVERY", "The text claims a parcel is held or a delivery fee is due"),
    Symbol("LURE_PAYMENT", "The text claims a payment failed, is overdue or a refund is waiting"),
    Symbol("LURE_EXTORTION", "The text claims the reader was hacked or filmed and demands payment"),
    Symbol("LURE_ADVANCE_FEE", "The text offers a share of a large sum, an inheritance or a deal to a stranger"),
    Symbol("LURE_ROMANCE", "The text dangles dates, lonely singles or sexual content, the bait of romance and adult scams"),
    Symbol("LURE_CRYPTO", "The text is about crypto-currency balances, payouts, mining or wallets, the staple of investment scams"),
    Symbol("BULK_NO_LIST_UNSUBSCRIBE", "The text offers an opt-out as bulk mail does, but there is no List-Unsubscribe header, which legitimate bulk senders must send"),
    Symbol("HTML_HIDDEN_TEXT", "Much of the HTML's text is hidden from the reader (filler to fool filters)"),
    Symbol("SUBJECT_HAS_RECIPIENT", "The subject or sender name repeats the recipient's address to look personal"),
    Symbol("SUBJECT_RANDOM_TOKEN", "The subject or sender name carries a random string, a trick to defeat filters"),
    Symbol("TEXT_OBFUSCATED_UNICODE", "Look-alike Unicode (math letters, invisible characters) disguises words"),
    Symbol("GREETING_USES_ADDRESS", "The text greets the reader by their e-mail address instead of a name"),
    Symbol("GREETING_GENERIC", "The text greets a generic 'customer', 'user' or 'account holder'"),
    Symbol("BODY_FREEMAIL_CONTACT", "The text asks for replies to a free-mail address other than the sender's"),
    Symbol("FROM_LOCAL_RANDOM", "The sender's mailbox name is random letters (mixed case, or no vowels), as bulk-sending tools mint"),
    Symbol("FROM_DOMAIN_INVALID", "The From domain cannot exist (no public suffix)"),
    Symbol("FROM_FREE_HOSTING", "The sender's domain is a tenant of a free hosting platform"),
    Symbol("LINK_FREE_HOSTING", "Links lead to a tenant site on a free hosting platform"),
)

_DECLARED = frozenset(sym.name for sym in SYMBOLS)
_TOKEN = re.compile(r"(?<![\w@.])[A-Za-z0-9]{10,40}(?![\w@])")
_MATH_ALNUM = re.compile("[\U0001d400-\U0001d7ff]")
# Invisible characters between letters ("Mi\u200bcro\u200bsoft", or Unicode tag characters);
# soft hyphens (U+00AD) inside words are ordinary hyphenation and are not counted there.
_INVISIBLE_IN_WORD = re.compile("[^\\W\\d_][" + INVISIBLE_CHARS.replace("\u00ad", "") + "]+[^\\W\\d_]")
_SPACED = re.compile(r"(?:(?<!\S)\w ){5,}\w(?!\S)")


def _spaced_word(text: str) -> str | None:
    """A word written with its letters spaced out ("P a y P a l"); digit runs, table
    headings and the alphabet in order ("0 1 2 ... a b c") are not words."""
    for m in _SPACED.finditer(text):
        letters = m.group(0).replace(" ", "")
        if not letters.isalpha():
            continue
        low = letters.lower()
        if all(ord(b) - ord(a) == 1 for a, b in zip(low, low[1:])):
            continue
        return m.group(0)
    return None


_GREETING_WORDS = (
    r"dear|hello|hi|hey|greetings|attention|attn|ol[aá]|prezad[oa]|car[oa]|aten[cç][aã]o|estimad[oa]|hola|"
    r"sehr geehrte[rs]?|hallo|liebe[rs]?|bonjour|cher|ch[eè]re|gentile|beste|geachte"
)
_GREETING_ADDR = re.compile(rf"(?:{_GREETING_WORDS})\W{{1,3}}([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*)", re.I)
_GREETING_GENERIC = re.compile(
    rf"(?<!\w)(?:{_GREETING_WORDS})\W{{1,3}}(?:valued |dear |esteemed |prezado |estimado )?(?:[A-Z][\w.&-]+ ){{0,2}}"
    r"(?:customer|client|user|member|account ?holder|e-?mail (?:owner|user)|beneficiary|friend|sir(?:/| or )madam|"
    r"cliente|usu[aá]rio|utilizador|kunde|kundin|nutzer|utilisateur|klant)(?!\w)",
    re.I,
)
_CONTACT_CUE = re.compile(
    r"(?:contact|reply|respond|write|e-?mail|send|reach)\w*\s+(?:me|us|him|her|to|directly|back|via|at)\b|"
    r"(?:contate|responda|escreva|contacte|kontaktieren|antworten|[ée]crivez|contactez)\w*",
    re.I,
)
_DOMAIN_OK = re.compile(r"^[a-z0-9](?:[a-z0-9\-_]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-_]*[a-z0-9])?)+$|^xn--")
# Opt-out wording of bulk mail, in the languages the lure phrases cover.
_OPT_OUT = re.compile(
    r"unsubscri|opt[- ]?out\b|abmelden|abbestellen|austragen|afmelden|uitschrijven|descadastr|"
    r"d[ée]sabonner|d[ée]sinscri|darse de baja|darte de baja|cancelar (?:la |a )?(?:suscripci|subscri|inscri)|"
    r"disiscriv|cancella(?:re)? (?:l'|la )?iscrizione",
)


def _random_token(s: str) -> str | None:
    for m in _TOKEN.finditer(s):
        tok = m.group(0)
        lower = sum(c.islower() for c in tok)
        upper = sum(c.isupper() for c in tok)
        digit = sum(c.isdigit() for c in tok)
        classes = (lower > 0) + (upper > 0) + (digit > 0)
        # Case changes inside a word, with digits, rarely happen in language or in product codes.
        if classes < 3 and not (classes == 2 and lower and upper and upper >= 3 and not tok[1:].islower()):
            continue
        if not digit and _CAMEL_OR_ACRONYMS.match(tok):
            continue  # CyberSLAPPs, GitHubAPIs: words and (plural) acronyms run together
        transitions = sum(1 for a, b in zip(tok, tok[1:]) if a.isupper() != b.isupper() and a.isalpha() and b.isalpha())
        n = len(tok)
        h = -sum(c / n * math.log2(c / n) for c in Counter(tok).values())
        if h >= 3.2 and transitions >= 3:
            return tok
    return None


_LOOKALIKE_CLASS = "[" + "".join(f"{lo}-{hi}" for lo, hi in LOOKALIKE_RANGES) + "]"
# Only words holding a look-alike letter are looked at (most text has none): a character-class
# search finds those letters, and the word around each is cut out.
_LOOKALIKE_LETTER = re.compile(_LOOKALIKE_CLASS)
_WORD_END = re.compile(r"\W")


def _mixed_script_word(text: str) -> str | None:
    """A word that mixes Latin letters with look-alikes ("Sаmsung" with a Cyrillic а)."""
    pos = 0
    for _ in range(50):
        m = _LOOKALIKE_LETTER.search(text, pos)
        if m is None:
            return None
        start = m.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
        e = _WORD_END.search(text, m.end())
        end = e.start() if e else len(text)
        w = text[start:end]
        if len(w) >= 3 and mixes_latin_and_lookalikes(w, min_latin=2):
            return w
        pos = end
    return None


_CAMEL_OR_ACRONYMS = re.compile(r"^(?:[A-Z][a-z]+|[A-Z]{2,}s?(?![a-z]))+$")
_CAMEL_WORDS = re.compile(r"^(?:[A-Z][a-z]+|[A-Z]{2,}(?![a-z]))+$|^[a-z]+(?:[A-Z][a-z]+)+$")


_NO_VOWELS = re.compile(r"[bcdfghjklmnpqrstvwxz]{7}", re.I)


def _random_local(local: str) -> bool:
    """Mixed-case letter salad (xHtFjdALEqNMlfk), or one-case letters no language would spell,
    seven consonants in a row (uqfkxgpz; SpamAssassin's FROM_LOCAL_NOVOWEL). CamelCase names
    (JohnSmith) and names with a few consonants together (rwmcgwier) are not."""
    if not re.fullmatch(r"[A-Za-z0-9]{7,40}", local):
        return False
    letters = "".join(c for c in local if c.isalpha())
    if len(letters) < 6:
        return False
    if letters.islower() or letters.isupper():
        return bool(re.fullmatch(r"[A-Za-z]+[0-9]{0,4}", local)) and bool(_NO_VOWELS.search(letters))
    if _CAMEL_WORDS.match(letters):
        return False
    return sum(1 for a, b in zip(letters, letters[1:]) if a.isupper() != b.isupper()) >= 3


def _in_brackets(s: str, start: int) -> bool:
    return s.rfind("[", 0, start) > s.rfind("]", 0, start)


def run(msg: Message, ctx: Context):
    data = ctx.data
    limits = limits_of(ctx)
    lure_text, max_text = limits.lure_text_chars, limits.check_text_chars
    if len(msg.visible_text) > lure_text:
        yield text_limit_finding("content (lure phrases)", lure_text, len(msg.visible_text), "lure_text_chars")
    if len(msg.visible_text) > max_text:
        yield text_limit_finding("content", max_text, len(msg.visible_text), "check_text_chars")
    # Underscores stand in for spaces in filter-dodging subjects ("Transfer__to__your__Bitcoin").
    # Attachment names speak too ("Bitcoin_Transaction_0.7495_BTC.pdf").
    att_names = " ".join((a.filename or "") for a in msg.attachments[:10])
    text = (msg.subject.replace("_", " ") + "\n" + re.sub(r"[_.]", " ", att_names) + "\n" + msg.visible_text[:lure_text]).lower()
    pat, cats = data.lure_scanner
    found: dict[str, list[str]] = {}
    for m in pat.finditer(text):
        cat = cats[int(m.lastgroup[1:])]
        phrases = found.setdefault(cat, [])
        phrase = m.group(0).strip()
        if phrase not in phrases and len(phrases) < 3:
            phrases.append(phrase)
    for cat, phrases in found.items():
        if f"LURE_{cat.upper()}" not in _DECLARED:
            continue  # an overlay category with no symbol of its own yet
        yield Finding(f"LURE_{cat.upper()}", ", ".join(f"'{p}'" for p in phrases),
                      strength=min(1.0, 0.6 + 0.2 * (len(phrases) - 1)))
    frm = next((a for a in msg.from_ if a.addr), None)
    names = [msg.subject] + ([frm.display_name] if frm else [])
    list_id = (msg.header("List-Id") or "").lower() + (msg.header("List-Post") or "").lower()
    own_local = frm.addr.rpartition("@")[0].lower() if frm else ""
    for rcpt in msg.recipients[:5]:
        local = rcpt.rpartition("@")[0].lower()
        if local and local in list_id:
            continue  # the list's own address, as list subjects carry its tag
        hit = None
        for i, s in enumerate(names):
            if i and local == own_local:
                continue  # the sender's name, copying their own other mailbox: "Craig" to craig@elsewhere
            sl = s.lower()
            m = re.search(rf"(?<![\w.\-]){re.escape(local)}(?![\w\-])", sl) if len(local) >= 5 else None
            if rcpt.lower() in sl or (m and not _in_brackets(sl, m.start())):
                hit = s
                break
        if hit:
            yield Finding("SUBJECT_HAS_RECIPIENT", f"'{hit[:80]}' contains {rcpt}")
            break
    for s in names:
        tok = _random_token(s)
        if tok:
            yield Finding("SUBJECT_RANDOM_TOKEN", f"'{tok}' in '{s[:80]}'")
            break
    heads = msg.subject + " " + (frm.display_name if frm else "")
    body_text = msg.visible_text[:max_text]
    # Tricks in the subject or sender name weigh fully (nobody's mail client writes them there);
    # tricks only in the body weigh less (pasted text, formulas and art can carry odd letters).
    tricks = []
    in_heads = False
    math_n = len(_MATH_ALNUM.findall(heads))
    in_heads |= math_n >= 3
    math_n += len(_MATH_ALNUM.findall(body_text))
    if math_n >= 3:
        tricks.append(f"{math_n} mathematical letters")
    inv_n = len(INVISIBLE.findall(heads))
    if inv_n >= 2:
        in_heads = True
        tricks.append(f"{inv_n} invisible characters in the headers")
    inv_words = len(_INVISIBLE_IN_WORD.findall(body_text))
    if inv_words >= 3:
        tricks.append(f"{inv_words} words split by invisible characters")
    mixed = _mixed_script_word(heads)
    in_heads |= bool(mixed)
    mixed = mixed or _mixed_script_word(body_text)
    if mixed:
        tricks.append(f"'{mixed}' mixes Latin and other scripts")
    marks = foreign_marks(heads)
    heads_marked = marks >= 2
    in_heads |= heads_marked
    marks += foreign_marks(body_text[:3000])
    if marks >= 3 or heads_marked:
        tricks.append(f"{marks} foreign accent marks between Latin letters")
    small = len(SMALL_CAPS.findall(heads))
    in_heads |= small >= 4
    small += len(SMALL_CAPS.findall(body_text[:3000]))
    if small >= 4:
        tricks.append(f"{small} small-capital letters standing in for Latin ones")
    spaced = _spaced_word(heads)
    in_heads |= bool(spaced)
    spaced = spaced or _spaced_word(body_text)
    if spaced:
        tricks.append(f"letters spaced out: '{spaced[:30]}'")
    if tricks:
        yield Finding("TEXT_OBFUSCATED_UNICODE", ("in the subject or sender name: " if in_heads else "in the body: ") + "; ".join(tricks),
                      strength=1.0 if in_heads else 0.7)
    body = msg.visible_text[:max_text]
    g = _GREETING_ADDR.search(body[:3000]) or _GREETING_ADDR.search(msg.subject)
    if g:
        yield Finding("GREETING_USES_ADDRESS", f"'{g.group(0)[:80]}'")
    else:
        g = _GREETING_GENERIC.search(body[:3000])
        if g:
            yield Finding("GREETING_GENERIC", f"'{g.group(0)[:60]}'")
    if frm:
        known = {a.addr.lower() for a in msg.from_ + msg.reply_to + msg.to + msg.cc} | set(msg.recipients)
        for start, addr, domain in email_matches(body, 2):
            addr = addr.lower()
            if addr in known or not data.is_freemail(domain.lower()):
                continue
            # Only an address the reader is asked to write to; quoted "X <x@gmail.com> wrote:" lines are not.
            if _CONTACT_CUE.search(body[max(0, start - 80) : start]):
                yield Finding("BODY_FREEMAIL_CONTACT", f"{addr} (From is {frm.addr})")
                break
    if (not msg.header("In-Reply-To") and not any(msg.header(h) for h in ("List-Unsubscribe", "List-Id"))
            and (msg.header("Precedence") or "").strip().lower() not in ("bulk", "list")
            and _OPT_OUT.search(body.lower())):
        yield Finding("BULK_NO_LIST_UNSUBSCRIBE", "the text offers an opt-out; the headers have no List-Unsubscribe and no Precedence: bulk")
    if msg.hidden_text_chars >= 300 and msg.hidden_text_chars >= 0.3 * max(1, len(msg.visible_text)):
        yield Finding("HTML_HIDDEN_TEXT", f"{msg.hidden_text_chars} characters of hidden text, {len(msg.visible_text)} in all")
    if frm and _random_local(frm.local):
        yield Finding("FROM_LOCAL_RANDOM", frm.addr)
    if frm and frm.domain:
        dom = frm.domain
        if not is_ip_literal(dom.strip("[]")) and (not _DOMAIN_OK.match(dom) or not has_known_suffix(dom)):
            yield Finding("FROM_DOMAIN_INVALID", f"{frm.addr}")
        fh = data.free_hosting_suffix(dom)
        if fh:
            yield Finding("FROM_FREE_HOSTING", f"{dom} is a {fh} tenant")
        else:
            tp = data.tenant_platform(dom)
            if tp:
                yield Finding("FROM_FREE_HOSTING", f"{dom} is a customer account on the {tp} help-desk platform, open to anyone",
                              strength=0.5)
    hosts = list(dict.fromkeys(lk.host for lk in msg.links if lk.host))
    own = sender_domains(msg)
    cap = limits.check_link_hosts
    hosts, total = capped(hosts, cap, lambda h: registrable_domain(h) not in own)
    if total > cap:
        yield limit_finding("content (free hosting)", "link hosts", cap, total, "check_link_hosts")
    for host in hosts:
        fh = data.free_hosting_suffix(host)
        if fh:
            yield Finding("LINK_FREE_HOSTING", f"{host} is a {fh} tenant")
            break


CHECK = Check("content", SYMBOLS, run)
