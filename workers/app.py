"""The Celery app. With no broker configured, tasks run in-process (eagerly) with the same code."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from celery import Celery
from celery.app.trace import LOG_RECEIVED
from celery.signals import setup_logging, worker_process_init

from beatdesk.errors import UnreachableServiceError
from beatdesk.logs import configure_logging
from beatdesk.settings import Settings, get_settings
from beatdesk.store import forget_stores

app = Celery("beatdesk", include=["workers.tasks"])

LONGEST_TASK_S = 30 * 60


def configure(settings: Settings) -> Celery:
    """Point the app at the broker in `settings`, or at in-process execution when there is none."""
    common = {
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        # A task is acknowledged after it ran, so a worker that dies mid-task gives it back.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": LONGEST_TASK_S,
        "task_time_limit": LONGEST_TASK_S + 60,
        "broker_connection_retry_on_startup": True,
        # A broker that goes away is waited out however long it takes (Celery's default gives up after 100
        # tries, ending the worker); `beatdesk up` restarts a child that ends anyway.
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        # A step running when the broker goes keeps its heartbeat in the store and ends its work; what the
        # broker lost with it (a queue restarted empty) is handed on again by the reconciler.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_hijack_root_logger": False,
        # Task events are off until a monitor asks: each is a publish on a fanout exchange, and at 1,000 posts
        # they were 13% of a worker's CPU. Flower turns them on when it starts (its `enable_events`, on by
        # default), as does `celery -A workers.app:app control enable_events`.
        "worker_send_task_events": False,
    }
    if settings.broker_url:
        app.conf.update(
            broker_url=settings.broker_url,
            result_backend=settings.broker_url,  # only tasks that ask for a result (ping) store one
            task_always_eager=False,
            # Redis redelivers a task whose worker died once this passes; it must outlast the longest task.
            broker_transport_options={
                "visibility_timeout": settings.visibility_timeout_s,
                "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_s // 4)),
                "unacked_restore_throttle": 1 if settings.visibility_timeout_s < 120 else 10,
            },
            **common,
        )
    else:
        app.conf.update(broker_url="memory://", task_always_eager=True, task_eager_propagates=True, **common)
    return app


def check_broker(settings: Settings) -> None:
    """Fail fast, in one line, when the broker cannot be reached."""
    if not settings.broker_url:
        return
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
    except Exception as err:
        shown = settings.masked()["broker_url"]
        raise UnreachableServiceError(f"cannot reach the broker at {shown}: {err}; nothing was started") from None


def workers_answering(timeout: float = 1.5) -> int:
    """How many `beatdesk worker` processes answer a ping."""
    return len(app.control.ping(timeout=timeout) or [])


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # Database connections must not cross a fork.
    forget_stores()


class QuietWhenIdle(logging.Filter):
    """Drops the worker's "received" and "succeeded" lines of the beat schedule's tasks unless one acted (a
    count above 0): the scheduler's every-minute rounds are logged only when they do something."""

    def filter(self, record: logging.LogRecord) -> bool:
        told = record.args if isinstance(record.args, Mapping) else {}
        scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
        if record.levelno >= logging.WARNING or told.get("name") not in scheduled:
            return True  # a failure is always said
        if "return_value" in told:
            return str(told["return_value"]) not in ("0", "None")
        return record.msg != LOG_RECEIVED


@setup_logging.connect
def _beatdesk_logging(loglevel: int | str | None = None, **_: object) -> None:
    # Connected, this replaces Celery's own set-up: the worker's and beat's lines come in BEATDESK_LOG_FORMAT.
    configure_logging(get_settings(), level=loglevel or None)
    for name in ("celery.worker.strategy", "celery.app.trace"):  # where a task's received and succeeded are said
        logger = logging.getLogger(name)
        if not any(isinstance(each, QuietWhenIdle) for each in logger.filters):
            logger.addFilter(QuietWhenIdle())
