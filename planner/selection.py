"""Selection: the rules every planner's proposals go through, enforced by code.

Beats rotate by weight, cooldown and how recently they ran; a news-pegged item needs a recent
source; no two items of a batch and no item and a recent post are near-duplicates; counts per
format are exact. Whoever proposes the candidates (the offline catalogue or a model), these rules
decide, and every plan says why it was chosen.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from beatdesk.models import Beat, ContentFormat, Plan, Source
from planner.base import PlanningContext, RecentPost
from planner.learning import Draw, draws, learning_on
from planner.similarity import Vectors

NEVER_RUN_STALENESS = 3.0
"""A beat never run counts as three cooldowns stale: it goes first, but weight still matters."""
PEG_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Candidate:
    """A proposed item: a beat, the case it makes, and what it is pegged on."""

    beat: Beat
    angle: str
    button: str
    peg: Source | None = None
    title: str | None = None
    content_format: ContentFormat | None = None
    """The proposer's choice of format, honoured where the counts allow."""
    reason: str | None = None
    """The proposer's own words on why."""
    priority: int = 0
    """0 for the planner's own proposals, 1 for fallbacks that only fill what they left."""


@dataclass(frozen=True)
class BeatStanding:
    beat: Beat
    score: float
    days_since: float | None
    in_cooldown: bool
    draw: Draw | None = None
    """What the audience's numbers made of the weight, when the planner learns from them."""


@dataclass
class Selection:
    plans: list[Plan]
    dropped: list[str]
    """One line per candidate the rules turned down, with the reason."""


def standings(context: PlanningContext) -> dict[str, BeatStanding]:
    """Each beat's rotation score: its weight (or, learning from the audience, a draw blending the weight with
    how its posts did) times how stale it is. The same context gives the same standings."""
    learned = (
        draws(context.persona, context.observed, seed=context.seed)
        if learning_on(context.persona, context.observed)
        else {}
    )
    out = {}
    for beat in context.persona.beats:
        last = context.last_run.get(beat.key)
        days = (context.now - last).total_seconds() / 86400 if last else None
        staleness = NEVER_RUN_STALENESS if days is None else min(days / max(beat.cooldown_days, 1), NEVER_RUN_STALENESS)
        in_cooldown = days is not None and days < beat.cooldown_days
        draw = learned.get(beat.key)
        weight = draw.weight if draw else beat.weight
        out[beat.key] = BeatStanding(beat, weight * staleness, days, in_cooldown, draw)
    return out


def sources_by_beat(context: PlanningContext) -> dict[str, list[Source]]:
    """The sources tagged with each beat, newest first: one pass over them, not one per beat."""
    tagged: dict[str, list[Source]] = {}
    for source in context.sources:
        for key in source.beats:
            tagged.setdefault(key, []).append(source)
    return tagged


def recent_pegs(context: PlanningContext, beat: Beat, tagged: list[Source] | None = None) -> list[Source]:
    """Sources tagged with the beat inside the peg window, newest first (from `tagged`, the beat's sources, when
    the caller has them by beat)."""
    cutoff = (context.now - PEG_WINDOW).date()
    pool = context.sources if tagged is None else tagged
    return [s for s in pool if beat.key in s.beats and s.published is not None and s.published >= cutoff]


def select(context: PlanningContext, candidates: list[Candidate], *, count: int | None = None) -> Selection:
    """Choose up to `count` (default: the batch's total) candidates that pass every rule."""
    count = context.spec.total if count is None else count
    table = standings(context)
    dropped: list[str] = []
    valid: list[Candidate] = []
    for cand in candidates:
        if cand.beat.kind == "news_pegged" and cand.peg is None:
            dropped.append(f"{cand.beat.key}: '{cand.angle}' dropped: a news-pegged beat needs a recent source")
        else:
            valid.append(cand)
    recent_texts = [f"{r.title}. {r.angle}" for r in context.recent]
    # Sparse rows, never a candidates x candidates matrix: each candidate's nearest recent post in chunks, and
    # a candidate against the few items chosen when it comes up (memory linear in candidates and posts).
    vs_recent = Vectors.of([c.angle for c in valid], recent_texts).nearest()
    vs_each = Vectors.among([c.angle for c in valid])

    chosen: list[int] = []
    formats: list[ContentFormat] = []
    uses: dict[str, int] = {}

    def rank(i: int, slot: ContentFormat) -> tuple[bool, int, int, bool, bool, float, int]:
        cand, standing = valid[i], table[valid[i].beat.key]
        return (
            standing.in_cooldown,
            cand.priority,
            uses.get(cand.beat.key, 0),
            cand.content_format not in (None, slot),
            slot is ContentFormat.video and not cand.beat.video_friendly,
            -standing.score,
            i,
        )

    # The best-ranked candidate left, for each slot in turn (videos first: they have the fewer good candidates).
    # A heap of ranks, each checked when it comes out: a rank only worsens (its beat was used again), so one
    # that is still current is the best; one that is not goes back in. (Sorting every candidate for every slot
    # was 1 s of a 1,000-item plan.)
    heap: list[tuple[tuple[bool, int, int, bool, bool, float, int], int]] = []
    heap_slot: ContentFormat | None = None
    left = set(range(len(valid)))
    for slot in context.spec.formats()[:count]:
        if slot is not heap_slot:  # the slot's kind is part of every rank
            heap, heap_slot = [(rank(i, slot), i) for i in left], slot
            heapq.heapify(heap)
        while heap:
            was, pick = heapq.heappop(heap)
            now = rank(pick, slot)
            if now != was:
                heapq.heappush(heap, (now, pick))
                continue
            left.discard(pick)
            reason = _too_close(pick, valid, chosen, vs_recent, vs_each, context)
            if reason:
                dropped.append(f"{valid[pick].beat.key}: '{valid[pick].angle}' dropped: {reason}")
                continue
            chosen.append(pick)
            formats.append(slot)
            uses[valid[pick].beat.key] = uses.get(valid[pick].beat.key, 0) + 1
            break

    # Each chosen item's nearest other item of the batch, from the chosen items' similarities in one go.
    among = vs_each.block(chosen, chosen)
    np.fill_diagonal(among, -np.inf)
    plans = []
    for n, (i, fmt) in enumerate(zip(chosen, formats, strict=True)):
        nearest = int(np.argmax(among[n])) if len(chosen) > 1 else None
        batch_sim = float(among[n, nearest]) if nearest is not None else 0.0
        batch_twin = valid[chosen[nearest]].angle if nearest is not None else None
        recent_sim = float(vs_recent[0][i]) if recent_texts else 0.0
        recent_twin = context.recent[int(vs_recent[1][i])] if recent_texts else None
        plans.append(
            _plan(
                valid[i],
                fmt,
                table[valid[i].beat.key],
                context,
                batch=(batch_sim, batch_twin),
                recent=(recent_sim, recent_twin),
                repeats=uses[valid[i].beat.key],
            )
        )
    return Selection(plans=plans, dropped=dropped)


def _too_close(
    pick: int,
    valid: list[Candidate],
    chosen: list[int],
    vs_recent: tuple[np.ndarray, np.ndarray],
    vs_each: Vectors,
    context: PlanningContext,
) -> str | None:
    """Why a candidate repeats a recent post or an item already chosen, or None when it is fresh."""
    threshold = context.freshness_threshold
    if context.recent:
        closest, nearest = float(vs_recent[0][pick]), int(vs_recent[1][pick])
        if closest >= threshold:
            post = context.recent[nearest]
            return f"too close to recent post #{post.post_id} '{post.title}' ({closest:.2f} >= {threshold:g})"
    sims = vs_each.block([pick], chosen)[0]
    twin = next((n for n in range(len(chosen)) if sims[n] >= threshold), None)
    if twin is not None:
        return f"near-duplicate of '{valid[chosen[twin]].angle}' in this batch ({sims[twin]:.2f})"
    return None


def _plan(
    cand: Candidate,
    fmt: ContentFormat,
    standing: BeatStanding,
    context: PlanningContext,
    *,
    batch: tuple[float, str | None],
    recent: tuple[float, RecentPost | None],
    repeats: int,
) -> Plan:
    beat = cand.beat
    if standing.days_since is None:
        recency = "it has not run yet"
    else:
        recency = f"it last ran {standing.days_since:.1f} days ago (cooldown {beat.cooldown_days})"
    learned = f"; {standing.draw.describe()};" if standing.draw else ","
    why_beat = f"{beat.title}: weight {beat.weight:g}{learned} {recency}; rotation score {standing.score:.2f}."
    if standing.in_cooldown:
        why_beat += " Chosen inside its cooldown: no beat outside it had a fresh angle left."
    if cand.peg is not None:
        why_beat += f" Pegged on source {cand.peg.id} ({cand.peg.published}): {cand.peg.title}."
    if cand.reason:
        why_beat += f" Proposer: {cand.reason}"
    if cand.content_format is fmt:
        why_format = f"{fmt}: as proposed, and the batch still needed one."
    elif fmt is ContentFormat.video:
        why_format = (
            "video: the beat is marked video-friendly; a short sequence shows the case better than a card."
            if beat.video_friendly
            else "video: the batch asks for a video and no video-friendly item was left."
        )
    else:
        why_format = "hero_text: the case needs a few paragraphs of reasoning more than motion."
    batch_sim, batch_twin = batch
    recent_sim, recent_twin = recent
    parts = [
        f"only item on {beat.title.lower()} in this batch"
        if repeats == 1
        else f"one of {repeats} items on {beat.title.lower()}, each with its own angle"
    ]
    if batch_twin is not None:
        parts.append(f"closest other item '{batch_twin}' at {batch_sim:.2f}")
    if recent_twin is not None:
        parts.append(
            f"closest post of the last {context.freshness_days} days #{recent_twin.post_id} at {recent_sim:.2f}"
        )
    else:
        parts.append(f"no posts in the last {context.freshness_days} days to repeat")
    parts.append(f"threshold {context.freshness_threshold:g}")
    return Plan(
        beat_key=beat.key,
        beat_title=beat.title,
        content_format=fmt,
        title=cand.title or cand.angle,
        angle=cand.angle,
        button=cand.button,
        peg=(cand.peg.id,) if cand.peg else ("evergreen",),
        why_beat=why_beat,
        why_format=why_format,
        freshness=_sentence("; ".join(parts)),
        freshness_score=round(min(max(batch_sim, recent_sim), 1.0), 4),
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
