"""Long drafts made from the real articles in tests/data/articles, and the faults a reader sees in a thread.

Each draft joins two articles of one beat (about 400 words, the longest body a persona allows), the way a
writer would fold a second case into a piece: their paragraphs as written, unwrapped. Two of the four open
their body with the title as a sentence, as the offline drafter's bodies do.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

from beatdesk.models import HeroTextDraft

ARTICLES = Path(__file__).parent / "data" / "articles"
PAIRS = (
    ("01-leaderboard-template.md", "02-contamination-study.md", ("#AI", "#LLM", "#Benchmarks"), True),
    ("04-token-bill.md", "05-cheap-model-cost.md", ("#AI", "#LLMOps", "#Inference"), False),
    ("07-small-model-tickets.md", "09-specialised-vs-general.md", ("#AI", "#SLM", "#MachineLearning"), True),
    ("10-production-evals.md", "11-llm-judge.md", ("#AI", "#Evals", "#MLOps"), False),
)
_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def article(name: str) -> tuple[str, list[str]]:
    """An article's title and its paragraphs, each on one line."""
    _, front, text = (ARTICLES / name).read_text().split("+++", 2)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return tomllib.loads(front)["title"], paragraphs


def long_drafts() -> list[HeroTextDraft]:
    drafts = []
    for first, second, tags, opens_with_title in PAIRS:
        title, paragraphs = article(first)
        paragraphs += article(second)[1]
        if opens_with_title:
            paragraphs[0] = f"{title}. {paragraphs[0]}"
        body = "\n\n".join(paragraphs)
        drafts.append(HeroTextDraft(title=title, body=body, button=paragraphs[-1], caption=f"{title}\n\n{' '.join(tags)}",
                                    hashtags=tags, image_prompt="a chart", alt_text="a chart"))  # fmt: skip
    return drafts


def words(text: str) -> list[str]:
    return text.split()


def key(text: str) -> str:
    """Text compared as a reader would: case, punctuation and spacing aside."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def without_numbering(part: str) -> str:
    return re.sub(r"\n\n\d+/\d+$", "", part)


def faults(parts: list[str], *, title: str, paragraphs: list[str]) -> dict[str, int]:
    """What a reader would wince at in a thread made from `paragraphs` (the text as composed, title and hashtag
    line included): non-last parts ending mid-sentence (where no paragraph ends), paragraphs glued together by
    a space, the title said twice."""
    parts = [without_numbering(p) for p in parts]
    ends = {key(" ".join(words(p)[-6:])) for p in paragraphs}
    mid = 0
    for part in parts[:-1]:
        tail = key(" ".join(words(part)[-6:]))
        if not _END.search(part.rstrip()) and not any(end.endswith(tail) or tail.endswith(end) for end in ends):
            mid += 1
    glued = 0
    for before, after in itertools.pairwise(paragraphs):
        seam = re.escape(" ".join(words(before)[-3:])) + r"[ \t]+" + re.escape(" ".join(words(after)[:3]))
        glued += sum(1 for part in parts if re.search(seam, part))
    joined = key(" ".join(parts))
    title_twice = max(0, joined.count(key(title)) - 1)
    return {"mid_sentence": mid, "glued": glued, "title_twice": title_twice}
