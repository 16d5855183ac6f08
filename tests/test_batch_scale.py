"""Batches at scale: what a progress poll reads, and how the embedded default spreads its work."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from typer.testing import CliRunner

from beatdesk.review import send_back_for_redraft
from beatdesk.settings import get_settings
from beatdesk.states import TERMINAL_FOR_BATCH
from beatdesk.store import Store, open_store, repo
from beatdesk.store.schema import PostRow
from tests.conftest import run_cli


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL the store runs inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def settled_by_count(store: Store, batch_id: int) -> int:
    with store.session() as session:
        query = select(func.count()).where(PostRow.batch_id == batch_id, PostRow.status.in_(sorted(TERMINAL_FOR_BATCH)))
        return session.scalar(query) or 0


def test_progress_is_one_row_of_the_batch_and_follows_its_posts(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    batch = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "4", "--video", "0", "--json")
    store = open_store(get_settings().effective_database_url)
    with statements(store) as seen, store.session() as session:
        progress = repo.batch_progress(session, batch_id=batch["batch_id"])
    reads = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and " posts" not in reads[0] and "pipeline_steps" not in reads[0]
    assert " batches" in reads[0]
    assert progress == ("done", 4, 4)

    with store.session() as session:  # a post sent back is the runner's again: one fewer settled
        send_back_for_redraft(session, post_id=batch["posts"][0]["id"], actor="t", note="shorter")
    with store.session() as session:
        assert repo.batch_progress(session, batch_id=batch["batch_id"])[1:] == (3, 4)
    assert settled_by_count(store, batch["batch_id"]) == 3


def meet(folder: str, processes: int) -> int:
    """A card process's task that returns only once `processes` of them are running at the same time."""
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(folder)) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()


def test_the_card_pool_runs_a_process_per_core_at_once(tmp_path: Path) -> None:
    from renderers.local_image import card_pool

    cores = len(os.sched_getaffinity(0))
    pids = {done.result(timeout=90) for done in [card_pool().submit(meet, str(tmp_path), cores) for _ in range(cores)]}
    assert len(pids) == cores and os.getpid() not in pids


def test_the_embedded_default_draws_cards_in_the_card_processes(cli: CliRunner, home: Path) -> None:
    """Every card of a batch is drawn by a card process, never by the CLI's own (which of them is timing)."""
    run_cli(cli, "init")
    batch = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "8", "--video", "0", "--json")
    assert batch["status"] == "done"
    drawn_in = set()
    for summary in batch["posts"]:
        post = run_cli(cli, "post", "show", str(summary["id"]), "--json")
        (image,) = [step for step in post["steps"] if step["name"] == "hero_image"]
        assert image["status"] == "done" and Path(image["artifact"]["path"]).is_file()
        drawn_in.add(image["detail"])
    assert drawn_in and all(d.startswith("card drawn in process ") for d in drawn_in)
    assert f"card drawn in process {os.getpid()}" not in drawn_in
