"""lurelens.checks.lures: one firing message and one near miss per symbol."""

from __future__ import annotations

import pytest

from conftest import symbol_case_tests, text
from lurelens.checks import lures
from lurelens.testing import MessageBuilder, assert_fires, assert_quiet


CASES = {
    "LURE_CREDENTIAL": (text("Please verify your account to keep access."), text("Please review the agenda."), False),
    "LURE_URGENCY": (text("Action required: reply within 24 hours."), text("Reply whenever suits you."), False),
    # A prize claim fires; a newsletter's voucher and contest is LURE_PROMO, not a claim.
    "LURE_PRIZE": (text("Congratulations, claim your prize today."), text("Win a voucher in our contest! Congratulations to last month's winner."), False),
    "LURE_PROMO": (text("Ihr Gutschein: 10% auf alles, nur diese Woche."), text("Thanks for the meeting notes."), False),
    "LURE_DELIVERY": (text("Your parcel is on hold: a customs fee is due."), text("The parcel arrived, thanks."), False),
    "LURE_PAYMENT": (text("Your payment failed; the invoice is overdue."), text("We received your payment, thanks."), False),
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
        # An exchange's market news names coins and its exchange account, and claims nothing.
        text("Bitcoin and Ethereum rose this week; log in to your exchange account to see the charts."),
        False,
    ),
    "LURE_CRYPTO_TOPIC": (
        text("Bitcoin and Ethereum rose this week; log in to your exchange account to see the charts."),
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
}


test_every_symbol_has_a_case, test_fires, test_near_miss_quiet = symbol_case_tests(lures, CASES)


def test_lure_language_in_html_visible_text(scanner):
    raw = MessageBuilder().text("x").html("<p>Please <b>verify your account</b> now.</p>").build()
    assert_fires(raw, "LURE_CREDENTIAL", scanner)


def test_lure_in_style_block_is_not_visible_text(scanner):
    raw = MessageBuilder().text("x").html("<style>/* verify your account */ p{}</style><p>Hello</p>").build()
    assert_quiet(raw, "LURE_CREDENTIAL", scanner)


def test_reply_quoting_an_opt_out_footer_is_not_bulk(scanner):
    raw = (MessageBuilder().header("In-Reply-To", "<a1@example.com>")
           .text("Agreed.\n> To unsubscribe from this list, visit the site.").build())
    assert_quiet(raw, "BULK_NO_LIST_UNSUBSCRIBE", scanner)


def test_opt_out_in_other_languages(scanner):
    for body in ("Para descadastrar-se clique aqui.", "Vom Newsletter abmelden", "Se d\u00e9sabonner de cette liste"):
        assert_fires(text(body), "BULK_NO_LIST_UNSUBSCRIBE", scanner)


def test_ip_addresses_are_not_sums_of_money(scanner):
    assert_quiet(text("The USRP answers at 192.168.178.43 and 23.253.215.39."), "LURE_ADVANCE_FEE", scanner)
    assert_fires(text("You will receive 2,500,000.00 USD as our beneficiary."), "LURE_ADVANCE_FEE", scanner)


def test_underscores_as_spaces_do_not_hide_lure_words(scanner):
    assert_fires(text("See attached.", subject="Transfer__to__your__Bitcoin__address"), "LURE_CRYPTO", scanner)


def test_attachment_names_are_read_for_lures(scanner):
    raw = MessageBuilder().text("See the file.").attach("Bitcoin_Transaction_0.7495_BTC.pdf", "application/pdf", b"%PDF-1.4").build()
    assert_fires(raw, "LURE_CRYPTO", scanner)
    plain = MessageBuilder().text("See the file.").attach("minutes_2026.pdf", "application/pdf", b"%PDF-1.4").build()
    assert_quiet(plain, "LURE_CRYPTO", scanner)


def test_a_bad_overlay_lure_pattern_names_its_category(tmp_path):
    import json

    import pytest

    from lurelens import ConfigError
    from lurelens.registry.data import DataRegistry

    (tmp_path / "lure_phrases.json").write_text(json.dumps({"categories": {"prize": ["free (lunch"]}}))
    with pytest.raises(ConfigError, match="'prize' does not compile"):
        DataRegistry(extra_dir=tmp_path).lure_scanner


def test_a_contraction_does_not_complete_a_lure_phrase(scanner):
    assert_quiet(text("If you drop the rate you won't see underflows."), "LURE_PRIZE", scanner)
    assert_fires(text("Congratulations, you won a new phone."), "LURE_PRIZE", scanner)


def test_news_of_someone_winning_is_not_a_prize_claim(scanner):
    assert_quiet(text("The team has won the regional contest and has been selected for the finals."), "LURE_PRIZE", scanner)
    assert_fires(text("Your e-mail address has won 500,000 USD in our draw."), "LURE_PRIZE", scanner)


@pytest.mark.parametrize("claim", [
    "Your balance has been credited by +$1,733. Withdraw today.",
    "Score released: +$189 in your account.",
    "WITHDRAW FUNDS 120097 USDT",
    "Yes! You earned 1.3 Bitcoin! Click to explore.",
    "Join our cloud mining platform for guaranteed returns.",
])
def test_crypto_claims_are_lures(claim, scanner):
    v = assert_fires(text(claim), "LURE_CRYPTO", scanner)
    assert "LURE_CRYPTO_TOPIC" not in {f.symbol for f in v.findings}  # the claim says it all


def test_an_exchanges_market_news_is_not_suspicious(scanner):
    """Crypto talk with no claim (an exchange's or a fintech's newsletter) scores far below
    `suspicious` on its own: the topic is not the scam (issue 14 review of LURE_CRYPTO)."""
    raw = text("Weekly market update: Bitcoin, Ethereum, Solana and Tether. Bitcoin ETFs saw inflows; "
               "our crypto exchange adds new altcoins. Read more on our blog.", subject="Your crypto market update")
    v = assert_fires(raw, "LURE_CRYPTO_TOPIC", scanner)
    assert "LURE_CRYPTO" not in {f.symbol for f in v.findings}
    assert not v.suspicious_or_worse, v.findings


def test_lottery_winner_notices_are_prize_claims(scanner):
    assert_fires(text("You are among the 5 lucky selected winners of our online draw."), "LURE_PRIZE", scanner)
    assert_fires(text("CONGRATULATIONS ON YOUR 2022 WINNING from the company."), "LURE_PRIZE", scanner)
    assert_quiet(text("Meet the lucky dog who found his way home, and our winning team."), "LURE_PRIZE", scanner)


def test_a_sum_in_pounds_is_an_advance_fee_sum(scanner):
    assert_fires(text("You have acquired the amount of £5millions pounds."), "LURE_ADVANCE_FEE", scanner)


@pytest.mark.parametrize("claim, symbol", [
    ("Today BONUS! 50% bonus at every deposit just today!", "LURE_PRIZE"),
    ("Sichern Sie sich 250 EUR ohne Einzahlung und 100 Freispiele!", "LURE_PRIZE"),
    ("Help Ukraine with BTC, ETH, USDT and other cryptocurrencies.", "LURE_CRYPTO"),
    ("Your Bitcoin transaction is pending: the network is processing it.", "LURE_CRYPTO"),
    ("TAKE FREE CRYPTO now", "LURE_CRYPTO"),
])
def test_casino_bonuses_and_crypto_asks_are_lures(claim, symbol, scanner):
    assert_fires(text(claim), symbol, scanner)


def test_a_merchant_accepting_crypto_claims_nothing(scanner):
    v = scanner.scan(text("Good news: our shop now supports payments in crypto, and a deposit is refundable."))
    assert not {"LURE_CRYPTO", "LURE_PRIZE"} & {f.symbol for f in v.findings}


@pytest.mark.parametrize("bait", [
    "Misschien ben jij precies degene die ik mis... Ja, ik ben soms eenzaam. Ontmoet mij nu.",
    "Ben je nog steeds opzoek naar een spannende afspraak? Wel de lusten, niet de lasten van een vaste relatie, geen vaste relatie.",
    "I am so lonely since my divorce. Meet me tonight.",
])
def test_romance_bait_in_dutch_and_english(bait, scanner):
    assert_fires(text(bait), "LURE_ROMANCE", scanner)


def test_a_friend_saying_meet_me_is_not_romance_bait(scanner):
    assert_quiet(text("Lunch is at noon; meet me at the station, I'll be near the lonely pine by the bridge."), "LURE_ROMANCE", scanner)


def test_portuguese_deposit_bonus(scanner):
    assert_fires(text("Bônus de primeiro depósito para novos cadastros!"), "LURE_PRIZE", scanner)
