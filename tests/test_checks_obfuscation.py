"""lurelens.checks.obfuscation: one firing message and one near miss per symbol."""

from __future__ import annotations

from conftest import html, symbol_case_tests, text
from lurelens.checks import obfuscation
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet


MATH = "\U0001d40f\U0001d41a\U0001d432\U0001d41f\U0001d41a\U0001d425"  # bold "Payfal"-style letters
CASES = {
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
    "TEXT_LOOKALIKE_LETTERS": (
        text("Check the PDF we attached.", subject="[ lRS : Report ] - Your refund is ready"),
        text("Check the PDF we attached.", subject="[ IRS : Report ] - Your refund is ready"),
        False,
    ),
    "HTML_HIDDEN_TEXT": (
        html('<p>Hi.</p><div style="display:none">' + "filler words to fool filters " * 20 + "</div>"),
        html('<p>Hi.</p><div style="display:none">Preview: your weekly digest</div><p>' + "Visible article text. " * 20 + "</p>"),
        False,
    ),
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(obfuscation, CASES)


def test_bracketed_list_tag_is_not_the_recipient(scanner):
    raw = MessageBuilder().header("To", "alice.smith@example.org").subject("[alice.smith] weekly digest").text("x").build()
    assert_quiet(raw, "SUBJECT_HAS_RECIPIENT", scanner)


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


def test_foreign_marks_and_small_capitals_disguise_words(scanner):
    marked = "A\u073fm\u073fa\u073fz\u073fo\u073fn Support"
    assert_fires(text("Hi.", sender=f'"{marked}" <help@shop.example.com>'), "TEXT_OBFUSCATED_UNICODE", scanner)
    small = "\u1d18\u1d00\u028f\u1d0d\u1d07\u0274\u1d1b declined"  # "PAYMENT" in small capitals
    assert_fires(text("Hi.", subject=small), "TEXT_OBFUSCATED_UNICODE", scanner)
    assert_quiet(text("Hi.", subject="Cr\u00e8me br\u00fbl\u00e9e na\u00efve"), "TEXT_OBFUSCATED_UNICODE", scanner)


def test_languages_that_write_ipa_letters_are_not_obfuscation(scanner):
    # Azerbaijani and Akan write ə, ɛ and ɔ inside Latin words.
    assert_quiet(text("Azərbaycan Respublikası; Mɛpɛ sɛ mekɔ fie."), "TEXT_OBFUSCATED_UNICODE", scanner)


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


def test_ascii_lookalike_letters_in_names(scanner):
    assert_fires(text("Hi.", sender='"Banco CentraI" <aviso@example.com>'), "TEXT_LOOKALIKE_LETTERS", scanner)
    raw = MessageBuilder().text("Your order.").attach("lnvoice-Number002346234.docx", "application/msword", b"x").build()
    assert_fires(raw, "TEXT_LOOKALIKE_LETTERS", scanner)
    for subject in ("PONTOS lTAUCARD", "lnformation update"):
        assert_fires(text("Hi.", subject=subject), "TEXT_LOOKALIKE_LETTERS", scanner)


def test_ordinary_words_and_names_are_not_lookalikes(scanner):
    for subject in ("Invoice for Ireland", "Linux lab: ln -s and lsof", "iPhone and iPad", "Henry VIII and Louis XIV",
                    "Banco Central do Brasil", "lol OK", "WiFi setup"):
        assert_quiet(text("Hi.", subject=subject), "TEXT_LOOKALIKE_LETTERS", scanner)
    # PGP armour and host names in the body are not read.
    assert_quiet(text("-----BEGIN PGP SIGNATURE-----\niD8DBQE9lEAAm lnksrv.example.com"), "TEXT_LOOKALIKE_LETTERS", scanner)
