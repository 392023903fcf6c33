"""Synthetic lure campaigns for the campaign tests and bench: each campaign rotates its senders,
subjects and recipients and gives each recipient its own tracking token, over infrastructure the
campaign's messages share; mixed with legitimate mail (plain notes, ESP newsletters with tracking)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from lurelens.testing import MessageBuilder

RECIPIENTS = [f"{n}@corp.example.org" for n in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")]

ARTICLE = ("Dear colleague, we are preparing a feature on regional security policy and would value your "
           "comment before publication. Please find the draft summary of the article below and reply with "
           "any correction you would like us to consider. Our editors close the story on Friday. "
           "Kind regards, the international desk")


def _date(i: int) -> str:
    return f"Tue, {1 + i % 28:02d} Sep 2026 {8 + i % 10:02d}:{(i * 7) % 60:02d}:00 +0000"


def lure_a(i: int) -> tuple[bytes, str]:
    """Campaign A: poses as Reuters, md5-of-address pixel on px.newsdesk-metrics.net, rotating senders."""
    rcpt = RECIPIENTS[i % len(RECIPIENTS)]
    token = hashlib.md5(rcpt.encode()).hexdigest()
    b = (MessageBuilder().header("From", f'"Reuters World Desk" <editor{i}@reuters-{i % 3}.press-mail{i % 4}.com>')
         .header("To", rcpt).subject(f"Request for comment: story {i * 37 % 101}")
         .header("Message-ID", f"<a{i}@press-mail{i % 4}.com>").header("Date", _date(i))
         .header("Received", f"from mx{i % 2}.press-mail.com (mx [94.130.10.{10 + i % 2}]) by mx.corp.example.org; {_date(i)}")
         .html(f"<p>{ARTICLE} (ref {i})</p><p><a href=\"https://www.reuters.com/world/story-{i}\">Read the story</a></p>"
               f'<img src="https://px.newsdesk-metrics.net/o/{token}.gif" width="1" height="1" style="display:none">'))
    return b.build(), rcpt


def lure_b(i: int) -> tuple[bytes, str]:
    """Campaign B: poses as the BBC, base64-of-address beacon on cdn.bbc-briefing.info, one Reply-To domain."""
    rcpt = RECIPIENTS[(i * 3 + 1) % len(RECIPIENTS)]
    token = base64.urlsafe_b64encode(rcpt.encode()).decode().rstrip("=")
    b = (MessageBuilder().header("From", f'"BBC News Briefing" <news{i}@bbc-alerts{i % 5}.net>')
         .header("To", rcpt).header("Reply-To", f"desk{i}@newsroom-contact.org")
         .subject(f"Your weekly briefing {i}").header("Message-ID", f"<b{i}@bbc-alerts.net>").header("Date", _date(i + 3))
         .html(f"<h1>Briefing {i}</h1><p>Top stories chosen for you, issue {i}.</p>"
               f'<img src="https://cdn.bbc-briefing.info/open?u={token}&c={i}" width="0" height="0">'))
    return b.build(), rcpt


def legit(i: int) -> tuple[bytes, str]:
    """Legitimate mail: plain notes and ESP newsletters with per-recipient tracking (tracked, not a threat)."""
    rcpt = RECIPIENTS[i % len(RECIPIENTS)]
    b = MessageBuilder().header("To", rcpt).header("Message-ID", f"<l{i}@example.com>").header("Date", _date(i + 1))
    if i % 2:
        b.header("From", "Example Shop <news@shop.example.com>").subject(f"Offers of week {i}").html(
            f'<p>New offers {i} <a href="https://shop.example.com/o/{i}">shop</a></p>'
            f'<img src="https://u123.ct.sendgrid.net/wf/open?upn={hashlib.md5(rcpt.encode()).hexdigest()}" width="1" height="1">')
    else:
        b.header("From", "Colleague <pat@corp.example.org>").subject(f"Notes {i}").text(f"Hello, the notes for meeting {i}.\nPat")
    return b.build(), rcpt


def write_mbox(path: Path, msgs: list[bytes], mode: str = "wb") -> None:
    with open(path, mode) as fh:
        for raw in msgs:
            raw = raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
            fh.write(b"From sender@example.com Tue Sep  1 08:00:00 2026\n")
            fh.write(raw + b"\n")


GUARDIAN = ("Hello, our investigations team is compiling reactions from experts across the region on the new "
            "defence procurement rules. We would be grateful for two or three sentences from you by Thursday; "
            "the piece runs in the weekend edition. The article examines how the rules change tendering for "
            "armoured vehicles, naval patrol boats and secure communications, which suppliers stand to gain, "
            "and what oversight parliament keeps once contracts are classified. We are speaking to former "
            "officials, industry analysts and members of the defence committee, and we would like to reflect "
            "your assessment of the risks for smaller member states fairly and in context. If you prefer to "
            "speak on background, tell us and we will not name you. With thanks, the Guardian investigations team")


def lure_c(i: int) -> tuple[bytes, str]:
    """Campaign C: poses as the Guardian, one text template, but a new beacon domain and sender for
    every message: only the near-duplicate text with the same claimed identity ties it together."""
    rcpt = RECIPIENTS[(i * 5 + 2) % len(RECIPIENTS)]
    b = (MessageBuilder().header("From", f'"The Guardian" <team{i}@guardian-desk{i}.org>')
         .header("To", rcpt).subject(f"Expert comment request {i}").header("Message-ID", f"<c{i}@guardian-desk{i}.org>")
         .header("Date", _date(i + 5))
         .html(f"<p>Dear {rcpt.split('@')[0].title()}, {GUARDIAN}</p>"
               f'<img src="https://img{i}.stats-relay{i}.com/p/{hashlib.sha1(rcpt.encode()).hexdigest()}.png" '
               'width="1" height="1" style="visibility:hidden">'))
    return b.build(), rcpt


def lone_reuters() -> bytes:
    """A lure that also poses as Reuters but shares nothing else with campaign A."""
    return (MessageBuilder().header("From", '"Reuters" <office@reuters-media-center.biz>')
            .header("To", "ivan@corp.example.org").subject("Invoice 4471 overdue")
            .header("Message-ID", "<lone@reuters-media-center.biz>").header("Date", _date(20))
            .html("<p>Payment reminder: the attached invoice for your subscription is overdue; settle it today "
                  "using the portal, or your access will be suspended without further notice.</p>"
                  '<img src="https://beacon.unrelated-metrics.xyz/i.gif?r=ivan%40corp.example.org" width="1" height="1">')
            .build())


OUTLETS = [("Reuters World Desk", "reuters"), ("BBC News", "bbc"), ("The Guardian", "guardian"),
           ("The New York Times", "nytimes"), ("Financial Times", "ft"), ("Le Monde", "lemonde")]


_WORDS = ("policy security region minister election trade energy defence summit embassy sanctions talks "
          "budget reform parliament coalition border migration climate technology cyber agency report "
          "interview analysis comment draft deadline editor publication source statement official").split()


def campaign_text(k: int) -> str:
    """Campaign k's own article teaser: different campaigns write different texts (their own words,
    not one shared bag of words, which TLSH would see as one text)."""
    import random

    rnd = random.Random(k)
    syllables = ["ka", "lo", "mi", "ren", "tas", "vo", "qui", "zel", "bor", "nup", "ist", "ado", "wen", "fry", "sol"]
    own = [w for w in _WORDS if rnd.random() < 0.3] + ["".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 4)))
                                                      for _ in range(60)]
    return " ".join(rnd.choice(own) for _ in range(220)).capitalize() + "."


def _outlet_lure(k: int, i: int, recipients: list[str] | None, sender: str, subject: str, mid: str, text: str,
                 pixel: str) -> bytes:
    """One of many campaigns' lures: the outlet of campaign k, the i-th recipient in rotation, the
    campaign's text greeting that recipient, a hidden pixel (``{token}`` in ``pixel`` gets theirs)."""
    rcpts = recipients or RECIPIENTS
    rcpt = rcpts[(i * 7 + k) % len(rcpts)]
    name, slug = OUTLETS[k % len(OUTLETS)]
    if "{md5}" in pixel:
        token = hashlib.md5(rcpt.encode()).hexdigest() if k % 2 else base64.urlsafe_b64encode(rcpt.encode()).decode().rstrip("=")
    else:
        token = hashlib.sha1(rcpt.encode()).hexdigest()
    fmt = {"name": name, "slug": slug, "k": k, "i": i}
    return (MessageBuilder().header("From", f'"{name}" <{sender.format(**fmt)}>')
            .header("To", rcpt).subject(subject.format(**fmt)).header("Message-ID", f"<{mid.format(**fmt)}>")
            .header("Date", _date(i + k))
            .html(f"<p>Dear {rcpt.split('@')[0].title()}, {text}</p>"
                  f'<img src="{pixel.format(**fmt, md5=token, sha1=token)}" width="1" height="1" style="display:none">')
            .build())


def lure_k(k: int, i: int, recipients: list[str] | None = None) -> bytes:
    """Campaign k of many (for the benchmark): one outlet, one beacon host, rotating senders, subjects
    and recipients, a per-recipient md5 or base64 token, the article text varying per message."""
    return _outlet_lure(k, i, recipients, f"{{slug}}{i}@{{slug}}-press{k}-{i % 7}.com",
                        f"{{name}}: request for comment {i * 31 % 997}", "k{k}.{i}@{slug}-press{k}.com",
                        f"{campaign_text(k)} (story {i * 17 % 89})", "https://px{k}.beacon-relay{k}.net/o/{md5}.gif")


def bag_text(seed: int, words: int = 150) -> str:
    """A teaser drawn from the one shared vocabulary (``_WORDS``): every such text has the same word
    distribution (TLSH saw two of them as near), but its own word sequence."""
    import random

    rnd = random.Random(seed)
    return " ".join(rnd.choice(_WORDS) for _ in range(words))


def lure_text_only(k: int, i: int, recipients: list[str] | None = None) -> bytes:
    """Campaign k tied by its text alone: one outlet and one teaser (``bag_text(k)``, the shared
    vocabulary), but a new sender domain and beacon host for every message."""
    return _outlet_lure(k, i, recipients, "desk{i}@{slug}-news{k}x{i}.org", f"{{name}}: your view on story {i * 13 % 301}",
                        "t{k}.{i}@{slug}-news{k}x{i}.org", f"{bag_text(k)} (ref {i})",
                        "https://t{i}.pixel{k}x{i}.net/p/{sha1}.png")
