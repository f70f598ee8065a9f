"""The messages in Heard's code, as Babel extracts them (the template every catalog is checked against)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from bot.i18n.catalogs import DOMAIN

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "handlers")
KEYWORDS = {"_": None, "_c": ((1, "c"), 2), "n_": (1, 2), "N_": None}


def extract_catalog() -> Catalog:
    catalog = Catalog(domain=DOMAIN, project="Heard", msgid_bugs_address=None, fuzzy=False)
    for directory in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / directory,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            catalog.add(
                message,
                None,
                [(f"{directory}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog
