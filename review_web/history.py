"""A post's drafts in order, each with a word-level diff from the draft before it (after a redraft or an edit).

The diff is data (runs of kept, removed and added text), never HTML: the template escapes every run."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beatdesk.models import Post

FIELDS = ("title", "hook", "body", "caption", "hashtags", "alt_text")
"""What a reviewer reads of a draft, in reading order; a video's scenes are compared by their voiceover."""
KEEP_AROUND = 6
"""Words of unchanged text kept on each side of a change; longer runs are folded to an ellipsis."""
_WORDS = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class Run:
    op: str
    """same, del or ins."""
    text: str


@dataclass(frozen=True)
class FieldDiff:
    name: str
    runs: list[Run]


@dataclass(frozen=True)
class Version:
    """One replacement of the draft: who, when, why, and what changed from the draft before."""

    kind: str
    by: str
    at: datetime | None
    note: str | None
    fields: list[FieldDiff]
    pending: bool = False
    """The draft that replaces it is still being written (a redraft under way)."""


def versions(post: Post) -> list[Version]:
    """Newest first: each earlier draft compared with the one that replaced it (the current draft last)."""
    history = post.draft_history
    drafts = [entry.get("draft") for entry in history]
    drafts.append(post.draft.model_dump(mode="json") if post.draft else None)
    found = []
    for index, entry in enumerate(history):
        older, newer = drafts[index], drafts[index + 1]
        fields = compare(older, newer) if older and newer else []
        found.append(Version(kind=str(entry.get("kind") or "redraft"), by=str(entry.get("by") or ""),
                             at=_when(entry.get("replaced_at")), note=entry.get("note"), fields=fields,
                             pending=newer is None))  # fmt: skip
    return found[::-1]


def compare(older: dict[str, Any], newer: dict[str, Any]) -> list[FieldDiff]:
    """The fields whose text changed, each as runs of words."""
    changed = []
    for name in (*FIELDS, "voiceover"):
        before, after = _text(older, name), _text(newer, name)
        if before != after:
            changed.append(FieldDiff(name=name, runs=word_diff(before, after)))
    return changed


def word_diff(before: str, after: str) -> list[Run]:
    """Word-level runs from difflib: words are compared, each carries the whitespace after it, so
    paragraphs read as they were and a changed phrase is one removal and one addition."""
    a, b = _WORDS.findall(before.strip()), _WORDS.findall(after.strip())
    keys_a, keys_b = [word.rstrip() for word in a], [word.rstrip() for word in b]
    runs: list[Run] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(Run("same", _fold("".join(a[i1:i2]), first=not runs, last=i2 == len(a) and j2 == len(b))))
            continue
        if i2 > i1:
            runs.append(Run("del", "".join(a[i1:i2])))
        if j2 > j1:
            runs.append(Run("ins", "".join(b[j1:j2])))
    return [run for run in runs if run.text]


def _fold(text: str, *, first: bool, last: bool) -> str:
    """Unchanged text shortened to the words around the changes."""
    words = _WORDS.findall(text)
    head = [] if first else words[:KEEP_AROUND]
    tail = [] if last else words[-KEEP_AROUND:]
    if len(words) <= len(head) + len(tail) + 2:
        return text
    if first:
        return "… " + "".join(tail).lstrip()
    if last:
        return "".join(head).rstrip() + " …"
    return "".join(head).rstrip() + " … " + "".join(tail).lstrip()


def _text(draft: dict[str, Any], name: str) -> str:
    if name == "voiceover":
        return " ".join(str(scene.get("voiceover", "")) for scene in draft.get("scenes") or [])
    value = draft.get(name)
    if isinstance(value, list | tuple):
        return " ".join(map(str, value))
    return str(value) if value is not None else ""


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
