"""Slots, channel times and scheduled batches in a persona's time zone, across DST, with a fixed clock;
two schedulers at once make one batch, and only one scheduler is active."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from typer.testing import CliRunner

from beatdesk.models import BatchSchedule, Channel, Persona
from beatdesk.personas import load_persona
from beatdesk.schedules import due_batches
from beatdesk.settings import get_settings
from beatdesk.slots import channel_time, next_free_slot, upcoming_slots
from beatdesk.store import forget_stores, open_store
from beatdesk.store.schema import BatchRow
from tests.conftest import run_cli
from workers.graph import start_scheduled_batches, wait_for_batch
from workers.leader import LeaderLock

BERLIN_WEEKDAYS_6 = BatchSchedule(cron="0 6 * * 1-5", items=2, video=0, message="weekday batch")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def persona(cli: CliRunner, home: Path) -> Persona:
    run_cli(cli, "init")
    ash = load_persona(home, "ash")  # Europe/Berlin, slots 08:30, 12:30, 17:30
    return ash.model_copy(update={"slots": (time(2, 30), time(8, 30)), "schedule": (BERLIN_WEEKDAYS_6,)})


def test_slots_keep_local_time_across_both_dst_changes(persona: Persona) -> None:
    spring = list(upcoming_slots(persona, after=utc(2026, 3, 28, 12)))[:4]
    assert spring[:3] == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 6, 30), utc(2026, 3, 30, 0, 30)]
    # 02:30 does not exist on 29 March in Berlin: it moves forward by the gap, to 03:30 CEST (01:30 UTC).
    autumn = list(upcoming_slots(persona, after=utc(2026, 10, 24, 12)))[:4]
    # 02:30 happens twice on 25 October: taken once, at its first (CEST, 00:30 UTC); 08:30 is CET after.
    assert autumn == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 7, 30), utc(2026, 10, 26, 1, 30),
                      utc(2026, 10, 26, 7, 30)]  # fmt: skip


def test_approval_takes_the_next_free_slot_in_the_personas_zone(persona: Persona) -> None:
    after = utc(2026, 3, 29, 0, 0)
    taken = {utc(2026, 3, 29, 1, 30)}
    assert next_free_slot(persona, after=after, taken=taken) == utc(2026, 3, 29, 6, 30)  # 08:30 CEST


def test_a_channel_with_its_own_times_waits_for_them(persona: Persona) -> None:
    lunch = Channel(name="x", cron=("0 12 * * 1-5",))
    friday_0830 = utc(2026, 11, 27, 7, 30)
    assert channel_time(persona, lunch, friday_0830) == utc(2026, 11, 27, 11, 0)  # 12:00 CET
    saturday = utc(2026, 11, 28, 7, 30)
    assert channel_time(persona, lunch, saturday) == utc(2026, 11, 30, 11, 0)  # the next weekday
    assert channel_time(persona, Channel(name="x"), friday_0830) == friday_0830


@pytest.mark.parametrize(
    ("now", "due_at"),
    [
        (utc(2026, 3, 27, 5, 10), utc(2026, 3, 27, 5, 0)),  # Friday, CET: 06:00 is 05:00 UTC
        (utc(2026, 3, 30, 4, 10), utc(2026, 3, 30, 4, 0)),  # Monday after the change, CEST: 04:00 UTC
        (utc(2026, 3, 28, 5, 10), None),  # Saturday
        (utc(2026, 3, 27, 4, 59), None),  # not yet
        (utc(2026, 3, 27, 6, 0), None),  # a scheduler down for an hour does not make a stale batch
    ],
)
def test_batch_schedules_are_due_in_local_time(persona: Persona, now: datetime, due_at: datetime | None) -> None:
    due = due_batches(persona, now=now)
    assert [d.due_at for d in due] == ([due_at] if due_at else [])
    if due:
        assert due[0].key == f"ash:0:{due_at.isoformat()}" and due[0].spec.total == 2  # type: ignore[union-attr]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("BEATDESK_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    forget_stores()


def test_two_schedulers_at_once_make_one_batch(persona: Persona, home: Path, database: str) -> None:
    toml = home / "personas" / "ash.toml"
    toml.write_text(toml.read_text() + '\n[[schedule]]\ncron = "0 6 * * 1-5"\nitems = 1\nvideo = 0\n')
    now = utc(2026, 11, 27, 5, 1)  # Friday 06:01 in Berlin
    settings = get_settings()
    start = threading.Barrier(2)
    made: list[list[int]] = []

    def scheduler() -> None:
        start.wait()
        made.append(start_scheduled_batches(settings, now=now))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (batch_id,) = [b for batches in made for b in batches]
    assert wait_for_batch(settings, batch_id, timeout_s=60).status == "done"
    assert start_scheduled_batches(settings, now=utc(2026, 11, 27, 5, 20)) == []  # same due time, later tick
    with open_store(database).session() as session:
        assert session.scalar(select(func.count()).select_from(BatchRow)) == 1


def test_the_scheduler_command_makes_the_due_batch_once(cli: CliRunner, persona: Persona, home: Path) -> None:
    toml = home / "personas" / "ash.toml"
    toml.write_text(toml.read_text() + '\n[[schedule]]\ncron = "0 6 * * 1-5"\nitems = 2\nvideo = 1\n')
    first = run_cli(cli, "scheduler", "--once", "--now", "2026-11-27T05:02:00+00:00")
    assert "1 batch(es) started" in first.stdout
    again = run_cli(cli, "scheduler", "--once", "--now", "2026-11-27T05:03:00+00:00")
    assert "0 batch(es) started" in again.stdout
    queue = run_cli(cli, "queue", "list", "--json")
    assert sorted(p["content_format"] for p in queue) == ["hero_text", "video"]


def test_a_malformed_cron_line_is_named(cli: CliRunner, persona: Persona, home: Path) -> None:
    toml = home / "personas" / "ash.toml"
    toml.write_text(toml.read_text() + '\n[[schedule]]\ncron = "0 25 * * *"\n')
    result = run_cli(cli, "scheduler", "--once", code=1)
    assert "schedule[0].cron" in result.stderr and "'0 25 * * *'" in result.stderr


def test_only_one_scheduler_is_active(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    first, second = LeaderLock(client, ttl_s=1), LeaderLock(client, ttl_s=1)
    assert first.hold() and not second.hold()
    assert first.hold()  # renewing is holding
    first.release()
    assert second.hold() and not first.hold()
    # A leader that stops renewing (its process died) is replaced once the lock runs out.
    import time as clock

    clock.sleep(1.2)
    assert first.hold() and not second.hold()


def test_a_broken_persona_file_does_not_stop_the_others(persona: Persona, home: Path) -> None:
    toml = home / "personas" / "ash.toml"
    toml.write_text(toml.read_text() + '\n[[schedule]]\ncron = "0 6 * * 1-5"\nitems = 1\nvideo = 0\n')
    (home / "personas" / "bea.toml").write_text('handle = "@bea"\nbeats = "not a list"\n')  # edited by hand, badly
    settings = get_settings()
    (batch_id,) = start_scheduled_batches(settings, now=utc(2026, 11, 27, 5, 1))
    assert wait_for_batch(settings, batch_id, timeout_s=60).status == "done"
