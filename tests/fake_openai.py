"""A small server on 127.0.0.1 that speaks OpenAI's chat-completions protocol, for the real langchain-openai client.

It answers each request with a tool call built by `answer(tool_name, request)`, or with what the
test queued first: an error status, a delay, or a raw reply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import serving

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class Scripted:
    status: int = 200
    delay_s: float = 0.0
    body: dict[str, Any] | None = None
    """A whole reply body; None means a tool call from `answer`."""


@dataclass
class ChatServer:
    answer: Answer
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    queue: list[Scripted] = field(default_factory=list)
    usage: tuple[int, int] = (1500, 400)

    def reply(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        self.requests.append(request)
        scripted = self.queue.pop(0) if self.queue else Scripted()
        if scripted.status != 200:
            error = {"error": {"message": f"scripted {scripted.status}", "type": "rate_limit_error", "code": None}}
            return scripted.status, error, scripted.delay_s
        if scripted.body is not None:
            return 200, scripted.body, scripted.delay_s
        tool = request["tools"][0]["function"]["name"]
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": tool, "arguments": json.dumps(self.answer(tool, request))},
        }
        prompt, completion = self.usage
        return (
            200,
            completion_body(
                request["model"], {"role": "assistant", "content": None, "tool_calls": [call]}, prompt, completion
            ),
            scripted.delay_s,
        )


def completion_body(model: str, message: dict[str, Any], prompt: int = 1500, completion: int = 400) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


@contextmanager
def chat_server(answer: Answer) -> Iterator[ChatServer]:
    server_state = ChatServer(answer=answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if not self.path.endswith("/chat/completions"):
                self.send_error(404)
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body, delay = server_state.reply(request)
            time.sleep(delay)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        server_state.url = url + "v1"
        yield server_state
