"""The post task runs a post's steps one after another; a step after one that used retries gets all of its own."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from beatdesk.runner import Next
from workers import tasks
from workers.tasks import RETRIES, advance_task


@dataclass
class Script:
    """A runner whose `advance` answers from a list, noting whether each call was the step's last try."""

    answers: list[Next]
    last_tries: list[bool] = field(default_factory=list)
    throughs: list[bool] = field(default_factory=list)

    def advance(
        self, post_id: int, *, wait_in_place: bool = False, last_try: bool = False, through: bool = False
    ) -> Next:
        self.last_tries.append(last_try)
        self.throughs.append(through)
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


def test_a_posts_steps_run_in_one_task_until_it_settles(script: Script) -> None:
    script.answers = [Next.again, Next.again, Next.settled]
    advance_task.apply(args=(7,))
    assert script.last_tries == [False, False, False]
    assert script.throughs == [True, True, True]  # the runner is asked to take each next step up itself
    assert script.handed == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("stop", [Next.busy, Next.idle, Next.settled])
def test_the_loop_ends_on_anything_but_again(script: Script, stop: Next) -> None:
    script.answers = [Next.again, stop, Next.again]
    advance_task.apply(args=(7,))
    assert len(script.last_tries) == 2


def test_a_step_after_a_retried_one_is_not_on_its_last_try(script: Script) -> None:
    """The task was retried to its last try for its first step; the second step must not inherit that."""
    script.answers = [Next.again, Next.again, Next.settled]
    advance_task.apply(args=(7,), retries=RETRIES)
    assert script.last_tries == [True, False, False]
    assert script.throughs == [False, True, True]  # the retried task runs one step; the fresh one runs through
    assert script.handed == [7]  # type: ignore[attr-defined]
