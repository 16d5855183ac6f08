"""The offline drafter: writes a post from the plan, the persona's take on the beat and its sources, no model.

A body opens on a hook (the persona's sentence closest to the angle, or a source's fact when that sentence has
opened a recent post), argues the take with one or two quoted passages, and lands on the plan's button. Titles
and on-screen lines are phrased to fit (see beatdesk.phrasing); nothing is cut with an ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from beatdesk.models import Beat, ContentFormat, HeroTextDraft, Persona, Plan, Scene, VideoDraft
from beatdesk.phrasing import as_statement, bare, capitalised, is_sentence, sentences, shorter
from drafter.base import DraftingContext, DraftResult
from drafter.checks import copies_a_run
from drafter.material import (
    Passage,
    content_words,
    key,
    opener_of,
    passages,
    quoted_in_angle,
    rank_on_beat,
    share,
)
from drafter.prompt_version import with_version

WORDS_PER_SECOND = 2.5
DEFAULT_HASHTAGS = ("#AI", "#MachineLearning")
TITLE_CHARS = 80
"""A title that sets large on a card and reads whole in a feed's preview."""
ON_SCREEN_CHARS = 64
"""A scene's words: a phrase read at a glance, set large on a 1080-wide card."""
SOURCE_PHRASE_WORDS = 9
"""A phrase of a source's words used unquoted (a title, an on-screen line) stays under the verbatim check's run."""

_DANGLING = re.compile(
    r"^(?:in|on|at|for|with|by|from|after|before|when|while|it|they|this|these|that|those|he|she|[\w-]+ing)\b",
    re.IGNORECASE,
)
"""A head phrase that leans on what it was cut from ("In a review of…", "It did worse…", "Re-running…")."""
_LEANS = re.compile(r"^(?:It|They|This|These|That|Those|So|But|And)\b")
_env = Environment(
    loader=PackageLoader("drafter", "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # plain text for social channels; the web page escapes on its own
)


@dataclass(frozen=True)
class Material:
    """What one draft is written from."""

    persona: Persona
    plan: Plan
    beat: Beat
    title: str
    take: tuple[str, ...]
    """The persona's sentences on the beat, closest to the angle first, the button left out."""
    button: str
    case: Passage | None
    """The source's claim the angle itself makes, quoted once in the draft."""
    mine: Passage | None
    """The passage this post quotes besides its case (see drafter.material.share)."""
    spare: tuple[Passage, ...]
    """Fresh passages no post of the batch was given: one may lengthen a short body."""
    worn: tuple[Passage, ...]
    """Passages no recent post quoted and no mate's angle claims, but given to one mate: a second use, taken only
    when nothing fresh is left."""
    openers: frozenset[str]
    """First sentences of the persona's recent posts."""
    rank: int
    """The post's place among its batch's posts on the beat: they open on different sentences."""

    @classmethod
    def of(cls, context: DraftingContext) -> Material:
        persona, plan = context.persona, context.plan
        beat = persona.beat(plan.beat_key)
        found = passages(plan, beat.notes, context.sources, context.recent)
        case = quoted_in_angle(plan, found)
        button = _sentence(plan.button)
        angle = content_words(plan.angle)
        notes = _units(n for n in sentences(beat.notes) if key(n) != key(button))
        take = sorted(notes, key=lambda n: -len(content_words(n) & angle))  # stable: ties keep the persona's order
        mine, spare = share(found, plan, context.batch)
        claimed = {key(c.text) for mate in context.batch if (c := quoted_in_angle(mate, found))}
        return cls(
            persona=persona, plan=plan, beat=beat, title=_title(plan, case), take=tuple(take), button=button,
            case=case, mine=None if case else mine, spare=tuple(p for p in spare if p is not case),
            worn=tuple(
                p for p in found
                if p.uses == 0 and key(p.text) not in claimed and p not in (case, mine) and p not in spare
            ),
            openers=frozenset(opener_of(d) for d in context.recent), rank=rank_on_beat(plan, context.batch),
        )  # fmt: skip

    @property
    def thesis(self) -> str | None:
        """The angle as a sentence of the body, when it is one and the title does not already say it."""
        said = as_statement(self.plan.angle)
        if self.case or said is None or key(self.title) in (key(said), key(self.plan.angle)):
            return None
        return capitalised(said)

    def related(self) -> list[str]:
        """The beat's other angles that read as statements, each a sentence of its own."""
        said = [as_statement(a) for a in self.beat.angles if key(a) != key(self.plan.angle)]
        return [capitalised(s) for s in said if s]

    def hashtags(self) -> list[str]:
        tags = list(self.beat.hashtags)
        for tag in DEFAULT_HASHTAGS:
            if len(tags) >= 2:
                break
            if tag not in tags:
                tags.append(tag)
        return tags[:5]

    def caption(self) -> str:
        """A first line that states the case, the button, the hashtags; shortened by dropping, never by cutting."""
        first = _sentence(self.plan.angle) if is_sentence(self.plan.angle) and not self.case else self.title
        tags = " ".join(self.hashtags())
        limit = self.persona.drafting.caption_max_chars
        for text in (f"{first}\n\n{self.button}", first, shorter(first, chars=max(20, limit - len(tags) - 2))):
            caption = f"{text}\n\n{tags}"
            if len(caption) <= limit:
                return caption
        return tags


class OfflineDrafter:
    provider = "offline"
    model = "offline"

    def draft(self, context: DraftingContext) -> DraftResult:
        material = Material.of(context)
        if context.plan.content_format is ContentFormat.video:
            return DraftResult(_video(material), detail=with_version(None))
        return DraftResult(_hero_text(material), detail=with_version(None))


def _hero_text(m: Material) -> HeroTextDraft:
    least = m.persona.drafting.body_words[0]
    quoted = [p for p in (m.case or m.mine,) if p]
    hook = _hook(m)
    if hook is None and quoted:  # the take has opened recent posts: the fact leads
        lead = quoted[0]  # named first when its words are the title's, so the body does not open on the title
        paragraphs = [_evidence(lead, None) if key(lead.text).startswith(key(m.title)) else _attributed(lead)]
        evidence = [_evidence(p, previous) for p, previous in zip(quoted[1:], quoted, strict=False)]
    else:
        paragraphs = [hook or m.take[0]] if (hook or m.take) else []
        evidence = [_evidence(p, previous) for p, previous in zip(quoted, [None, *quoted], strict=False)]
    argument = [t for t in m.take if t not in paragraphs]
    if m.thesis:
        argument.append(m.thesis)
    body = _body(paragraphs, evidence, argument, m.button)
    related = [r for r in m.related() if r not in argument]
    while _words(body) < least:  # short on material: a related case of the beat, or one more passage
        # A second passage only a spare one: a reused one would leave a later post on the beat without one.
        more = [p for p in m.spare if p not in quoted][:1] if len(quoted) < 2 else []
        if not more and not related:  # the beat has nothing fresh left: a passage quoted before, fewest uses first
            more = [p for p in m.worn if p not in quoted][:1]
        if related and (len(argument) <= len(evidence) or not more):
            argument.append(related.pop(0))
        elif more:
            evidence.append(_evidence(more[0], quoted[-1] if quoted else None))
            quoted.append(more[0])
        else:
            break
        body = _body(paragraphs, evidence, argument, m.button)
    return HeroTextDraft(
        title=m.title,
        body=body,
        button=m.button,
        caption=m.caption(),
        hashtags=tuple(m.hashtags()),
        image_prompt=_env.get_template("image_prompt.txt.j2").render(plan=m.plan, persona=m.persona).strip(),
        alt_text=f"Typographic card reading “{m.title}”, signed {m.persona.handle}.",
    )


def _body(opening: list[str], evidence: list[str], argument: list[str], button: str) -> str:
    """Opening, evidence and argument paragraphs and the landing line; an argument of three sentences or more is
    split so that no paragraph carries everything."""
    paragraphs = [" ".join(opening)] if opening else []
    if evidence:
        paragraphs.append(" ".join(evidence))
    if len(argument) >= 3:
        paragraphs += [" ".join(argument[:2]), " ".join(argument[2:])]
    elif argument:
        paragraphs.append(" ".join(argument))
    paragraphs.append(button)
    return "\n\n".join(p for p in paragraphs if p)


def _hook(m: Material) -> str | None:
    """A sentence of the persona's take that has not opened a recent post and does not say the title; the closest
    to the angle for the beat's first post in the batch, the next for the second, and so on."""
    fresh = [t for t in m.take if key(sentences(t)[0]) not in m.openers]
    fresh = [t for t in fresh if not key(t).startswith(key(m.title))]
    # The batch's posts on one beat open differently: once the take's sentences are used, a fact leads.
    return fresh[m.rank] if m.rank < len(fresh) else None


def _evidence(passage: Passage, previous: Passage | None) -> str:
    """A passage quoted whole, led in by what it is: a figure, a case, or more of the source just quoted."""
    title = bare(passage.source.title)
    if previous is not None and previous.source.id == passage.source.id:
        return f"The same source adds: “{passage.text}”"
    if passage.leans_on_previous:
        return f"From “{title}”: “{passage.text}”"
    if passage.has_figure:
        return f"“{title}” puts a number on it: “{passage.text}”"
    return f"A case from “{title}”: “{passage.text}”"


def _attributed(passage: Passage) -> str:
    """A passage that opens the body, its source named after it."""
    text = passage.text[:-1] + "," if passage.text.endswith(".") else passage.text
    return f"“{text}” according to “{bare(passage.source.title)}”."


def _video(m: Material) -> VideoDraft:
    take = list(m.take)
    headline = shorter(m.title, chars=ON_SCREEN_CHARS)
    quoted = [m.mine] if m.mine else []
    if m.case:  # the source's claim is the case: said first, its phrasing (the title) on screen
        scenes = [_scene(f"“{m.case.text}”", headline)]
    elif is_sentence(m.plan.angle):
        scenes = [_scene(_sentence(m.plan.angle), headline)]
    else:  # a headline angle ("Why…") stays in the title; the persona's sentence opens
        scenes = [_scene(take.pop(0))] if take else []
    scenes += [_scene(f"“{p.text}”", _source_phrase(p.text, chars=ON_SCREEN_CHARS)) for p in quoted]
    scenes += [_scene(t) for t in take]
    scenes.append(_scene(m.button))
    limit = m.persona.drafting.video_max_seconds
    while sum(s.seconds for s in scenes) > limit and len(scenes) > 2:
        scenes.pop(-2)  # the take's later sentences go first; the hook and the button stay
    scenes = _distinct(scenes)
    return VideoDraft(
        title=m.title,
        hook=scenes[0].voiceover,
        scenes=tuple(scenes),
        caption=m.caption(),
        hashtags=tuple(m.hashtags()),
        video_prompt=_env.get_template("video_prompt.txt.j2")
        .render(plan=m.plan, persona=m.persona, scenes=scenes, seconds=sum(s.seconds for s in scenes))
        .strip(),
        cover_prompt=_env.get_template("image_prompt.txt.j2").render(plan=m.plan, persona=m.persona).strip(),
    )


def _scene(voiceover: str, on_screen: str | None = None) -> Scene:
    """One idea: its sentence spoken whole, a short phrasing of it on screen."""
    words = on_screen or shorter(voiceover, chars=ON_SCREEN_CHARS)
    return Scene(on_screen=words, voiceover=voiceover, seconds=_seconds(voiceover))


def _distinct(scenes: Sequence[Scene]) -> list[Scene]:
    """Scenes in order, none saying what an earlier one said."""
    seen: set[str] = set()
    out = []
    for scene in scenes:
        if key(scene.voiceover) not in seen:
            seen.add(key(scene.voiceover))
            out.append(scene)
    return out


def _title(plan: Plan, case: Passage | None) -> str:
    """The angle phrased to fit a title; for a source's claim, a phrase short enough to be the persona's own
    (else the source's title)."""
    if case is not None:
        phrase = _source_phrase(case.text, chars=TITLE_CHARS)
        if len(phrase.split()) >= 5 and not _DANGLING.match(phrase):
            return capitalised(phrase)
        return capitalised(shorter(case.source.title, chars=TITLE_CHARS))
    return capitalised(shorter(plan.angle, chars=TITLE_CHARS))


def _source_phrase(text: str, *, chars: int) -> str:
    """A source's sentence phrased to fit, short enough to use unquoted without copying a run of its words."""
    for most in range(SOURCE_PHRASE_WORDS, 0, -1):
        phrase = shorter(text, chars=chars, words=most)
        if not copies_a_run(phrase):
            return phrase
    return ""


def _units(notes: Iterable[str]) -> list[str]:
    """The persona's sentences, one leaning on the one before ("They also…") kept with it."""
    units: list[str] = []
    for note in notes:
        if units and _LEANS.match(note):
            units[-1] = f"{units[-1]} {note}"
        else:
            units.append(note)
    return units


def _sentence(text: str) -> str:
    """The line as a sentence: a capital first, a full stop last unless it ends as a sentence already."""
    text = capitalised(" ".join(text.split()))
    return text if text.endswith((".", "!", "?", ".”", "!”", "?”")) else text.rstrip(" ,;:") + "."


def _seconds(text: str) -> float:
    return round(min(max(len(text.split()) / WORDS_PER_SECOND, 2.0), 12.0), 1)


def _words(text: str) -> int:
    return len(text.split())
