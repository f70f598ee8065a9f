"""Triage decides which complaints page a human now; a miss hides a lawyer's letter, a false alarm trains people to
ignore the flag. These tests pin both sides of each rule."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.triage import DEFAULT_CATEGORIES, Triage, TriageRules, parse_categories, parse_word_list, triage

RULES = TriageRules()
EMAIL = "e-mail address"
PHONE = "phone number"
CARD = "card number"


def quiet(text: str) -> Triage:
    """Triage from an account too small to be VIP, so only the text can raise the priority."""
    return triage(text, 12, RULES)


# --- followers --------------------------------------------------------------------------------------------------


def test_exactly_vip_followers_is_high_and_the_count_is_shown_with_separators() -> None:
    result = triage("my parcel is late", 10_000, RULES)
    assert result.priority == "high"
    assert result.reasons == ("10,000 followers",)


def test_one_follower_short_of_vip_is_normal() -> None:
    result = triage("my parcel is late", 9_999, RULES)
    assert result.priority == "normal"
    assert result.reasons == ()


def test_unknown_followers_are_not_vip() -> None:
    assert triage("my parcel is late", None, RULES).priority == "normal"


def test_vip_threshold_is_configurable() -> None:
    rules = TriageRules(vip_followers=500)
    assert triage("hello", 12_400, rules).reasons == ("12,400 followers",)
    assert triage("hello", 499, rules).priority == "normal"


# --- urgent words -----------------------------------------------------------------------------------------------


def test_urgent_word_makes_it_high_whatever_the_case() -> None:
    result = quiet("I want a REFUND now")
    assert result.priority == "high"
    assert result.reasons == ("urgent: refund",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I will sue you", ("sue",)),
        ("Sue.", ("sue",)),
        ("this is an issue", ()),  # "sue" inside a word
        ("we will pursue it", ()),
        ("they charged me twice", ("charge*",)),  # wildcard takes any suffix
        ("charge", ("charge*",)),
        ("phone recharge failed", ()),  # but the word must start there
        ("please cancel\n  my order", ("cancel my",)),  # any whitespace inside a phrase
        ("cancellation my friend", ()),
        ("please cancel myself from my list", ()),  # every word is there, but not as the phrase
    ],
)
def test_urgent_words_match_whole_words_only(text: str, expected: tuple[str, ...]) -> None:
    rules = TriageRules(urgent_words=("sue", "charge*", "cancel my"))
    result = triage(text, None, rules)
    assert (result.priority == "high") == bool(expected)
    assert result.reasons == ((f"urgent: {', '.join(w.rstrip('*') for w in expected)}",) if expected else ())


def test_urgent_reason_lists_at_most_three_words_in_configured_order() -> None:
    rules = TriageRules(urgent_words=("refund", "fraud", "scam", "lawyer"))
    result = triage("lawyer! scam! fraud! refund!", None, rules)
    assert result.reasons == ("urgent: refund, fraud, scam",)


def test_a_word_inside_a_longer_matched_phrase_is_not_repeated() -> None:
    assert quiet("please cancel my account").reasons == ("urgent: cancel my",)


def test_curly_apostrophes_match_straight_ones() -> None:
    rules = TriageRules(urgent_words=("won't refund",))
    assert triage("they won\u2019t refund me", None, rules).reasons == ("urgent: won't refund",)


# --- threats ----------------------------------------------------------------------------------------------------


def test_threat_makes_it_high_and_legal() -> None:
    result = quiet("I know where you live.")
    assert result.priority == "high"
    assert result.legal
    assert result.threats == ("i know where you live",)
    assert result.reasons == ("threat: i know where you live",)


def test_overlapping_threat_phrases_are_all_reported() -> None:
    result = quiet("I will kill you")
    assert set(result.threats) == {"i will kill", "kill you"}


def test_threat_words_need_whole_words() -> None:
    rules = TriageRules(threat_words=("kill",))
    assert not triage("my skills are killing it, no killer app", None, rules).legal
    assert triage("I'll KILL them", None, rules).threats == ("kill",)


def test_everyday_phrases_are_not_threats() -> None:
    for text in ("shoot me an email", "prices shoot up every year", "this update kills my battery"):
        assert not quiet(text).legal, text


def test_threats_are_reported_as_configured() -> None:
    rules = TriageRules(threat_words=("Burn It Down",))
    assert triage("i will burn it   down", None, rules).threats == ("Burn It Down",)


# --- personal data ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "mail me at jo.doe+care@example.co.uk please",
        "EMAIL: JO@EXAMPLE.COM",
    ],
)
def test_email_address_is_personal_data(text: str) -> None:
    result = quiet(text)
    assert result.personal_data == (EMAIL,)
    assert result.reasons == ("personal data: e-mail address",)


@pytest.mark.parametrize(
    "text",
    [
        "call me at 512-689-4551",
        "call (555) 123-4567.",
        "my number is +44 (0)20 7946 0958",
        "+1 555.123.4567",
        "ring 06 12 34 56 78 after six",
        "whatsapp +254711303113",
        "reach me on 4045781025",
    ],
)
def test_phone_number_is_personal_data(text: str) -> None:
    assert quiet(text).personal_data == (PHONE,)


@pytest.mark.parametrize("text", ["4111 1111 1111 1111", "my card 5555-5555-5555-4444", "amex 378282246310005"])
def test_luhn_valid_card_number_is_personal_data(text: str) -> None:
    assert quiet(text).personal_data == (CARD,)


def test_luhn_invalid_sixteen_digits_are_neither_card_nor_phone() -> None:
    # Decision: at 16 digits it is too long for a phone (max 15), and without Luhn it is not a card; most likely an id.
    assert quiet("4111 1111 1111 1112").personal_data == ()


def test_luhn_valid_number_that_no_card_scheme_uses_is_not_a_card() -> None:
    # Card numbers start with 2-6; an id starting with 9 passes Luhn one time in ten by chance.
    assert quiet("9111 1111 1111 1110").personal_data == ()


def test_every_kind_is_listed_once_in_a_fixed_order() -> None:
    text = "card 4111111111111111, call 512-689-4551 or 512-689-4552, mail a@example.com or b@example.com"
    result = quiet(text)
    assert result.personal_data == (EMAIL, PHONE, CARD)
    assert result.reasons == ("personal data: e-mail address, phone number, card number",)


@pytest.mark.parametrize(
    "text",
    [
        "2022-10-07 22:42:12.637103",  # a real post text Heard receives
        "since 07/10/2022 at 10:30, and again 2022-10-07 22:42",
        "on 2022-10-07 12 parcels went missing",  # a date runs into a count
        "down since 07 10 2022 22:42",  # a spaced date runs into a time
        "down since 22:42 07 10 2022",
        "day 12 2022-10-07 and still nothing",
        "https://x.com/acme/status/1578516295611748353",
        "look: https://t.co/W5GxALkkZd",
        "x.com/acme/status/1578516295611748353 is my post",
        "https://shop.example/p-5551234567 is broken",
        "see shop.example/p/555-123-4567",
        "Order #4025678001 never came",
        "order # 4025678001 never came",
        "bought it under # 4025678001",
        "order no. 4111 1111 1111 1111",  # Luhn-valid, but named as an order number
        "order no. 5551234567",
        "ticket 1234567890",
        "server 192.168.100.200 is down",
        "build 10.0.19041.1",
        "screenshot_12345678901.jpg",
        "paid $1234567890 lol",
        "prices up 1234567890% lol",
        "look at 8-4750000030256 please",  # nobody groups a phone number like that
        "@acme1234567890 is you?",
        "ping @acme.com",
    ],
)
def test_numbers_and_handles_that_are_not_personal_data(text: str) -> None:
    assert quiet(text).personal_data == ()


# --- categories -------------------------------------------------------------------------------------------------


def test_first_configured_category_wins() -> None:
    text = "my parcel arrived with the wrong invoice"  # delivery and billing both match
    assert quiet(text).category == "billing"
    delivery_first = TriageRules(categories=(DEFAULT_CATEGORIES[1], DEFAULT_CATEGORIES[0]))
    assert triage(text, None, delivery_first).category == "delivery"


def test_category_is_none_when_nothing_matches_and_does_not_raise_priority() -> None:
    assert quiet("hello there").category is None
    assert quiet("my parcel is late").category == "delivery"
    assert quiet("my parcel is late").priority == "normal"


def test_a_phone_that_is_not_charging_is_not_billing() -> None:
    assert quiet("my phone stopped charging and the charger is faulty").category == "product"


# --- settings parsing -------------------------------------------------------------------------------------------


def test_parse_word_list_trims_and_drops_empty_items() -> None:
    assert parse_word_list("refund, cancel my order ,lawyer") == ("refund", "cancel my order", "lawyer")
    assert parse_word_list(" refund,, ,Refund, cancel   my  order,") == ("refund", "cancel my order")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "no words in ''"),
        (" , ,", "no words in ' , ,'"),
        ("refund, *", "'*' is not a usable word"),
    ],
)
def test_parse_word_list_refuses_nothing_usable(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_word_list(raw)


def test_parse_categories_keeps_order_and_words() -> None:
    assert parse_categories("billing: refund, charge*; delivery: parcel, shipping;") == (
        ("billing", ("refund", "charge*")),
        ("delivery", ("parcel", "shipping")),
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("billing: refund; delivery:", "'delivery' has no words"),
        ("billing: refund; delivery: , ,", "'delivery' has no words"),
        ("billing: refund; foo", "missing ':' in 'foo'"),
        (": refund", "missing category name"),
        ("billing: refund; Billing: invoice", "category 'Billing' is given twice"),
        ("billing: *", "in 'billing': '*' is not a usable word"),
        (" ; ", "no categories"),
    ],
)
def test_parse_categories_names_the_bad_part(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_categories(raw)


def test_parsed_settings_plug_into_rules() -> None:
    rules = TriageRules(
        urgent_words=parse_word_list("chargeback, cancel my order"),
        categories=parse_categories("billing: chargeback; delivery: parcel"),
    )
    result = triage("Please CANCEL my order, the parcel never came", None, rules)
    assert result.reasons == ("urgent: cancel my order",)
    assert result.category == "delivery"


def test_rules_refuse_bad_words_when_built_not_when_used() -> None:
    with pytest.raises(ValueError, match=re.escape("'*' is not a usable word")):
        TriageRules(urgent_words=("refund", "*"))
    with pytest.raises(TypeError, match="parse_word_list"):
        TriageRules(urgent_words="refund, cancel")  # type: ignore[arg-type]


def test_rules_accept_lists_and_stay_hashable() -> None:
    rules = TriageRules(urgent_words=["refund"], categories=[("billing", ["invoice"])])  # type: ignore[arg-type]
    assert hash(rules) == hash(TriageRules(urgent_words=("refund",), categories=(("billing", ("invoice",)),)))
    assert dataclasses.replace(rules, vip_followers=5).urgent_words == ("refund",)


# --- hostile text -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "😡\u200f\u202e" * 10_000,
        "1 " * 20_000,
        "1-" * 20_000,
        "a@b." * 10_000,
        "12:34:" * 10_000,
        "refund " * 10_000,
        "x/" * 10_000 + " 5551234567" * 500,
        "",
    ],
)
def test_hostile_text_is_handled(text: str) -> None:
    # The pytest timeout would catch catastrophic backtracking; the point here is that nothing raises.
    result = triage(text, None, RULES)
    assert result.priority in ("high", "normal")


def test_emoji_and_rtl_marks_do_not_hide_a_word() -> None:
    result = quiet("😡" * 10_000 + "\u200f refund \u202e")
    assert result.reasons == ("urgent: refund",)


# --- real complaints --------------------------------------------------------------------------------------------
# from IBM's Twitter customer-care dataset, Apache-2.0


def test_real_post_with_email_and_phone() -> None:
    text = (
        "@YahooCare kindly I have forgotten my password and security questions... Email wishmash2@yahoo.com, "
        "cell number +254711303113...kindly help. Thanks"
    )
    result = quiet(text)
    assert result.personal_data == (EMAIL, PHONE)
    assert result.priority == "high"
    assert result.category == "account"


def test_real_post_with_phone() -> None:
    text = (
        "Need help. I am apparently in one of my assistant's dropbox and cannot find the logout button so I can go "
        "to my admin page and contact you. I rarely use twitter so please call me at 512-689-4551. Thank you"
    )
    result = quiet(text)
    assert result.personal_data == (PHONE,)
    assert result.category == "account"


def test_real_post_with_order_number_is_not_personal_data() -> None:
    text = (
        "@amazonIN @amazon @AppleSupport @Apple @SamsungIndia \n\nGot faulty iPhone 11 Pro from Amazon. Device is "
        "not even charging at all. I have received a defective product and it's not even 1 month. I should get a "
        "replacement not any repair work. Order # 40256780019417115"
    )
    result = quiet(text)
    assert result.personal_data == ()
    assert result.priority == "normal"
    assert result.category == "product"


def test_real_post_with_build_and_kb_numbers_is_not_personal_data() -> None:
    text = (
        "@MicrosoftHelps Fresh install of Windows 10 Pro 1909 18563.592 and get this on windows update - 2020-02 "
        "Cumulative Update for Windows 10 Version 1909 for x64-based Systems (KB4532693) - Error 0x800f0985, "
        "Thoughts ?"
    )
    result = quiet(text)
    assert result.personal_data == ()
    assert result.priority == "normal"
