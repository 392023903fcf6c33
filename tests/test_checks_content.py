"""lurelens.checks.content: one firing message and one near miss per symbol."""

from __future__ import annotations

from conftest import LIST_HOSTS, symbol_case_tests
from lurelens.checks import content
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet

FREE = LIST_HOSTS["freemail"]
HOSTING = LIST_HOSTS["free_hosting"]


def text(body: str, subject: str = "Hello", sender: str | None = None) -> bytes:
    b = MessageBuilder().subject(subject).text(body)
    if sender:
        b.sender(sender)
    return b.build()


def html(body: str) -> bytes:
    return MessageBuilder().html(body).build()


def link(href: str) -> bytes:
    return MessageBuilder().text("x").html(f'<p>Hi Bob,</p><a href="{href}">the site</a>').build()


MATH = "\U0001d40f\U0001d41a\U0001d432\U0001d41f\U0001d41a\U0001d425"  # bold "Payfal"-style letters
CASES = {
    "LURE_CREDENTIAL": (text("Please verify your account to keep access."), text("Please review the agenda."), False),
    "LURE_URGENCY": (text("Action required: reply within 24 hours."), text("Reply whenever suits you."), False),
    # A prize claim fires; a newsletter's voucher and contest is LURE_PROMO, not a claim.
    "LURE_PRIZE": (text("Congratulations, claim your prize today."), text("Win a voucher in our contest! Congratulations to last month's winner."), False),
    "LURE_PROMO": (text("Ihr Gutschein: 10% auf alles, nur diese Woche."), text("Thanks for the meeting notes."), False),
    "LURE_DELIVERY": (text("Your parcel is on hold: a customs fee is due."), text("The parcel arrived, thanks."), False),
    "LURE_PAYMENT": (text("Your payment failed; the invoice is overdue."), text("We received your payment, thanks."), False),
    "SUBJECT_HAS_RECIPIENT": (
        text("Hi.", subject="bob@example.org: your mailbox report"),
        text("Hi.", subject="Your mailbox report"),
        False,
    ),
    "SUBJECT_RANDOM_TOKEN": (
        text("Hi.", subject="Invoice notice xK9mQ2pLz7RwT4"),
        text("Hi.", subject="Invoice INV2026001234 for October"),
        False,
    ),
    "TEXT_OBFUSCATED_UNICODE": (
        text(f"Your {MATH} account needs attention."),
        text("Caf\u00e9 M\u00fcnchen: na\u00efve r\u00e9sum\u00e9 \u00e0 la carte."),
        False,
    ),
    "GREETING_USES_ADDRESS": (text("Dear bob@example.org,\nplease see below."), text("Dear Bob,\nplease see below."), False),
    "GREETING_GENERIC": (text("Dear customer,\nplease see below."), text("Dear Bob,\nplease see below."), False),
    "BODY_FREEMAIL_CONTACT": (
        text(f"For questions write to agent.desk@{FREE} directly."),
        text("For questions write to agent.desk@example.com directly."),
        True,
    ),
    "FROM_DOMAIN_INVALID": (
        text("Hi.", sender="alice@mail.example"),  # .example is reserved, never delegated
        text("Hi.", sender="alice@mail.example.com"),
        False,
    ),
    "FROM_FREE_HOSTING": (
        text("Hi.", sender=f"alice@shop.{HOSTING}"),
        text("Hi.", sender=f"alice@{HOSTING}"),  # the platform itself, not a tenant
        True,
    ),
    "LINK_FREE_HOSTING": (link(f"https://login.{HOSTING}/"), link(f"https://{HOSTING}/docs"), True),
    "FROM_LOCAL_RANDOM": (
        text("Hi.", sender="zmAZizPIr@mailer.example.com"),
        text("Hi.", sender="JohnSmith@mailer.example.com"),
        False,
    ),
    "LURE_EXTORTION": (
        text("I hacked your computer and recorded you. Send the money to my bitcoin wallet."),
        text("Our computer lab has new wallets of paper for the recording club."),
        False,
    ),
    "LURE_ADVANCE_FEE": (
        text("I have a business deal to share with you in the sum of 10.2 million USD."),
        text("The deal closed for a small sum; see the minutes."),
        False,
    ),
    "LURE_CRYPTO": (
        text("Your Bitcoin withdrawal of funds is ready: confirm your wallet address."),
        text("The coin collection and the wallet you left are at the front desk."),
        False,
    ),
    "LURE_ROMANCE": (
        text("Lonely women near you want to flirt tonight."),
        text("The women's team plays near you tonight."),
        False,
    ),
    "BULK_NO_LIST_UNSUBSCRIBE": (
        text("Great offers this week on garden tools. To unsubscribe, click here."),
        MessageBuilder().header("List-Unsubscribe", "<https://news.example.com/u/1>")
        .text("Great offers this week on garden tools. To unsubscribe, click here.").build(),
        False,
    ),
    "HTML_HIDDEN_TEXT": (
        html('<p>Hi.</p><div style="display:none">' + "filler words to fool filters " * 20 + "</div>"),
        html('<p>Hi.</p><div style="display:none">Preview: your weekly digest</div><p>' + "Visible article text. " * 20 + "</p>"),
        False,
    ),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(content, CASES)


def test_lure_language_in_html_visible_text(scanner):
    raw = MessageBuilder().text("x").html("<p>Please <b>verify your account</b> now.</p>").build()
    assert_fires(raw, "LURE_CREDENTIAL", scanner)


def test_lure_in_style_block_is_not_visible_text(scanner):
    raw = MessageBuilder().text("x").html("<style>/* verify your account */ p{}</style><p>Hello</p>").build()
    assert_quiet(raw, "LURE_CREDENTIAL", scanner)


def test_bracketed_list_tag_is_not_the_recipient(scanner):
    raw = MessageBuilder().header("To", "alice.smith@example.org").subject("[alice.smith] weekly digest").text("x").build()
    assert_quiet(raw, "SUBJECT_HAS_RECIPIENT", scanner)


def test_recipient_address_in_body_is_not_a_freemail_contact(list_scanner):
    raw = MessageBuilder().header("To", f"bob@{FREE}").text(f"Your login is bob@{FREE}.").build()
    assert_quiet(raw, "BODY_FREEMAIL_CONTACT", list_scanner)


def test_reply_quoting_an_opt_out_footer_is_not_bulk(scanner):
    raw = (MessageBuilder().header("In-Reply-To", "<a1@example.com>")
           .text("Agreed.\n> To unsubscribe from this list, visit the site.").build())
    assert_quiet(raw, "BULK_NO_LIST_UNSUBSCRIBE", scanner)


def test_opt_out_in_other_languages(scanner):
    for body in ("Para descadastrar-se clique aqui.", "Vom Newsletter abmelden", "Se d\u00e9sabonner de cette liste"):
        assert_fires(text(body), "BULK_NO_LIST_UNSUBSCRIBE", scanner)


def _obfuscation_score(scanner, raw) -> float:
    v = scanner.scan(raw)
    return next(f.score for f in v.findings if f.symbol == "TEXT_OBFUSCATED_UNICODE")


def test_obfuscation_in_the_subject_weighs_more_than_in_the_body(scanner):
    zw = "\u200b"
    in_subject = text("Your bill is ready.", subject=f"Mi{zw}cro{zw}soft 365 billing")
    in_body = text(f"Your Mi{zw}cro{zw}soft ac{zw}count bil{zw}ling is ready.")
    assert _obfuscation_score(scanner, in_subject) > _obfuscation_score(scanner, in_body) > 0


def test_camel_case_words_with_plural_acronyms_are_not_random(scanner):
    raw = text("Hi.", subject="MSN 8.0 on deck, CyberSLAPPs explained")
    assert_quiet(raw, "SUBJECT_RANDOM_TOKEN", scanner)


def test_ip_addresses_are_not_sums_of_money(scanner):
    assert_quiet(text("The USRP answers at 192.168.178.43 and 23.253.215.39."), "LURE_ADVANCE_FEE", scanner)
    assert_fires(text("You will receive 2,500,000.00 USD as our beneficiary."), "LURE_ADVANCE_FEE", scanner)


def test_help_desk_tenant_sender_counts_as_hosting_at_half_strength(scanner):
    v = scanner.scan(text("Hi.", sender="Support <support@scamco.zendesk.com>"))
    f = next(f for f in v.findings if f.symbol == "FROM_FREE_HOSTING")
    assert f.strength == 0.5 and "zendesk.com" in f.evidence
    assert_quiet(text("Hi.", sender="Support <support@zendesk.com>"), "FROM_FREE_HOSTING", scanner)


def test_underscores_as_spaces_do_not_hide_lure_words(scanner):
    assert_fires(text("See attached.", subject="Transfer__to__your__Bitcoin__address"), "LURE_CRYPTO", scanner)


def test_foreign_marks_and_small_capitals_disguise_words(scanner):
    marked = "A\u073fm\u073fa\u073fz\u073fo\u073fn Support"
    assert_fires(text("Hi.", sender=f'"{marked}" <help@shop.example.com>'), "TEXT_OBFUSCATED_UNICODE", scanner)
    small = "\u1d18\u1d00\u028f\u1d0d\u1d07\u0274\u1d1b declined"  # "PAYMENT" in small capitals
    assert_fires(text("Hi.", subject=small), "TEXT_OBFUSCATED_UNICODE", scanner)
    assert_quiet(text("Hi.", subject="Cr\u00e8me br\u00fbl\u00e9e na\u00efve"), "TEXT_OBFUSCATED_UNICODE", scanner)


def test_attachment_names_are_read_for_lures(scanner):
    raw = MessageBuilder().text("See the file.").attach("Bitcoin_Transaction_0.7495_BTC.pdf", "application/pdf", b"%PDF-1.4").build()
    assert_fires(raw, "LURE_CRYPTO", scanner)
    plain = MessageBuilder().text("See the file.").attach("minutes_2026.pdf", "application/pdf", b"%PDF-1.4").build()
    assert_quiet(plain, "LURE_CRYPTO", scanner)


def test_languages_that_write_ipa_letters_are_not_obfuscation(scanner):
    # Azerbaijani and Akan write ə, ɛ and ɔ inside Latin words.
    assert_quiet(text("Azərbaycan Respublikası; Mɛpɛ sɛ mekɔ fie."), "TEXT_OBFUSCATED_UNICODE", scanner)


def test_a_bad_overlay_lure_pattern_names_its_category(tmp_path):
    import json

    import pytest

    from lurelens import ConfigError
    from lurelens.registry.data import DataRegistry

    (tmp_path / "lure_phrases.json").write_text(json.dumps({"categories": {"prize": ["free (lunch"]}}))
    with pytest.raises(ConfigError, match="'prize' does not compile"):
        DataRegistry(extra_dir=tmp_path).lure_scanner


def test_sender_copying_their_own_other_mailbox_is_not_the_recipient(scanner):
    # "Craig Hughes" writing from one address and copying craig@ at another: his own name, not a lure.
    raw = (MessageBuilder().sender("Craig Hughes <craig@hughes.example.org>")
           .header("To", "dan@example.org").header("Cc", "craig@work.example.com").text("Results attached.").build())
    assert_quiet(raw, "SUBJECT_HAS_RECIPIENT", scanner)
    other = (MessageBuilder().sender("Craig Hughes <help@desk.example.net>")
             .header("To", "craig@work.example.com").text("Results attached.").build())
    assert_fires(other, "SUBJECT_HAS_RECIPIENT", scanner)
    # The subject still counts: a spoofed local part does not excuse "craig@...: your mailbox".
    subj = (MessageBuilder().sender("Help <craig@desk.example.net>").header("To", "craig@work.example.com")
            .subject("craig@work.example.com: your mailbox is full").text("Hi.").build())
    assert_fires(subj, "SUBJECT_HAS_RECIPIENT", scanner)


def test_spaced_digits_and_the_alphabet_are_not_spaced_words(scanner):
    for body in ("Hex digits: 0 1 2 3 4 5 6 7 8 9 a b c d e f", "Columns a b c d e f g h", "Scores 3 1 4 1 5 9 2 6"):
        assert_quiet(text(body), "TEXT_OBFUSCATED_UNICODE", scanner)
    assert_fires(text("Your P a y P a l account is locked."), "TEXT_OBFUSCATED_UNICODE", scanner)


def test_a_contraction_does_not_complete_a_lure_phrase(scanner):
    assert_quiet(text("If you drop the rate you won't see underflows."), "LURE_PRIZE", scanner)
    assert_fires(text("Congratulations, you won a new phone."), "LURE_PRIZE", scanner)


def test_news_of_someone_winning_is_not_a_prize_claim(scanner):
    assert_quiet(text("The team has won the regional contest and has been selected for the finals."), "LURE_PRIZE", scanner)
    assert_fires(text("Your e-mail address has won 500,000 USD in our draw."), "LURE_PRIZE", scanner)


def test_a_mailbox_name_with_no_vowels_is_random(scanner):
    assert_fires(text("Hi.", sender="Man Problems <uqfkxgpz@hotel.example.com>"), "FROM_LOCAL_RANDOM", scanner)
    for quiet in ("rwmcgwier@example.com", "schwartz@example.com", "jsmith2024@example.com"):
        assert_quiet(text("Hi.", sender=quiet), "FROM_LOCAL_RANDOM", scanner)
