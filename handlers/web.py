"""The HTTP surface as one WSGI app: `/slack/events` (Bolt), `/ingest`, `/healthz`, `/metrics` (Prometheus), and the
networks' webhooks (`/webhooks/meta`, ...) that their adapters declare. Served by waitress. Each request has an id
(the caller's `X-Request-Id` if sane, else a new one), echoed in the answer and carried by every log line it writes."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import func, select

from bot.delivery import FAILED, PENDING, utcnow
from bot.delivery.lag import oldest_waiting
from bot.failure_log import FailureLog
from bot.observability.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_for
from bot.platforms.base import WebAnswer, WebRequest, WebRoute
from bot.services import Services
from bot.services.group_commit import GroupCommit
from handlers.ingest import Reply, handle_ingest
from storage.db import is_outage
from storage.models import Delivery

log = logging.getLogger("heard.handlers.web")
# One line per request: method, path, status, time taken (and, with LOG_FORMAT=json, the request's id).
access_log = logging.getLogger("heard.http")
QUIET_PATHS = frozenset({"/healthz", "/metrics"})

# Slack's own payloads stay far below this; anything larger on /slack/events is not from Slack.
MAX_SLACK_BODY_BYTES = 2 * 1024 * 1024
# waitress is given a limit well above every limit of Heard's own (see app.py): at its limit it answers and closes
# the connection while the sender is still sending, and the sender sees a reset instead of the answer. Below it,
# waitress has read the whole body (spooled to a temporary file past 512 kB) before Heard answers 413.
SERVER_BODY_LIMIT_BYTES = 64 * 1024 * 1024
UNAVAILABLE = {"error": "temporarily unavailable", "message": "nothing was stored; retry later"}

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HeardWeb:
    def __init__(
        self,
        services: Services,
        bolt: App | None,
        intake: GroupCommit,
        routes: Mapping[str, WebRoute] | None = None,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        self.services = services
        self.metrics = metrics
        self.intake = intake
        self.routes = dict(routes or {})
        self._known_paths = frozenset({"/slack/events", "/ingest", "/healthz", "/metrics", *self.routes})
        # An outage fails every request that arrives during it: one line per kind of failure a minute says as much.
        self._failures = FailureLog(log)
        # In Socket Mode Slack does not sign HTTP requests, so /slack/events is not served at all.
        self.slack = SlackRequestHandler(bolt, path="/slack/events") if bolt is not None else None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        answered: list[str] = []
        try:
            return self._route(environ, _echoing(start_response, request_id, answered))
        finally:
            self._log_access(environ, answered[0] if answered else "-", time.perf_counter() - started)
            REQUEST_ID.reset(token)  # waitress's threads serve one request after another

    def _log_access(self, environ: Environ, status: str, seconds: float) -> None:
        path = environ.get("PATH_INFO", "")
        access_log.log(
            # Probes and scrapes come every few seconds: their lines only at DEBUG.
            logging.DEBUG if path in QUIET_PATHS else logging.INFO,
            "%s %s %s in %.0f ms",
            environ.get("REQUEST_METHOD", "GET")[:16],
            # A path nobody serves is not repeated: it is whatever the caller sent.
            path if path in self._known_paths else "(other path)",
            status.split(" ", 1)[0],
            seconds * 1000,
        )

    def _route(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and self.slack is not None:
            refused = _unreadable_slack_request(environ)
            if refused is not None:
                return _json(start_response, refused)
            return self.slack(environ, start_response)
        if path == "/ingest":
            if method != "POST":
                return _json(start_response, Reply(405, {"error": "use POST"}))
            return _json(start_response, self._ingest(environ))
        route = self.routes.get(path)
        if route is not None:
            return _answer(start_response, self._platform_webhook(route, environ, method))
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _json(start_response, self._health())
        if path == "/metrics" and self.metrics is not None:
            if method not in ("GET", "HEAD"):
                return _json(start_response, Reply(405, {"error": "use GET"}))
            return self._metrics(start_response)
        return _json(start_response, Reply(404, {"error": "not found"}))

    def _ingest(self, environ: Environ) -> Reply:
        limit = self.services.settings.ingest_max_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return Reply(400, {"error": "invalid payload", "field": "body", "message": "bad Content-Length"})
        if length > limit:
            return _too_large(limit)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        try:
            return handle_ingest(self.intake, self.services.settings.ingest_secret, body, headers)
        except Exception as error:
            if is_outage(error):
                self._failures.report("ingest: database unavailable, answered 503", error)
                return Reply(503, UNAVAILABLE)
            # Not the sender's fault (that is a 400) nor an outage: a fault of Heard's own, worth its traceback.
            self._failures.report("ingest failed", error, level=logging.ERROR, traceback=True)
            return Reply(500, {"error": "internal error", "message": "nothing was stored; the cause is in Heard's log"})

    def _platform_webhook(self, route: WebRoute, environ: Environ, method: str) -> WebAnswer:
        limit = self.services.settings.ingest_max_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return WebAnswer(400, {"error": "bad Content-Length"})
        if length > limit:
            return WebAnswer(413, _too_large(limit).body)
        body = environ["wsgi.input"].read(length) if length else b""
        query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        try:
            return route(WebRequest(method=method, query=query, headers=headers, body=body))
        except Exception as error:
            # The network redelivers what was not acknowledged: nothing is lost by answering "later".
            where = f"{environ.get('PATH_INFO', '')}: the delivery could not be filed"
            if is_outage(error):
                self._failures.report(where, error)
            else:
                self._failures.report(where, error, level=logging.ERROR, traceback=True)
            return WebAnswer(503, UNAVAILABLE)

    def _metrics(self, start_response: StartResponse) -> Iterable[bytes]:
        assert self.metrics is not None
        try:
            payload = generate_latest(self.metrics)
        except Exception as error:  # the database's gauges answer without the database; anything else is a bug
            self._failures.report("metrics failed", error, level=logging.ERROR, traceback=True)
            return _json(start_response, Reply(500, {"error": "internal error"}))
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(payload)))])
        return [payload]

    def _health(self) -> Reply:
        try:
            with self.services.database.unit_of_work() as session:
                pending = session.scalar(select(func.count()).where(Delivery.status == PENDING))
                failed = session.scalar(select(func.count()).where(Delivery.status == FAILED))
                # Since the oldest message still waiting was queued (not its due_at, which pacing moves ahead).
                waiting = oldest_waiting(session, utcnow())
        except Exception as error:
            self._failures.report("health check: database unavailable", error)
            return Reply(503, {"status": "unavailable", "database": "unreachable"})
        oldest = round(waiting.total_seconds()) if waiting else 0
        return Reply(
            200,
            {
                "status": "ok",
                "database": "ok",
                "outbox": {"pending": pending, "failed": failed, "oldest_pending_seconds": oldest},
            },
        )


def _length(environ: Environ) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # waitress refuses a Content-Length that is not a number before the request reaches Heard


def _unreadable_slack_request(environ: Environ) -> Reply | None:
    """What Bolt cannot read without raising (HTTP 500): a body that is not UTF-8 (its WSGI adapter decodes it) or a
    timestamp that is not a number (slack_sdk's verifier reads it with int()). Slack sends neither; anyone else is
    answered 400 / 401 here. The body, once read, is handed on in a fresh stream."""
    length = _length(environ)
    if length > MAX_SLACK_BODY_BYTES:
        return _too_large(MAX_SLACK_BODY_BYTES)
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    if timestamp is not None and not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return Reply(401, {"error": "invalid signature", "message": "X-Slack-Request-Timestamp is not a timestamp"})
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return Reply(400, {"error": "invalid payload", "field": "body", "message": "body is not UTF-8 text"})
    return None


def _echoing(start_response: StartResponse, request_id: str, answered: list[str]) -> StartResponse:
    """`start_response` with the request's id added to the answer's headers; the status is noted in `answered`."""

    def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        answered[:] = [status]
        return start_response(status, [*headers, (REQUEST_ID_HEADER, request_id)], *args)

    return start


def _too_large(limit: int) -> Reply:
    return Reply(413, {"error": "payload too large", "message": f"the body must be at most {limit} bytes"})


def _answer(start_response: StartResponse, answer: WebAnswer) -> Iterable[bytes]:
    if isinstance(answer.body, str):
        payload = answer.body.encode()
        start_response(
            f"{answer.status} {_REASONS.get(answer.status, '')}",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
    return _json(start_response, Reply(answer.status, answer.body))


def _json(start_response: StartResponse, reply: Reply) -> Iterable[bytes]:
    payload = json.dumps(reply.body).encode()
    start_response(
        f"{reply.status} {_REASONS.get(reply.status, '')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]
