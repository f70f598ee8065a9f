"""Complaints arrive: from the webhook one at a time, from X a page at a time.

Each post is filed once per (source, id), whichever feed or sender brings it. A later post by the same author in
the same conversation joins the complaint that is still open instead of opening a new card and a new clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import i18n, lifecycle, projections, routes, sla
from bot.assignment import BY_ROTATION, Assigner
from bot.delivery import utcnow
from bot.lifecycle import Action, Actor, Status
from bot.personal_data import PersonalRules, mask_card_numbers, mask_card_numbers_in
from bot.platforms.base import NewComplaint, PostUpdate, UpdateKind
from bot.platforms.webhook import KEY as WEBHOOK
from bot.platforms.webhook.ingest import storable_words
from bot.services import storms
from bot.services.base import MAX_CLOCK_SKEW, Context, IngestResult, UseCases
from bot.sla import Clock
from bot.triage import Triage, personal_rules, triage
from storage.models import AuditEvent, Complaint, ComplaintPost, Delivery

log = logging.getLogger("heard.services")

# Who the audit trail names for an owner the rotation gave.
ASSIGNER = Actor("scheduler", "rotation")
# Keeps each IN (...) list of a batch's duplicate check well inside every database's parameter limit.
LOOKUP_CHUNK = 500


class IntakeUseCases(UseCases):
    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.assigner = Assigner(context.settings, context.rotations, context.database.engine)
        # Card numbers are masked by the rules triage flags them by (bot/personal_data.py).
        self._personal = personal_rules(context.settings.triage)

    def ingest(self, new: NewComplaint) -> IngestResult:
        """Commit a complaint and its card's delivery together; the same (source, id) again is a duplicate."""
        return self.ingest_many([new])[0]

    def ingest_many(self, posts: Sequence[NewComplaint]) -> list[IngestResult]:
        """File a batch in one unit of work, oldest first so a conversation's first post opens the complaint its
        replies join. If another copy filed one of them meanwhile, the batch is retried post by post."""
        if not posts:
            return []
        # Before the unit of work: detection is a large part of a post's filing time, and must not hold the writer.
        languages = self._languages(posts)
        try:
            with self.database.unit_of_work() as session:
                results = self._file(session, posts, languages)
        except IntegrityError:
            if len(posts) == 1:
                found = self._known(posts)
                if not found:
                    raise
                return [IngestResult(next(iter(found.values())), duplicate=True)]
            return [self.ingest(post) for post in posts]
        fresh = [result for result in results if not result.duplicate]
        for post, result in zip(posts, results, strict=True):
            if not result.duplicate and not result.joined:
                self.metrics.complaint_received(post.source)
        if fresh:
            log.info("%d complaint(s) received from %s", len(fresh), ", ".join(sorted({p.source for p in posts})))
            self._wake_delivery()
            due = self._earliest_due(fresh)
            if due is not None:
                self._wake_at(due)
        return results

    def _languages(self, posts: Sequence[NewComplaint]) -> list[str | None]:
        """Each post's language: the source's own word (X sends it; "und": X could not tell), else detected offline
        among CUSTOMER_LANGUAGES, the batch at once on every core (bot/language.py; None when too short or ambiguous
        to say)."""
        unknown = [index for index, post in enumerate(posts) if post.lang in (None, "", "und")]
        found = self.settings.customer_languages.detect_all([posts[index].text for index in unknown])
        detected = dict(zip(unknown, found, strict=True))
        return [detected.get(index, post.lang) for index, post in enumerate(posts)]

    def _file(
        self, session: Session, posts: Sequence[NewComplaint], languages: Sequence[str | None]
    ) -> list[IngestResult]:
        """Per row, the ORM's flush and identity map dominate the cost of filing; the batch's new complaints are
        therefore built as plain rows (`_NewRow`) and inserted with Core, with their audit events and card
        deliveries after them. Only a complaint a later post of the batch joins becomes an ORM object (rare)."""
        now = utcnow()
        # Conversations first, then what is known: under READ COMMITTED each statement sees what committed before
        # it, so a complaint a concurrent request just filed is either found by both or by neither, and a post
        # never "joins" the complaint it is itself (Meta redelivers, the backfill re-reads).
        conversations: dict[tuple[str, str, str], Complaint | _NewRow] = dict(self._open_conversations(session, posts))
        known = self._known(posts, session)
        results: dict[int, IngestResult] = {}
        in_batch: dict[tuple[str, str], Complaint | _NewRow] = {}
        repeated: list[tuple[int, tuple[str, str]]] = []
        created: list[tuple[int, NewComplaint, Complaint | _NewRow]] = []
        for index in sorted(range(len(posts)), key=lambda i: self._posted(posts[i], now)):
            new = posts[index]
            key = (new.source, new.external_id)
            if key in known:
                results[index] = IngestResult(known[key], duplicate=True)
                continue
            if key in in_batch:
                repeated.append((index, key))
                continue
            thread = _conversation_key(new)
            complaint = conversations.get(thread) if thread else None
            if complaint is not None and complaint.id is not None and complaint.external_id == new.external_id:
                results[index] = IngestResult(complaint.id, duplicate=True)  # the post is that complaint itself
                continue
            if complaint is not None:
                if isinstance(complaint, _NewRow):
                    # It opened earlier in this batch: insert what is pending (ids stay in posted order) and join
                    # the complaint as an ORM object.
                    self._insert_rows(session, [row for _, _, row in created if isinstance(row, _NewRow)])
                    complaint = self._adopt(session, complaint, created, in_batch)
                    assert thread is not None
                    conversations[thread] = complaint
                self._join(session, complaint, new, now)
                results[index] = IngestResult(complaint.id, duplicate=False, joined=True)
            else:
                complaint = self._create(new, now, languages[index])
                created.append((index, new, complaint))
                if thread:
                    conversations[thread] = complaint
            in_batch[key] = complaint
        # Past STORM_THRESHOLD in a channel, its arrivals are listed in one storm card's thread (storm_id set here).
        storms.file_arrivals(session, self.settings, [complaint for _, _, complaint in created], now)
        # AUTO_ASSIGN: owners written into the rows before they are inserted, audited with them (bot/assignment.py).
        assigned = self._assign(session, created, now)
        fresh = [row for _, _, row in created if isinstance(row, _NewRow)]
        # Inserted before storm filing, for a post that joined one of the batch's complaints: storm_id comes after.
        early = [{"row_id": row.id, "row_storm": row.storm_id} for row in fresh if row.inserted and row.storm_id]
        self._insert_rows(session, fresh)
        if early:
            table = Complaint.__table__
            session.execute(
                update(table).where(table.c.id == bindparam("row_id")).values(storm_id=bindparam("row_storm")),
                early,
            )
        session.flush()
        if created:
            # Plain multi-row inserts: building an ORM object per event and per card row costs more than filing.
            events = []
            for _, new, complaint in created:
                events.append(
                    lifecycle.event_row(
                        complaint,
                        Action.RECEIVE,
                        Actor(new.source, "ingest"),
                        now,
                        {"external_id": new.external_id, "priority": complaint.priority},
                    )
                )
                if (chosen := assigned.get(id(complaint))) is not None:
                    events.append(lifecycle.event_row(complaint, Action.ASSIGN, ASSIGNER, now, chosen))
            session.execute(insert(AuditEvent.__table__), events)
            session.execute(
                insert(Delivery.__table__),
                [projections.card_row(complaint, now) for _, _, complaint in created],
            )
        for index, _new, complaint in created:
            results[index] = IngestResult(complaint.id, duplicate=False, due_at=complaint.sla_due_at)
        for index, key in repeated:
            results[index] = IngestResult(in_batch[key].id, duplicate=True)
        return [results[i] for i in range(len(posts))]

    def _assign(
        self, session: Session, created: list[tuple[int, NewComplaint, Complaint | _NewRow]], now: datetime
    ) -> dict[int, dict[str, Any]]:
        """AUTO_ASSIGN: an owner for each new complaint from the agents available (bot/assignment.py), written into
        the rows before they are inserted. Returns each assignment's audit detail by the complaint's identity."""
        if not self.assigner.enabled or not created:
            return {}
        complaints = [complaint for _, _, complaint in created]
        details: dict[int, dict[str, Any]] = {}
        late: list[dict[str, Any]] = []
        for complaint, chosen in zip(complaints, self.assigner.assign(session, complaints, now), strict=True):
            if chosen is None:
                continue
            complaint.owner_id = chosen.agent
            complaint.claimed_by = BY_ROTATION
            complaint.claimed_at = now
            details[id(complaint)] = {"to": chosen.agent, "by": chosen.mode, "rotation": chosen.pool.rotation}
            if isinstance(complaint, _NewRow) and complaint.inserted:
                late.append({"row_id": complaint.id, "row_owner": chosen.agent, "row_at": now})
        if late:  # rows a later post of the batch joined were inserted already (rare)
            table = Complaint.__table__
            session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(owner_id=bindparam("row_owner"), claimed_by=BY_ROTATION, claimed_at=bindparam("row_at")),
                late,
            )
        return details

    @staticmethod
    def _insert_rows(session: Session, rows: Sequence[_NewRow]) -> None:
        """Insert new complaints with one plain multi-row Core insert, their ids given up front in the order given
        (so no RETURNING: SQLite cannot return a multi-row insert's rows in a guaranteed order, so SQLAlchemy would
        insert them one statement each; on PostgreSQL a RETURNING insert of many rows costs the driver more than
        the insert). SQLite: Heard's transactions hold the write lock from BEGIN (BEGIN IMMEDIATE), so the ids
        after the largest one are this batch's. PostgreSQL: drawn from the id's own sequence in one query."""
        pending = [row for row in rows if not row.inserted]
        if not pending:
            return
        table = Complaint.__table__
        if session.get_bind().dialect.name == "postgresql":
            ids = sorted(
                session.scalars(
                    text("SELECT nextval(pg_get_serial_sequence('complaints', 'id')) FROM generate_series(1, :n)"),
                    {"n": len(pending)},
                )
            )
        else:
            last = session.scalar(select(func.max(table.c.id))) or 0
            ids = list(range(last + 1, last + 1 + len(pending)))
        for row, complaint_id in zip(pending, ids, strict=True):
            row.id = row.values["id"] = complaint_id
        session.execute(insert(table), [row.values for row in pending])
        for row in pending:
            row.inserted = True

    @staticmethod
    def _adopt(
        session: Session,
        row: _NewRow,
        created: list[tuple[int, NewComplaint, Complaint | _NewRow]],
        in_batch: dict[tuple[str, str], Complaint | _NewRow],
    ) -> Complaint:
        """The inserted row as an ORM object, in place of the row everywhere the batch refers to it."""
        complaint = session.get(Complaint, row.id)
        assert complaint is not None
        complaint.storm_id = row.storm_id
        created[:] = [(index, new, complaint if item is row else item) for index, new, item in created]
        for key, item in list(in_batch.items()):
            if item is row:
                in_batch[key] = complaint
        return complaint

    def _known(self, posts: Sequence[NewComplaint], session: Session | None = None) -> dict[tuple[str, str], int]:
        """Which of these posts Heard already has, as a complaint or as a post that joined one."""
        if session is None:
            with self.database.unit_of_work() as own:
                return self._known(posts, own)
        keys = list({(post.source, post.external_id) for post in posts})
        found: dict[tuple[str, str], int] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            for model in (Complaint, ComplaintPost):
                complaint_id = Complaint.id if model is Complaint else ComplaintPost.complaint_id
                rows = session.execute(
                    select(model.source, model.external_id, complaint_id).where(
                        tuple_(model.source, model.external_id).in_(chunk)
                    )
                )
                found.update({(source, external_id): cid for source, external_id, cid in rows})
        return found

    def _open_conversations(
        self, session: Session, posts: Sequence[NewComplaint]
    ) -> dict[tuple[str, str, str], Complaint]:
        """The open complaints the batch's posts may join, locked, by (source, author, conversation)."""
        keys = list({key for post in posts if (key := _conversation_key(post))})
        found: dict[tuple[str, str, str], Complaint] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            complaints = session.scalars(
                select(Complaint)
                .where(
                    tuple_(Complaint.source, Complaint.author_id, Complaint.conversation_id).in_(chunk),
                    Complaint.status != Status.RESOLVED.value,
                )
                .order_by(Complaint.id)
                .with_for_update()
            )
            for complaint in complaints:
                key = (complaint.source, str(complaint.author_id), str(complaint.conversation_id))
                found.setdefault(key, complaint)
        return found

    def _create(self, new: NewComplaint, now: datetime, lang: str | None) -> _NewRow:
        posted_at = self._posted(new, now)
        found = triage(new.text, new.author_followers, self.settings.triage)
        complaint = _NewRow(
            {
                "source": new.source,
                "platform": (
                    new.platform if new.platform != WEBHOOK else self.platforms.key_for_webhook_source(new.source)
                ),
                "external_id": new.external_id,
                "author_handle": new.author_handle,
                "author_name": _stored_words(new.author_name, self._personal) if new.author_name else None,
                "author_id": new.author_id,
                "author_followers": new.author_followers,
                "author_verified": new.author_verified,
                "lang": lang,  # `_languages`
                "conversation_id": new.conversation_id,
                "text": _stored_words(new.text, self._personal),
                "url": new.url,
                "raw": mask_card_numbers_in(new.raw, self._personal),
                "posted_at": posted_at,
                "received_at": now,
                "status": Status.NEW.value,
                "ack_deadline": self.sla.deadline(posted_at, Clock.ACK),
                "resolve_deadline": self.sla.deadline(posted_at, Clock.RESOLVE),
                "ack_stage": 0,
                "resolve_stage": 0,
                "slack_channel": routes.channel_for(
                    self.settings.routes,
                    self.settings.heard_channel,
                    priority=found.priority,
                    category=found.category,
                    source=new.source,
                ),
                "revision": 1,
                "extra_posts": 0,
                "category": found.category,
                "priority": None,
                "triage_reasons": None,
                "personal_data": None,
                "threats": None,
                "storm_id": None,
                "owner_id": None,
                "claimed_by": None,
                "claimed_at": None,
                "sla_due_at": None,
            }
        )
        _apply_triage(complaint, found)
        complaint.sla_due_at = sla.next_due(complaint, self.sla)
        return complaint

    def _join(self, session: Session, complaint: Complaint, new: NewComplaint, now: datetime) -> None:
        post = ComplaintPost(
            complaint_id=complaint.id,
            source=new.source,
            external_id=new.external_id,
            text=_stored_words(new.text, self._personal),
            url=new.url,
            posted_at=self._posted(new, now),
            received_at=now,
            raw=mask_card_numbers_in(new.raw, self._personal),
        )
        session.add(post)
        session.flush()
        complaint.extra_posts += 1
        # A later post can raise the stakes (personal data, a threat); it never lowers them.
        _apply_triage(complaint, triage(new.text, new.author_followers, self.settings.triage))
        lifecycle.record(
            session, complaint, Action.JOIN, Actor(new.source, "ingest"), now, {"external_id": new.external_id}
        )
        projections.show_joined_post(session, complaint, post, now)
        projections.refresh_card(session, complaint, now)

    def update_posts(self, updates: Sequence[PostUpdate]) -> None:
        """What authors (or the network) did to posts Heard filed: an edit updates the card and keeps the earlier
        text in the audit trail; a removal is noted on the card while Heard keeps its record; hiding or unhiding on
        the network itself is shown as such. Posts Heard never filed are ignored."""
        if not updates:
            return
        with self.database.unit_of_work() as session:
            for update in updates:
                complaint = session.scalar(
                    select(Complaint)
                    .where(Complaint.source == update.source, Complaint.external_id == update.external_id)
                    .with_for_update()
                )
                post = None
                if complaint is None:
                    post = session.scalar(
                        select(ComplaintPost).where(
                            ComplaintPost.source == update.source, ComplaintPost.external_id == update.external_id
                        )
                    )
                    if post is None:
                        continue
                    complaint = session.get(Complaint, post.complaint_id, with_for_update=True)
                    if complaint is None:
                        continue
                if complaint.erased_at is not None:
                    continue  # its author's data was erased (bot/privacy.py): an edit must not bring it back
                self._apply_update(session, complaint, post, update)
        self._wake_delivery()

    def _apply_update(
        self, session: Session, complaint: Complaint, post: ComplaintPost | None, update: PostUpdate
    ) -> None:
        now = utcnow()
        actor = Actor(update.source, "webhook")
        detail: dict[str, object] = {"external_id": update.external_id}
        if update.kind == UpdateKind.EDITED:
            before = post.text if post is not None else complaint.text
            after = _stored_words(update.text, self._personal) if update.text is not None else None
            if after is None or after == before:
                return  # a redelivery of an edit already applied
            detail.update({"before": before, "after": after})
            if post is not None:
                post.text = after
            else:
                complaint.text = after
                complaint.edited_at = update.at
                # The edit may add personal data or a threat: triage again (it never lowers what was found).
                _apply_triage(complaint, triage(update.text, complaint.author_followers, self.settings.triage))
            action = Action.EDITED_BY_AUTHOR
        elif update.kind == UpdateKind.REMOVED:
            if post is None:
                if complaint.removed_at is not None:
                    return
                complaint.removed_at = update.at
            action = Action.REMOVED_BY_AUTHOR
        else:
            hidden = update.kind == UpdateKind.HIDDEN
            if post is not None or (complaint.hidden_at is not None) == hidden:
                return  # the echo of Heard's own hide or unhide, or a joined post: nothing new for the card
            if hidden:
                complaint.hidden_at, complaint.hidden_by, complaint.hidden_reason = update.at, None, "other"
                complaint.hidden_on_source, complaint.hidden_source_refusal = True, None
                # Translators: stored as the hiding note and shown on the card (in the team's language).
                complaint.hidden_note = i18n._("Hidden on the network itself, not from Heard")
                action = Action.HIDE
            else:
                complaint.hidden_at = complaint.hidden_by = complaint.hidden_reason = complaint.hidden_note = None
                complaint.hidden_on_source = complaint.hidden_source_refusal = None
                action = Action.UNHIDE
            detail["on_source"] = True
        event = lifecycle.record(session, complaint, action, actor, now, detail)
        complaint.revision += 1
        projections.refresh_card(session, complaint, now)
        if self.settings.thread_log:
            projections.log_in_thread(session, complaint, event, now)

    @staticmethod
    def _posted(new: NewComplaint, now: datetime) -> datetime:
        posted_at = new.posted_at or now
        return now if posted_at > now + MAX_CLOCK_SKEW else posted_at

    @staticmethod
    def _earliest_due(results: Sequence[IngestResult]) -> datetime | None:
        dues = [result.due_at for result in results if result.due_at is not None]
        return min(dues) if dues else None


_COLUMNS = frozenset(Complaint.__table__.columns.keys())


class _NewRow:
    """A complaint of this batch before it is inserted: its columns in `values` (the row Core inserts), read and
    set as attributes, so triage, the SLA policy, routing and storm filing see what they would on a Complaint.
    A column not set reads None, as on a Complaint not yet flushed."""

    __slots__ = ("id", "inserted", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "id", None)
        object.__setattr__(self, "inserted", False)

    def __getattr__(self, name: str) -> Any:
        if name in _COLUMNS:
            return self.values.get(name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("id", "inserted"):
            object.__setattr__(self, name, value)
        elif name in _COLUMNS:
            self.values[name] = value
        else:
            raise AttributeError(name)


def _stored_words(text: str, personal: PersonalRules) -> str:
    """A customer's words as Heard keeps them: card numbers masked before anything is stored (so no card, thread,
    export, search index or evidence file holds one); triage has read the words as written."""
    return storable_words(mask_card_numbers(text, personal))


def _conversation_key(post: NewComplaint) -> tuple[str, str, str] | None:
    if post.conversation_id and post.author_id:
        return (post.source, post.author_id, post.conversation_id)
    return None


def _apply_triage(complaint: Complaint, found: Triage) -> None:
    """Merge what triage found into the complaint: high priority and flags stick once raised."""
    if found.priority == "high":
        complaint.priority = "high"
    elif not complaint.priority:
        complaint.priority = "normal"
    complaint.triage_reasons = _union(complaint.triage_reasons, found.reasons)
    complaint.personal_data = _union(complaint.personal_data, found.personal_data)
    complaint.threats = _union(complaint.threats, found.threats)
    if complaint.category is None:
        complaint.category = found.category


def _union(old: Sequence[str] | None, new: Sequence[str]) -> list[str]:
    merged = list(old or [])
    merged.extend(item for item in new if item not in merged)
    return merged
