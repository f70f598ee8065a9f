"""Block Kit for storms: the storm card, a complaint's line in its thread, and the holding-statement modal. Pure
functions of their view models (bot/storms.py builds them from the database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ConfirmObject,
    InputBlock,
    PlainTextInputElement,
)

from bot.blocks import BlockDict, Message, as_dicts, context_line, customer_words, ids, markup_section
from bot.blocks.card import ACKNOWLEDGE, CLAIM, RELEASE, RESOLVE, button
from bot.blocks.modals import modal_frame
from bot.blocks.replies import (
    DRAFTED,
    EDIT,
    FAILED,
    MARK_REPLIED,
    REPLACED,
    REPLIES_SHOWN,
    RETRY,
    ReplyWords,
    reply_blocks,
    reply_failure,
    reply_line,
)
from bot.blocks.text import (
    CONFIRM_BUTTON_LIMIT,
    CONFIRM_TITLE_LIMIT,
    HINT_LIMIT,
    LABEL_LIMIT,
    MODAL_TITLE_LIMIT,
    at_a_glance,
    complaints_command,
    cut_markup,
    link_to,
    person,
    quoted,
    safe_mrkdwn,
    safe_plain,
)
from bot.blocks.when import clock, span
from bot.i18n import _, n_
from bot.lifecycle import Status
from bot.platforms import source_label
from storage.models import Complaint, Reply, Storm

# action_id / callback_id / block_id; a button's value is the storm id.
SEND_STATEMENT = "storm_statement"
CLAIM_ALL = "storm_claim_all"
RESOLVE_ALL = "storm_resolve_all"
END_STORM = "storm_end"
STATEMENT_VIEW = "storm_statement_view"
STATEMENT_INPUT = "storm_statement_text"
STORM_ACTIONS_BLOCK = "storm_actions"
STATEMENT_LIMIT = 2000
EXCERPT = 140
NAME_LIMIT = 80
# A message in the storm's thread lists the complaints that arrived since the last one: three blocks each (Heard's
# line, the customer's words, the buttons), within Slack's 50. The channel shows about one message a second, and a
# storm brings more complaints than that, so one message per complaint would fall further behind every second.
LINES_PER_MESSAGE = 16
LISTED_EXCERPT = 120
LISTED_QUOTE = 300
SECTION_BUDGET = 2900  # of a section's 3000 characters


@dataclass(frozen=True)
class StormView:
    storm: Storm
    complaints: int
    words: Sequence[str]
    acknowledged: int
    claimed: int
    resolved: int
    # Replies the holding statements queued: sent through the networks, and drafts to copy by hand.
    replies_sent: int = 0
    drafts: int = 0
    ended_by_calm: timedelta | None = None

    @property
    def open(self) -> int:
        return self.complaints - self.resolved


def headline(view: StormView, now: datetime, tz: ZoneInfo) -> str:
    storm = view.storm
    values = {
        "count": n_("%(count)s complaint", "%(count)s complaints", view.complaints),
        "start": clock(storm.started_at, now, tz),
        "words": ", ".join(f"*{safe_mrkdwn(word, 40)}*" for word in view.words),
    }
    if storm.ended_at is None:
        if view.words:
            # Translators: a storm is a surge of complaints; "start" is when it began, "words" what most of its
            # complaints mention.
            said = _("*Surge since %(start)s* — %(count)s, most mention %(words)s", **values)
        else:
            said = _("*Surge since %(start)s* — %(count)s", **values)
        return f":tornado: {said}"
    end = clock(storm.ended_at, now, tz)
    if view.words:
        said = _("*Surge %(start)s–%(end)s* — %(count)s, most mention %(words)s", end=end, **values)
    else:
        said = _("*Surge %(start)s–%(end)s* — %(count)s", end=end, **values)
    return f":white_check_mark: {said}"


def storm_card(view: StormView, now: datetime, tz: ZoneInfo) -> Message:
    storm = view.storm
    blocks: list[Block] = [markup_section(headline(view, now, tz))]
    state = [
        _(
            "Each complaint is a line in this thread, with its own clock; VIPs and threats get their own card, and "
            "so do high-priority ones while the channel has room."
        ),
        " · ".join(
            [
                # Translators: counts of the storm's complaints, e.g. "3 acknowledged · 2 claimed · 1 resolved".
                n_("%(count)s acknowledged", "%(count)s acknowledged", view.acknowledged),
                n_("%(count)s claimed", "%(count)s claimed", view.claimed),
                n_("%(count)s resolved", "%(count)s resolved", view.resolved),
                n_("%(count)s open", "%(count)s open", view.open),
            ]
        ),
    ]
    if view.replies_sent or view.drafts:
        # Translators: the holding statement is one reply sent to every customer of the storm.
        sent = n_(
            "Holding statement: %(count)s sent or on its way",
            "Holding statement: %(count)s sent or on their way",
            view.replies_sent,
        )
        if view.drafts:
            drafts = n_("%(count)s draft to copy (their lines)", "%(count)s drafts to copy (their lines)", view.drafts)
            sent = f"{sent}, {drafts}"
        state.append(sent)
    if storm.ended_at is not None:
        at = clock(storm.ended_at, now, tz)
        if storm.ended_by:
            state.append(
                _("Ended by %(who)s at %(time)s: new complaints get cards", who=person(storm.ended_by), time=at)
            )
        else:
            state.append(_("Ended by itself at %(time)s, arrivals calmed down", time=at))
    blocks.append(context_line("\n".join(state)))
    buttons: list[BlockDict] = []
    value = str(storm.id)
    if view.open:
        # Translators: a button: send the holding statement to every waiting customer.
        buttons.append(button(_("Send holding statement"), SEND_STATEMENT, value, style="primary"))
        # Translators: a button: claim every complaint of the storm.
        buttons.append(button(_("Claim all"), CLAIM_ALL, value))
        confirm = ConfirmObject(
            title=safe_plain(_("Resolve all?"), CONFIRM_TITLE_LIMIT),
            text=cut_markup(
                n_(
                    "Resolve the %(count)s open complaint of this storm?",
                    "Resolve the %(count)s open complaints of this storm?",
                    view.open,
                ),
                300,
            ),
            confirm=safe_plain(_("Resolve all"), CONFIRM_BUTTON_LIMIT),
            deny=safe_plain(_("Cancel"), CONFIRM_BUTTON_LIMIT),
        )
        buttons.append(button(_("Resolve all"), RESOLVE_ALL, value, confirm=confirm.to_dict()))
    if storm.ended_at is None:
        # Translators: a button: the storm is over; complaints get their own cards again.
        buttons.append(button(_("End storm"), END_STORM, value, style="danger"))
    if buttons:
        blocks.append(ActionsBlock(block_id=STORM_ACTIONS_BLOCK, elements=buttons))
    text = headline(view, now, tz).replace("*", "").replace(":tornado: ", "").replace(":white_check_mark: ", "")
    return Message(text=text, blocks=as_dicts(blocks))


def storm_line(complaint: Complaint, replies: Sequence[Reply], now: datetime, tz: ZoneInfo) -> Message:
    """One complaint in the storm's thread: who, an excerpt, the link, its number, its state as it changes, and the
    buttons to act on it (the card's, each value a complaint reference with its revision)."""
    line = f"{_who(complaint)}: “{_excerpt(complaint)}”"
    blocks: list[Block] = [markup_section(line, verbatim=True)]
    blocks.append(context_line(_state(complaint, now, tz)))
    blocks.extend(reply_blocks(replies, ReplyWords.of(complaint), now, tz))
    if actions := _line_buttons(complaint, ()):
        blocks.append(actions)
    return Message(text=_line_text(complaint), blocks=as_dicts(blocks))


def storm_lines(lines: Sequence[tuple[Complaint, Sequence[Reply]]], now: datetime, tz: ZoneInfo) -> Message:
    """Complaints that arrived together, listed in one message of the storm's thread (one alone: `storm_line`).
    Each has Heard's line with its state, the customer's words as plain text, and its own buttons."""
    if len(lines) == 1:
        return storm_line(*lines[0], now, tz)
    blocks: list[Block] = []
    for complaint, replies in lines[:LINES_PER_MESSAGE]:
        shown = [reply for reply in replies if reply.status != REPLACED][-REPLIES_SHOWN:]
        text = f"{_who(complaint)}\n{_state(complaint, now, tz)}"
        said = "\n".join(_listed_reply(reply, ReplyWords.of(complaint), now, tz) for reply in shown)
        if said and len(text) + len(said) < SECTION_BUDGET:
            text += "\n" + said
        elif said:
            replies_said = n_(
                "%(count)s reply: %(command)s",
                "%(count)s replies: %(command)s",
                len(shown),
                command=complaints_command(complaint.id),
            )
            text += f"\n:speech_balloon: {replies_said}"
        blocks.append(markup_section(text, verbatim=True))
        blocks.append(customer_words(at_a_glance(complaint.text, columns=LISTED_EXCERPT, lines=1).text))
        if actions := _line_buttons(complaint, shown):
            blocks.append(actions)
    listed = lines[:LINES_PER_MESSAGE]
    who = ", ".join(
        _("#%(id)s from @%(handle)s", id=c.id, handle=safe_mrkdwn(c.author_handle.lstrip("@"), NAME_LIMIT))
        for c, _replies in listed
    )
    text = n_(
        "%(count)s complaint in this storm: %(who)s",
        "%(count)s complaints in this storm: %(who)s",
        len(listed),
        who=who,
    )
    return Message(text=text, blocks=as_dicts(blocks))


def _who(complaint: Complaint) -> str:
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    name = safe_mrkdwn(complaint.author_name, NAME_LIMIT) if complaint.author_name else None
    who = f"*{name}* @{handle}" if name and name != handle else f"*{name or '@' + handle}*"
    source = source_label(complaint.platform, complaint.source)
    where = link_to(complaint.url, source, 64) or safe_mrkdwn(source, 64)
    # Translators: e.g. "*Maria* @maria on X" (the network is a link).
    return f"*#{complaint.id}* " + _("%(author)s on %(network)s", author=who, network=where)


def _excerpt(complaint: Complaint) -> str:
    return safe_mrkdwn(" ".join(complaint.text.split()), EXCERPT) or _("(no text)")


def _line_text(complaint: Complaint) -> str:
    """The notification text: `#<id> from @handle: excerpt` (what a search of the thread finds)."""
    handle = safe_mrkdwn(complaint.author_handle.lstrip("@"), NAME_LIMIT)
    return _("#%(id)s from @%(handle)s: %(excerpt)s", id=complaint.id, handle=handle, excerpt=_excerpt(complaint))


def _listed_reply(reply: Reply, words: ReplyWords, now: datetime, tz: ZoneInfo) -> str:
    if reply.status == FAILED:
        failed = _(
            "*Reply failed*: %(error)s — %(who)s's draft is kept (Retry or Edit)",
            error=reply_failure(reply, words, LISTED_QUOTE),
            who=person(reply.requested_by),
        )
        return f":warning: {failed}"
    if reply.status == DRAFTED:
        drafted = _(
            "Reply drafted by %(who)s — copy it, send it yourself, then mark it replied: %(quote)s",
            who=person(reply.requested_by),
            quote=quoted(reply.text, LISTED_QUOTE),
        )
        return f":clipboard: {drafted}"
    return reply_line(reply, words, now, tz)


def _line_buttons(complaint: Complaint, replies: Sequence[Reply]) -> ActionsBlock | None:
    """A storm line's buttons, as on a card: the reply that acknowledges, Claim (Release once claimed), Resolve;
    and what a reply waiting for a person needs. Stale or forged values are refused by `ids.ComplaintRef`."""
    if complaint.status == Status.RESOLVED:
        return None
    ref = ids.ComplaintRef(complaint.id, complaint.revision).encode()
    buttons: list[BlockDict] = []
    if complaint.acknowledged_at is None:
        buttons.append(button(_(ACKNOWLEDGE), ids.ACKNOWLEDGE, ref, style="primary"))
    if complaint.owner_id:
        buttons.append(button(_(RELEASE), ids.RELEASE, ref))
    else:
        buttons.append(button(_(CLAIM), ids.CLAIM, ref))
    buttons.append(button(_(RESOLVE), ids.RESOLVE, ref))
    for reply in replies:
        if reply.status == FAILED:
            buttons.append(button(_(RETRY), ids.RETRY_REPLY, str(reply.id)))
            buttons.append(button(_(EDIT), ids.EDIT_REPLY, str(reply.id)))
        elif reply.status == DRAFTED:
            buttons.append(button(_(MARK_REPLIED), ids.MARK_REPLIED, str(reply.id)))
    # block_id names the complaint: a message listing several has one actions block each, and Slack wants them unique.
    return ActionsBlock(block_id=f"storm_line:{complaint.id}", elements=buttons[:25])


def _state(complaint: Complaint, now: datetime, tz: ZoneInfo) -> str:
    parts = []
    if complaint.priority == "high":  # listed past the storm's allowance of high-priority cards (bot/storms.py)
        parts.append(":red_circle: " + _("High priority"))
    if complaint.status == Status.RESOLVED and complaint.resolved_at is not None:
        at = clock(complaint.resolved_at, now, tz)
        parts.append(
            ":white_check_mark: " + _("Resolved by %(who)s at %(time)s", who=person(complaint.resolved_by), time=at)
        )
    elif complaint.acknowledged_at is not None:
        at = clock(complaint.acknowledged_at, now, tz)
        parts.append(_("Acknowledged by %(who)s at %(time)s", who=person(complaint.acknowledged_by), time=at))
    else:
        left = complaint.ack_deadline - now
        if left <= timedelta(0):
            parts.append(":rotating_light: " + _("Acknowledge overdue by %(duration)s", duration=span(-left)))
        else:
            parts.append(_("Acknowledge by %(time)s", time=clock(complaint.ack_deadline, now, tz)))
    if complaint.owner_id:
        parts.append(_("Owner: %(who)s", who=person(complaint.owner_id)))
    else:
        parts.append(_("Unclaimed"))
    parts.append(_("%(command)s for the whole record", command=complaints_command(complaint.id)))
    return " · ".join(parts)


def statement_modal(storm_id: int, customers: int, text: str, notes: Sequence[str]) -> dict[str, Any]:
    # Translators: {first_name} is a placeholder people type in the statement: keep it exactly as it is.
    goes_to = n_(
        "Goes to the *%(count)s* customer of this storm who is still waiting, as their own reply: `{first_name}` "
        "becomes their first name. It acknowledges their complaint; it keeps its own clock.",
        "Goes to the *%(count)s* customers of this storm who are still waiting, each as their own reply: "
        "`{first_name}` becomes each one's first name. It acknowledges their complaints; each keeps its own clock.",
        customers,
    )
    blocks: list[Any] = [
        markup_section(goes_to),
        InputBlock(
            block_id=STATEMENT_INPUT,
            label=safe_plain(_("Holding statement"), LABEL_LIMIT),
            hint=safe_plain(_("Say you know, you're on it, and when the next update comes"), HINT_LIMIT),
            element=PlainTextInputElement(
                action_id=STATEMENT_INPUT, multiline=True, initial_value=text, max_length=STATEMENT_LIMIT
            ),
        ),
    ]
    blocks.extend(context_line(note) for note in notes)
    # Translators: a modal's title (at most 24 characters).
    title = safe_plain(_("Holding statement"), MODAL_TITLE_LIMIT)
    # Translators: the modal's submit button (at most 24 characters).
    submit = safe_plain(_("Send to all"), MODAL_TITLE_LIMIT)
    return modal_frame(STATEMENT_VIEW, title, submit, str(storm_id), blocks)
