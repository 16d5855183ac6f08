"""A small server on 127.0.0.1 that speaks fal's queue protocol: submit, status, result, cancel, and the files.

Behaviour is set per test: latency, bursts of 429/500 answers, NSFW flags, a rejected prompt, or a
submit whose answer is lost after the request was taken (and charged).
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from PIL import Image

from tests.loopback import serving


def png_bytes(width: int = 64, height: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#336699").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class FalState:
    url: str = ""
    latency_s: float = 0.0
    status_errors: list[int] = field(default_factory=list)
    """Answers given to the next status polls instead of the status (e.g. [429, 429, 500])."""
    submit_errors: list[int] = field(default_factory=list)
    lose_submit_answers: int = 0
    """How many of the next submits are taken (and charged) but answered by a dropped connection."""
    nsfw: bool = False
    stream: bool = True
    """Whether status/stream (server-sent events) is served; without it clients poll /status."""
    error: str | None = None
    """An error the next completed requests report in their status (the model failed)."""
    status_calls: int = 0
    reject_prompt: str | None = None
    """Submits whose prompt contains this are refused with 422."""
    file_errors: list[int] = field(default_factory=list)
    """Answers given to the next file downloads instead of the file (e.g. [500, 500, 500])."""
    trickle_files: bool = False
    """Files are sent a byte a second (a stuck CDN edge): only a total deadline ends the download."""
    moved_files: bool = False
    """Results point at URLs that redirect to the files, as a CDN may."""
    linger_s: float = 0.0
    """How long a status stream stays open after COMPLETED (fal ends it at once)."""
    connections: int = 0
    """TCP connections clients opened."""
    submit_delay_s: float = 0.0
    """How long a taken (and charged) submit waits before it is answered: the window a worker may die in."""
    keepalive_only: bool = False
    """The status stream sends nothing but keep-alive comments, forever (a stuck proxy)."""
    cancels: list[str] = field(default_factory=list)
    submits: list[dict[str, Any]] = field(default_factory=list)
    charges: int = 0
    started: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def fal_server() -> Iterator[FalState]:
    state = FalState()
    image = png_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as fal's own endpoints: clients reuse their connections
        disable_nagle_algorithm = True  # a status stream's events go out as they are written
        wbufsize = -1  # an answer's headers and body leave in one write, as a real server sends them

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections += 1

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _trickle(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1)
            except ConnectionError:  # the client stopped reading: its deadline did its job
                self.close_connection = True

        def do_POST(self) -> None:
            app = self.path.strip("/")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.headers.get("Authorization") != "Key test-fal-key":
                self._send(401, {"detail": "bad key"})
                return
            with state.lock:
                if state.submit_errors:
                    self._send(state.submit_errors.pop(0), {"detail": "scripted"})
                    return
                if state.reject_prompt and state.reject_prompt in body.get("prompt", ""):
                    self._send(422, {"detail": [{"msg": "prompt violates the content policy"}]})
                    return
                request_id = uuid.uuid4().hex
                state.submits.append({"app": app, "request_id": request_id, "arguments": body})
                state.charges += 1
                state.started[request_id] = time.monotonic()
                lose = state.lose_submit_answers > 0
                state.lose_submit_answers -= lose
            if state.submit_delay_s:
                time.sleep(state.submit_delay_s)
            if lose:  # taken and charged, but the answer never arrives
                self.close_connection = True
                self.connection.shutdown(2)
                return
            owner_alias = "/".join(app.split("/")[:2])
            base = f"{state.url}{owner_alias}/requests/{request_id}"
            self._send(200, {"request_id": request_id, "response_url": base, "status_url": base + "/status",
                             "cancel_url": base + "/cancel"})  # fmt: skip

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path.startswith("/moved/"):
                self.send_response(302)
                self.send_header("Location", path.replace("/moved/", "/files/", 1))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path.startswith("/files/"):
                with state.lock:
                    error = state.file_errors.pop(0) if state.file_errors else None
                if error:
                    self._send(error, {"detail": "scripted"})
                    return
                if state.trickle_files:
                    self._trickle(image)
                    return
                if path.endswith(".mp4"):
                    self._send(200, b"\x00\x00\x00\x18ftypmp42fake-video", "video/mp4")
                else:
                    self._send(200, image, "image/png")
                return
            parts = path.strip("/").split("/")
            if "requests" not in parts:
                self._send(404, {"detail": "not found"})
                return
            request_id = parts[parts.index("requests") + 1]
            if request_id not in state.started:
                self._send(404, {"detail": f"unknown request {request_id}"})
                return
            remaining = state.started[request_id] + state.latency_s - time.monotonic()
            completed = {"status": "COMPLETED", "logs": None, "metrics": {"inference_time": state.latency_s}}
            if state.error:
                completed |= {"error": state.error, "error_type": "runner_error"}
            if path.endswith("/status") or path.endswith("/status/stream"):
                with state.lock:
                    state.status_calls += 1
                    error = state.status_errors.pop(0) if state.status_errors else None
                if error:
                    self._send(error, {"detail": "scripted"})
                elif path.endswith("/status"):
                    self._send(200, completed if remaining <= 0 else {"status": "IN_PROGRESS", "logs": None})
                elif not state.stream:
                    self._send(404, {"detail": "Not Found"})
                else:
                    self._stream_status(remaining, completed)
                return
            app = next(s["app"] for s in state.submits if s["request_id"] == request_id)
            files = f"{state.url}{'moved' if state.moved_files else 'files'}/"
            if "veo" in app or "video" in app:
                self._send(200, {"video": {"url": f"{files}{request_id}.mp4", "content_type": "video/mp4"}})
            else:
                self._send(200, {"images": [{"url": f"{files}{request_id}.png", "content_type": "image/png",
                                             "width": 64, "height": 80}],
                                 "seed": 42, "has_nsfw_concepts": [state.nsfw]})  # fmt: skip

        def _stream_status(self, remaining: float, completed: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")  # the stream ends, the connection stays
            self.end_headers()
            if state.keepalive_only:
                try:
                    while True:
                        self._chunk(b": keep-alive\n\n")
                        time.sleep(0.2)
                except OSError:  # the client went away
                    return
            if remaining > 0:
                self._chunk(b'data: {"status": "IN_PROGRESS", "logs": null}\n\n')
                time.sleep(remaining)
            self._chunk(f"data: {json.dumps(completed)}\n\n".encode())
            time.sleep(state.linger_s)
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def do_PUT(self) -> None:
            with state.lock:
                state.cancels.append(self.path)
            self._send(202, {"status": "CANCELLATION_REQUESTED"})

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        yield state
