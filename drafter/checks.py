"""Editorial checks of a draft, the way an editor reads it; stored on the post and shown to reviewers.

Structural checks (lengths, hashtags, video length) decide whether a model's draft goes back for a
repair round; the others (figures, verbatim copying, banned phrases, injected instructions) are
for the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from beatdesk.channels import CHANNELS, length_on
from beatdesk.models import ChannelVersion, Check, Draft, HeroTextDraft, Persona, Source, VideoDraft
from drafter.instructions import echoes, instructions_in
from drafter.links import Allowed, disallowed
from drafter.provenance import trace

STRUCTURAL = frozenset({"body_length", "paragraphs", "caption_length", "hashtag_form", "hashtag_count",
                        "hashtag_duplicates", "hashtags_at_end", "video_length"})  # fmt: skip
HASHTAG = re.compile(r"^#[A-Za-z][A-Za-z0-9_]{0,49}$")
VERBATIM_WORDS = 10
"""A run of this many words copied from a source, outside quotation marks, is flagged."""


def run_checks(
    draft: Draft, persona: Persona, sources: list[Source], *, versions: Mapping[str, ChannelVersion] | None = None
) -> list[Check]:
    """The draft's checks; with `versions` (reviewers' texts and first comments per channel), those texts are
    read too, as readers get them."""
    versions = versions or {}
    written = [t for v in versions.values() for t in (v.text, v.first_comment) if t]
    checks: list[Check] = []
    rules = persona.drafting
    if isinstance(draft, HeroTextDraft):
        words = len(draft.body.split())
        least, most = rules.body_words
        checks.append(_level("body_length", least <= words <= most, f"{words} words (persona range {least}-{most})"))
        paragraphs = len([p for p in draft.body.split("\n\n") if p.strip()])
        checks.append(_level("paragraphs", 3 <= paragraphs <= 5, f"{paragraphs} paragraphs (3 to 5)"))
    if isinstance(draft, VideoDraft):
        seconds = draft.seconds
        checks.append(
            _level(
                "video_length", seconds <= rules.video_max_seconds, f"{seconds:g}s (limit {rules.video_max_seconds:g}s)"
            )
        )
    checks += _caption_checks(draft, persona)
    checks += _hashtag_checks(draft.hashtags, draft.caption, persona)
    text = "\n".join((_text_of(draft), *written))
    checks.append(_banned(text, persona.banned_phrases))
    checks += _sourcing(draft, sources)
    checks.append(_verbatim(text, sources))
    reached = "\n".join((_reached(draft), *written))
    checks.append(_links(reached, persona, sources))
    checks.append(_injection(reached, sources))
    if versions:
        checks.append(_own_versions(versions))
    return checks


def _own_versions(versions: Mapping[str, ChannelVersion]) -> Check:
    """Which channels carry a reviewer's own text (it no longer follows edits of the draft) or a first comment."""
    said = []
    for name, version in sorted(versions.items()):
        kinds = (("own text", version.text), ("first comment", version.first_comment))
        said.append(f"{name}: " + " and ".join(kind for kind, there in kinds if there))
    return Check(name="channel_versions", level="ok", detail="; ".join(said))


def structural_failures(checks: Iterable[Check]) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in checks if c.name in STRUCTURAL and c.level == "fail"]


def _level(name: str, ok: bool, detail: str, *, bad: str = "fail") -> Check:
    return Check(name=name, level="ok" if ok else bad, detail=detail)  # type: ignore[arg-type]


def _text_of(draft: Draft) -> str:
    if isinstance(draft, HeroTextDraft):
        return "\n".join((draft.title, draft.body, draft.button, draft.caption))
    return "\n".join((draft.title, draft.hook, *(f"{s.on_screen}\n{s.voiceover}" for s in draft.scenes), draft.caption))


def _reached(draft: Draft) -> str:
    """Every text a reader or a renderer gets (hashtags, alt text, the media prompts a model may print on the
    picture), for the checks on where the draft sends readers."""
    if isinstance(draft, HeroTextDraft):
        media = (draft.alt_text, draft.image_prompt)
    else:
        media = (draft.video_prompt, draft.cover_prompt)
    return "\n".join((_text_of(draft), *draft.hashtags, *media))


def _caption_checks(draft: Draft, persona: Persona) -> list[Check]:
    caption = draft.caption
    limit = persona.drafting.caption_max_chars
    out = [_level("caption_length", len(caption) <= limit, f"{len(caption)} characters (persona limit {limit})")]
    for channel in persona.channels:
        rules = CHANNELS[channel.name]
        if rules.max_length is not None:
            n = length_on(channel.name, caption)
            out.append(
                _level(
                    f"fits_{channel.name}", n <= rules.max_length, f"{n} of {rules.max_length} characters", bad="warn"
                )
            )
    return out


def _hashtag_checks(tags: Iterable[str], caption: str, persona: Persona) -> list[Check]:
    tags = list(tags)
    least, most = persona.drafting.hashtags
    bad = [t if len(t) <= 40 else t[:37] + "..." for t in tags if not HASHTAG.match(t)]
    lowered = [t.lower() for t in tags]
    dupes = sorted({t for t in lowered if lowered.count(t) > 1})
    tail = caption.rstrip().split("\n")[-1].split()
    return [
        _level("hashtag_form", not bad, f"malformed: {', '.join(bad)}" if bad else "all #Word, at most 50 characters"),
        _level("hashtag_count", least <= len(tags) <= most, f"{len(tags)} hashtags ({least} to {most})"),
        _level("hashtag_duplicates", not dupes, f"repeated: {', '.join(dupes)}" if dupes else "none repeated"),
        _level("hashtags_at_end", tail == tags, "the caption ends with the hashtags" if tail == tags
               else "the caption's last line must be the hashtags, in order"),
    ]  # fmt: skip


def _banned(text: str, phrases: Iterable[str]) -> Check:
    found = [p for p in phrases if p.lower() in text.lower()]
    return _level("banned_phrases", not found, f"uses {', '.join(repr(p) for p in found)}" if found else "none used")


def _sourcing(draft: Draft, sources: list[Source]) -> list[Check]:
    """Figures and quotations the draft states that no source it was given states (its provenance, traced)."""
    traces = draft.provenance if draft.provenance is not None else trace(draft, sources)
    out = []
    for kind, name in (("figure", "figures_supported"), ("quotation", "quotations_supported")):
        stated = [t for t in traces if t.kind == kind]
        missing = [t.text for t in stated if not t.found]
        if missing:
            out.append(Check(name=name, level="warn", detail=f"not in any cited source: {', '.join(missing)}"))
        else:
            many = f"{len(stated)} {kind}" + ("" if len(stated) == 1 else "s")
            out.append(Check(name=name, level="ok", detail=f"{many}, all in the cited sources"))
    return out


def _unquoted(text: str) -> str:
    return re.sub(r"[“\"][^”\"]*[”\"]", " ", text)


def _words(text: str) -> list[str]:
    """Words as a reader counts them: "6,000" and "3.5" are one word each."""
    return re.findall(r"[a-z0-9']+(?:[.,][0-9]+)*", text.lower())


def copies_a_run(phrase: str) -> bool:
    """Whether a phrase of a source's words, used unquoted, is long enough for the verbatim check to flag
    ("6,000-token" counts as two words there)."""
    return len(_words(phrase)) >= VERBATIM_WORDS


def _verbatim(text: str, sources: list[Source]) -> Check:
    """A run of VERBATIM_WORDS words that stands in a source, outside quotation marks, inside one line
    (a title followed by a line that happens to go on as the source does copies nothing)."""
    runs = set()
    for paragraph in _unquoted(text).splitlines():
        mine = _words(paragraph)
        runs |= {tuple(mine[i : i + VERBATIM_WORDS]) for i in range(len(mine) - VERBATIM_WORDS + 1)}
    for source in sources:
        theirs = _words(source.text)
        for i in range(len(theirs) - VERBATIM_WORDS + 1):
            if tuple(theirs[i : i + VERBATIM_WORDS]) in runs:
                copied = " ".join(theirs[i : i + VERBATIM_WORDS])
                return Check(
                    name="verbatim_copy", level="warn", detail=f"copies source {source.id} unquoted: '{copied}…'"
                )
    return Check(name="verbatim_copy", level="ok", detail="no unquoted run copied from a source")


def _links(text: str, persona: Persona, sources: list[Source]) -> Check:
    """Every link, handle and call to action must point at the persona's own links or a cited source."""
    bad = disallowed(text, Allowed.of(persona, sources))
    if not bad:
        return Check(name="links", level="ok", detail="no links, handles or calls to action but the persona's own "
                     "and its cited sources'")  # fmt: skip
    named = "; ".join(f"{f.kind} '{f.text}'" for f in bad)
    return Check(name="links", level="fail", detail=f"not the persona's nor a cited source's: {named}")


def _injection(text: str, sources: list[Source]) -> Check:
    """A source that instructs the writer: the draft must not do what it asks (carry its link, handle or phrase)."""
    found = [i for s in sources for i in instructions_in(s)]
    if not found:
        return Check(name="source_instructions", level="ok", detail="no source carries instructions")
    echoed = [(i.source_id, want) for i in found for want in i.asks_for if echoes(text, want)]
    if echoed:
        named = "; ".join(f"source {sid} asked for '{want}'" for sid, want in dict.fromkeys(echoed))
        return Check(name="source_instructions", level="fail", detail=f"the draft does what a source asked: {named}")
    ids = ", ".join(dict.fromkeys(i.source_id for i in found))
    return Check(
        name="source_instructions", level="warn", detail=f"{ids} carries instructions; treated as data, not followed"
    )
