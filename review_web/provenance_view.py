"""A draft's figures and quotations as the post page shows them: its texts cut into runs, each traced figure or
quotation a run of its own tied to its source sentence. Data, never HTML: the template escapes every run."""

from __future__ import annotations

from dataclasses import dataclass

from beatdesk.models import Draft, Trace
from drafter.provenance import fields_of, figures_in, quotes_in


@dataclass(frozen=True)
class Run:
    text: str
    trace: Trace | None = None
    number: int = 0
    """The trace's place in the list (1-based), for its anchor; 0 for plain text."""


@dataclass(frozen=True)
class MarkedField:
    name: str
    runs: list[Run]


@dataclass(frozen=True)
class Provenance:
    traces: list[Trace]
    fields: list[MarkedField]
    """Only the fields that state a figure or quote someone."""

    @property
    def found(self) -> int:
        return sum(trace.found for trace in self.traces)


def provenance_of(draft: Draft | None) -> Provenance | None:
    """None when the draft was never traced (drafted before provenance was kept)."""
    if draft is None or draft.provenance is None:
        return None
    traces = list(draft.provenance)
    numbers: dict[tuple[str, str], int] = {(t.kind, t.text): n for n, t in enumerate(traces, start=1)}
    marked = [MarkedField(name, _runs(text, traces, numbers)) for name, text in fields_of(draft)]
    fields = [field for field in marked if any(run.trace for run in field.runs)]
    return Provenance(traces=traces, fields=fields)


def _runs(text: str, traces: list[Trace], numbers: dict[tuple[str, str], int]) -> list[Run]:
    spans = [(start, end, "quotation", quote) for start, end, quote in quotes_in(text)]
    spans += [(start, end, "figure", figure.text) for start, end, figure in figures_in(text)
              if not any(a <= start < b for a, b, _, _ in spans)]  # fmt: skip
    runs, at = [], 0
    for start, end, kind, written in sorted(spans):
        number = numbers.get((kind, written))
        if number is None:  # a quoted title, not traced
            continue
        runs += [Run(text[at:start]), Run(written, traces[number - 1], number)]
        at = end
    return [*runs, Run(text[at:])]
