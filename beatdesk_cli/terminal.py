"""What the CLI writes is safe for a terminal: text from people, sources, models and channels cannot move the
cursor, clear the screen, set the window title or reorder a line, and is never read as Rich markup.

Every line goes through `TerminalConsole` (or `json_text` for --json): commands need not remember to escape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Span, Text

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
"""Embeddings, overrides, isolates and direction marks: shown as <U+202E>, so they can be seen and reorder nothing."""
_UNSAFE = re.compile(
    rf"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]             # CSI (ECMA-48): parameters, intermediates, final byte
    | (?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f])          # OSC, DCS, SOS, PM, APC: whole when ended by BEL or ST;
      (?: [^\x07\x1b\x9c\n]* (?:\x07|\x1b\\|\x9c)      # Rich drops BEL from text it holds, so an unended one
        | [0-9;]* )                                     # loses its introducer only and its payload shows as text
    | \x1b [ -/]* [0-~]                               # any other escape: ESC c (reset), ESC 7, ESC ( B …
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]                    # C0 but tab and newline, DEL, C1: what is left
    | [{BIDI}]
    """,
    re.VERBOSE,
)
_JSON_ESCAPED = str.maketrans({c: f"\\u{c:04x}" for c in [0x7F, *range(0x80, 0xA0), *map(ord, BIDI)]})


def _shown(match: re.Match[str]) -> str:
    found = match.group()
    return f"<U+{ord(found):04X}>" if found in BIDI else ""


def clean(text: str) -> str:
    """`text` without control sequences or control characters, its bidirectional controls shown escaped."""
    return _UNSAFE.sub(_shown, text)


def clean_text(text: Text) -> Text:
    """A Rich Text made safe the same way as a whole (a sequence may cross its spans), its styles kept."""
    plain = text.plain
    if not _UNSAFE.search(plain):
        return text
    kept: list[str] = []
    moved = [0] * (len(plain) + 1)  # where each offset of the old text lands in the new one
    old = new = 0
    for match in _UNSAFE.finditer(plain):
        for i in range(old, match.start()):
            moved[i] = new + i - old
        kept.append(plain[old : match.start()])
        new += match.start() - old
        shown = _shown(match)
        for i in range(match.start(), match.end()):
            moved[i] = new
        kept.append(shown)
        new += len(shown)
        old = match.end()
    for i in range(old, len(plain) + 1):
        moved[i] = new + i - old
    kept.append(plain[old:])
    safe = text.blank_copy("".join(kept))
    safe.spans = [Span(moved[s.start], moved[s.end], s.style) for s in text.spans if moved[s.start] < moved[s.end]]
    return safe


def json_text(data: Any) -> str:
    """JSON for --json: readable non-ASCII text, but DEL, C1 and bidirectional controls as \\u escapes
    (json.dumps escapes C0 itself), so a terminal showing the output is as safe as a program reading it."""
    return json.dumps(data, indent=2, ensure_ascii=False).translate(_JSON_ESCAPED)


class TerminalConsole(Console):
    """A Rich console that reads no markup or emoji codes in strings and cleans every text it renders.

    Styling is given as Rich `Text` styles, never as markup, so brackets in a title stay brackets."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**({"markup": False, "emoji": False} | options))

    def render_str(self, text: str, **options: Any) -> Text:
        # Cleaned before Rich makes a Text of it: Rich drops BEL, which may be what ends an OSC sequence.
        return super().render_str(clean(text), **options)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        # Tables, panels and groups render their cells through here too, so nested text is cleaned as well.
        if isinstance(renderable, Text):
            renderable = clean_text(renderable)
        return super().render(renderable, options)


console = TerminalConsole()
errors = TerminalConsole(stderr=True)
"""Everything the commands print goes through these two: no markup is read, control sequences never pass."""


def say_error(message: str) -> None:
    """`error: MESSAGE` on stderr, the message as plain text: brackets in it (`[least, most]`) are not markup."""
    errors.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)
