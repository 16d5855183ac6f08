"""Two decisions on one post at the same moment: exactly one wins, on SQLite and PostgreSQL alike.

Each decision runs in its own thread and its own transaction, released together by a barrier, as two
reviewers' clicks (or a reviewer and a bulk action) reach the desk."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from beatdesk.errors import BeatdeskError, InvalidTransitionError
from beatdesk.models import PostStatus
from beatdesk.personas import load_persona
from beatdesk.review import approve, reject
from beatdesk.settings import get_settings
from beatdesk.slots import next_free_slot
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store.schema import DecisionRow
from tests.conftest import run_cli
from tests.desk_client import Desk, desk_home, log_in

PAIRS = 20
SLOT_RACERS = 10


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A home with one batch of PAIRS + SLOT_RACERS posts in review, on the store of the parameter."""
    if request.param == "postgres":
        monkeypatch.setenv("BEATDESK_DATABASE_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()
        forget_stores()
    run_cli(cli, "init")
    run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0")
    store = open_store(get_settings().effective_database_url)
    copy_into_review(store, count=PAIRS + SLOT_RACERS - 1)
    return store


def copy_into_review(store: Store, *, count: int) -> None:
    """`count` more posts of batch 1 in review, each a copy of its first post's plan and draft."""
    with store.session() as session:
        first = repo.get_post(session, 1)
        assert first.plan is not None and first.draft is not None
        ids = repo.add_planned_posts(session, batch_id=1, persona="ash",
                                     posts=[(first.plan, ("plan",), {})] * count)  # fmt: skip
        for post_id in ids:
            for status in (PostStatus.drafting, PostStatus.rendering, PostStatus.in_review):
                repo.transition(session, post_id=post_id, to=status, actor="test", action="copy")
            repo.save_draft(session, post_id=post_id, draft=first.draft)


def at_once(actions: list[Callable[[], object]]) -> list[object]:
    """Run every action in its own thread, released together; each one's result or the error it raised."""
    gate = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int) -> None:
        gate.wait()
        try:
            results[index] = actions[index]()
        except Exception as err:  # the error is the result the test reads
            results[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def in_review(store: Store) -> list[int]:
    with store.session() as session:
        ids = repo.post_ids_of_batch(session, batch_id=1, statuses=[PostStatus.in_review])
    assert len(ids) == PAIRS + SLOT_RACERS
    return sorted(ids)


def decisions_of(store: Store, post_id: int) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(DecisionRow.decision).where(DecisionRow.post_id == post_id)))


def test_an_approve_and_a_reject_at_once_leave_one_decision(store: Store, home: Path) -> None:
    posts = in_review(store)[:PAIRS]

    def approving(post_id: int) -> Callable[[], object]:
        def act() -> str:
            with store.session() as session:
                approve(session, post_id=post_id, home=home, actor="ann", override="race test")
            return "approved"

        return act

    def rejecting(post_id: int) -> Callable[[], object]:
        def act() -> str:
            with store.session() as session:
                reject(session, post_id=post_id, actor="bob", reason="race test", code="tone")
            return "rejected"

        return act

    for post_id in posts:
        outcomes = at_once([approving(post_id), rejecting(post_id)])
        won = [o for o in outcomes if isinstance(o, str)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1, f"post {post_id}: {outcomes}"
        assert len(lost) == 1 and isinstance(lost[0], InvalidTransitionError), f"post {post_id}: {outcomes}"
        with store.session() as session:
            post = repo.get_post(session, post_id)
        assert post.status == won[0]  # the post is as the winner was told
        verb = {"approved": "approve", "rejected": "reject"}[str(won[0])]
        assert [e.action for e in post.events if e.action in ("approve", "reject")] == [verb]
        assert decisions_of(store, post_id) == [won[0]]
        assert (post.slot_at is not None) == (won[0] == "approved")  # a rejected post holds no slot


def test_approvals_into_the_next_free_slot_at_once_each_take_their_own(store: Store, home: Path) -> None:
    racers = in_review(store)[PAIRS:]

    def approving(post_id: int) -> Callable[[], object]:
        def act() -> int:
            with store.session() as session:
                approve(session, post_id=post_id, home=home, actor="ann", override="race test")
            return post_id

        return act

    outcomes = at_once([approving(post_id) for post_id in racers])
    assert outcomes == racers  # nobody was told "taken by post N"
    with store.session() as session:
        slots = [repo.get_post(session, post_id).slot_at for post_id in racers]
    assert len(set(slots)) == SLOT_RACERS
    persona = load_persona(home, "ash")
    expected, after = [], datetime.now(UTC)
    for _ in range(SLOT_RACERS):  # the persona's next ten free slots, in some order
        after = next_free_slot(persona, after=after, taken=set(expected))
        expected.append(after)
    assert sorted(s for s in slots if s) == expected


def test_a_rejected_or_unscheduled_post_gives_its_slot_back(store: Store, home: Path) -> None:
    first, second = in_review(store)[:2]
    with store.session() as session:
        approve(session, post_id=first, home=home, actor="ann", override="x")
    with store.session() as session:
        slot = repo.get_post(session, first).slot_at
        repo.transition(session, post_id=first, to=PostStatus.in_review, actor="ann", action="unschedule")
    with store.session() as session:
        assert repo.get_post(session, first).slot_at is None
        assert slot not in repo.taken_slots(session, persona="ash")
        approve(session, post_id=second, home=home, actor="ann", override="x")
    with store.session() as session:
        assert repo.get_post(session, second).slot_at == slot  # the freed slot is the next free one again


@pytest.fixture
def desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=15) as desk:
        yield desk


def test_the_desk_answers_one_of_two_clicks_and_409_to_the_other(desk: Desk) -> None:
    """Fifteen posts, an approve and a reject of each sent to the JSON API at the same moment."""
    token = desk.token("rita", "review")
    with desk.store.session() as session:
        posts = sorted(repo.post_ids_of_batch(session, batch_id=1, statuses=[PostStatus.in_review]))
    assert len(posts) == 15
    clients = [desk.client(headers={"Authorization": f"Bearer {token}"}) for _ in range(2)]
    for post_id in posts:
        outcomes = at_once([
            lambda p=post_id: clients[0].post(f"/api/posts/{p}/approve", json={"reason": "race"}),
            lambda p=post_id: clients[1].post(f"/api/posts/{p}/reject", json={"reason": "race"}),
        ])  # fmt: skip
        codes = sorted(answer.status_code for answer in outcomes)  # type: ignore[attr-defined]
        assert codes == [200, 409], f"post {post_id}: {codes}"
        winner = next(a for a in outcomes if a.status_code == 200)  # type: ignore[attr-defined]
        loser = next(a for a in outcomes if a.status_code == 409)  # type: ignore[attr-defined]
        assert "\n" not in loser.json()["detail"]  # type: ignore[attr-defined]
        status = winner.json()["status"]  # type: ignore[attr-defined]
        with desk.store.session() as session:
            post = repo.get_post(session, post_id)
        assert post.status == status
        assert len(decisions_of(desk.store, post_id)) == 1
        assert (post.slot_at is None) == (status == "rejected")


def test_a_decision_on_a_post_decided_meanwhile_is_409_on_the_desk(desk: Desk) -> None:
    client = log_in(desk.client())
    with desk.store.session() as session:
        post_id = min(repo.post_ids_of_batch(session, batch_id=1, statuses=[PostStatus.in_review]))
        reject(session, post_id=post_id, actor="ann", reason="", code="tone")
    page = client.get(f"/posts/{post_id}").text
    token = page.split('name="csrftoken" value="')[1].split('"')[0]
    answer = client.post(f"/posts/{post_id}/approve", data={"csrftoken": token, "override": "x"},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 409
    assert "rejected" in answer.text and f'href="/posts/{post_id}"' in answer.text
    with desk.store.session() as session:
        assert repo.get_post(session, post_id).status == PostStatus.rejected
        assert len(decisions_of(desk.store, post_id)) == 1


def test_a_decision_on_a_decided_post_says_what_it_is_now(desk: Desk) -> None:
    with desk.store.session() as session:
        post_id = min(repo.post_ids_of_batch(session, batch_id=1, statuses=[PostStatus.in_review]))
        reject(session, post_id=post_id, actor="ann", reason="", code="tone")
    with pytest.raises(BeatdeskError, match=f"post {post_id} is rejected"), desk.store.session() as session:
        approve(session, post_id=post_id, home=desk.home, actor="rita", override="x")
