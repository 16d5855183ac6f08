"""What an offline draft is made of: the persona's take on the beat, and the source passages that back the angle,
ranked by how well they fit it and by how rarely recent posts quoted them."""

from __future__ import annotations

import re
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
            score = 2 * len(words & angle) + len(words & take) + (1.5 if source.id in plan.peg else 0)
            score += 1 if _FIGURE.search(sentence) else 0
            uses = sum(name in text for text in seen)
            found[name] = Passage(text=sentence, source=source, uses=uses, score=score)
    return sorted(found.values(), key=lambda p: (p.uses, -p.score))


def quoted_in_angle(plan: Plan, found: Sequence[Passage]) -> Passage | None:
    """The passage the angle itself quotes (a source's claim planned as the case), if any."""
    angle = key(plan.angle)
    return next((p for p in found if key(p.text) in angle), None)


def choose(found: Sequence[Passage], *, most: int, taken: Sequence[Passage] = ()) -> list[Passage]:
    """Up to `most` passages: fresh ones first; one quoted recently only when no fresh one is left, and none quoted
    in MOST_USES recent posts."""
    names = {key(p.text) for p in taken}
    fresh = [p for p in found if p.uses == 0 and key(p.text) not in names]
    reused = [p for p in found if 0 < p.uses < MOST_USES and key(p.text) not in names]
    return (fresh or reused)[:most]
