"""The post state machine: which transitions are allowed, and a guard that refuses the rest."""

from __future__ import annotations

from beatdesk.errors import InvalidTransitionError
from beatdesk.models import PostStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.planned: frozenset({S.drafting, S.failed}),
    S.drafting: frozenset({S.rendering, S.failed}),
    S.rendering: frozenset({S.in_review, S.failed}),
    S.in_review: frozenset({S.approved, S.rejected, S.drafting, S.rendering}),
    S.approved: frozenset({S.scheduled, S.in_review, S.published, S.failed}),
    S.scheduled: frozenset({S.published, S.approved, S.failed}),
    S.published: frozenset(),
    # A reviewer can send an ended post back: redraft or rerender; a rejection can be reopened (or undone).
    S.rejected: frozenset({S.drafting, S.rendering, S.in_review}),
    S.failed: frozenset({S.drafting, S.rendering}),
}

TERMINAL_FOR_BATCH = frozenset({S.in_review, S.approved, S.scheduled, S.published, S.rejected, S.failed})
"""States in which a post no longer holds up its batch."""

HOLDS_SLOT = frozenset({S.approved, S.scheduled, S.published})
"""States in which a post's slot is taken: only these count when a free slot is looked for."""

RELEASES_SLOT = frozenset({S.in_review, S.rejected, S.drafting, S.rendering})
"""Moving into these gives the slot back (a failed post keeps its slot, to show where it failed)."""


def check_transition(post_id: int, current: S, target: S) -> None:
    if target not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current])) or "none"
        raise InvalidTransitionError(
            f"post {post_id} is {current}; it cannot become {target} (allowed from {current}: {allowed})"
        )
