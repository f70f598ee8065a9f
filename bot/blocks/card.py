"""The complaint card: a pure function of the complaint's state and the current time.

The card is always rendered whole (never patched), so whichever render reaches Slack last shows the truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks import Message, ids
from bot.blocks.text import safe_mrkdwn
from storage.models import Complaint

SECTION_TEXT_LIMIT = 3000
FALLBACK_EXCERPT = 150
NAME_LIMIT = 120


def render_card(complaint: Complaint, now: datetime, tz: ZoneInfo) -> Message:
    ref = ids.ComplaintRef(complaint.id, complaint.revision).encode()
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_who_and_where(complaint), verbatim=True)),
        SectionBlock(text=MarkdownTextObject(text=_complaint_text(complaint), verbatim=True)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Posted {_clock(complaint.posted_at, now, tz)} · Complaint #{complaint.id}",
                    verbatim=True,
                )
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=_state_lines(complaint, now, tz))),
    ]
    buttons = _buttons(complaint, ref)
    if buttons:
        blocks.append(ActionsBlock(block_id=ids.CARD_ACTIONS_BLOCK, elements=buttons))
    return Message(text=_fallback(complaint, now), blocks=[block.to_dict() for block in blocks])


def _buttons(complaint: Complaint, ref: str) -> list[ButtonElement]:
    buttons = []
    if complaint.acknowledged_at is None:
        buttons.append(ButtonElement(text="Acknowledge", action_id=ids.ACKNOWLEDGE, value=ref, style="primary"))
    # Claim stays visible on a claimed card so a second person learns, privately, who owns it.
    buttons.append(ButtonElement(text="Claim", action_id=ids.CLAIM, value=ref))
    return buttons


def _who_and_where(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    name = safe_mrkdwn(complaint.author_name, NAME_LIMIT) if complaint.author_name else None
    who = f"*{name}* @{handle}" if name else f"*@{handle}*"
    source = safe_mrkdwn(complaint.source, 64)
    link = _safe_link(complaint.url)
    where = f"<{link}|{source}>" if link else source
    return f":speech_balloon: {who} on {where}"


def _safe_link(url: str | None) -> str | None:
    """Only http(s) links, and only characters that cannot break out of Slack's `<url|label>` syntax."""
    if not url or urlparse(url).scheme not in ("http", "https"):
        return None
    if any(char in url for char in "<>| \n\t"):
        return None
    return url.replace("&", "&amp;")


def _complaint_text(complaint: Complaint) -> str:
    return safe_mrkdwn(complaint.text, SECTION_TEXT_LIMIT) or "_(no text)_"


def _state_lines(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    return "\n".join((_acknowledgement_line(complaint, now, tz), _owner_line(complaint, now, tz)))


def _acknowledgement_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    if complaint.acknowledged_at is not None:
        taken = complaint.acknowledged_at - complaint.posted_at
        return (
            f":white_check_mark: Acknowledged by <@{complaint.acknowledged_by}> "
            f"at {_clock(complaint.acknowledged_at, now, tz)} ({_span(taken)} after posting)"
        )
    left = complaint.ack_deadline - now
    if left <= timedelta(0):
        return f":rotating_light: *Overdue by {_span(-left)}* — acknowledge now"
    return f":hourglass_flowing_sand: Acknowledge by {_clock(complaint.ack_deadline, now, tz)} — {_span(left)} left"


def _owner_line(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    if complaint.owner_id is None:
        return ":bust_in_silhouette: Unclaimed"
    since = f" since {_clock(complaint.claimed_at, now, tz)}" if complaint.claimed_at else ""
    return f":bust_in_silhouette: Owner: <@{complaint.owner_id}>{since}"


def _fallback(complaint: Complaint, now: datetime) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    excerpt = safe_mrkdwn(complaint.text, FALLBACK_EXCERPT)
    return f"Complaint #{complaint.id} from @{handle}: {excerpt}"


def _clock(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")


def _span(delta: timedelta) -> str:
    """A duration the way people say it: `42 min`, `2 h 5 min`, `3 d 4 h`; under a minute is `<1 min`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "<1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
