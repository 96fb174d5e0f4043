"""A tiny threaded HTTP server on 127.0.0.1 for the fake Nomad and the fake Consul.

Each fake is an ``app`` with ``respond(method, target, headers, body) -> Reply``.
HTTP/1.0, one request per connection: no keep-alive threads outlive a test, and
``stop()`` joins every handler thread.
"""
from __future__ import annotations

import dataclasses
import http.server
import json
import threading
from typing import Any, Dict, Mapping, Optional, Protocol


@dataclasses.dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: Dict[str, str] = dataclasses.field(default_factory=dict)
    drop: bool = False          # close the connection without answering (a lost response)

    @classmethod
    def json(cls, status: int, value: Any, **headers: str) -> Reply:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **headers})

    @classmethod
    def text(cls, status: int, message: str) -> Reply:
        return cls(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class App(Protocol):
    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply: ...


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.app.respond(self.command, self.path, dict(self.headers.items()), body)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False      # server_close() joins the handler threads
    block_on_close = True

    def __init__(self, app: App) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app


class FakeHTTPServer:
    def __init__(self, app: App, name: str) -> None:
        self._app = app
        self._name = name
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> str:
        self._server = _Server(self._app)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self._name}", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(5)
        self._server = None
