"""What an offline draft is made of: the persona's take on the beat, and the source passages that back the angle,
ranked by how well they fit it and by how rarely recent posts quoted them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from beatdesk.models import Draft, HeroTextDraft, Plan, Source
from beatdesk.phrasing import FUNCTION_WORDS, bare, sentences

MOST_USES = 2
"""Posts in the recent window that may quote one passage: a second only when the beat has nothing fresh."""
_FIGURE = re.compile(r"\d")
_PRONOUN_START = re.compile(r"^(?:it|they|this|these|that|those|he|she|its|their)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Passage:
    text: str
    """One sentence of a source, as written."""
    source: Source
    uses: int
    """Recent posts that already quote it."""
    score: float
    """How well it backs the angle."""
    base: float
    """How well it backs the beat's take, whatever the angle: the order a batch shares passages out in."""

    @property
    def has_figure(self) -> bool:
        return bool(_FIGURE.search(self.text))

    @property
    def leans_on_previous(self) -> bool:
        """Opens with a pronoun ("It did worse…"): read alone, it needs its source named before it."""
        return bool(_PRONOUN_START.match(self.text))


def key(text: str) -> str:
    """A passage's identity in any text: lower-case words, quotes and closing punctuation dropped."""
    return " ".join(re.sub(r"[“”\"‘’]", "", bare(text).lower()).split())


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower())
    return {w.removesuffix("s") for w in words if w not in FUNCTION_WORDS and len(w) > 2}


def text_of(draft: Draft) -> str:
    """Everything a reader sees of a draft, for finding what it quotes."""
    if isinstance(draft, HeroTextDraft):
        return "\n".join((draft.title, draft.body, draft.caption))
    return "\n".join((draft.title, draft.caption, *(f"{s.on_screen}\n{s.voiceover}" for s in draft.scenes)))


def opener_of(draft: Draft) -> str:
    """The first sentence a reader meets: the body's, or the video's hook."""
    text = draft.body if isinstance(draft, HeroTextDraft) else draft.hook
    found = sentences(text)
    return key(found[0]) if found else ""


def passages(plan: Plan, notes: str, sources: Sequence[Source], recent: Iterable[Draft]) -> list[Passage]:
    """The sources' sentences that state something (six words or more), best first: fewest recent uses, then the
    closest to the angle, figures and the plan's own pegs preferred."""
    seen = [key(text_of(draft)) for draft in recent]
    angle, take = content_words(f"{plan.title} {plan.angle}"), content_words(notes)
    found: dict[str, Passage] = {}
    for source in sources:
        for sentence in sentences(source.text):
            name = key(sentence)
            if len(sentence.split()) < 6 or name in found:
                continue
            words = content_words(sentence)
            base = len(words & take) + (1 if _FIGURE.search(sentence) else 0)
            score = base + 2 * len(words & angle) + (1.5 if source.id in plan.peg else 0)
            uses = sum(name in text for text in seen)
            found[name] = Passage(text=sentence, source=source, uses=uses, score=score, base=base)
    return sorted(found.values(), key=lambda p: (p.uses, -p.score))


def quoted_in_angle(plan: Plan, found: Sequence[Passage]) -> Passage | None:
    """The passage the angle itself quotes (a source's claim planned as the case), if any."""
    angle = key(plan.angle)
    return next((p for p in found if key(p.text) in angle), None)


def share(found: Sequence[Passage], plan: Plan, batch: Sequence[Plan]) -> tuple[Passage | None, list[Passage]]:
    """This post's passage and the spare ones it may add, when the batch's posts are drafted side by side.

    Its mates are the batch's posts whose angles can draw on the same sources. The claims their angles quote
    are theirs; the other posts take one passage each in post order: fresh ones first (never quoted recently nor
    claimed), then ones with a use left (at most MOST_USES posts in the window quote one passage). Spares are
    those left once every post had its one, fresh first."""
    beats = {beat for p in found for beat in p.source.beats} | {plan.beat_key}
    mates = [p for p in batch if p.beat_key in beats] or [plan]
    claims = Counter(key(c.text) for mate in mates if (c := quoted_in_angle(mate, found)))
    ordered = sorted(found, key=lambda p: (p.uses + claims[key(p.text)], not p.has_figure, p.source.id))
    fresh = [p for p in ordered if p.uses == 0 and not claims[key(p.text)]]
    second = [p for p in ordered for _ in range(MOST_USES - p.uses - claims[key(p.text)] - (p in fresh))]
    others = [mate for mate in mates if quoted_in_angle(mate, found) is None]
    rank = next((i for i, mate in enumerate(others) if mate == plan), 0)
    queue = fresh + second
    mine = queue[rank] if rank < len(queue) else None
    spare = [p for p in dict.fromkeys(queue[len(others) :]) if p is not mine]
    return mine, spare


def rank_on_beat(plan: Plan, batch: Sequence[Plan]) -> int:
    """The post's place among its batch's posts on the same beat."""
    mates = [p for p in batch if p.beat_key == plan.beat_key]
    return next((i for i, mate in enumerate(mates) if mate == plan), 0)
