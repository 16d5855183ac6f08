"""The post task runs a post's steps one after another; a step after one that used retries gets all of its own."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from beatdesk.runner import Next
from workers import tasks
from workers.app import LONGEST_TASK_S
from workers.tasks import RETRIES, advance_task


@dataclass
class Script:
    """A runner whose `advance` answers from a list, noting each call's last try and how long it may run on."""

    answers: list[Next]
    last_tries: list[bool] = field(default_factory=list)
    untils: list[float | None] = field(default_factory=list)

    def advance(
        self, post_id: int, *, wait_in_place: bool = False, last_try: bool = False, through_until: float | None = None
    ) -> Next:
        self.last_tries.append(last_try)
        self.untils.append(through_until)
        return self.answers.pop(0)


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    found = Script([])
    handed: list[int] = []
    monkeypatch.setattr(tasks, "runner", lambda: found)

    def delay(post_id: int) -> None:  # what a broker does: a fresh task, retries counted from 0
        handed.append(post_id)
        advance_task.apply(args=(post_id,))

    monkeypatch.setattr(advance_task, "delay", delay)
    found.handed = handed  # type: ignore[attr-defined]
    return found


def test_a_fresh_task_runs_the_post_through_for_half_the_task_time_limit(script: Script) -> None:
    script.answers = [Next.settled]
    before = time.monotonic()
    advance_task.apply(args=(7,))
    (until,) = script.untils
    assert until is not None and before + LONGEST_TASK_S / 2 <= until <= time.monotonic() + LONGEST_TASK_S / 2
    assert script.handed == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("stop", [Next.busy, Next.idle, Next.settled])
def test_a_task_ends_on_anything_but_again(script: Script, stop: Next) -> None:
    script.answers = [stop]
    advance_task.apply(args=(7,))
    assert len(script.last_tries) == 1 and script.handed == []  # type: ignore[attr-defined]


def test_again_hands_the_next_step_to_a_fresh_task(script: Script) -> None:
    """The runner stopped taking steps up (its time ran out): the next step goes to a task of its own."""
    script.answers = [Next.again, Next.again, Next.settled]
    advance_task.apply(args=(7,))
    assert script.handed == [7, 7]  # type: ignore[attr-defined]
    assert all(until is not None for until in script.untils)


def test_a_step_after_a_retried_one_is_not_on_its_last_try(script: Script) -> None:
    """The task was retried to its last try for its first step; the second step must not inherit that, and
    the retried task runs that one step only."""
    script.answers = [Next.again, Next.settled]
    advance_task.apply(args=(7,), retries=RETRIES)
    assert script.last_tries == [True, False]
    assert script.untils[0] is None and script.untils[1] is not None
    assert script.handed == [7]  # type: ignore[attr-defined]
