"""A full disk during a batch: one line naming where, nothing failed for it, and `sweep` settles the posts and
the batch once there is room. The disk is filled by a fault at the write boundary (an artifact's write, the
database's commit) raising what the OS and SQLite raise when it is full; no root, no real disk needed."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

import beatdesk.store.repo as repo_module
from beatdesk.models import BatchStatus, PostStatus, StepStatus
from beatdesk.settings import get_settings
from beatdesk.store import open_store
from beatdesk.store.schema import BatchRow, PostRow, StepRow
from renderers.local_image import LocalImageRenderer
from tests.conftest import run_cli

BATCH = ("batch", "run", "--persona", "ash", "--items", "2", "--video", "0")


@dataclass
class Disk:
    full: bool = True
    hits: int = 0


@pytest.fixture
def artifacts_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    """Card writes fail as a full disk fails them (ENOSPC, naming the file) until `full` is set to False."""
    disk, render = Disk(), LocalImageRenderer.render

    def full_render(self: LocalImageRenderer, request, job=None):  # type: ignore[no-untyped-def]
        if disk.full:
            disk.hits += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(request.out_path.with_suffix(".part")))
        return render(self, request, job)

    monkeypatch.setattr(LocalImageRenderer, "render", full_render)
    yield disk


@pytest.fixture
def database_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    """Storing a draft fails as SQLite does on a full disk (SQLITE_FULL) until `full` is set to False."""
    disk, save = Disk(), repo_module.save_draft

    def full_save(*args, **kwargs):  # type: ignore[no-untyped-def]
        if disk.full:
            disk.hits += 1
            reason = sqlite3.OperationalError("database or disk is full")
            reason.sqlite_errorcode = 13  # type: ignore[attr-defined]
            raise OperationalError("UPDATE posts SET draft=?", (), reason)
        return save(*args, **kwargs)

    monkeypatch.setattr(repo_module, "save_draft", full_save)
    yield disk


def batch_state(home: Path) -> tuple[str, list[str], list[int]]:
    """The batch's status, its posts' statuses, and the attempts of its posts' steps that ran."""
    with open_store(get_settings().effective_database_url).session() as session:
        batch = session.scalars(select(BatchRow)).one()
        posts = sorted(session.scalars(select(PostRow.status).where(PostRow.batch_id == batch.id)))
        attempts = list(session.scalars(select(StepRow.attempts).where(
            StepRow.post_id.is_not(None), StepRow.status != StepStatus.queued)))  # fmt: skip
    return batch.status, posts, attempts


def refused_in_one_line(cli: CliRunner) -> str:
    result = run_cli(cli, *BATCH, code=1)
    assert "Traceback" not in result.stdout + result.stderr
    said = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(said) == 1, result.stderr
    assert "free space and run `beatdesk sweep`" in said[0]
    return said[0]


def settles_after_sweep(cli: CliRunner, home: Path) -> None:
    assert run_cli(cli, "sweep").stdout.startswith("2 stuck post(s)")
    status, posts, attempts = batch_state(home)
    assert status == BatchStatus.done and posts == [PostStatus.in_review] * 2
    assert max(attempts) == 1  # the tries on a full disk were given back: none counts towards MAX_ATTEMPTS


def test_a_full_disk_under_the_artifacts_is_one_line_and_sweep_settles_the_batch(
    cli: CliRunner, home: Path, artifacts_full: Disk
) -> None:
    run_cli(cli, "init")
    said = refused_in_one_line(cli)
    assert f"disk full at {home / 'artifacts' / 'batch-1'}/post-" in said and ".part" in said
    status, posts, _ = batch_state(home)
    assert artifacts_full.hits == 2
    assert status == BatchStatus.running and PostStatus.failed not in posts  # nothing failed for a full disk

    artifacts_full.full = False  # room again
    settles_after_sweep(cli, home)


def test_a_full_database_disk_is_one_line_without_a_minute_of_retries_and_sweep_settles(
    cli: CliRunner, home: Path, database_full: Disk
) -> None:
    run_cli(cli, "init")
    said = refused_in_one_line(cli)
    assert f"disk full at {(home / 'beatdesk.db').resolve()}" in said
    status, posts, _ = batch_state(home)
    assert database_full.hits == 2  # each draft's ending tried once, not retried while the disk stays full
    assert status == BatchStatus.running and PostStatus.failed not in posts

    database_full.full = False
    settles_after_sweep(cli, home)


def test_sweep_on_a_disk_still_full_says_so_in_one_line(cli: CliRunner, home: Path, artifacts_full: Disk) -> None:
    run_cli(cli, "init")
    refused_in_one_line(cli)
    result = run_cli(cli, "sweep", code=1)
    assert result.stderr.startswith("error: disk full at ") and len(result.stderr.strip().splitlines()) == 1
    assert batch_state(home)[0] == BatchStatus.running
