"""The customer's language, detected offline when the source does not say (webhooks, Meta comments; X sends `lang`).

Detection uses lingua (lingua-language-detector), which ships its language models inside the package: nothing is
fetched at run time. The detector is limited to the languages the team configured (`CUSTOMER_LANGUAGES`), built once
per process on first use (behind a lock, so concurrent intake threads share one), and lingua loads each language's
models lazily, only for those languages. Building it is cheap; the first detection pays for loading the models
(`bench/language.py` prints both).

A language is an ISO 639-1 code ("fi"). Heard prefers no answer to a guess: a text with too few letters once links,
@handles, #tags, e-mail addresses and numbers are set aside, or one where the two likeliest languages are close,
gives None, and the complaint keeps no language (templates then fall back to English, and the card shows none).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

__all__ = ["DEFAULT_CUSTOMER_LANGUAGES", "MIN_LETTERS", "CustomerLanguages", "parse_customer_languages"]

DEFAULT_CUSTOMER_LANGUAGES = ("en", "fi", "pt", "bg", "el")
# Below this many letters (after links, handles, tags, e-mail addresses and digits are set aside) a text says too
# little: "ok", "Nokia 3310?", "Hotel Lisboa" are not worth a guess.
MIN_LETTERS = 10
# lingua's minimum relative distance between the likeliest and the next language; closer than this is ambiguous.
MIN_DISTANCE = 0.1
# Detection looks at the start of long posts only: the language does not change halfway, and time stays flat.
MAX_DETECT_CHARS = 1_000

# One short sentence per language Heard speaks, enough for lingua to load each configured language's models.
_WARM_UP = (
    "Where is my order? Nobody answers.",
    "Missä tilaukseni on? Kukaan ei vastaa.",
    "Onde está a minha encomenda? Ninguém responde.",
    "Къде е поръчката ми? Никой не отговаря.",
    "Πού είναι η παραγγελία μου; Κανείς δεν απαντά.",
)
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#][\w.]+|\d+")
_LETTER = re.compile(r"[^\W\d_]")


def parse_customer_languages(raw: str) -> tuple[str, ...]:
    """Read `CUSTOMER_LANGUAGES` ("en, fi, pt"); raises ValueError naming the code lingua does not know."""
    from lingua import IsoCode639_1, Language

    codes: list[str] = []
    for item in raw.split(","):
        code = item.strip().lower()
        if not code:
            continue
        try:
            Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
        except (ValueError, AttributeError, KeyError):
            raise ValueError(
                f"{code!r} is not a language Heard can detect: use ISO 639-1 codes such as en, fi, pt, bg, el"
            ) from None
        if code not in codes:
            codes.append(code)
    if not codes:
        raise ValueError("no languages given: use two-letter codes, e.g. en,fi,pt,bg,el")
    return tuple(codes)


@dataclass(frozen=True)
class CustomerLanguages:
    """The languages the team's customers write in, and the detector limited to them (built on first use)."""

    codes: tuple[str, ...] = DEFAULT_CUSTOMER_LANGUAGES
    min_letters: int = MIN_LETTERS
    min_distance: float = MIN_DISTANCE

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", tuple(self.codes))
        if not self.codes:
            raise ValueError("at least one customer language is needed")

    def detect(self, text: str | None) -> str | None:
        """The text's language code, or None when it is too short or ambiguous. Never raises on odd text."""
        return self.detect_all([text])[0]

    def detect_all(self, texts: Sequence[str | None]) -> list[str | None]:
        """`detect` for each of `texts`, in order. lingua reads a batch on all cores at once, without the GIL
        (`detect_languages_in_parallel_of`): a burst of posts is filed sooner than one text at a time."""
        if len(self.codes) == 1:  # the team said every customer writes in this one language
            return [self.codes[0] if text else None for text in texts]
        readable = {index: letters for index, text in enumerate(texts) if (letters := self._letters(text)) is not None}
        found: list[Any] = []
        if readable:
            try:
                detector = self.detector()
                if len(readable) == 1:
                    found = [detector.detect_language_of(next(iter(readable.values())))]
                else:
                    found = detector.detect_languages_in_parallel_of(list(readable.values()))
            except Exception:  # a detector problem must never stop a complaint from being filed
                found = [None] * len(readable)
        languages = dict(zip(readable, found, strict=True))
        return [_code(languages.get(index)) for index in range(len(texts))]

    def _letters(self, text: str | None) -> str | None:
        """What lingua reads of `text`, or None when too few letters are left to be worth a guess."""
        if not text:
            return None
        letters = _NOISE.sub(" ", text[:MAX_DETECT_CHARS])
        enough = sum(1 for _ in islice(_LETTER.finditer(letters), self.min_letters))  # counts no further
        return letters if enough >= self.min_letters else None

    def warm_up(self) -> threading.Thread:
        """Build the detector and load every language's models on a thread of its own (about a second), so the
        first complaint without a language does not wait for them inside its unit of work. Optional: without it,
        the first detection loads them."""

        def load() -> None:
            for text in _WARM_UP:
                self.detect(text)

        thread = threading.Thread(target=load, name="language-models", daemon=True)
        thread.start()
        return thread

    def detector(self) -> Any:
        """The process's one lingua detector for these languages (built once, thread-safe; shared by every Heard in
        the process, so a test run loads the models once)."""
        key = (self.codes, self.min_distance)
        built = _DETECTORS.get(key)
        if built is None:
            with _DETECTORS_LOCK:
                built = _DETECTORS.get(key)
                if built is None:
                    built = _DETECTORS[key] = build_detector(self.codes, self.min_distance)
        return built


def _code(language: Any) -> str | None:
    return None if language is None else language.iso_code_639_1.name.lower()


_DETECTORS: dict[tuple[tuple[str, ...], float], Any] = {}
_DETECTORS_LOCK = threading.Lock()


def build_detector(codes: Iterable[str], min_distance: float = MIN_DISTANCE, preload: bool = False) -> Any:
    """A lingua detector for these ISO 639-1 codes; its models load lazily unless `preload`."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(code)) for code in codes]
    builder = LanguageDetectorBuilder.from_languages(*languages).with_minimum_relative_distance(min_distance)
    if preload:
        builder = builder.with_preloaded_language_models()
    return builder.build()
