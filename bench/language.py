"""The customer's language, detected offline: how often is it right, and how long does it take? (issue 14)

What is run
    Heard's own detection (``bot.language.CustomerLanguages.detect``: lingua limited to the configured languages,
    links, @handles, #tags, e-mail addresses and digits set aside, too short or ambiguous -> no language) over the
    labelled sample in ``bench/language_sample/<code>.txt``, one complaint a line:

    * ``en.txt``: 250 REAL customer posts (the opening turns of IBM's customer-care conversations on Twitter,
      ``../shared/fixtures/customer-care``, Apache-2.0), chosen by ``--rebuild-english``: every post under 40
      characters with at least two words, then posts spread evenly over the rest in tweet-id order.
    * ``fi.txt``, ``pt.txt``, ``bg.txt``, ``el.txt``: 208 each, WRITTEN FOR THE BENCH (the fixtures hold none in these
      languages; each file says so at its top): varied complaints, a quarter of them under 40 characters.

    The detector is built as Heard builds it (once, lazily: lingua loads a language's models on first use), in a
    child process each so the memory figures are its own: lazily for the configured languages (Heard's way),
    preloaded for them, and (``--compare-all``) preloaded for all of lingua's 75 languages.

What is printed
    * accuracy: a text counts as right only when its language is found (no language, "undetermined", counts as a
      miss, as does a wrong one), overall, for texts under 40 characters, and for texts of 20 characters or more
      (target >= 95%), per language, with the misses listed (``--misses``).
    * time per detection (after every model is loaded): median and p99 over the sample, several rounds. Target:
      median < 1 ms.
    * building the detector: time and the process's resident memory (VmRSS) before and after building and after
      the first detection in each language (when lazily loaded models arrive).

How to run (from the repository root)
    python bench/language.py                    # ~10 s
    python bench/language.py --compare-all      # adds lingua with every language preloaded (~1 GB, ~1 min)
    python bench/language.py --rebuild-english  # re-choose en.txt from ../shared/fixtures/customer-care

It prints figures and exits 0 even when a target is missed; it exits 1 only when the benchmark itself failed.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SAMPLE_DIR = Path(__file__).resolve().parent / "language_sample"
LANGUAGES = ("en", "fi", "pt", "bg", "el")
TARGET_ACCURACY = 0.95  # texts of 20+ characters
TARGET_MEDIAN_MS = 1.0
SHORT = 40
LONG_ENOUGH = 20
ENGLISH_SIZE = 250
CUSTOMER_CARE = common.ROOT.parent / "shared" / "fixtures" / "customer-care"
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#][\w.]+|\d+")


def load_sample() -> list[tuple[str, str]]:
    """(language, text) for every line of every sample file, in file order."""
    sample: list[tuple[str, str]] = []
    for code in LANGUAGES:
        for line in (SAMPLE_DIR / f"{code}.txt").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("# "):  # a hashtag ("#fail ...") is a complaint's text
                sample.append((code, line.strip()))
    return sample


def provenance(code: str) -> str:
    head = (SAMPLE_DIR / f"{code}.txt").read_text(encoding="utf-8").splitlines()[0]
    return "written for the bench" if "WRITTEN FOR THE BENCH" in head else "real"


def rebuild_english(source: Path = CUSTOMER_CARE) -> int:
    """Choose en.txt's real posts: customers' turns (one line each, deduplicated, in tweet-id order) with at least
    two words besides handles and links; every one under 40 characters, then evenly spread longer ones."""
    posts: dict[str, int] = {}
    for name in ("dev.json", "test.json"):
        for conversation in json.loads((source / name).read_text(encoding="utf-8")):
            for turn in conversation["dialogContent"]:
                if "client" in turn:
                    posts.setdefault(" ".join(turn["message"].split()), int(turn["tweet_ID"]))
    usable = sorted(
        (text for text in posts if len(re.findall(r"[^\W\d_]{2,}", _NOISE.sub(" ", text))) >= 2),
        key=lambda text: posts[text],
    )
    short = [text for text in usable if len(text) < SHORT]
    longer = [text for text in usable if len(text) >= SHORT]
    step = len(longer) / (ENGLISH_SIZE - len(short))
    chosen = set(short) | {longer[int(i * step)] for i in range(ENGLISH_SIZE - len(short))}
    lines = [
        "# English complaints for bench/language.py: REAL posts, not written for the bench: customers' turns",
        "# from IBM's Twitter Conversations Dataset for Conversational Document Prediction (EMNLP 2020), Apache-2.0",
        "# (a copy of the licence: sandbox/sample_conversations.LICENSE), as posted, each on one line (line breaks",
        "# made spaces). Chosen by `python bench/language.py --rebuild-english`: every post under 40 characters with",
        "# at least two words besides handles and links, then posts spread evenly over the rest in tweet-id order.",
        "# Lines starting with '# ' (a hash and a space) are comments.",
        *(text for text in usable if text in chosen),
    ]
    (SAMPLE_DIR / "en.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(chosen)} real English posts to {SAMPLE_DIR / 'en.txt'}")
    return 0


# -- the detector's cost, in a child process each ---------------------------------------------------------------


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_cost(mode: str) -> dict[str, float]:
    """In this process: memory and time to build a detector (`lazy`, `preloaded`, `all`) and to detect once per
    language."""
    import lingua  # noqa: F401  (the package's own import cost is not the detector's)

    from bot.language import build_detector

    before = _rss_mb()
    start = time.perf_counter()
    if mode == "all":
        from lingua import LanguageDetectorBuilder

        detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
    else:
        detector = build_detector(LANGUAGES, preload=mode == "preloaded")
    built = time.perf_counter() - start
    after_build = _rss_mb()
    firsts = {code: text for code, text in reversed(load_sample())}  # each language's first line
    start = time.perf_counter()
    for text in firsts.values():
        detector.detect_language_of(text)
    first = time.perf_counter() - start
    return {
        "before_mb": before,
        "built_mb": after_build,
        "used_mb": _rss_mb(),
        "build_s": built,
        "first_s": first,
    }


def measure_build(mode: str) -> dict[str, float]:
    answer = subprocess.run(
        [sys.executable, __file__, "--child", mode], capture_output=True, text=True, check=True, cwd=common.ROOT
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


# -- accuracy and time ---------------------------------------------------------------------------------------------


def run(rounds: int, show_misses: int, compare_all: bool) -> None:
    from bot.language import CustomerLanguages

    sample = load_sample()
    languages = CustomerLanguages(LANGUAGES)
    for _code, text in sample:  # warm-up: every model loaded, before anything is timed
        languages.detect(text)

    found: list[str | None] = []
    timings_ms: list[float] = []
    for round_number in range(rounds):
        for _code, text in sample:
            start = time.perf_counter_ns()
            result = languages.detect(text)
            timings_ms.append((time.perf_counter_ns() - start) / 1e6)
            if round_number == 0:
                found.append(result)

    common.print_header(
        f"sample    {len(sample)} complaints: "
        + ", ".join(f"{code} {sum(1 for c, _ in sample if c == code)} ({provenance(code)})" for code in LANGUAGES),
        f"detector  lingua {_lingua_version()}, languages {','.join(LANGUAGES)} (CUSTOMER_LANGUAGES), high accuracy "
        "mode, minimum relative distance "
        f"{languages.min_distance}, at least {languages.min_letters} letters",
    )
    print()
    print(f"  {'accuracy (undetermined counts as a miss)':<44}{'n':>6}{'right':>8}{'wrong':>7}{'none':>7}   target")

    def line(label: str, picked: list[int], target: float | None = None) -> None:
        right = sum(1 for i in picked if found[i] == sample[i][0])
        none = sum(1 for i in picked if found[i] is None)
        wrong = len(picked) - right - none
        share = right / len(picked) if picked else float("nan")
        mark = ""
        if target is not None:
            mark = f">= {target:.0%}  " + ("met" if share >= target else "MISSED")
        print(f"  {label:<44}{len(picked):>6}{share:>8.1%}{wrong:>7}{none:>7}   {mark}")

    every = range(len(sample))
    line("all texts", list(every))
    line(f"texts under {SHORT} characters", [i for i in every if len(sample[i][1]) < SHORT])
    line(f"texts of {LONG_ENOUGH}+ characters", [i for i in every if len(sample[i][1]) >= LONG_ENOUGH], TARGET_ACCURACY)
    for code in LANGUAGES:
        mine = [i for i in every if sample[i][0] == code]
        line(f"  {code}: all", mine)
        line(f"  {code}: under {SHORT} characters", [i for i in mine if len(sample[i][1]) < SHORT])
        line(f"  {code}: {LONG_ENOUGH}+ characters", [i for i in mine if len(sample[i][1]) >= LONG_ENOUGH])

    print()
    median = statistics.median(timings_ms)
    p99 = common.percentile(timings_ms, 99)
    verdict = "met" if median < TARGET_MEDIAN_MS else "MISSED"
    print(f"  time per detection, models loaded ({rounds} rounds of {len(sample)}, {len(timings_ms):,} detections):")
    print(
        f"    median {median:.3f} ms   p99 {p99:.3f} ms   max {max(timings_ms):.3f} ms   "
        f"(target median < {TARGET_MEDIAN_MS:g} ms: {verdict})"
    )
    for label, keep in ((f"under {SHORT} characters", True), (f"{SHORT}+ characters", False)):
        picked = [t for n, t in enumerate(timings_ms) if (len(sample[n % len(sample)][1]) < SHORT) == keep]
        print(f"    {label:<22} median {statistics.median(picked):.3f} ms   p99 {common.percentile(picked, 99):.3f} ms")

    print()
    print("  building the detector (a child process each; resident memory, VmRSS):")
    modes = [
        ("lazy", "configured languages, models loaded on first use (Heard)"),
        ("preloaded", "configured languages, preloaded"),
    ]
    if compare_all:
        modes.append(("all", "all 75 of lingua's languages, preloaded"))
    for mode, label in modes:
        cost = measure_build(mode)
        print(
            f"    {label:<58} build {cost['build_s'] * 1000:>7.1f} ms, first detection per language "
            f"{cost['first_s'] * 1000:>7.1f} ms; memory {cost['before_mb']:.0f} MB -> {cost['built_mb']:.0f} MB "
            f"built -> {cost['used_mb']:.0f} MB in use (+{cost['used_mb'] - cost['before_mb']:.0f} MB)"
        )

    misses = [i for i in every if found[i] != sample[i][0]]
    if show_misses and misses:
        print()
        print(f"  misses (first {min(show_misses, len(misses))} of {len(misses)}): expected -> found: text")
        for i in misses[:show_misses]:
            print(f"    {sample[i][0]} -> {found[i] or 'none'}: {sample[i][1][:110]}")


def _lingua_version() -> str:
    from importlib.metadata import version

    return version("lingua-language-detector")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the sample (default 5)")
    parser.add_argument("--misses", type=int, default=40, help="how many misses to list (default 40)")
    parser.add_argument("--compare-all", action="store_true", help="also build lingua with all languages preloaded")
    parser.add_argument("--rebuild-english", action="store_true", help="re-choose en.txt from the fixtures")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(build_cost(args.child)))
        return 0
    if args.rebuild_english:
        return rebuild_english()
    try:
        run(args.rounds, args.misses, args.compare_all)
    except Exception as error:  # the benchmark itself failed, not a target
        print(f"benchmark failed: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
