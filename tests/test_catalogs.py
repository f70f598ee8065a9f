"""Every catalog holds every message in Heard's code, translated, confirmed (not fuzzy), with the same
placeholders as the English source (Babel's own checkers), and the catalog files are what
`python -m bot.i18n.update` would write (nobody edits a message that is no longer in the code)."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog, Message

from bot.i18n import LANGUAGES
from bot.i18n.catalogs import read_catalog
from bot.i18n.extract import extract_catalog


@pytest.fixture(scope="module")
def template() -> Catalog:
    return extract_catalog()


def _forms(message: Message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def _where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:2]) or "?"


def test_the_code_has_messages_to_translate(template: Catalog) -> None:
    assert len([message for message in template if message.id]) > 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_translates_every_message_with_the_same_placeholders(template: Catalog, language: str) -> None:
    catalog = read_catalog(language)
    missing, fuzzy, empty = [], [], []
    for source in template:
        if not source.id:
            continue
        message = catalog.get(source.id, context=source.context)
        if message is None:
            missing.append(f"{_where(source)}: {source.id!r}")
        elif message.fuzzy:
            fuzzy.append(f"{_where(source)}: {source.id!r}")
        elif not all(form.strip() for form in _forms(message)):
            empty.append(f"{_where(source)}: {source.id!r}")
    assert not missing, f"{language}.po lacks {len(missing)} messages (python -m bot.i18n.update): {missing[:5]}"
    assert not fuzzy, f"{language}.po has {len(fuzzy)} fuzzy entries to confirm: {fuzzy[:5]}"
    assert not empty, f"{language}.po leaves {len(empty)} messages untranslated: {empty[:5]}"
    problems = [
        f"{message.id!r}: {'; '.join(str(error) for error in errors)}" for message, errors in catalog.check() if errors
    ]
    assert not problems, f"{language}.po: {problems[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_keeps_the_sources_placeholders_and_flags(template: Catalog, language: str) -> None:
    """Babel checks placeholders only on messages flagged python-format: the flag must come from the source."""
    catalog = read_catalog(language)
    unflagged = [
        source.id
        for source in template
        if source.id
        and "python-format" in source.flags
        and (message := catalog.get(source.id, context=source.context)) is not None
        and "python-format" not in message.flags
    ]
    assert not unflagged, f"{language}.po lost the python-format flag of {unflagged[:5]}"


PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_drops_a_placeholder(template: Catalog, language: str) -> None:
    """Babel accepts a translation that leaves a value out; a person would miss it (who claimed, until when)."""
    catalog = read_catalog(language)
    dropped = []
    for source in template:
        message = catalog.get(source.id, context=source.context) if source.id else None
        if message is None or not message.string:
            continue
        ids = source.id if isinstance(source.id, (list, tuple)) else (source.id,)
        wanted = {name for text in ids for name in PLACEHOLDER.findall(text)}
        for form in filter(None, _forms(message)):  # an empty form is the other test's failure
            # A plural form may spell its number out ("one complaint"), so only `count` may be left out there.
            optional = {"count"} if len(ids) > 1 else set()
            if lost := wanted - optional - set(PLACEHOLDER.findall(form)):
                dropped.append(f"{source.id!r} -> {form!r} drops {sorted(lost)}")
    assert not dropped, f"{language}.po: {dropped[:5]}"
