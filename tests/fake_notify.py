"""A JSON receiver on 127.0.0.1, as Apprise's `json://HOST:PORT/PATH` URLs post to: it keeps what came."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str = ""
    """The Apprise URL that posts here."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """Each body Apprise posted: {"version", "title", "message", "type", ...}."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def titles(self) -> list[str]:
        with self.lock:
            return [m["title"] for m in self.messages]


@contextmanager
def json_receiver(path: str = "/notify") -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.messages.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"json://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
