"""The HTTP plumbing the fakes share (`FakeSlack`, `FakeGraph`): a threaded server on 127.0.0.1 at a free port,
served from a daemon thread, handing every request to its fake's `_serve(handler, method)`; and the fakes' own
start / stop / `with` / `url`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class LoopbackServer(ThreadingHTTPServer):
    """Serving from the moment it is built; `shutdown()` then `close()` to stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: Any, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`"""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """After `shutdown()`: release the socket and wait (a little) for the serving thread."""
        self.server_close()
        self._thread.join(timeout=5)


class FakeHandler(BaseHTTPRequestHandler):
    """GET and POST go to the fake; a fake's handler adds its name, its log and any other route."""

    server: LoopbackServer
    # HTTP/1.0: one request per connection, so a hanging answer never blocks a second request.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.server.fake._serve(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._serve(self, "POST")


class LoopbackFake:
    """`start()`, `stop()`, `with` and `url` for a fake served by a `LoopbackServer`. A fake names itself and its
    handler in `_name`, `_thread_name` and `_handler`, and sets `_server = None` and `_stopping` (an Event its
    held answers wait on) in its `__init__`."""

    _name: ClassVar[str]
    _thread_name: ClassVar[str]
    _handler: ClassVar[type[FakeHandler]]
    _server: LoopbackServer | None
    _stopping: threading.Event

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve on a daemon thread. Returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = LoopbackServer(self, self._handler, self._thread_name)
        return self

    def stop(self) -> None:
        """Stop serving; answers still held are released at once (`_stopping`), then `_stopped_serving()`."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        self._stopped_serving()
        server.close()

    def _stopped_serving(self) -> None:
        """After the server stopped taking requests, before its socket is closed: what else the fake must end."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (raises if not started)."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not started; call start() or use it as a context manager")
        return self._server.url
