"""The HTTP surface as one WSGI app: `/slack/events` (Bolt), `/ingest`, `/healthz`, and the networks' webhooks
(`/webhooks/meta`, ...) that their adapters declare. Served by waitress."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import func, select

from bot.delivery import FAILED, PENDING, utcnow
from bot.platforms.base import WebAnswer, WebRequest, WebRoute
from bot.services import Services
from bot.services.group_commit import GroupCommit
from handlers.ingest import Reply, handle_ingest
from storage.models import Delivery

log = logging.getLogger("heard.handlers.web")

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
    ) -> None:
        self.services = services
        self.intake = intake
        self.routes = dict(routes or {})
        # In Socket Mode Slack does not sign HTTP requests, so /slack/events is not served at all.
        self.slack = SlackRequestHandler(bolt, path="/slack/events") if bolt is not None else None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and self.slack is not None:
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
        return _json(start_response, Reply(404, {"error": "not found"}))

    def _ingest(self, environ: Environ) -> Reply:
        limit = self.services.settings.ingest_max_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return Reply(400, {"error": "invalid payload", "field": "body", "message": "bad Content-Length"})
        if length > limit:
            return Reply(413, {"error": "payload too large", "message": f"the body must be at most {limit} bytes"})
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        try:
            return handle_ingest(self.intake, self.services.settings.ingest_secret, body, headers)
        except Exception:
            log.exception("ingest failed")
            return Reply(503, {"error": "temporarily unavailable", "message": "nothing was stored; retry later"})

    def _platform_webhook(self, route: WebRoute, environ: Environ, method: str) -> WebAnswer:
        limit = self.services.settings.ingest_max_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return WebAnswer(400, {"error": "bad Content-Length"})
        if length > limit:
            return WebAnswer(413, {"error": "payload too large", "message": f"at most {limit} bytes"})
        body = environ["wsgi.input"].read(length) if length else b""
        query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        try:
            return route(WebRequest(method=method, query=query, headers=headers, body=body))
        except Exception:
            # The network redelivers what was not acknowledged: nothing is lost by answering "later".
            log.exception("%s: the delivery could not be filed", environ.get("PATH_INFO", ""))
            return WebAnswer(503, {"error": "temporarily unavailable", "message": "nothing was stored; retry later"})

    def _health(self) -> Reply:
        try:
            with self.services.database.unit_of_work() as session:
                pending, oldest = session.execute(
                    select(func.count(), func.min(Delivery.due_at)).where(Delivery.status == PENDING)
                ).one()
                failed = session.scalar(select(func.count()).where(Delivery.status == FAILED))
        except Exception as exc:
            log.warning("health check: database unavailable (%s)", type(exc).__name__)
            return Reply(503, {"status": "unavailable", "database": "unreachable"})
        waiting = max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0
        return Reply(
            200,
            {
                "status": "ok",
                "database": "ok",
                "outbox": {"pending": pending, "failed": failed, "oldest_pending_seconds": round(waiting)},
            },
        )


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
