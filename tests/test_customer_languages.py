"""Heard hears customers in English, Finnish, Portuguese, Bulgarian and Greek: which language a post is in when the
source does not say, triage in each language, the reply templates and their {eta}, and, end to end, a Portuguese
customer's webhook complaint answered from the Portuguese template."""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app import Heard
from bot import language as language_module
from bot.config import ConfigError, load_settings
from bot.language import CustomerLanguages, parse_customer_languages
from bot.replies import (
    ACKNOWLEDGE,
    BUILT_IN,
    PLACEHOLDERS,
    PRIVATE,
    Templates,
    eta_words,
    fill,
    parse_templates,
    template_values,
)
from bot.triage import TriageRules, language_words, languages_with_words, parse_word_list, triage
from sandbox import customers
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from storage.models import Complaint
from tests.care_team import CareTeam, open_reply_modal, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester

LANGUAGES = CustomerLanguages(("en", "fi", "pt", "bg", "el"))
EVERY_LANGUAGE = TriageRules(languages=("fi", "pt", "bg", "el"))
ENGLISH_ONLY = TriageRules()
PHONE = "phone number"
ANA = "U0ANA"
VALID = {
    "SLACK_BOT_TOKEN": "xoxb-123-abc",
    "SLACK_SIGNING_SECRET": "shh-signing-0123456789abcdef01234",
    "HEARD_CHANNEL": "C0123ABCD",
    "INGEST_SECRET": "shh-ingest-0123456789abcdef012345",
}


# -- which language ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("My parcel never arrived and nobody answers the phone.", "en"),
        ("Paketti ei ole vieläkään tullut, vaikka tilasin sen kaksi viikkoa sitten.", "fi"),
        ("A minha encomenda devia ter chegado há uma semana e ainda nada.", "pt"),
        ("Поръчката ми трябваше да пристигне преди седмица, а още я няма.", "bg"),
        ("Η παραγγελία μου έπρεπε να είχε έρθει πριν από μια εβδομάδα.", "el"),
        ("@acme_fi Laskussa on virhe, veloititte kahdesti! https://t.co/x1 #huonopalvelu", "fi"),
        ("ποτε θα ερθει το δεμα μου; περιμενω 10 μερες", "el"),  # typed without accents, as on many phones
    ],
)
def test_a_customers_language_is_found_among_the_teams_languages(text: str, language: str) -> None:
    assert LANGUAGES.detect(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ok",
        "Nokia 3310??",
        "@acme 👍👍👍 https://t.co/abc123",
        "#fail #fail",
        "12345 678 9000",
        "Hotel Oslo",
        "Pizza, taxi, hotel, radio",  # words every one of these languages uses: no guess
    ],
)
def test_a_text_too_short_or_ambiguous_gets_no_language_rather_than_a_guess(text: str) -> None:
    assert LANGUAGES.detect(text) is None


# A burst in every language, as one batch brings it (tests/test_meta_facebook.py files it through Meta's webhook).
WRITTEN_IN: dict[str, str | None] = {
    "My parcel never arrived and nobody answers the phone.": "en",
    "Paketti ei ole vieläkään tullut, vaikka tilasin sen kaksi viikkoa sitten.": "fi",
    "A minha encomenda devia ter chegado há uma semana e ainda nada.": "pt",
    "Поръчката ми трябваше да пристигне преди седмица, а още я няма.": "bg",
    "Η παραγγελία μου έπρεπε να είχε έρθει πριν από μια εβδομάδα.": "el",
    "Nokia 3310??": None,
    "Laskussa on virhe, veloititte kahdesti enkä saa ketään kiinni.": "fi",
    "Cobraram-me duas vezes a mesma encomenda e ninguém responde.": "pt",
    "The app logs me out every time I open my order history.": "en",
    "Никой не отговаря на телефона, а парите ми още ги няма.": "bg",
    "ποτε θα ερθει το δεμα μου; περιμενω 10 μερες": "el",
    "Pizza, taxi, hotel, radio": None,
}


def test_a_batch_gets_each_texts_own_language_in_order() -> None:
    # A page of X posts or a burst of webhooks is read by lingua at once, on every core: same answers, same order.
    texts: list[str | None] = [None, "ok", *WRITTEN_IN]
    texts = texts + list(reversed(texts))

    found = LANGUAGES.detect_all(texts)

    assert found == [LANGUAGES.detect(text) for text in texts]
    assert found[: len(WRITTEN_IN) + 2] == [None, None, *WRITTEN_IN.values()]


def test_one_configured_language_is_every_customers_language() -> None:
    assert CustomerLanguages(("fi",)).detect("Where is my parcel?") == "fi"


def test_the_detector_is_built_once_per_process_whatever_the_threads() -> None:
    languages = CustomerLanguages(("en", "pt"))
    seen: list[object] = []
    start = threading.Barrier(8)

    def detect() -> None:
        start.wait()
        languages.detect("A encomenda não chegou e ninguém responde.")
        seen.append(languages.detector())

    threads = [threading.Thread(target=detect) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(detector is seen[0] for detector in seen)


def test_customer_languages_are_a_setting_checked_at_start_up() -> None:
    assert load_settings(VALID, env_file=None).customer_languages.codes == ("en", "fi", "pt", "bg", "el")
    assert parse_customer_languages(" fi, pt ,fi") == ("fi", "pt")
    with pytest.raises(ConfigError) as error:
        load_settings({**VALID, "CUSTOMER_LANGUAGES": "en,finnish"}, env_file=None)
    assert "CUSTOMER_LANGUAGES" in str(error.value) and "'finnish'" in str(error.value)
    with pytest.raises(ConfigError, match="CUSTOMER_LANGUAGES"):
        load_settings({**VALID, "CUSTOMER_LANGUAGES": " , "}, env_file=None)


def test_triage_takes_the_words_of_the_configured_languages_only() -> None:
    assert load_settings(VALID, env_file=None).triage.languages == ("fi", "pt", "bg", "el")
    english = load_settings({**VALID, "CUSTOMER_LANGUAGES": "en"}, env_file=None).triage
    assert english.languages == ()
    assert triage("Vaadin hyvitystä heti", None, english).priority == "normal"
    # A language Heard detects but has no words for (yet) is fine: it is triaged by the others' lists.
    assert load_settings({**VALID, "CUSTOMER_LANGUAGES": "en,es,fi"}, env_file=None).triage.languages == ("fi",)


# -- triage in every language -----------------------------------------------------------------------------------


@pytest.mark.parametrize("refund", ["hyvitystä", "hyvityksen", "hyvityksiä", "hyvitys", "HYVITYSTÄ", "hyvitysta"])
def test_a_finnish_refund_demand_is_urgent_in_any_case_form(refund: str) -> None:
    result = triage(f"Tuote tuli rikki ja vaadin {refund} heti!", None, EVERY_LANGUAGE)
    assert result.priority == "high"
    assert "urgent: hyvitys" in result.reasons
    assert result.category == "billing"


def test_a_finnish_complaint_in_partitive_from_a_real_looking_post() -> None:
    result = triage(
        "@acme_fi Minulta veloitettiin kahdesti samasta tilauksesta. Haluan hyvitystä, en lahjakorttia.",
        None,
        EVERY_LANGUAGE,
    )
    assert result.priority == "high" and result.reasons == ("urgent: hyvitys",) and result.category == "billing"


@pytest.mark.parametrize(
    "text",
    [
        "Αν δεν μου επιστρέψετε τα χρήματα, θα σας σκοτώσω. Ξέρω πού μένετε.",
        "ΘΑ ΣΑΣ ΣΚΟΤΩΣΩ. ΞΕΡΩ ΠΟΥ ΜΕΝΕΤΕ",  # capitals, no accents: the final sigma of ΣΑΣ is folded too
        "θα σας σκοτωσω ολους, ξερω που μενετε",  # no accents at all
    ],
)
def test_a_greek_threat_is_flagged_for_legal(text: str) -> None:
    result = triage(text, None, EVERY_LANGUAGE)
    assert result.legal and result.priority == "high"
    assert result.threats == ("θα σας σκοτώσω", "ξέρω πού μένετε")  # shown as written in the file, with accents
    assert result.reasons[-1] == "threat: θα σας σκοτώσω, ξέρω πού μένετε"


def test_a_greek_refund_is_urgent_with_or_without_accents() -> None:
    for text in ("Θέλω επιστροφή χρημάτων τώρα", "θελω επιστροφη χρηματων", "ΕΠΙΣΤΡΟΦΗ ΧΡΗΜΑΤΩΝ ΤΩΡΑ"):
        assert triage(text, None, EVERY_LANGUAGE).reasons == ("urgent: επιστροφή χρημάτων",), text


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("Това е измама, ще ви дам на съд!", "urgent: измама, ще ви дам на съд"),
        ("Измамата е очевидна.", "urgent: измама"),  # with the definite article
        ("Искам си парите обратно веднага", "urgent: искам си парите"),
        ("Foi cobrada duas vezes e quero o reembolso.", "urgent: reembolso"),
        ("Os reembolsos nunca chegam, vou ao livro de reclamações", "urgent: reembolso, livro de reclamações"),
    ],
)
def test_bulgarian_and_portuguese_forms_are_urgent(text: str, urgent: str) -> None:
    assert triage(text, None, EVERY_LANGUAGE).reasons == (urgent,)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("A encomenda não chegou e a transportadora não sabe de nada.", "delivery"),
        ("Cobraram-me duas mensalidades.", "billing"),
        ("As faturas vêm sempre cobradas a dobrar", "billing"),  # gender and plural: cobrad*
        ("Paketti ei ole vieläkään tullut.", "delivery"),
        ("Salasana ei kelpaa ja tili lukittui.", "account"),
        ("Пратката не е пристигнала от седмица.", "delivery"),
        ("Екранът е счупен, а телефонът е нов", "product"),
        ("Το δέμα δεν έφτασε ποτέ.", "delivery"),
        ("Η εξυπηρέτηση πελατών δεν απαντά", "service"),
    ],
)
def test_categories_in_every_language(text: str, category: str) -> None:
    assert triage(text, None, EVERY_LANGUAGE).category == category


@pytest.mark.parametrize(
    "text",
    [
        "Обадете ми се на 0888 123 456, моля.",  # a Bulgarian mobile, national format
        "Телефонът ми е +359 888 123 456",
        "Liguem-me para o 912 345 678 por favor",  # a Portuguese mobile
        "O meu número é +351 21 123 4567",
        "Soittakaa numeroon 040 123 4567",
        "Καλέστε με στο 694 123 4567",
        "Καλέστε με στο +30 210 123 4567",
    ],
)
def test_phone_numbers_of_the_five_countries_are_personal_data(text: str) -> None:
    result = triage(text, None, EVERY_LANGUAGE)
    assert result.personal_data == (PHONE,) and "personal data: phone number" in result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Поръчка № 0888123456 не е пристигнала",  # an order number, however phone-like
        "A encomenda n.º 912345678 não chegou",
        "Tilausnumero on 0401234567 eikä mitään kuulu",
        "Η παραγγελία με αριθμό 6941234567 δεν ήρθε",
        "Paguei 123456789 vezes",  # not a valid number anywhere: no phone
    ],
)
def test_identifiers_named_in_each_language_are_not_phone_numbers(text: str) -> None:
    assert PHONE not in triage(text, None, EVERY_LANGUAGE).personal_data


def test_the_other_languages_change_nothing_for_real_english_complaints() -> None:
    """The sandbox's 80 real English complaints are triaged the same with every language's words as without."""
    english = [c for c in customers.load_sample() if not c.get("written_for_sandbox")]
    assert len(english) == 80
    for conversation in english:
        text = "\n".join(conversation["turns"])
        assert triage(text, None, EVERY_LANGUAGE) == triage(text, None, ENGLISH_ONLY), text


def test_every_language_file_loads_and_documents_its_rules() -> None:
    assert languages_with_words() == ("bg", "el", "en", "fi", "pt")
    for code in languages_with_words():
        words = language_words(code)
        assert words.urgent and words.threats and words.categories and words.id_words, code
        header = (Path(__file__).resolve().parent.parent / "bot" / "triage_words" / f"{code}.toml").read_text()
        assert "Matching rules" in header and "case-folded" in header and '"word*"' in header, code
        # The categories a file adds to are the ones Heard has.
        assert {label for label, _ in words.categories} <= {label for label, _ in ENGLISH_ONLY.categories}


@pytest.mark.parametrize(
    ("raw", "message"),
    [("hyvi*tys", "at the end of a word"), ("*kaksi sanaa", "single words"), ("*", "letter or digit")],
)
def test_a_wildcard_in_the_wrong_place_is_refused(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_word_list(raw)


def test_a_compound_and_a_phrase_of_stems() -> None:
    rules = TriageRules(urgent_words=("*hyvity* (hyvitys)", "επιστροφ* χρημ*"))
    assert triage("Missä rahanhyvitykseni on?", None, rules).reasons == ("urgent: hyvitys",)
    assert triage("ζητώ επιστροφή χρημάτων", None, rules).reasons == ("urgent: επιστροφ χρημ",)  # no (shown) word


# -- {eta} and the templates in each language ------------------------------------------------------------------------

LISBON = ZoneInfo("Europe/Lisbon")
NOW = datetime(2026, 11, 24, 11, 0, tzinfo=LISBON)  # a Tuesday


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LISBON)


@pytest.mark.parametrize(
    ("language", "today", "tomorrow", "weekday", "date"),
    [
        ("en", "by 3 pm today", "by 10:30 am tomorrow", "by 10 am on Monday", "by 9 am on 3 December"),
        ("fi", "tänään klo 15.00 mennessä", "huomenna klo 10.30 mennessä", "maanantaina klo 10.00 mennessä",
         "3. joulukuuta klo 9.00 mennessä"),
        ("pt", "hoje até às 15:00", "amanhã até às 10:30", "na segunda-feira até às 10:00",
         "no dia 3 de dezembro até às 09:00"),
        ("bg", "днес до 15:00 ч.", "утре до 10:30 ч.", "в понеделник до 10:00 ч.", "на 3 декември до 09:00 ч."),
        ("el", "σήμερα έως τις 15:00", "αύριο έως τις 10:30", "τη Δευτέρα έως τις 10:00",
         "στις 3 Δεκεμβρίου έως τις 09:00"),
        ("es", "hoy antes de las 15:00", "mañana antes de las 10:30", "el lunes antes de las 10:00",
         "el 3 de diciembre antes de las 09:00"),
    ],
)  # fmt: skip
def test_eta_in_words_in_each_language(language: str, today: str, tomorrow: str, weekday: str, date: str) -> None:
    moments = ("2026-11-24 15:00", "2026-11-25 10:30", "2026-11-30 10:00", "2026-12-03 09:00")
    assert [eta_words(at(moment), NOW, LISBON, language) for moment in moments] == [today, tomorrow, weekday, date]


def test_eta_words_follow_each_languages_grammar() -> None:
    assert eta_words(at("2026-11-28 10:00"), NOW, LISBON, "pt") == "no sábado até às 10:00"
    assert eta_words(at("2026-11-25 01:00"), NOW, LISBON, "pt") == "amanhã até à 01:00"
    assert eta_words(at("2026-11-26 10:00"), NOW, LISBON, "bg") == "в четвъртък до 10:00 ч."
    assert eta_words(at("2026-12-01 10:00"), at("2026-11-26 09:00"), LISBON, "bg") == "във вторник до 10:00 ч."
    assert eta_words(at("2026-11-28 10:00"), NOW, LISBON, "el") == "το Σάββατο έως τις 10:00"
    assert eta_words(at("2026-12-01 09:00"), at("2026-11-26 09:00"), LISBON, "el") == "την Τρίτη έως τις 09:00"
    assert eta_words(at("2026-12-01 09:00"), at("2026-11-20 09:00"), LISBON, "el") == "την 1η Δεκεμβρίου έως τις 09:00"
    assert eta_words(at("2026-11-24 15:00"), NOW, LISBON, "pt-BR") == "hoje até às 15:00"
    assert eta_words(at("2026-11-24 15:00"), NOW, LISBON, "de") == "by 3 pm today"  # no words of its own: English


def test_built_in_templates_in_five_languages_with_the_same_placeholders() -> None:
    english = BUILT_IN["default"]["en"]
    for language in ("fi", "pt", "bg", "el"):
        for kind in (ACKNOWLEDGE, PRIVATE):
            text = BUILT_IN["default"][language][kind]
            assert all(("{" + p + "}" in text) == ("{" + p + "}" in english[kind]) for p in PLACEHOLDERS), text
            assert Templates({}).get(kind, "facebook", language) == (text, language)


def test_the_customers_language_comes_before_the_source_in_english() -> None:
    team = parse_templates('[x.en]\nacknowledge = "Hi {first_name} on X"\n', Path("replies.toml"))
    assert team.get(ACKNOWLEDGE, "x", "fi") == (BUILT_IN["default"]["fi"][ACKNOWLEDGE], "fi")
    assert team.get(ACKNOWLEDGE, "x", "pt-BR") == (BUILT_IN["default"]["pt"][ACKNOWLEDGE], "pt")
    assert team.get(ACKNOWLEDGE, "x", None) == ("Hi {first_name} on X", "en")


def test_a_filled_template_reads_naturally_in_each_language() -> None:
    def filled(language: str, kind: str = ACKNOWLEDGE, contact: str = "a DM") -> str:
        eta = eta_words(at("2026-11-24 15:00"), NOW, LISBON, language)
        values = template_values(
            author_name="Maria Silva",
            author_handle="@maria",
            agent_name=None,
            eta=eta,
            private_contact=contact,
            language=language,
        )
        return fill(BUILT_IN["default"][language][kind], values)

    assert filled("bg").endswith("ще Ви отговорим днес до 15:00 ч.")  # not "ч.."
    assert "Ονομάζομαι η ομάδα εξυπηρέτησης πελατών" in filled("el")  # no agent name: the team's
    assert "lähettää meille yksityisviestin," in filled("fi", PRIVATE)  # PRIVATE_CONTACT's default, in Finnish
    assert "enviar-nos care@acme.example com" in filled("pt", PRIVATE, "care@acme.example")  # the team's, as set


def test_templates_and_filled_replies_are_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", 'acknowledge = "Γεια σας {first_name}, λυπούμαστε πολύ."')
    templates = parse_templates(f"[default.el]\n{decomposed}\n", Path("replies.toml"))
    text, _ = templates.get(ACKNOWLEDGE, "facebook", "el")
    assert text == unicodedata.normalize("NFC", text)
    name = unicodedata.normalize("NFD", "Ζωή")
    assert fill("{first_name}", {"first_name": name}) == "Ζωή"


# -- end to end: a Portuguese customer, no language from the source -------------------------------------------------


@pytest.fixture
def team(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> tuple[Heard, CareTeam]:
    heard = start_heard(RESOLVE_WINDOW="4h")
    fake_slack.set_user(ANA, real_name="Ana García")
    driver = SlackDriver(f"http://127.0.0.1:{heard.port}/slack/events", SIGNING_SECRET, fake_slack)
    return heard, CareTeam(fake_slack, driver, CHANNEL)


def test_a_portuguese_webhook_complaint_is_answered_from_the_portuguese_template(
    team: tuple[Heard, CareTeam], fake_slack: FakeSlack, database: Database
) -> None:
    heard, desk = team
    answer = Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET).complain(
        author={"handle": "joana_m", "name": "Joana Marques"},
        text="Cobraram-me duas vezes a mesma encomenda e ninguém responde. Quero o reembolso! Liguem para 912 345 678.",
    )
    assert answer.status == 202
    with database.unit_of_work() as session:
        complaint = session.scalars(select(Complaint)).one()
        assert complaint.lang == "pt"  # the webhook said nothing; Heard detected it
        assert complaint.priority == "high" and complaint.personal_data == [PHONE]
        assert complaint.category == "billing"

    card = desk.card()
    assert "lang pt" in visible_text(card)
    assert "urgent: reembolso" in visible_text(card)
    view = open_reply_modal(desk.slack, fake_slack, ANA, card, CHANNEL)
    prefilled = next(b for b in view["blocks"] if b.get("block_id") == "reply_text")["element"]["initial_value"]
    assert prefilled.startswith("Olá Joana! O meu nome é Ana e faço parte da equipa de apoio ao cliente.")
    assert " até à" in prefilled and prefilled.endswith(".")  # {eta} in Portuguese: "hoje até às 15:00."


@pytest.mark.parametrize(
    ("language", "text", "greeting"),
    [
        ("fi", "Paketti ei ole vieläkään tullut, vaikka tilasin sen kaksi viikkoa sitten.", "Hei Liisa!"),
        ("pt", "A minha encomenda devia ter chegado há uma semana e ainda nada.", "Olá Liisa!"),
        ("bg", "Поръчката ми трябваше да пристигне преди седмица, а още я няма.", "Здравейте, Liisa!"),
        ("el", "Η παραγγελία μου έπρεπε να είχε έρθει πριν από μια εβδομάδα και ακόμα τίποτα.", "Γεια σας Liisa!"),
    ],
)
def test_make_it_personal_is_asked_in_every_language_even_when_the_accents_come_back_decomposed(
    team: tuple[Heard, CareTeam], fake_slack: FakeSlack, database: Database, language: str, text: str, greeting: str
) -> None:
    heard, desk = team
    Ingester(f"http://127.0.0.1:{heard.port}/ingest", INGEST_SECRET).complain(
        author={"handle": "liisa", "name": "Liisa K"}, text=text
    )
    view = open_reply_modal(desk.slack, fake_slack, ANA, desk.card(), CHANNEL)
    prefilled = next(b for b in view["blocks"] if b.get("block_id") == "reply_text")["element"]["initial_value"]
    assert prefilled.startswith(greeting)

    # The template unchanged, its accents sent back decomposed (as some keyboards and clients do): still unchanged.
    asked = desk.slack.submit_view(view, ANA, {"Reply": unicodedata.normalize("NFD", prefilled)})
    assert asked.outcome == "updated"
    (warned,) = fake_slack.open_views(ANA)
    assert "Make it personal?" in json.dumps(warned["blocks"], ensure_ascii=False)

    sorry = {"fi": "Pahoittelut!", "pt": "Desculpe!", "bg": "Съжалявам!", "el": "Συγγνώμη!"}[language]
    personal = prefilled.replace(greeting, f"{greeting} {sorry}")
    closed = desk.slack.submit_view(warned, ANA, {"Reply": personal})
    assert closed.outcome == "closed"
    desk.card_shows("Reply drafted by")
    with database.unit_of_work() as session:
        assert session.scalars(select(Complaint.lang)).one() == language


def test_the_models_can_be_loaded_ahead_of_the_first_complaint() -> None:
    languages = CustomerLanguages(("en", "bg"))
    languages.warm_up().join(timeout=30)
    assert (("en", "bg"), languages.min_distance) in language_module._DETECTORS
    assert languages.detect("Къде е поръчката ми? Никой не отговаря.") == "bg"
