"""A person's choice of language on the Home tab (bot/languages.py keeps it; bot/blocks/language.py shows it)."""

from __future__ import annotations

import logging

from bot.blocks.language import chosen_language
from bot.services.base import Requester, UseCases

log = logging.getLogger("heard.services.languages")


class LanguageUseCases(UseCases):
    def choose(self, requester: Requester, value: str) -> bool:
        """Store the language `requester` picked (or "Slack's language"); whether it was one Heard offers. The
        caller publishes their Home tab again, in the new language."""
        try:
            language = chosen_language(value)
        except ValueError:
            log.warning("ignored a language choice Heard did not offer")
            return False
        if self.languages is None:
            return False
        self.languages.choose(requester.user_id, language)
        return True
