"""The Home tab's language picker: the language a person sees Heard's own views in (bot/languages.py).

Each language is offered in its own name, so a person finds theirs whatever the tab is shown in; "Slack's
language" forgets the choice and follows their Slack locale again.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, MarkdownTextObject, Option, SectionBlock, StaticSelectElement

from bot.blocks import as_dicts
from bot.i18n import LANGUAGES, _

CHOOSE_LANGUAGE = "choose_language"
FOLLOW_SLACK = "slack"
# Each language in its own words (never translated).
NAMES = {"en": "English", "fi": "Suomi", "pt": "Português", "bg": "Български", "el": "Ελληνικά"}


def language_picker(chosen: str | None) -> list[Block]:
    """A divider and a section with the select; `chosen` is the person's choice (None: Slack's language)."""
    # Translators: the first choice of the Home tab's language picker: speak to me in the language my Slack is in.
    slack = Option(text=_("Slack's language"), value=FOLLOW_SLACK)
    options = [slack, *(Option(text=NAMES[language], value=language) for language in LANGUAGES)]
    initial = next((option for option in options if option.value == chosen), slack)
    select = StaticSelectElement(
        action_id=CHOOSE_LANGUAGE,
        placeholder=_("Language"),
        options=options,
        initial_option=initial,
    )
    # Translators: beside the language picker on the Home tab; keep the *bold* asterisks.
    text = _("*Your language in Heard*: for what Heard shows only you. Cards and channel messages stay in the team's.")
    return [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=text), accessory=select)]


def with_language_picker(view: dict[str, Any], chosen: str | None) -> dict[str, Any]:
    """The Home tab `view` with the picker at its end."""
    return {**view, "blocks": [*view["blocks"], *as_dicts(language_picker(chosen))]}


def chosen_language(value: str) -> str | None:
    """The picker's value -> the language chosen (None: Slack's); ValueError for anything Heard did not offer."""
    if value == FOLLOW_SLACK:
        return None
    if value in LANGUAGES:
        return value
    raise ValueError(f"not a language Heard offers: {value[:20]!r}")
