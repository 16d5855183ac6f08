"""The long-running parts: `worker`, `scheduler`, `serve`, `up`, and `sweep` after a crash."""

from __future__ import annotations

import os
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.exc import DBAPIError

from beatdesk.errors import BeatdeskError
from beatdesk.logs import configure_logging
from beatdesk.outage import Outage
from beatdesk.personas import known_personas, load_persona
from beatdesk.settings import get_settings
from beatdesk_cli.up import Backoff, Supervisor, check_port_free, desk_children
from publishers.credentials import not_connected

if TYPE_CHECKING:  # the commands import what they use, so `--help` and `queue list` start in a blink
    from beatdesk.settings import Settings
from beatdesk_cli.base import SupervisedFlag, cli_store, collected_line, edge, parse_clock, print_troubles
from beatdesk_cli.terminal import console, errors

commands = typer.Typer()
"""Its top-level commands (`beatdesk NAME`), loaded when one of them is run."""


class WorkerPool(StrEnum):
    prefork = "prefork"
    threads = "threads"


@commands.command()
@edge
def sweep() -> None:
    """Hand on posts that stopped moving, and fail those that cannot move (workers do this every few seconds)."""
    from workers.graph import sweep as sweep_stuck

    settings = get_settings()
    cli_store(settings)
    console.print(f"{sweep_stuck(settings)} stuck post(s) or batch(es) handed on or ended")


@commands.command()
@edge
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Processes (default BEATDESK_WORKER_CONCURRENCY).")] = None,
    loglevel: Annotated[str | None, typer.Option(help="Log level (default BEATDESK_LOG_LEVEL).")] = None,
    pool: Annotated[
        WorkerPool, typer.Option(help="prefork (processes) or threads: renders wait on the network, threads hold many.")
    ] = WorkerPool.prefork,
    supervised: SupervisedFlag = False,
) -> None:
    """Run a Celery worker on BEATDESK_BROKER_URL."""
    from workers.app import check_broker, configure

    settings = get_settings()
    if settings.in_process:
        raise BeatdeskError("BEATDESK_BROKER_URL is not set; a worker needs a broker such as redis://127.0.0.1:6379/0")
    celery_app = configure(settings)
    check_broker(settings)
    if not supervised:
        _say_not_connected(settings)
    cli_store(settings)  # migrated and reachable before any task arrives
    celery_app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency or settings.worker_concurrency}",
            f"--loglevel={loglevel or settings.log_level}",
            f"--pool={pool.value}",
            f"--hostname=beatdesk-{os.getpid()}@%h",
            "--without-mingle",  # mingling syncs revoked task ids, which beatdesk never uses: 1 s less per start
            "--without-gossip",  # nothing here listens to it, and Celery's gossip fails loudly on a broker restart
        ]
    )


@commands.command()
@edge
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="One pass (due batches, due posts), then exit.")] = False,
    now: Annotated[str | None, typer.Option(help="With --once: act as if it were this ISO time.")] = None,
    loglevel: Annotated[str | None, typer.Option(help="Log level (default BEATDESK_LOG_LEVEL).")] = None,
    supervised: SupervisedFlag = False,
) -> None:
    """Make scheduled batches and publish due posts every minute: Celery beat on BEATDESK_BROKER_URL
    (one active however many run), or a loop in this process on the embedded default."""
    from publishers.due import publish_due
    from publishers.metrics.collect import BesidePublishing, Collected, collect_due
    from workers.app import check_broker, configure
    from workers.graph import start_scheduled_batches, wait_for_batch
    from workers.tasks import METRICS_EVERY_S

    settings = get_settings()

    configure_logging(settings, level=loglevel)
    personas = [load_persona(settings.home, key) for key in known_personas(settings.home)]
    if not supervised:
        _say_not_connected(settings)
    store = cli_store(settings)
    schedules = sum(len(p.schedule) for p in personas)
    if once or settings.in_process:

        def report(done: Collected) -> None:  # quiet when nothing was read
            if done.readings or done.gone or done.failed:
                console.print(f"metrics: {collected_line(done)}", highlight=False)

        metrics = BesidePublishing(settings, every_s=METRICS_EVERY_S, report=report)
        store_away = Outage("store", lambda line: console.print(line, highlight=False, soft_wrap=True))
        if not once:  # then quiet until something happens
            console.print(f"every {settings.scheduler_tick_s:g}s: due batches and due posts; {schedules} schedule(s)")
        while True:
            when = parse_clock(now)
            try:
                started = start_scheduled_batches(settings, now=when)
                if settings.in_process:
                    for batch_id in started:
                        wait_for_batch(settings, batch_id, timeout_s=settings.batch_timeout_s)
                sweep = publish_due(store, home=settings.home, now=when)
            except DBAPIError as err:  # the store is away: said once, tried again next tick
                if once:
                    raise
                store_away.failed(err)
                time.sleep(settings.scheduler_tick_s)
                continue
            store_away.worked()
            if once or started or sweep.published:
                console.print(f"{when:%Y-%m-%d %H:%M} UTC: {len(started)} batch(es) started, {len(sweep.published)} "
                              f"post(s) published; {schedules} schedule(s)")  # fmt: skip
            print_troubles(sweep)
            if once:  # after publishing, never before it
                console.print(f"metrics: {collected_line(collect_due(settings, when))}", highlight=False)
                return
            metrics.tick(when)
            time.sleep(settings.scheduler_tick_s)
    celery_app = configure(settings)
    check_broker(settings)
    for entry in ("publish-due", "run-schedules"):  # collect-metrics keeps its own pace
        celery_app.conf.beat_schedule[entry]["schedule"] = settings.scheduler_tick_s
    # Beat's state file is per machine: homes shared over NFS would otherwise have two schedulers write one shelve.
    import socket

    schedule = settings.home / f"beat-schedule-{socket.gethostname()}"
    celery_app.start(["beat", "--scheduler=workers.leader:LeaderScheduler",
                      f"--loglevel={loglevel or settings.log_level}", f"--schedule={schedule}"])  # fmt: skip


@commands.command()
@edge
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses of a trusted reverse proxy whose X-Forwarded-For/-Proto are believed "
            "(uvicorn's option); unset, the peer's own address counts, e.g. for the login limit."
        ),
    ] = None,
) -> None:
    """Run the review desk (web pages and the JSON API) on HOST:PORT."""
    import uvicorn

    from review_web.app import create_app
    from review_web.security import is_loopback

    settings = get_settings()
    public = not is_loopback(host)
    desk = create_app(settings, public=public)  # which refuses a weak key, or none beyond loopback

    configure_logging(settings)
    # log_config=None: uvicorn's lines go through the root handler (BEATDESK_LOG_FORMAT); requests are not logged.
    uvicorn.run(desk, host=host, port=port, log_config=None, log_level="warning",
                proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips)  # fmt: skip


@commands.command()
@edge
def up(
    host: Annotated[str, typer.Option(help="Address the review desk listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the review desk.")] = 8000,
    concurrency: Annotated[int | None, typer.Option(help="Worker processes (with a broker).")] = None,
    pool: Annotated[WorkerPool, typer.Option(help="The worker's pool (with a broker).")] = WorkerPool.prefork,
) -> None:
    """Run the desk for a team: serve, the scheduler and (with BEATDESK_BROKER_URL) a worker; Ctrl-C stops all."""
    settings = get_settings()
    _check_host(host, settings)
    check_port_free(host, port)
    cli_store(settings)  # migrated once here, before three processes open it
    _say_not_connected(settings)
    if not settings.in_process:
        from workers.app import check_broker, configure

        configure(settings)
        check_broker(settings)
    children = desk_children(
        in_process=settings.in_process, host=host, port=port, concurrency=concurrency, pool=pool.value
    )
    mode = "in-process tasks" if settings.in_process else "Celery workers"
    banner = f"beatdesk up: review desk on http://{host}:{port}, {mode}; Ctrl-C stops everything"
    errors.print(banner, highlight=False, soft_wrap=True)
    backoff = Backoff(first_s=settings.restart_backoff_s, max_s=settings.restart_backoff_max_s,
                      reset_after_s=settings.restart_reset_after_s)  # fmt: skip
    raise typer.Exit(Supervisor(children, backoff=backoff).run())


def _check_host(host: str, settings: Settings) -> None:
    """Beyond this machine, cookies are signed with a key that outlives the home folder; any key given is
    measured before three processes start (as `serve` will)."""
    from review_web.security import is_loopback

    settings.check_secret_key(public=not is_loopback(host))


def _say_not_connected(settings: Settings) -> None:
    """A channel without its credentials is said once, on stderr, and skipped: the desk and the rest go on."""
    personas = [load_persona(settings.home, key) for key in known_personas(settings.home)]
    for line in not_connected(personas, settings.home):
        errors.print(line, highlight=False, soft_wrap=True)
