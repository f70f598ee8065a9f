"""`python -m bot.i18n.update`: extract the messages from the code and merge them into every catalog.

New messages arrive untranslated (English's catalog copies the source), changed ones as fuzzy for a translator to
confirm; the catalog test fails until both are dealt with.
"""

from __future__ import annotations

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import write_po

from bot.i18n.catalogs import LANGUAGES, babel_locale_name, catalog_path, read_catalog
from bot.i18n.extract import extract_catalog


def update(language: str, template: Catalog) -> Catalog:
    if catalog_path(language).is_file():
        catalog = read_catalog(language)
    else:
        catalog = Catalog(locale=babel_locale_name(language), domain=template.domain, project="Heard")
    # English is the source: a new message is itself, never a guess from a similar one.
    catalog.update(
        template, no_fuzzy_matching=language == "en", update_header_comment=False, update_creation_date=False
    )
    if language == "en":
        for message in catalog:
            if message.id and not all(_forms(message)):
                message.string = message.id
    return catalog


def _forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def main() -> None:
    for language in LANGUAGES:
        # A fresh template each time: Babel's update shares the template's messages with the catalog it updates,
        # so English's copies of the source would otherwise become every other language's "translations".
        catalog = update(language, extract_catalog())
        with catalog_path(language).open("wb") as po:
            # A message gone from the code leaves its catalogs too: translators keep only what Heard says.
            write_po(
                po,
                catalog,
                width=120,
                omit_header=False,
                sort_output=False,
                include_previous=True,
                ignore_obsolete=True,
            )
        untranslated = sum(1 for message in catalog if message.id and not all(_forms(message)))
        fuzzy = sum(1 for message in catalog if message.id and message.fuzzy)
        print(f"{language}: {len(catalog)} messages, {untranslated} untranslated, {fuzzy} fuzzy")


if __name__ == "__main__":
    main()
