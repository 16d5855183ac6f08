"""Log lines for operators: plain text (the default) or one JSON object a line (BEATDESK_LOG_FORMAT=json,
python-json-logger), at BEATDESK_LOG_LEVEL, each carrying the post, batch and step being run.

The runner sets the step's ids in a context variable around a step (`step_context`); a filter on the
handler copies them onto every record logged meanwhile, by beatdesk or by a library it calls.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from beatdesk.settings import Settings

CONTEXT_FIELDS = ("post_id", "batch_id", "step_id", "step")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_step: ContextVar[dict[str, object] | None] = ContextVar("beatdesk_log_step", default=None)


@contextmanager
def step_context(**ids: object) -> Iterator[None]:
    """Inside, every log line carries these ids (post_id, batch_id, step_id, step), nested contexts merged."""
    token = _step.set({**(_step.get() or {}), **ids})
    try:
        yield
    finally:
        _step.reset(token)


class StepFields(logging.Filter):
    """Copies the current step's ids onto the record (an id given with `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_step.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextWithStep(logging.Formatter):
    """The plain line, with the step's ids after it when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name))
        return f"{line} [{ids}]" if ids else line


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter  # only where asked for: not on every command's start-up

        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level", "name": "logger"}, timestamp=True
        )
    return TextWithStep(TEXT_FORMAT)


class _StderrNow(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is logged, not the stream it was when configured: a command
    run inside another program (a test runner, an embedding app) swaps stderr and may close the old one."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(settings: Settings, *, level: int | str | None = None, explicit_only: bool = False) -> None:
    """The root logger writes to stderr in the chosen format and level (`level` overrides the setting).
    `explicit_only`: only when BEATDESK_LOG_FORMAT or BEATDESK_LOG_LEVEL was set and nothing configured it
    yet (one-shot commands keep their quiet default). Called again, it replaces the handler it installed."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "beatdesk", False)]
    if explicit_only and (ours or not {"log_format", "log_level"} & settings.model_fields_set):
        return
    for handler in ours:
        root.removeHandler(handler)
    handler = _StderrNow()
    handler.beatdesk = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(StepFields())
    root.addHandler(handler)
    root.setLevel(level if level is not None else settings.log_level)
