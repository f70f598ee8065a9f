"""What each step of a complaint's audit trail says, as one sentence with who did it: the card's thread log
(bot/blocks/messages.py) and the complaint's history (bot/blocks/lookups.py) say it the same way."""

from __future__ import annotations

from bot.i18n import N_
from bot.lifecycle import Action

# What each step of the audit trail says; %(who)s is the person (a mention), Heard, or the network that did it.
EVENT_SENTENCES = {
    Action.RECEIVE.value: N_("%(who)s received it"),
    Action.JOIN.value: N_("%(who)s wrote again in the same conversation"),
    Action.CLAIM.value: N_("%(who)s claimed it"),
    Action.RELEASE.value: N_("%(who)s released it"),
    Action.REASSIGN.value: N_("%(who)s reassigned it"),
    Action.ASSIGN.value: N_("%(who)s assigned it"),
    Action.ACKNOWLEDGE.value: N_("%(who)s acknowledged it"),
    Action.ESCALATE.value: N_("%(who)s escalated it"),
    Action.APPROVE_ESCALATION.value: N_("%(who)s approved the escalation"),
    Action.DECLINE_ESCALATION.value: N_("%(who)s declined the escalation"),
    Action.ACCEPT_ESCALATION.value: N_("%(who)s accepted the escalation"),
    Action.SCHEDULE_FOLLOW_UP.value: N_("%(who)s scheduled a follow-up"),
    # Translators: "who" is Heard, which sent the follow-up reminder to the person who scheduled it.
    Action.SEND_FOLLOW_UP.value: N_("%(who)s sent the follow-up reminder"),
    Action.FINISH_FOLLOW_UP.value: N_("%(who)s finished the follow-up"),
    Action.SNOOZE_FOLLOW_UP.value: N_("%(who)s snoozed the follow-up"),
    Action.CANCEL_FOLLOW_UP.value: N_("%(who)s cancelled the follow-up"),
    Action.RESOLVE.value: N_("%(who)s resolved it"),
    Action.REOPEN.value: N_("%(who)s reopened it"),
    # Translators: "who" is Heard, which reminded the owner (or the channel) of a deadline.
    Action.NAG.value: N_("%(who)s sent a reminder"),
    Action.BREACH.value: N_("%(who)s recorded a breach; managers were told"),
    Action.REMIND.value: N_("%(who)s reminded managers of the breach"),
    Action.SNOOZE_RESOLUTION.value: N_("%(who)s snoozed the resolution reminders"),
    Action.HIDE.value: N_("%(who)s hid it"),
    Action.UNHIDE.value: N_("%(who)s showed it again"),
    Action.FLAG_THREAT.value: N_("%(who)s flagged a threat to Legal"),
    Action.WARN_AUTHOR.value: N_("%(who)s warned the author"),
    Action.BLOCK_AUTHOR.value: N_("%(who)s blocked the author"),
    Action.KEEP_EVIDENCE.value: N_("%(who)s kept the evidence"),
    Action.WRITE_UP.value: N_("%(who)s wrote it up"),
    Action.REPLY.value: N_("%(who)s replied in public"),
    Action.SEND_DM.value: N_("%(who)s replied in a private message"),
    Action.DRAFT_REPLY.value: N_("%(who)s drafted a reply to send by hand"),
    Action.MARK_REPLIED.value: N_("%(who)s marked the reply as sent"),
    Action.REPLY_FAILED.value: N_("%(who)s could not send the reply"),
    Action.EDITED_BY_AUTHOR.value: N_("%(who)s edited the post"),
    Action.REMOVED_BY_AUTHOR.value: N_("%(who)s removed the post"),
    # Translators: "who" is a manager, or Heard under the retention policy; the customer's words and name are gone.
    Action.ERASE.value: N_("%(who)s erased the author's personal data"),
    Action.LIFT_HOLD.value: N_("%(who)s lifted the legal hold"),
}
