"""Private evals: every review decision kept with what made the post (planner, drafting model, prompt version,
cost, edits, time to decide), and drafting models and prompt versions ranked by how often reviewers accept them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from statistics import median
from typing import Any, Literal

from sqlalchemy.orm import Session

from beatdesk.models import PostStatus
from beatdesk.store import repo

PROMPT_MARK = "prompts "
"""How a draft step's detail names the prompt version it was drafted with ("prompts 3f2a9c1d0b")."""
_VERSION = re.compile(rf"\b{PROMPT_MARK}([0-9a-f]{{10}})\b")
Z95 = 1.959963984540054
"""The normal quantile for a two-sided 95% interval."""


def prompt_version_in(detail: str | None) -> str | None:
    found = _VERSION.search(detail or "")
    return found.group(1) if found else None


def words_changed(before: str, after: str) -> int:
    """Word-level edit distance (insertions, deletions, substitutions): how much a reviewer rewrote."""
    a, b = before.split(), after.split()
    if a == b:
        return 0
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def wilson(accepted: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion: honest at small counts and near 0 or 1, unlike p ± z·se."""
    if total == 0:
        return 0.0, 1.0
    p = accepted / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def record_decision(
    session: Session, *, post_id: int, decision: Literal["approved", "rejected"], reason_code: str | None = None
) -> None:
    """Keep a reviewer's decision with what made the post; called by the review functions, once per decision."""
    post = repo.get_post(session, post_id)
    plans = [s for s in post.steps if s.name == "plan"]
    drafts = [s for s in post.steps if s.name == "draft" and s.status == "done"]
    edits = repo.edit_distance_of(session, post_id=post_id)
    reached = [e.at for e in post.events if e.to_status is PostStatus.in_review]
    now = datetime.now(UTC)
    repo.add_decision(
        session,
        post_id=post_id,
        persona=post.persona,
        at=now,
        planner=f"{plans[0].provider}:{plans[0].model}" if plans else None,
        drafter=f"{drafts[-1].provider}:{drafts[-1].model}" if drafts else None,
        prompt_version=prompt_version_in(drafts[-1].detail) if drafts else None,
        decision="edited" if decision == "approved" and edits else decision,
        edit_distance=edits,
        reason_code=reason_code,
        decide_seconds=(now - reached[-1]).total_seconds() if reached else None,
        cost_usd=post.total_cost_usd - repo.decided_cost(session, post_id=post_id),  # what this draft added
    )


@dataclass
class Standing:
    """How reviewers took one drafting model's posts under one prompt version."""

    drafter: str
    prompt_version: str
    planners: set[str] = field(default_factory=set)
    decisions: int = 0
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    words_edited: list[int] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    cost_usd: Decimal = Decimal("0")
    seconds: list[float] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.approved + self.edited

    @property
    def rate(self) -> float:
        return self.accepted / self.decisions if self.decisions else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.accepted, self.decisions)

    @property
    def cost_per_accepted(self) -> Decimal | None:
        return (self.cost_usd / self.accepted).quantize(Decimal("0.000001")) if self.accepted else None

    def as_json(self) -> dict[str, Any]:
        low, high = self.interval
        per = self.cost_per_accepted
        return {
            "drafter": self.drafter,
            "prompt_version": self.prompt_version,
            "planners": sorted(self.planners),
            "decisions": self.decisions,
            "accepted": self.accepted,
            "approved_as_is": self.approved,
            "approved_after_edits": self.edited,
            "rejected": self.rejected,
            "acceptance_rate": round(self.rate, 4),
            "acceptance_95": [round(low, 4), round(high, 4)],
            "mean_words_edited": round(sum(self.words_edited) / len(self.words_edited), 1) if self.words_edited else 0,
            "reasons": dict(self.reasons.most_common()),
            "cost_usd": format(self.cost_usd, "f"),
            "cost_per_accepted_usd": None if per is None else format(per.normalize(), "f"),
            "median_decide_seconds": round(median(self.seconds), 1) if self.seconds else None,
        }


def rank(decisions: Sequence[repo.Decision]) -> list[Standing]:
    """Standings per (drafting model, prompt version), best first: by the interval's lower bound (a rate on few
    posts ranks below the same rate on many), then the rate, then cost per accepted post."""
    table: dict[tuple[str, str], Standing] = {}
    for d in decisions:
        key = (d.drafter or "unknown", d.prompt_version or "unknown")
        s = table.setdefault(key, Standing(*key))
        s.decisions += 1
        if d.planner:
            s.planners.add(d.planner)
        if d.decision == "rejected":
            s.rejected += 1
            s.reasons[d.reason_code or "other"] += 1
        elif d.decision == "edited":
            s.edited += 1
            s.words_edited.append(d.edit_distance)
        else:
            s.approved += 1
            s.words_edited.append(0)
        s.cost_usd += d.cost_usd
        if d.decide_seconds is not None:
            s.seconds.append(d.decide_seconds)
    never = Decimal("Infinity")
    return sorted(table.values(), key=lambda s: (-s.interval[0], -s.rate, s.cost_per_accepted or never, s.drafter))


def evals(session: Session, *, persona: str | None = None, since: datetime | None = None) -> list[Standing]:
    return rank(repo.list_decisions(session, persona=persona, since=since))
