"""Reading the catalogs: `locales/<language>.po`, compiled in memory at first use with Babel."""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "heard"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
# The languages Heard speaks; English is the source (its catalog only rewords).
LANGUAGES = ("en", "fi", "pt", "bg", "el")
# A pseudo-language for tests: every catalogued message wrapped in ⟦ ⟧, so a word that escaped the catalogs shows.
PSEUDO = "qps"
# Dates, times and numbers as a team in Helsinki, Lisbon, Sofia or Athens writes them; English the European way
# (24-hour clock, day before month).
_BABEL_LOCALES = {"en": "en_GB", "fi": "fi_FI", "pt": "pt_PT", "bg": "bg_BG", "el": "el_GR", PSEUDO: "en_GB"}


def babel_locale_name(language: str) -> str:
    return _BABEL_LOCALES.get(language, "en_GB")


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / f"{language}.po"


def read_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=babel_locale_name(language), domain=DOMAIN)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog for `language`; English words where it has none (or none for a message)."""
    if language == PSEUDO:
        return _pseudo_translations()
    if language not in LANGUAGES or not catalog_path(language).is_file():
        return gettext.NullTranslations()
    return _compiled(read_catalog(language))


def _compiled(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _pseudo_translations() -> gettext.GNUTranslations:
    from bot.i18n.extract import extract_catalog

    catalog = extract_catalog()
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(f"⟦{form}⟧" for form in message.id)
        else:
            message.string = f"⟦{message.id}⟧"
    return _compiled(catalog)
