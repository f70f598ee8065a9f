"""Text folded for matching: triage's words and personal-data detection's labels compare folded text."""

from __future__ import annotations

import unicodedata


def fold_text(text: str) -> str:
    """Case-folded, accents dropped ("HYVITYSTÄ" -> "hyvitysta"; Greek tonos and dialytika too, and casefold makes
    the final sigma a plain sigma), curly apostrophes straight. Applied alike to texts and configured words."""
    folded = text.casefold().replace("\u2019", "'")
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFD", folded)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))
