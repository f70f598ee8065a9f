"""The sandbox: Heard in a browser, with no Slack workspace.

`start()` runs, all in this process and on loopback only: the fake Slack (the one the tests use), a fake Graph API
(a Facebook Page, "Acme", and an Instagram account, "acme"), Heard itself against both (its real HTTP server,
database, delivery, scheduler), and the page's server. What the page shows comes from Heard's real Web API calls to
the fake Slack, and from what the fake Graph API holds of the customers' comments; what a person does on the page is
sent to Heard's `/slack/events` signed, as Slack sends it, and a customer's Facebook or Instagram comment reaches
Heard's `/webhooks/meta` signed, as Meta delivers it. `python app.py` calls `main()` when no Slack credentials are
set.

    sandbox = start(port=0, database_path=tmp_path / "sandbox.db")
    print(sandbox.url)
    ...
    sandbox.stop()
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import Heard
from bot import masked_logs, projections
from bot.config import Settings, format_duration, load_settings
from bot.delivery import utcnow
from sandbox import settings as sandbox_settings
from sandbox import workspace
from sandbox.client import SlackClient
from sandbox.customers import (
    FACEBOOK,
    INSTAGRAM,
    POST_AS,
    SOURCES,
    WEBHOOK,
    Commenters,
    GraphWatcher,
    Ingest,
    Replay,
    typed_complaint,
)
from sandbox.fake_graph import FakeGraph
from sandbox.fake_slack import FakeSlack
from sandbox.interactions import Refused, Surface
from sandbox.snapshot import snapshot
from sandbox.web import Api, Changes, PageServer, long_poll
from storage.models import Complaint, DigestRun

log = logging.getLogger("heard.sandbox")

DAILY = "daily"  # the digest kind Heard's daily digest claims


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class Sandbox:
    """A running sandbox; ``url`` is the page, ``stop()`` ends everything it started."""

    def __init__(self, *, port: int, database_path: Path, policy: Mapping[str, str] | None = None) -> None:
        self.database_path = database_path
        _fresh_database(database_path)
        keys = sandbox_settings.SandboxSecrets()
        self.fake = FakeSlack(bot_token=keys.bot_token, team_domain="heard-sandbox", replace_ephemerals=True).start()
        self._started: list[_Stoppable] = [self.fake]
        try:
            workspace.introduce(self.fake)
            self.graph = FakeGraph(
                keys.meta_page_token,
                app_secret=keys.meta_app_secret,
                page_id=sandbox_settings.META_PAGE.id,
                page_name=sandbox_settings.META_PAGE.name,
                instagram_account_id=sandbox_settings.META_INSTAGRAM.id,
                instagram_username=sandbox_settings.META_INSTAGRAM.name,
            ).start()
            self._started.append(self.graph)
            self.settings: Settings = load_settings(
                sandbox_settings.heard_environment(
                    api_url=self.fake.api_url,
                    database_path=database_path,
                    keys=keys,
                    policy=policy,
                    graph_url=self.graph.graph_url,
                ),
                env_file=None,
            )
            self.heard = Heard(self.settings, host="127.0.0.1")
            self.heard.start()
            self._started.append(self.heard)
            heard_url = f"http://127.0.0.1:{self.heard.port}"
            self.changes = Changes()
            self.fake.subscribe(self.changes.bump)
            self.client = SlackClient(self.fake, f"{heard_url}/slack/events", keys.signing_secret)
            self.ingest = Ingest(f"{heard_url}/ingest", keys.ingest_secret)
            self.commenters = Commenters(self.graph, f"{heard_url}/webhooks/meta")
            self._started.append(GraphWatcher(self.graph, self.changes.bump).start())
            self.replay = Replay(self.ingest, self.changes.bump, commenters=self.commenters)
            self._started.append(self.replay)
            self.page = PageServer(self._api(), self.changes, port=port)
            self.page.start()
            self._started.append(self.page)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.page.port}/"

    def stop(self) -> None:
        """Stop the page, the replay, Heard, the fake Graph API and the fake Slack, newest first; the database file
        stays."""
        while self._started:
            self._started.pop().stop()

    # -- the page's API ----------------------------------------------------------------------------------------------

    def _api(self) -> Api:
        return Api(
            gets={"bootstrap": lambda _: self.bootstrap(), "state": self.state},
            posts={
                "act": self._act,
                "submit": lambda body: self.client.submit(
                    _person(body), str(body["view_id"]), dict(body.get("values") or {})
                ).as_json(),
                "close": lambda body: self.client.close(_person(body), str(body["view_id"])).as_json(),
                "type": lambda body: self.client.type(
                    _person(body), str(body["channel"]), str(body.get("text") or ""), body.get("thread_ts") or None
                ).as_json(),
                "home": lambda body: self.client.open_home(_person(body)).as_json(),
                "complaint": self._complaint,
                "replay": self._replay,
                "digest": lambda _: self.send_digest_now(),
            },
            files=self._file,
        )

    def bootstrap(self) -> dict[str, Any]:
        """What the page needs once: who is who, the channels, how Heard is set up here."""
        settings = self.settings
        return {
            "people": [
                {"id": p.id, "name": p.name, "role": p.role, "label": p.label, "handle": p.handle}
                for p in workspace.PEOPLE
            ],
            "channels": [{"id": c.id, "name": c.name, "topic": c.topic} for c in workspace.CHANNELS],
            "dms": {p.id: self.fake.dm_channel(p.id) for p in workspace.PEOPLE},
            "bot": self.fake.bot_user_id,
            "names": workspace.names(self.fake),
            "sources": list(SOURCES),
            "post_as": list(POST_AS),
            "meta": {
                "page": self.graph.page_name,
                "instagram": self.graph.instagram_username,
                "post": self.commenters.post["message"],
                "caption": self.commenters.media["caption"],
            },
            "settings": {
                "ack_window": format_duration(settings.ack_window),
                "nag_before": [format_duration(n) for n in settings.nag_before],
                "resolve_window": format_duration(settings.resolve_window),
                "follow_up_after": format_duration(settings.follow_up_after),
                "timezone": settings.timezone.key,
                "database": str(self.database_path),
            },
            "sample": {"total": self.replay.status()["total"]},
        }

    def state(self, query: dict[str, str]) -> dict[str, Any]:
        user = _person(query)
        conversation = query.get("conversation") or workspace.COMPLAINTS.id
        thread = query.get("thread") or None
        return long_poll(
            self.changes,
            int(query.get("since") or -1),
            lambda: {
                **snapshot(self.fake, user, conversation, thread),
                "replay": self.replay.status(),
                "customer": self.commenters.view(),
            },
        )

    def _act(self, body: dict[str, Any]) -> dict[str, Any]:
        where = body["surface"]
        surface = Surface(
            kind=where["kind"],
            channel=where.get("channel"),
            ts=where.get("ts"),
            view_id=where.get("view_id"),
        )
        if surface.kind not in ("message", "ephemeral", "home", "modal"):
            raise Refused(f"unknown surface {surface.kind!r}")
        shown = body.get("shown")
        return self.client.act(
            _person(body),
            surface,
            str(body["block_id"]),
            str(body["action_id"]),
            chosen=body.get("chosen"),
            shown=shown if isinstance(shown, dict) else None,
            form=body.get("form") if isinstance(body.get("form"), dict) else None,
        ).as_json()

    def _complaint(self, body: dict[str, Any]) -> dict[str, Any]:
        post_as = str(body.get("post_as") or WEBHOOK)
        if post_as in (FACEBOOK, INSTAGRAM):
            return self._comment(post_as, body)
        if post_as != WEBHOOK:
            raise Refused(f"post as one of: {', '.join(POST_AS)}")
        source = str(body.get("source") or "")
        if source not in SOURCES:
            raise Refused(f"choose a source: {', '.join(SOURCES)}")
        complaint = typed_complaint(
            source, str(body.get("handle") or ""), str(body.get("name") or ""), str(body.get("text") or "")
        )
        posted = self.ingest.post(complaint)
        return {"status": posted.status, **posted.body}

    def _comment(self, platform: str, body: dict[str, Any]) -> dict[str, Any]:
        """A customer's comment on the Page's post or the account's media, delivered to Heard as Meta delivers it.
        Heard answers Meta only with 200 once it has filed the comment; the complaint's number is looked up here."""
        try:
            comment, delivered = self.commenters.comment(
                platform, str(body.get("handle") or ""), str(body.get("name") or ""), str(body.get("text") or "")
            )
        except ValueError as error:
            raise Refused(str(error)) from None
        self.changes.bump()
        answer = {**delivered.body, "status": delivered.status, "post_as": platform, "comment_id": comment["id"]}
        if delivered.status == 200:
            with self.heard.database.unit_of_work() as session:
                answer["complaint_id"] = session.scalar(
                    select(Complaint.id).where(Complaint.source == platform, Complaint.external_id == comment["id"])
                )
        return answer

    def _replay(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("running"):
            self.replay.start(float(body.get("every") or 20), mix=bool(body.get("mix")))
        else:
            self.replay.stop()
        return self.replay.status()

    def send_digest_now(self) -> dict[str, Any]:
        """Today's digest so far, now, to whoever gets the daily digest (the manager, by DM), with its chart.

        Heard's own digest reports on yesterday at DIGEST_AT, and a fresh sandbox has no yesterday. This claims the
        digest exactly as Heard's sweep does (a `digest_runs` row under its unique key, then the message and chart
        through the outbox), for today; so it goes once per recipient and day, as the real one does."""
        now: datetime = utcnow()
        today = now.astimezone(self.settings.timezone).date()
        sent: list[str] = []
        already: list[str] = []
        for recipient in self.heard.services.digests.digest_recipients():
            try:
                with self.heard.database.unit_of_work() as session:
                    run = DigestRun(kind=DAILY, last_day=today, recipient=recipient, created_at=now)
                    session.add(run)
                    session.flush()
                    projections.send_digest(session, run, now)
                sent.append(recipient)
            except IntegrityError:
                already.append(recipient)
        self.heard.delivery.wake()
        names = workspace.names(self.fake)
        return {
            "sent": [names.get(r, r) for r in sent],
            "already": [names.get(r, r) for r in already],
            "day": today.isoformat(),
        }

    def _file(self, file_id: str) -> tuple[str, str, bytes] | None:
        try:
            found = self.fake.file(file_id)
        except KeyError:
            return None
        if not found["completed"] or found["content"] is None:
            return None
        return str(found["name"]), str(found["mimetype"]), bytes(found["content"])


def _person(body: Mapping[str, Any]) -> str:
    user = str(body.get("user") or "")
    if user not in {p.id for p in workspace.PEOPLE}:
        raise Refused("choose who you are: Ana, Ben or Mia")
    return user


def _fresh_database(path: Path) -> None:
    """Start from an empty database: Slack's side lives in memory, so cards from an earlier run would point at
    messages that no longer exist. Only the sandbox's own file (and SQLite's companions) is removed, and a file not
    named as the sandbox's never is: a mistyped path must not wipe a real database."""
    if "sandbox" not in path.name:
        raise ValueError(f"the sandbox's database file needs 'sandbox' in its name (e.g. heard-sandbox.db), not {path}")
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            companion.unlink()


def start(
    *,
    port: int = 0,
    database_path: Path | str = sandbox_settings.DEFAULT_DATABASE_PATH,
    policy: Mapping[str, str] | None = None,
) -> Sandbox:
    """Start a sandbox; ``port`` 0 picks a free one. ``policy``: settings that may change Heard's windows and rules
    (see ``sandbox.settings.POLICY_SETTINGS``); anything else in it is ignored."""
    return Sandbox(port=port, database_path=Path(database_path), policy=policy)


def main(values: Mapping[str, str]) -> int:
    """`python app.py` without Slack credentials: start the sandbox on PORT (3000) and wait for Ctrl-C."""
    port_text = (values.get("PORT") or "").strip() or str(sandbox_settings.DEFAULT_PORT)
    if not port_text.isdigit() or int(port_text) > 65535:
        print(f"heard: PORT={port_text!r} is not a port number: use e.g. 3000", file=sys.stderr)
        return 2
    level = (values.get("LOG_LEVEL") or sandbox_settings.SANDBOX_DEFAULTS["LOG_LEVEL"]).upper()
    logging.basicConfig(
        level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    masked_logs.install(logging.getLogger().handlers)  # as `python app.py serve` does
    try:
        sandbox = start(port=int(port_text), policy=values)
    except OSError as error:
        print(
            f"heard: cannot serve the sandbox on port {port_text} ({error.strerror}); set PORT to another port",
            file=sys.stderr,
        )
        return 2
    except Exception as error:
        # A policy setting Heard refuses (ConfigError, or a broken file it names): one line each, as `serve` does.
        problems = getattr(error, "problems", None)
        if not isinstance(problems, list):
            raise
        for problem in problems:
            print(f"heard: {problem}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    print(
        "Heard sandbox: Heard is running against a pretend Slack workspace, with no Slack app needed.\n"
        f"Open {sandbox.url} in your browser. (Data: {sandbox.database_path}; Ctrl-C stops it.)\n"
        "To connect a real workspace, see README.md, 'Connect a Slack workspace'.",
        flush=True,
    )
    stopped.wait()
    sandbox.stop()
    return 0
