"""Where each figure and quotation of a draft comes from: the source sentence that states it, or none.

A figure (a number, a percentage, an amount of money, a multiplier) is found when a source sentence
states the same value in the same unit ("3.5x" and "3.5×", "40%" and "40 percent", "$0.20" and
"20 cents", "6k" and "6,000"); a quotation when a source holds its words, give or take punctuation
and a slip of a word (fuzzy containment).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz

from beatdesk.models import Draft, HeroTextDraft, Source, Trace

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
FIGURE = re.compile(
    rf"(?<![\w.,:/-])(?P<cur>[$€£])?(?P<num>{_NUMBER})"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|[kKmMbB])(?!\w))?"
    r"(?:\s?(?P<unit>%|percent\b|per cent\b|percentage points?\b|points?\b|pp\b|x(?!\w)|×|times\b|cents?\b|¢"
    r"|USD\b|dollars?\b|EUR\b|euros?\b|GBP\b|pounds?\b))?"
    r"(?![\w%])"
)
"""A figure as written; its lookbehind keeps out version numbers and model names (v1.2, gpt-4.1, H100)."""
SCALES = {"thousand": 10**3, "k": 10**3, "million": 10**6, "m": 10**6, "billion": 10**9, "bn": 10**9, "b": 10**9,
          "trillion": 10**12}  # fmt: skip
UNITS = {"%": "%", "percent": "%", "per cent": "%", "percentage point": "pt", "percentage points": "pt", "pp": "pt",
         "point": "pt", "points": "pt", "x": "x", "×": "x", "times": "x", "usd": "$", "dollar": "$", "dollars": "$",
         "eur": "€", "euro": "€", "euros": "€", "gbp": "£", "pound": "£", "pounds": "£"}  # fmt: skip
QUOTE = re.compile(r"“([^”\n]+)”|\"([^\"\n]+)\"")
"""Within one line: an on-screen line cut short leaves its quotation mark open."""
MIN_QUOTE_WORDS = 4
"""Fewer quoted words are a term in quotation marks ("agent"), not a quotation of anyone."""
QUOTE_SCORE = 90.0
"""How closely (0-100, rapidfuzz's partial ratio) a source must hold a quotation's words."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


@dataclass(frozen=True)
class Figure:
    text: str
    value: Decimal
    unit: str
    """"%", "x", "$", "€", "£", "pt" (percentage points), or "" for a plain number."""

    def same(self, other: Figure) -> bool:
        """The same value in the same unit; a plain number agrees with any unit ("82" and "82%")."""
        return self.value == other.value and (self.unit == other.unit or "" in (self.unit, other.unit))


def figures_in(text: str) -> Iterator[tuple[int, int, Figure]]:
    """Every figure in `text`, with where it stands."""
    for match in FIGURE.finditer(text):
        figure = _figure(match)
        if figure is not None:
            yield match.start(), match.end(), figure


def _figure(match: re.Match[str]) -> Figure | None:
    try:
        value = Decimal(match.group("num").replace(",", ""))
    except InvalidOperation:
        return None
    scale, unit = (match.group("scale") or "").lower(), (match.group("unit") or "").lower()
    value *= SCALES.get(scale, 1)
    if match.group("cur"):
        return Figure(match.group(0), value, match.group("cur"))
    if unit in ("cent", "cents", "¢"):
        return Figure(match.group(0), value / 100, "$")
    return Figure(match.group(0), value, UNITS.get(unit, ""))


def quotes_in(text: str) -> Iterator[tuple[int, int, str]]:
    """Quotations of at least MIN_QUOTE_WORDS words, with where they stand (their marks included)."""
    for match in QUOTE.finditer(text):
        words = match.group(1) or match.group(2)
        if len(words.split()) >= MIN_QUOTE_WORDS:
            yield match.start(), match.end(), match.group(0)


def fields_of(draft: Draft) -> list[tuple[str, str]]:
    """The draft's texts a reader sees, each with its name, in reading order (the hashtag line left out)."""
    caption = draft.caption.rstrip()
    lines = caption.split("\n")
    if draft.hashtags and lines[-1].split() == list(draft.hashtags):
        caption = "\n".join(lines[:-1]).rstrip()
    if isinstance(draft, HeroTextDraft):
        return [
            ("title", draft.title),
            ("body", draft.body),
            ("button", draft.button),
            ("caption", caption),
            ("alt text", draft.alt_text),
        ]
    scenes = [(f"scene {n}", f"{s.on_screen}\n{s.voiceover}") for n, s in enumerate(draft.scenes, start=1)]
    return [("title", draft.title), ("hook", draft.hook), *scenes, ("caption", caption)]


@dataclass(frozen=True)
class _Sentence:
    source: Source
    text: str
    start: int
    end: int


class SourceIndex:
    """The sources' sentences, with their figures, searched in the order the sources were given (cited first)."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.sentences = [s for source in sources for s in _sentences(source)]
        self.figures = [(sentence, figure) for sentence in self.sentences
                        for _, _, figure in figures_in(sentence.text)]  # fmt: skip

    def figure(self, figure: Figure) -> _Sentence | None:
        return next((sentence for sentence, known in self.figures if known.same(figure)), None)

    def quotation(self, quote: str) -> _Sentence | None:
        """The source sentence(s) holding the quotation's words, best match of the first source above the bar."""
        wanted = _plain(quote.strip('“”"'))
        for source in self.sources:  # a source named by its title ("From “Where the bill went”: …")
            if fuzz.ratio(" ".join(wanted.split()), " ".join(_plain(source.title).split())) >= QUOTE_SCORE:
                return _Sentence(source, source.title, -1, -1)
        for source in self.sources:
            text = _plain(source.text)
            found = fuzz.partial_ratio_alignment(wanted, text, score_cutoff=QUOTE_SCORE)
            if found is None:
                continue
            held = [
                s
                for s in self.sentences
                if s.source is source and s.start < found.dest_end and s.end > found.dest_start
            ]
            if held:
                return _Sentence(source, " ".join(s.text for s in held), held[0].start, held[-1].end)
        return None


def _sentences(source: Source) -> list[_Sentence]:
    """The source's sentences with their places in its text; its title first, placed nowhere in the text."""
    text, out, start = source.text, [_Sentence(source, source.title, -1, -1)], 0
    for gap in [*_SENTENCE_END.finditer(source.text), None]:
        end = gap.start() if gap else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append(_Sentence(source, " ".join(piece.split()), start + lead, end))
        start = gap.end() if gap else end
    return out


def _plain(text: str) -> str:
    """Lower case, every mark a space: the same length as `text`, so positions in one are positions in the other."""
    return "".join(c if c.isalnum() else " " for c in text.lower())


def trace(draft: Draft, sources: list[Source]) -> tuple[Trace, ...]:
    """Each figure and quotation of the draft once, in reading order, with the source sentence that states it."""
    index = SourceIndex(sources)
    own_title = _plain(draft.title).split()
    traces: dict[tuple[str, str], Trace] = {}
    for where, text in fields_of(draft):
        quoted = [
            (start, end, quote) for start, end, quote in quotes_in(text) if _plain(quote).split() != own_title
        ]  # the post's own title, quoted (alt text): not a source's
        found: list[tuple[int, str, str, _Sentence | None]] = []
        for start, _, quote in quoted:
            if ("quotation", quote) not in traces:
                found.append((start, "quotation", quote, index.quotation(quote)))
        for start, _, figure in figures_in(text):
            inside = any(a <= start < b for a, b, _ in quoted)  # a figure in a quotation is the quotation's to source
            if not inside and ("figure", figure.text) not in traces:
                found.append((start, "figure", figure.text, index.figure(figure)))
        for _, kind, written, sentence in sorted(found, key=lambda item: item[0]):
            traces.setdefault((kind, written), _traced(kind, written, where, sentence))
    return tuple(traces.values())


def _traced(kind: str, text: str, where: str, found: _Sentence | None) -> Trace:
    if found is None:
        return Trace(kind=kind, text=text, where=where)  # type: ignore[arg-type]
    source = found.source
    return Trace(kind=kind, text=text, where=where, source_id=source.id, source_title=source.title,  # type: ignore[arg-type]
                 source_ref=source.url or source.origin, sentence=found.text)  # fmt: skip


def traced(draft: Draft, sources: list[Source]) -> Draft:
    """The draft with its provenance traced against `sources` (those it was drafted from, cited first)."""
    return draft.model_copy(update={"provenance": trace(draft, sources)})
