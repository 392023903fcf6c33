"""Lure language: phrases that press for credentials, payment, urgency or a prize, and the opt-out
wording of bulk mail sent without the List-Unsubscribe header bulk senders must send.

Lure language alone proves little (a bank's real notice says "verify"); it is weighted lightly and
counts most together with the sender and link signals.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lurelens.checks.base import Check, Context, Symbol, limits_of, text_limit_finding
from lurelens.model import Finding, Message
from lurelens.registry.phrases import grouped

__all__ = ["CHECK", "SYMBOLS"]

SYMBOLS = (
    Symbol("LURE_CREDENTIAL", "The text asks the reader to verify, confirm or unlock an account or password"),
    Symbol("LURE_URGENCY", "The text presses for urgent action or threatens a deadline"),
    Symbol("LURE_PRIZE", "The text claims the reader has won or may collect a prize, reward, bonus or airdrop"),
    Symbol("LURE_PROMO", "The text uses the prize words marketing shares with scams (voucher, contest, congratulations, free)"),
    Symbol("LURE_DELIVERY", "The text claims a parcel is held or a delivery fee is due"),
    Symbol("LURE_PAYMENT", "The text claims a payment failed, is overdue or a refund is waiting"),
    Symbol("LURE_EXTORTION", "The text claims the reader was hacked or filmed and demands payment"),
    Symbol("LURE_ADVANCE_FEE", "The text offers a share of a large sum, an inheritance or a deal to a stranger"),
    Symbol("LURE_ROMANCE", "The text dangles dates, lonely singles or sexual content, the bait of romance and adult scams"),
    Symbol("LURE_CRYPTO", "The text claims crypto-currency is waiting: a balance or payout, coins earned, a withdrawal, cloud mining, a wallet to validate, guaranteed returns (investment and wallet-drainer scams)"),
    Symbol("LURE_CRYPTO_TOPIC", "The text talks about crypto-currency (bitcoin, an exchange, a wallet) without claiming anything is owed: an exchange's newsletter does too"),
    Symbol("BULK_NO_LIST_UNSUBSCRIBE", "The text offers an opt-out as bulk mail does, but there is no List-Unsubscribe header, which legitimate bulk senders must send"),
)

_DECLARED = frozenset(sym.name for sym in SYMBOLS)
_UNDERSCORES = re.compile(r"_+")  # one space for a run: "Transfer__to__your__Bitcoin" reads as words


@lru_cache(maxsize=8)
def _opt_out(phrases: str) -> re.Pattern[str]:
    """The opt-out wording of bulk mail (data/words/opt_out_phrases.txt), matched on lower-cased
    text; its phrases grouped by first letter (registry/phrases.py grouped: same matches)."""
    return re.compile(grouped(phrases))


def run(msg: Message, ctx: Context):
    data = ctx.data
    limits = limits_of(ctx)
    lure_text, max_text = limits.lure_text_chars, limits.check_text_chars
    if len(msg.visible_text) > lure_text:
        yield text_limit_finding("lures (lure phrases)", lure_text, len(msg.visible_text), "lure_text_chars")
    # Underscores stand in for spaces in filter-dodging subjects ("Transfer__to__your__Bitcoin").
    # Attachment names speak too ("Bitcoin_Transaction_0.7495_BTC.pdf").
    att_names = " ".join((a.filename or "") for a in msg.attachments[:10])
    text = (_UNDERSCORES.sub(" ", msg.subject) + "\n" + re.sub(r"[_.]", " ", att_names) + "\n" + msg.visible_text[:lure_text]).lower()
    found: dict[str, list[str]] = {}
    for cat, m in data.lure_scanner.finditer(text):
        phrases = found.setdefault(cat, [])
        phrase = m.group(0).strip()
        if phrase not in phrases and len(phrases) < 3:
            phrases.append(phrase)
    if "crypto" in found:
        found.pop("crypto_topic", None)  # the claim says more than the topic words around it
    for cat, phrases in found.items():
        if f"LURE_{cat.upper()}" not in _DECLARED:
            continue  # an overlay category with no symbol of its own yet
        yield Finding(f"LURE_{cat.upper()}", ", ".join(f"'{p}'" for p in phrases),
                      strength=min(1.0, 0.6 + 0.2 * (len(phrases) - 1)))
    if len(msg.visible_text) > max_text:
        yield text_limit_finding("lures (opt-out wording)", max_text, len(msg.visible_text), "check_text_chars")
    body = msg.visible_text[:max_text]
    if (not msg.header("In-Reply-To") and not any(msg.header(h) for h in ("List-Unsubscribe", "List-Id"))
            and (msg.header("Precedence") or "").strip().lower() not in ("bulk", "list")
            and _opt_out(data.pattern("opt_out_phrases")).search(body.lower())):
        yield Finding("BULK_NO_LIST_UNSUBSCRIBE", "the text offers an opt-out; the headers have no List-Unsubscribe and no Precedence: bulk")


CHECK = Check("lures", SYMBOLS, run)
