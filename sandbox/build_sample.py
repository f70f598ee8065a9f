"""Rebuild `sandbox/sample_conversations.json`, the real complaints the sandbox replays, from IBM's customer-care
dataset (Apache-2.0; see `sample_conversations.NOTICE.md`).

    python -m sandbox.build_sample [path/to/customer-care]      # default: ../shared/fixtures/customer-care

The choice is deterministic: conversations in time order, taken in turn from each brand so that no brand dominates,
keeping only what the sandbox replays — the customer's opening turns (before the first agent reply), the brand, the
customer's handle and when they posted. Agent turns and answer documents are left out.

The real conversations are all in English. After every `WRITTEN_EVERY` of them comes one complaint from
`sample_written.json`: Finnish, Portuguese, Bulgarian and Greek complaints WRITTEN FOR THE SANDBOX (not real posts),
marked `"written_for_sandbox": true`, so a replay shows Heard detecting each of its five languages.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "fixtures" / "customer-care"
SAMPLE_PATH = HERE / "sample_conversations.json"
WRITTEN_PATH = HERE / "sample_written.json"
WRITTEN_EVERY = 4
SAMPLE_SIZE = 80
# Long enough to be a complaint, short enough to read on a card at a glance.
MIN_CHARS, MAX_CHARS = 40, 560
DATASET = "IBM Twitter Conversations Dataset for Conversational Document Prediction (EMNLP 2020), Apache-2.0"


def opening_turns(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's turns before anyone from the brand answered."""
    turns: list[dict[str, Any]] = []
    for turn in conversation["dialogContent"]:
        if "client" not in turn:
            break
        turns.append(turn)
    return turns


def build(source: Path) -> dict[str, Any]:
    conversations = [
        conversation
        for name in ("dev.json", "test.json")
        for conversation in json.loads((source / name).read_text(encoding="utf-8"))
    ]
    by_brand: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for conversation in sorted(conversations, key=lambda c: c["dialogHeader"]["conversationDateTime"]):
        turns = opening_turns(conversation)
        length = sum(len(turn["message"]) for turn in turns)
        if turns and MIN_CHARS <= length <= MAX_CHARS:
            by_brand[conversation["dialogHeader"]["company"]].append(conversation)
    picked: list[dict[str, Any]] = []
    queues = [by_brand[brand] for brand in sorted(by_brand)]
    while len(picked) < SAMPLE_SIZE and any(queues):
        for queue in queues:
            if queue and len(picked) < SAMPLE_SIZE:
                picked.append(queue.pop(0))
    picked.sort(key=lambda c: c["dialogHeader"]["conversationDateTime"])
    real = [
        {
            "id": conversation["dialogHeader"]["sessionID"],
            "brand": conversation["dialogHeader"]["company"],
            "handle": opening_turns(conversation)[0]["client"],
            "posted_at": opening_turns(conversation)[0]["datetime"].replace(".000Z", "Z"),
            "tweet_id": opening_turns(conversation)[0]["tweet_ID"],
            "turns": [turn["message"] for turn in opening_turns(conversation)],
        }
        for conversation in picked
    ]
    written = [
        {
            "id": item["id"],
            "written_for_sandbox": True,
            "written_in": item["lang"],
            "source": item["source"],
            "brand": item["brand"],
            "handle": item["handle"],
            "name": item["name"],
            "turns": item["turns"],
        }
        for item in json.loads(WRITTEN_PATH.read_text(encoding="utf-8"))["conversations"]
    ]
    conversations: list[dict[str, Any]] = []
    for number, conversation in enumerate(real, start=1):
        conversations.append(conversation)
        if number % WRITTEN_EVERY == 0 and written:
            conversations.append(written.pop(0))
    conversations.extend(written)
    return {
        "dataset": DATASET,
        "licence": "Apache-2.0; see sample_conversations.NOTICE.md",
        "written_for_sandbox": "entries marked written_for_sandbox are not real posts: see sample_written.json",
        "conversations": conversations,
    }


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    sample = build(source)
    SAMPLE_PATH.write_text(json.dumps(sample, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(sample['conversations'])} conversations to {SAMPLE_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
