"""The sandbox page's HTTP server: the page itself (plain HTML/CSS/JS from `static/`), the uploaded files it shows,
and a small JSON API the page talks to.

`GET /api/state` is a long poll: it answers at once when the page's view is new to it, else when anything changes
in the fake Slack or the replay (or after 25 seconds), so the page follows Heard's updates without reloading. The
`POST /api/...` calls are what a person does (click, submit, type, open Home, post a complaint); the backend signs
and forwards them, so the page never holds a secret.

It serves 127.0.0.1 only, answers only requests addressed to a loopback name (a page from elsewhere cannot reach it
through DNS rebinding) and takes only JSON bodies (a form on another site cannot post to it without a CORS
preflight, which it never grants).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.interactions import Refused

log = logging.getLogger("heard.sandbox")

STATIC = Path(__file__).resolve().parent / "static"
LONG_POLL_SECONDS = 25.0
#: After a change, wait this long before answering, so a burst of Slack calls (a card, its thread line, an
#: ephemeral) reaches the page as one update.
COALESCE_SECONDS = 0.04
MAX_BODY_BYTES = 256 * 1024
_STATIC_NAME = re.compile(r"^[a-z0-9_-]+\.(?:html|js|css|svg|png)$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

JSONHandler = Callable[[dict[str, Any]], Any]


class Changes:
    """A version number that moves on every change the page may want to show, and a way to wait for it to move."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._version = 0
        self._closed = False

    @property
    def version(self) -> int:
        with self._condition:
            return self._version

    def bump(self) -> None:
        with self._condition:
            self._version += 1
            self._condition.notify_all()

    def wait(self, since: int, timeout: float) -> int:
        """Return the version once it differs from ``since`` (at once if it does), or after ``timeout`` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != since or self._closed, timeout=timeout)
            return self._version

    def close(self) -> None:
        """Let every waiting long poll answer now (the server is stopping)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class Api:
    """What the page can ask for: ``gets`` answer GETs with the query's parameters, ``posts`` POSTs with the JSON
    body; each returns what is sent back as JSON (``Refused`` becomes a 400 saying why). ``files`` gives an
    uploaded file's name, type and bytes (None when there is no such file)."""

    def __init__(
        self,
        gets: dict[str, JSONHandler],
        posts: dict[str, JSONHandler],
        files: Callable[[str], tuple[str, str, bytes] | None],
    ) -> None:
        self.gets = gets
        self.posts = posts
        self.files = files


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "HeardSandbox/1"

    def do_GET(self) -> None:
        if not self._addressed_to_us():
            return
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/":
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path[len("/static/") :])
        elif path.startswith("/files/"):
            self._file(path[len("/files/") :])
        elif path.startswith("/api/") and path[len("/api/") :] in self.server.api.gets:
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            self._call(self.server.api.gets[path[len("/api/") :]], query)
        else:
            self._send(404, b"not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if not self._addressed_to_us():
            return
        name = urlsplit(self.path).path.removeprefix("/api/")
        handler = self.server.api.posts.get(name)
        if handler is None:
            self._send(404, b"not found", "text/plain; charset=utf-8")
            return
        if not (self.headers.get("Content-Type") or "").lower().startswith("application/json"):
            self._json(415, {"error": "send JSON (Content-Type: application/json)"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._json(413, {"error": "too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._json(400, {"error": "send a JSON object"})
            return
        self._call(handler, body)

    def _addressed_to_us(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name in _LOOPBACK_HOSTS:
            return True
        self._send(421, b"the sandbox answers only on 127.0.0.1 or localhost", "text/plain; charset=utf-8")
        return False

    def _call(self, handler: JSONHandler, arguments: dict[str, Any]) -> None:
        try:
            answer = handler(arguments)
        except Refused as refused:
            self._json(400, {"error": str(refused)})
        except (KeyError, TypeError, ValueError) as error:
            log.info("sandbox: a malformed request to %s: %r", self.path, error)
            self._json(400, {"error": f"malformed request: {error}"})
        except Exception:
            log.exception("sandbox: %s failed", self.path)
            self._json(500, {"error": "the sandbox failed; see its log"})
        else:
            self._json(200, answer)

    def _static(self, name: str) -> None:
        path = STATIC / name
        if not _STATIC_NAME.match(name) or not path.is_file():
            self._send(404, b"not found", "text/plain; charset=utf-8")
            return
        content_type = {"js": "text/javascript", "css": "text/css", "html": "text/html"}.get(
            name.rsplit(".", 1)[-1], mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        self._send(200, path.read_bytes(), f"{content_type}; charset=utf-8")

    def _file(self, file_id: str) -> None:
        found = self.server.api.files(file_id)
        if found is None:
            self._send(404, b"no such file", "text/plain; charset=utf-8")
            return
        name, mimetype, content = found
        # Images show in the page; anything else (a CSV export) downloads rather than renders as a page of ours.
        inline = mimetype in ("image/png", "image/jpeg", "image/gif")
        disposition = "inline" if inline else f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'
        self._send(
            200, content, mimetype if inline else "application/octet-stream", {"Content-Disposition": disposition}
        )

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", _CONTENT_SECURITY_POLICY)
            self.send_header("Referrer-Policy", "no-referrer")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away (a reload drops its long poll)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox page: " + format, *args)


class PageServer:
    """Serves the page and its API on ``host``:``port`` (0: any free port) on a thread of its own."""

    def __init__(self, api: Api, changes: Changes, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.changes = changes
        self._server = _Server((host, port), api)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-page", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.changes.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def long_poll(changes: Changes, since: int, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Wait for a change after ``since`` (-1: answer now), then the state built fresh, with its version."""
    if since >= 0 and changes.wait(since, LONG_POLL_SECONDS) != since:
        time.sleep(COALESCE_SECONDS)
    # The version is read before the state is built: a change in between shows now and again on the next poll.
    version = changes.version
    return {"version": version, **build()}
