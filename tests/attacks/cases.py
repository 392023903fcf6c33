"""From-spoofing attacks against a news outlet, built from the public descriptions.

Every espoofer test case (server_a1..a19, client_a1..a3; "Composition Kills", Chen et al.,
USENIX Security 2020) and every Mailsploit payload (Haddouche, 2017), rewritten here as the
delivered message a reporter's mailbox would hold: the attacker's Received hop, the trusted
Authentication-Results the way the fooled receiver wrote it, and a From that spoofs
nytimes.com. Each attack comes with its near miss: the plain, correctly authenticated message
it is derived from. Nothing here is copied from either project; the messages are written from
the case descriptions.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

OUTLET = "nytimes.com"
SPOOF = f"breakingnews@{OUTLET}"
ATTACKER = "spoofer-lab.net"  # the attacker's own domain, with valid SPF and DKIM of its own
PROVIDER = "mailbox-provider.net"  # a mail service the attacker has an account with (client cases)
RECEIVER = "mx.newsroom-ngo.org"
RECIPIENT = "editor@newsroom-ngo.org"

# Every symbol that names a From ambiguity or an authentication check that failed or was fooled.
AMBIGUITY_SYMBOLS = frozenset({
    "FROM_MULTIPLE_HEADERS", "FROM_MULTIPLE_ADDRESSES", "FROM_HEADER_WHITESPACE", "FROM_SENDER_MISMATCH",
    "FROM_RESENT_MISMATCH", "FROM_ENCODED_ADDRESS", "FROM_ROUTE_ADDR", "FROM_QUOTED_PAIR_TRICK",
    "FROM_COMMENT_TRICK", "FROM_PARSERS_DISAGREE", "FROM_READINGS_DISAGREE", "FROM_MALFORMED", "FROM_MISSING",
    "FROM_NAME_HAS_ADDRESS", "HEADER_ENCODED_TRICK", "AUTH_RESULT_INJECTION", "AUTH_DKIM_TAG_INJECTION",
    "AUTH_DMARC_UNSUPPORTED", "AUTH_KNOWN_DOMAIN_UNAUTHENTICATED", "AUTH_DMARC_FAIL", "AUTH_RESULTS_FORGED",
})

BODY = (
    "Good morning,\r\n\r\n"
    "Here are today's top stories from our newsroom, selected by our editors.\r\n\r\n"
    "Climate talks resume in Geneva as delegations seek a compromise on emissions targets.\r\n"
    "https://www.nytimes.com/2026/11/10/world/climate-talks-geneva.html\r\n\r\n"
    "Markets steady after central bank signals a pause in rate increases.\r\n"
    "https://www.nytimes.com/2026/11/10/business/markets-rates.html\r\n\r\n"
    "The Morning team\r\n"
)


@dataclass(frozen=True)
class Attack:
    id: str  # espoofer case id or mailsploit variant
    title: str
    raw: bytes  # the delivered attack message
    near_miss: bytes  # the plain legitimate message it is derived from
    expect: tuple[str, ...]  # at least one of these must fire on the attack
    envelope: tuple[str, str, str] = ("203.0.113.45", "mail.spoofer-lab.net", "bounce@spoofer-lab.net")  # ip, HELO, MAIL FROM


def b64w(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def qw(data: bytes) -> str:
    """A Q encoded word with every byte outside plain letters and digits escaped."""
    return "=?utf-8?Q?" + "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data) + "?="


def _ar(spf: str, dkim: str, dmarc: str) -> str:
    return f"{RECEIVER}; {spf}; {dkim}; {dmarc}"


ATTACKER_AUTH = _ar(
    f"spf=pass (domain of bounce@{ATTACKER} designates 203.0.113.45 as permitted sender) smtp.mailfrom=bounce@{ATTACKER}",
    f"dkim=pass header.d={ATTACKER} header.s=s1",
    f"dmarc=pass (p=NONE) header.from={ATTACKER}",
)
OUTLET_AUTH = _ar(
    f"spf=pass (domain of bounce@mail.{OUTLET} designates 198.51.100.7 as permitted sender) smtp.mailfrom=bounce@mail.{OUTLET}",
    f"dkim=pass header.d={OUTLET} header.s=nyt2026",
    f"dmarc=pass (p=REJECT) header.from={OUTLET}",
)
ATTACKER_HOP = (
    f"from mail.{ATTACKER} (mail.{ATTACKER} [203.0.113.45]) by {RECEIVER} with ESMTPS id 4Zk2p;"
    " Tue, 10 Nov 2026 08:00:03 +0000"
)
OUTLET_ENVELOPE = ("198.51.100.7", f"mta7.mail.{OUTLET}", f"bounce@mail.{OUTLET}")
OUTLET_HOP = f"from mta7.mail.{OUTLET} (mta7.mail.{OUTLET} [198.51.100.7]) by {RECEIVER} with ESMTPS id 9Qa1c; Tue, 10 Nov 2026 08:00:03 +0000"


def message(author: list[str], auth: str, hop: str = ATTACKER_HOP, extra: tuple[str, ...] = (), dkim: str | None = None,
            subject: str = "The Morning: climate talks resume") -> bytes:
    """A delivered message. ``author`` holds the raw author field lines (exactly as written,
    folding and odd names included); ``extra`` more raw header lines after them."""
    lines = [f"Received: {hop}", f"Authentication-Results: {auth}"]
    if dkim:
        lines.append(f"DKIM-Signature: {dkim}")
    lines += [f"To: <{RECIPIENT}>", *author, *extra, f"Subject: {subject}", "Date: Tue, 10 Nov 2026 08:00:00 +0000",
              "Message-ID: <20261110080000.4711@mail.example.net>", "MIME-Version: 1.0",
              'Content-Type: text/plain; charset="UTF-8"', "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(lines) + "\r\n\r\n" + BODY).encode("utf-8", "surrogateescape")


PLAIN = message([f"From: The Morning <{SPOOF}>"], OUTLET_AUTH, OUTLET_HOP,
                dkim=f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={OUTLET}; s=nyt2026; h=from:to:subject:date; bh=AAAA; b=BBBB")
PLAIN_ENCODED = message([f"From: {b64w('The Morning')} <{SPOOF}>"], OUTLET_AUTH, OUTLET_HOP)
PLAIN_SENDER = message([f"From: The Morning <{SPOOF}>"], OUTLET_AUTH, OUTLET_HOP, extra=(f"Sender: <newsletters@{OUTLET}>",))
PLAIN_RESENT = message([f"From: The Morning <{SPOOF}>"], OUTLET_AUTH, OUTLET_HOP, extra=(f"Resent-From: <desk@{OUTLET}>",))
PLAIN_TWO_AUTHORS = message([f"From: The Morning <{SPOOF}>, <desk@{OUTLET}>"], OUTLET_AUTH, OUTLET_HOP,
                            extra=(f"Sender: <newsletters@{OUTLET}>",))
PLAIN_COMMENT = message([f"From: {SPOOF} (The Morning)"], OUTLET_AUTH, OUTLET_HOP)


def _mailfrom_case(cid: str, title: str, mailfrom: str, helo: str = f"mail.{ATTACKER}") -> Attack:
    """Server cases A2, A5-A7: the MAIL FROM fools the receiver's SPF and DMARC modules into
    reading different domains; its Authentication-Results repeat the injected identity."""
    auth = _ar(
        f"spf=pass (sender is authorized by {helo}) smtp.mailfrom={mailfrom} smtp.helo={helo}",
        "dkim=none (message not signed)",
        f"dmarc=pass (p=REJECT) header.from={OUTLET}",
    )
    return Attack(cid, title, message([f"From: <{SPOOF}>"], auth), PLAIN, ("AUTH_RESULT_INJECTION",),
                  ("203.0.113.45", helo, mailfrom.strip('"')))


def _from_case(cid: str, title: str, author: list[str], expect: tuple[str, ...], near: bytes = PLAIN,
               extra: tuple[str, ...] = (), auth: str = ATTACKER_AUTH) -> Attack:
    return Attack(cid, title, message(author, auth, extra=extra), near, expect)


SERVER = [
    Attack(
        "espoofer:server_a1", "Non-existent subdomain in MAIL FROM: SPF none, DMARC skipped",
        message([f"From: <{SPOOF}>"], _ar(f"spf=none smtp.mailfrom=any@mailfrom.notexist.{OUTLET}",
                                          "dkim=none (message not signed)", "x-dmarc=skipped (MAIL FROM domain has no records)")),
        PLAIN, ("AUTH_KNOWN_DOMAIN_UNAUTHENTICATED",), ("203.0.113.45", f"helo.{ATTACKER}", f"any@mailfrom.notexist.{OUTLET}"),
    ),
    _mailfrom_case("espoofer:server_a2", "Empty MAIL FROM: SPF passes on HELO, DMARC reads the From domain", f"(any@{OUTLET}"),
    _mailfrom_case("espoofer:server_a2/null", "Null MAIL FROM <>: SPF passes on HELO", '""'),
    Attack(
        "espoofer:server_a3", "NUL in the DKIM selector: the key is fetched from the attacker's zone",
        message([f"From: <{SPOOF}>"], _ar(f"spf=pass smtp.mailfrom=any@33.{ATTACKER}", f"dkim=pass header.d={OUTLET} header.s=selector",
                                          f"dmarc=pass (p=REJECT) header.from={OUTLET}"),
                dkim=f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={OUTLET}; s=selector._domainkey.{ATTACKER}.\x00.any; h=from:to:subject; bh=AAAA; b=BBBB"),
        PLAIN, ("AUTH_DKIM_TAG_INJECTION",),
    ),
    Attack(
        "espoofer:server_a4", "Single quote in DKIM d=: the alignment check stops at the quote",
        message([f"From: <{SPOOF}>"], _ar(f"spf=pass smtp.mailfrom=any@{ATTACKER}", f"dkim=pass header.d={OUTLET}'a.{ATTACKER} header.s=selector",
                                          f"dmarc=pass (p=REJECT) header.from={OUTLET}"),
                dkim=f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={OUTLET}'a.{ATTACKER}; s=selector; h=from:to:subject; bh=AAAA; b=BBBB"),
        PLAIN, ("AUTH_RESULT_INJECTION", "AUTH_DKIM_TAG_INJECTION"),
    ),
    _mailfrom_case("espoofer:server_a5", "Parenthesis in MAIL FROM: SPF checks the attacker, DMARC reads a comment", f"any@{OUTLET}(a.{ATTACKER}"),
    _mailfrom_case("espoofer:server_a6", "Quote and second @ in MAIL FROM", f"any@{OUTLET}'@any.{ATTACKER}"),
    _mailfrom_case("espoofer:server_a7", "Routing address in MAIL FROM", f"@{OUTLET},@any.com:'any@{ATTACKER}"),
    _from_case("espoofer:server_a8", "Two From headers", [f"From: <first@{ATTACKER}>", f"From: <{SPOOF}>"],
               ("FROM_MULTIPLE_HEADERS", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a9", "Two From headers, the first indented", [f" From: <first@{ATTACKER}>", f"From: <{SPOOF}>"],
               ("FROM_HEADER_WHITESPACE", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a10", "Two From headers, the second with a space before the colon",
               [f"From: <first@{ATTACKER}>", f"From : <{SPOOF}>"], ("FROM_HEADER_WHITESPACE", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a11", "Two From headers, the first with its name folded",
               ["From", f" : <first@{ATTACKER}>", f"From: <{SPOOF}>"], ("FROM_HEADER_WHITESPACE", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a12", "Folded From name and a Sender of the outlet", ["From", f" : <first@{ATTACKER}>"],
               ("FROM_SENDER_MISMATCH", "FROM_READINGS_DISAGREE"), near=PLAIN_SENDER, extra=(f"Sender: <{SPOOF}>",)),
    _from_case("espoofer:server_a13", "Folded From name and a Resent-From of the outlet", ["From", f" : <first@{ATTACKER}>"],
               ("FROM_RESENT_MISMATCH", "FROM_READINGS_DISAGREE"), near=PLAIN_RESENT, extra=(f"Resent-From: <{SPOOF}>",)),
    _from_case("espoofer:server_a14", "Two addresses in one From header", [f"From: <first@{ATTACKER}>, <{SPOOF}>"],
               ("FROM_MULTIPLE_ADDRESSES",), near=PLAIN_SENDER, extra=(f"Sender: <s@sender.{ATTACKER}>",)),
    _from_case("espoofer:server_a15", "The outlet's address base64-encoded before the attacker's",
               [f"From: {b64w('<' + SPOOF + '>')},<second@{ATTACKER}>"], ("FROM_ENCODED_ADDRESS", "FROM_READINGS_DISAGREE"),
               near=PLAIN_ENCODED, extra=(f"Sender: <s@sender.{ATTACKER}>",)),
    _from_case("espoofer:server_a16", "Route portion before the outlet's address", [f"From: <@{ATTACKER},@any.com:{SPOOF}>"],
               ("FROM_ROUTE_ADDR", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a17", "Quoted pair between two addresses", [f"From: <{SPOOF}>\\,<second@{ATTACKER}>"],
               ("FROM_QUOTED_PAIR_TRICK", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a18", "Special-character precedence: bare address, then an angle address",
               [f"From: {SPOOF},<second@{ATTACKER}>"], ("FROM_MULTIPLE_ADDRESSES", "FROM_READINGS_DISAGREE")),
    _from_case("espoofer:server_a19", "Angle address followed by a bare address", [f"From: <any@{ATTACKER}>{SPOOF}"],
               ("FROM_PARSERS_DISAGREE", "FROM_READINGS_DISAGREE")),
]

PROVIDER_AUTH = _ar(f"spf=pass smtp.mailfrom=attacker@{PROVIDER}", f"dkim=pass header.d={PROVIDER}",
                    f"dmarc=pass (p=NONE) header.from={PROVIDER}")
PROVIDER_ENVELOPE = ("192.0.2.25", f"out.{PROVIDER}", f"attacker@{PROVIDER}")
PROVIDER_HOP = f"from out.{PROVIDER} (out.{PROVIDER} [192.0.2.25]) by {RECEIVER} with ESMTPS id 7Yb3q; Tue, 10 Nov 2026 08:00:03 +0000"
CLIENT = [
    Attack("espoofer:client_a1", "Mail service account: a second From header with the outlet",
           message([f"From: <attacker@{PROVIDER}>", f"From: <{SPOOF}>"], PROVIDER_AUTH, PROVIDER_HOP), PLAIN,
           ("FROM_MULTIPLE_HEADERS", "FROM_READINGS_DISAGREE"), PROVIDER_ENVELOPE),
    Attack("espoofer:client_a2", "Mail service account: the outlet as a second address",
           message([f"From: <attacker@{PROVIDER}>, <{SPOOF}>"], PROVIDER_AUTH, PROVIDER_HOP,
                   extra=(f"Sender: <attacker@{PROVIDER}>",)), PLAIN_SENDER, ("FROM_MULTIPLE_ADDRESSES",), PROVIDER_ENVELOPE),
    Attack("espoofer:client_a3", "Mail service account that lets any From through: DMARC fails at the receiver",
           message([f"From: <{SPOOF}>"], _ar(f"spf=pass smtp.mailfrom=attacker@{PROVIDER}", f"dkim=pass header.d={PROVIDER}",
                                             f"dmarc=fail (p=REJECT dis=NONE) header.from={OUTLET}"), PROVIDER_HOP,
                   extra=(f"Sender: <attacker@{PROVIDER}>",)), PLAIN_SENDER,
           ("AUTH_DMARC_FAIL", "AUTH_KNOWN_DOMAIN_UNAUTHENTICATED"), PROVIDER_ENVELOPE),
]

_MS_EXPECT = ("FROM_ENCODED_ADDRESS", "FROM_READINGS_DISAGREE")


def _ms(cid: str, title: str, value_lines: list[str]) -> Attack:
    lines = [f"From: {value_lines[0]}", *value_lines[1:]]
    return Attack(cid, title, message(lines, ATTACKER_AUTH), PLAIN_ENCODED, _MS_EXPECT)


NUL, LF, CRLF = b"\x00", b"\n", b"\r\n"
GENERIC = f"{SPOOF} / (|)|<|>|@|,|;|:|\\|\"|/|[|]|?|.|= / ".encode() + NUL + b" PASSED NULL BYTE / " + CRLF + b" PASSED CRLF / "
MAILSPLOIT = [
    _ms("mailsploit:original", "Outlet address, encoded NUL, then the attacker's domain (Apple Mail, iOS)",
        [f"{b64w(SPOOF)}{qw(NUL)}{b64w('(' + SPOOF + ')')}@{ATTACKER}"]),
    _ms("mailsploit:thunderbird", "Quoted name and address with encoded LF NUL (Thunderbird)",
        [f'"{b64w(SPOOF)}{qw(LF + NUL)}"', f" <{b64w(SPOOF)}{qw(LF + NUL)}@{ATTACKER}>"]),
    _ms("mailsploit:variation1", "Outlet address, encoded NUL LF, attacker domain", [f"{b64w(SPOOF)}{qw(NUL + LF)}@{ATTACKER}"]),
    _ms("mailsploit:variation2", "Encoded name holding the outlet's name-addr, NUL LF, attacker address",
        [f'"{b64w(SPOOF + chr(34) + " <" + SPOOF + ">")}{qw(NUL + LF)}"', f" <demo@{ATTACKER}>"]),
    _ms("mailsploit:variation2.1", "Encoded name with the outlet address and a fake angle part",
        [f'"{b64w(SPOOF + chr(34) + " <test>")}{qw(NUL + LF)}"', f" <demo@{ATTACKER}>"]),
    _ms("mailsploit:variation2.2", "Encoded name with a fake name and the outlet's angle address",
        [f'"{b64w("test" + chr(34) + " <" + SPOOF + ">")}{qw(NUL + LF)}"', f" <demo@{ATTACKER}>"]),
    _ms("mailsploit:variation3", "Encoded quoted name-addr of the outlet, LF and three NULs",
        [f'"{b64w(chr(34) + SPOOF + chr(34) + " <" + SPOOF + ">")}{qw(LF + NUL * 3)}"', f" <demo@{ATTACKER}>"]),
    _ms("mailsploit:variation3.1", "Encoded quoted fake name with the outlet's address, LF and NULs",
        [f'"{b64w(chr(34) + "test" + chr(34) + " <" + SPOOF + ">")}{qw(LF + NUL * 3)}"', f" <demo@{ATTACKER}>"]),
    _ms("mailsploit:variation3.2", "Encoded quoted outlet name with a fake address, LF and NULs",
        [f'"{b64w(chr(34) + SPOOF + chr(34) + " <test>")}{qw(LF + NUL * 3)}"', f"<demo@{ATTACKER}>"]),
    _ms("mailsploit:variation4", "Outlet address, encoded LF NUL, attacker domain", [f"{b64w(SPOOF)}{qw(LF + NUL)}@{ATTACKER}"]),
    _ms("mailsploit:variation5", "Malformed encoded word with spaces, which lenient decoders still decode",
        [f'" =?utf - 8 ? b ? {base64.b64encode(SPOOF.encode()).decode()} ?=" <demo@{ATTACKER}>']),
    _ms("mailsploit:variation6", "Outlet address, an open parenthesis, NUL, attacker domain",
        [f"{b64w(SPOOF + '(' + SPOOF)}{qw(NUL)}@{ATTACKER}"]),
    _ms("mailsploit:generic1", "Quoted Q word with every special, NUL and CRLF",
        [f'"{qw(GENERIC)}{b64w("END")}"', f" <demo@{ATTACKER}>"]),
    _ms("mailsploit:generic2", "Bare Q word with every special, NUL and CRLF, attacker domain",
        [f"{qw(GENERIC)}{b64w('END')}@{ATTACKER}"]),
]

ATTACKS: list[Attack] = SERVER + CLIENT + MAILSPLOIT
NEAR_MISSES: dict[str, bytes] = {
    "plain": PLAIN, "encoded-name": PLAIN_ENCODED, "sender": PLAIN_SENDER, "resent-from": PLAIN_RESENT,
    "comment-name": PLAIN_COMMENT,
}
