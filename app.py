"""Heard's entry point: read config, migrate, wire Bolt + delivery, serve HTTP (and Socket Mode when configured).

python app.py            run Heard; with no Slack credentials at all, the sandbox (Heard in a browser, no Slack)
python app.py serve      run Heard (missing settings are listed, whatever they are)
python app.py sandbox    run the sandbox (sandbox/server.py)
python app.py migrate    apply database migrations and exit
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from waitress.server import create_server

from bot import masked_logs
from bot.config import ConfigError, Settings, load_settings
from bot.delivery import EPHEMERAL, DeliveryWorker
from bot.delivery.direct import SlackDirect
from bot.delivery.lag import LagWatch
from bot.directory import DirectoryError, DirectoryFile
from bot.failure_log import OncePerInterval
from bot.i18n import set_team_language
from bot.languages import Languages
from bot.observability.logs import JsonFormatter
from bot.observability.metrics import HeardMetrics
from bot.platforms.base import Intake, Listener
from bot.platforms.registry import Platforms
from bot.privacy import PrivacyProjections
from bot.projections import CHANNEL_NOTICE, Projections, prefetch_cards
from bot.replies import TemplatesError, TemplatesFile
from bot.roles import warn_about_open_roles
from bot.rotations import RotationsError, RotationsFile
from bot.scheduler import Scheduler
from bot.services import Context, Services
from bot.services.group_commit import GroupCommit
from bot.services.rotations import HandoffProjection
from handlers import (
    actions,
    card_menu,
    commands,
    events,
    languages,
    moderation,
    privacy,
    replies,
    rotations,
    storms,
    views,
)
from handlers.web import MAX_SLACK_BODY_BYTES, SERVER_BODY_LIMIT_BYTES, HeardWeb
from storage.db import Database, migrate

log = logging.getLogger("heard")

# Threads that run requests. A slow client does not take one: waitress reads a request whole before handing it
# over, and buffers the answer, so these only run Heard's own (short) work; connections are bounded apart, by
# HTTP_CONNECTION_LIMIT and HTTP_CHANNEL_TIMEOUT.
HTTP_THREADS = 16
# How often waitress looks for idle connections to close: often enough that an idle one goes within about 1.5 x
# HTTP_CHANNEL_TIMEOUT (waitress's default looks every 30 s, whatever the timeout).
LONGEST_CLEANUP_INTERVAL_SECONDS = 30
DIRECT_CALL_TIMEOUT_SECONDS = 2
PROMPT_CALL_TIMEOUT_SECONDS = 1


class Heard:
    """One running copy of Heard. Several may share one PostgreSQL database."""

    def __init__(self, settings: Settings, *, host: str | None = None, apply_migrations: bool = True) -> None:
        self.settings = settings
        set_team_language(settings.language)
        warn_about_open_roles(settings.agents, settings.managers)
        self.database = Database(settings.database_url)
        if apply_migrations:
            migrate(self.database)
        # This copy's own registry (/metrics): counters of what it did, gauges read from the database at each scrape.
        self.metrics = HeardMetrics(settings.ack_window)
        self.client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=int(settings.slack_timeout.total_seconds()),
            # The SDK's default handler re-sends after a dropped connection, which can post a card twice;
            # delivery retries itself, looking for the card first.
            retry_handlers=[],
        )
        self.directory = open_directory(settings)
        self.rotations = open_rotations(settings)
        slack_direct = SlackDirect(
            WebClient(
                token=settings.slack_bot_token,
                base_url=settings.slack_api_url,
                # These calls happen while someone waits on Slack's 3 seconds.
                timeout=DIRECT_CALL_TIMEOUT_SECONDS,
            ),
            on_error=self.metrics.slack_failed,
        )
        # Each person's language for their own views: DMs rendered by the worker read it, never asking Slack.
        self.languages = Languages(self.database, slack_direct)
        projections = Projections(settings, self.directory, self.languages)
        self.delivery = DeliveryWorker(
            database=self.database,
            client=self.client,
            renderers={
                **projections.renderers,
                **HandoffProjection(settings, self.rotations, self.languages).renderers,
                **PrivacyProjections(settings, self.languages).renderers,
            },
            on_posted=projections.on_posted,
            prefetch=prefetch_cards,
            default_channel=settings.heard_channel,
            threads=settings.delivery_workers,
            lease=settings.slack_timeout * 3,
            # A card update sent while its click waits: Slack shows the click failed after 3 s.
            prompt_client=WebClient(
                token=settings.slack_bot_token,
                base_url=settings.slack_api_url,
                timeout=PROMPT_CALL_TIMEOUT_SECONDS,
                retry_handlers=[],
            ),
            on_slack_error=self.metrics.slack_failed,
        )
        self.metrics.observe(self.database, outbox_kinds=[*self.delivery.renderers, EPHEMERAL])
        self.delivery.watch = LagWatch(
            self.database, settings.delivery_lag_alert, CHANNEL_NOTICE, wake=self.delivery.wake
        ).check
        self.scheduler = Scheduler(
            [
                lambda: self.services.follow_ups.send_due_follow_ups(),
                lambda: self.services.sla.run_sla(),
                lambda: self.services.digests.send_due_digests(),
                # Replies whose outcome X did not tell us, or whose sender died, are looked for and sent again.
                lambda: self.services.replies.send_due_replies(),
                # Storms end by themselves once arrivals stay below STORM_THRESHOLD for STORM_CALM.
                lambda: self.services.storms.sweep(),
                # Rotations: whoever comes on duty gets their handoff DM with the open queue (once).
                lambda: self.services.rotations.hand_off(),
                # PERSONAL_DATA_RETENTION: once a day, across copies, old resolved complaints' personal data redacted.
                lambda: self.services.privacy.apply_retention(),
            ]
        )
        self.platforms = Platforms(settings, api_failed=self.metrics.platform_failed)
        templates = TemplatesFile(settings.templates_path, settings.templates_required)
        templates.current()  # a broken reply templates file stops start-up, naming the problem
        context = Context.build(
            settings,
            self.database,
            self.delivery.wake,
            slack_direct,
            self.directory,
            wake_at=self.scheduler.wake_at,
            platforms=self.platforms,
            rotations=self.rotations,
            prompt=self.delivery,
            languages=self.languages,
            metrics=self.metrics,
        )
        self.services = Services(context, templates)
        platform_intake = Intake(
            file=self.services.intake.ingest_many,
            update=self.services.intake.update_posts,
            database=self.database,
            wake_delivery=self.delivery.wake,
            owner=self.delivery.worker_id,
            timezone=settings.timezone,
        )
        # Each network's pollers (X's feeds, Meta's backfill), one scheduler job each.
        self.listeners: list[Listener] = list(self.platforms.listeners(platform_intake))
        for listener in self.listeners:
            self.scheduler.every(listener.name, listener.interval, listener.poll)
        self.bolt = self._build_bolt()
        self.intake = GroupCommit(self.services.intake.ingest_many)
        self.web = HeardWeb(
            self.services,
            None if settings.socket_mode else self.bolt,
            self.intake,
            self.platforms.routes(platform_intake),
            self.metrics.registry,
        )
        channel_timeout = int(settings.http_channel_timeout.total_seconds())
        self.server = create_server(
            self.web,
            host=host or settings.host,
            port=settings.port,
            threads=HTTP_THREADS,
            channel_timeout=channel_timeout,
            cleanup_interval=max(1, min(channel_timeout // 2, LONGEST_CLEANUP_INTERVAL_SECONDS)),
            connection_limit=settings.http_connection_limit,
            # select() cannot watch a socket numbered past 1024; poll() can, and connections may number 500 or more.
            asyncore_use_poll=True,
            ident="heard",
            clear_untrusted_proxy_headers=True,
            # Heard answers 413 itself (INGEST_MAX_BYTES, Slack's size) once waitress has read the body; waitress's own
            # limit, where it closes the connection on a sender still sending, stays far above (handlers/web.py).
            max_request_body_size=max(
                SERVER_BODY_LIMIT_BYTES, 2 * max(settings.ingest_max_bytes, MAX_SLACK_BODY_BYTES)
            ),
        )
        self._socket_mode: SocketModeHandler | None = None
        self._connecting: threading.Thread | None = None
        self._serving: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server.effective_port)  # type: ignore[union-attr]

    def listener(self, name: str) -> Listener | None:
        return next((listener for listener in self.listeners if listener.name == name), None)

    def _build_bolt(self) -> App:
        # Bolt reads SLACK_BOT_TOKEN from the environment by itself and warns, at every start, that the client given
        # wins over it: that is what Heard means, so an admin is not told of it.
        logging.getLogger("slack_bolt.App").addFilter(_CLIENT_WITHOUT_TOKEN)  # one filter, however many Heards
        bolt = App(
            # Listeners never call Slack themselves (delivery does), so Bolt's client carries no token of its own.
            client=WebClient(base_url=self.settings.slack_api_url),
            signing_secret=self.settings.slack_signing_secret or None,
            # Heard's own config names the workspace; no auth.test on every start or request, so a Slack outage
            # at start-up does not stop clicks from being recorded.
            authorize=self._authorize(),
            request_verification_enabled=not self.settings.socket_mode,
            # Listeners are short (one unit of work, then the outbox does the Slack calls), so they run on the
            # request's own thread and answer when done: no hand-off to Bolt's small pool, no ack polling.
            process_before_response=True,
        )
        actions.register(bolt, self.services)
        views.register(bolt, self.services)
        commands.register(bolt, self.services)
        events.register(bolt, self.services)
        moderation.register(bolt, self.services)
        replies.register(bolt, self.services)
        card_menu.register(bolt, self.services)
        storms.register(bolt, self.services)
        rotations.register(bolt, self.services)
        privacy.register(bolt, self.services)
        languages.register(bolt, self.services)  # whoever asks is answered in their language
        return bolt

    def _authorize(self) -> Callable[..., AuthorizeResult]:
        result = AuthorizeResult(enterprise_id=None, team_id=None, bot_token=self.settings.slack_bot_token)

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return result

        return authorize

    def start(self) -> None:
        # The customer-language models load on a thread of their own (about a second), not in the first complaint.
        self.settings.customer_languages.warm_up()
        self.intake.start()
        self.delivery.start()
        self.scheduler.start()
        if self.settings.socket_mode:
            self._socket_mode = SocketModeHandler(self.bolt, self.settings.slack_app_token)
            self._connecting = threading.Thread(target=self._connect_socket_mode, name="socket-mode", daemon=True)
            self._connecting.start()
        self._serving = threading.Thread(target=self._serve, name="http", daemon=True)
        self._serving.start()
        log.info(
            "Heard is listening on port %s (%s)",
            self.port,
            "Socket Mode" if self.settings.socket_mode else "HTTP mode: Slack posts to /slack/events",
        )

    def _connect_socket_mode(self) -> None:
        """Keep trying until Slack accepts the connection: /ingest keeps working meanwhile, nothing is lost.
        Once connected, slack_sdk's client reconnects by itself."""
        assert self._socket_mode is not None
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._socket_mode.connect()
                if self._socket_mode.client.is_connected():
                    log.info("Socket Mode connected")
                else:
                    # slack_sdk does not raise when the WebSocket upgrade fails; its monitor keeps reconnecting.
                    log.warning("Socket Mode: Slack's WebSocket did not open yet; slack_sdk keeps retrying")
                return
            except SlackApiError as error:
                response = error.response
                if response.status_code == 200 and isinstance(response.data, dict):
                    log.error(
                        "Socket Mode: Slack refused SLACK_APP_TOKEN (%s); retrying in %.0fs",
                        response.get("error"),
                        delay,
                    )
                else:
                    log.error("Socket Mode: Slack answered HTTP %s; retrying in %.0fs", response.status_code, delay)
            except Exception as error:
                log.error("Socket Mode: could not connect (%s); retrying in %.0fs", type(error).__name__, delay)
            self._stopping.wait(delay)
            delay = min(delay * 2, 60.0)

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:
            # close() from another thread pulls the socket out from under waitress's select(); that is a stop.
            if not self._stopping.is_set():
                raise

    def stop(self) -> None:
        self._stopping.set()
        self.server.close()
        self.server.task_dispatcher.shutdown()  # type: ignore[union-attr]
        self.intake.stop()
        if self._socket_mode is not None:
            if self._connecting is not None:
                # A connect() still in flight would otherwise open a session after close().
                self._connecting.join(self.settings.slack_timeout.total_seconds() * 2)
            self._socket_mode.close()
        self.scheduler.stop()
        for listener in self.listeners:
            listener.release()
        self.delivery.stop()
        self.services.intake.assigner.dispose()
        self.database.dispose()


def open_directory(settings: Settings) -> DirectoryFile | None:
    """The escalation directory, validated now. Without the file (and without HEARD_DIRECTORY asking for one)
    Heard runs with escalation switched off and says so."""
    if not settings.directory_path.exists() and not settings.directory_required:
        log.warning(
            "no escalation directory at %s: the Escalate button is hidden until you create it "
            "(copy directory.example.toml)",
            settings.directory_path,
        )
        return None
    return DirectoryFile(settings.directory_path)


def open_rotations(settings: Settings) -> RotationsFile | None:
    """The on-duty rotations, validated now. Without the file (and without ROTATIONS_FILE asking for one) there are
    none: auto-assignment draws from HEARD_AGENTS."""
    if not settings.rotations_path.exists() and not settings.rotations_required:
        return None
    return RotationsFile(settings.rotations_path, settings.timezone)


class _ClientWithoutToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_CLIENT_WITHOUT_TOKEN = _ClientWithoutToken()


def _configure_logging(level: str, log_format: str = "text") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    logging.getLogger("waitress.queue").addFilter(OncePerInterval())
    masked_logs.install(logging.getLogger().handlers)  # no e-mail, phone or card number in any line


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description="Heard: every complaint heard within the hour")
    parser.add_argument("command", nargs="?", choices=["serve", "migrate", "sandbox"])
    args = parser.parse_args(argv)
    if args.command == "sandbox" or args.command is None:
        from sandbox import settings as sandbox_settings

        values = sandbox_settings.read_environment(environ)
        # Most people meet Heard before they have a Slack app for it: without any credential, show it working.
        if args.command == "sandbox" or not sandbox_settings.has_slack_credentials(values):
            from sandbox.server import main as sandbox_main

            return sandbox_main(values)
    try:
        settings = load_settings(environ)
    except ConfigError as error:
        for problem in error.problems:
            print(f"heard: {problem}", file=sys.stderr)
        print("heard: see README.md 'Settings' or copy .env.example to .env", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level, settings.log_format)
    if args.command == "migrate":
        migrate(Database(settings.database_url))
        log.info("database is up to date")
        return 0
    try:
        heard = Heard(settings)
    except DirectoryError as error:
        for problem in error.problems:
            print(f"heard: {settings.directory_path}: {problem}", file=sys.stderr)
        return 2
    except TemplatesError as error:
        for problem in error.problems:
            print(f"heard: {settings.templates_path}: {problem}", file=sys.stderr)
        return 2
    except RotationsError as error:
        for problem in error.problems:
            print(f"heard: {settings.rotations_path}: {problem}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    heard.start()
    stopped.wait()
    log.info("stopping")
    heard.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
