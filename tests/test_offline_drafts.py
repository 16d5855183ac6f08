"""Fifteen offline posts read as a follower would: three batches of five (one video each) on the embedded default."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk.phrasing import sentences, shorter
from drafter.material import key
from drafter.offline import ON_SCREEN_CHARS, TITLE_CHARS
from renderers.captions import chunks
from tests.conftest import run_cli

PARAGRAPH_END = re.compile(r"[.!?][”\"’]?$")


def example_passages() -> list[str]:
    """Every sentence of the example persona's sources (the text after each note's front matter)."""
    found = []
    for note in (resources.files("beatdesk") / "example" / "sources").iterdir():
        text = note.read_text(encoding="utf-8").split("+++")[-1]
        found += [s for s in sentences(text) if len(s.split()) >= 6]
    return found


def shown_text(draft: dict) -> list[str]:
    """Every line a reader sees: title, caption, body or hook and scenes."""
    if "body" in draft:
        return [draft["title"], draft["body"], draft["caption"]]
    scenes = [part for scene in draft["scenes"] for part in (scene["on_screen"], scene["voiceover"])]
    return [draft["title"], draft["hook"], draft["caption"], *scenes]


@pytest.fixture(scope="module")
def fifteen(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEATDESK_HOME", str(home))
        cli = CliRunner()
        run_cli(cli, "init")
        posts = []
        for _ in range(3):
            batch = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "5", "--video", "1", "--json")
            assert batch["status"] == "done", batch
            posts += [run_cli(cli, "post", "show", str(p["id"]), "--json") for p in batch["posts"]]
    return posts


def test_no_text_is_cut_with_an_ellipsis(fifteen: list[dict]) -> None:
    assert len(fifteen) == 15 and sum(p["content_format"] == "video" for p in fifteen) == 3
    for post in fifteen:
        draft = post["draft"]
        for text in shown_text(draft):
            assert "…" not in text and "..." not in text, (post["id"], text)
        assert len(draft["title"]) <= TITLE_CHARS
        for scene in draft.get("scenes", []):
            assert len(scene["on_screen"]) <= ON_SCREEN_CHARS, scene
        video = next((s["artifact"] for s in post["steps"] if s["name"] == "video"), None)
        if video:
            subtitles = Path(video["path"]).with_suffix(".srt").read_text(encoding="utf-8")
            cues = [block.split("\n", 2)[2] for block in subtitles.strip().split("\n\n")]
            for cue in cues:
                assert "…" not in cue and cue.count("“") == cue.count("”") and cue.count('"') % 2 == 0, cue


def test_passages_are_quoted_once_per_post_and_in_two_posts_at_most(fifteen: list[dict]) -> None:
    passages = example_passages()
    posts_quoting: Counter[str] = Counter()
    for post in fifteen:
        text = key(" ".join(shown_text(post["draft"])))
        for passage in passages:
            times = text.count(key(passage))
            assert times <= 1, (post["id"], passage)
            posts_quoting[passage] += times
    assert posts_quoting and max(posts_quoting.values()) <= 2, posts_quoting.most_common(3)


def test_bodies_read_as_prose(fifteen: list[dict]) -> None:
    for post in (p for p in fifteen if p["content_format"] == "hero_text"):
        draft = post["draft"]
        body = draft["body"]
        assert not key(body).startswith(key(draft["title"])), post["id"]
        assert "The same reasoning runs through" not in body
        for paragraph in body.split("\n\n"):
            assert PARAGRAPH_END.search(paragraph), (post["id"], paragraph)
            for sentence in sentences(paragraph):
                first = sentence.lstrip('“"‘(')[:1]
                assert first.isupper() or first.isdigit(), (post["id"], sentence)


def test_captions_fit_uncut_and_end_on_the_hashtags(fifteen: list[dict]) -> None:
    for post in fifteen:
        draft = post["draft"]
        caption = draft["caption"]
        assert len(caption) <= 500 and caption.endswith(" ".join(draft["hashtags"]))
        first = caption.split("\n\n")[0]
        assert first in (draft["title"], draft["title"] + ".") or first.endswith("."), caption


def test_a_line_is_phrased_to_fit_never_cut() -> None:
    angle = "Label twenty production transcripts a week and you will find the regressions first"
    assert shorter(angle, chars=50) == "Label twenty production transcripts a week"
    assert shorter("Test-set contamination: why a model can ace a benchmark it has memorised", chars=60) == (
        "Why a model can ace a benchmark it has memorised"
    )
    assert shorter("Turning on prompt caching cut the bill by more than half", chars=40, words=9) == (
        "Turning on prompt caching cut the bill"
    )
    for limit in range(12, 90, 7):
        line = shorter(angle, chars=limit)
        assert len(line) <= limit and "…" not in line and line.split()[-1] not in {"a", "the", "and", "you"}


def test_cues_are_whole_phrases_without_stray_quotes() -> None:
    spoken = (
        "“It did worse on tickets in languages it had few examples of, which the team only found by sampling "
        "production traffic.”"
    )
    cues = chunks(spoken)
    assert all(len(c.split()) <= 8 and "“" not in c and "”" not in c for c in cues)
    assert " ".join(cues) == spoken.strip("“”")
    assert not any(c.split()[-1] in {"the", "a", "of", "to"} for c in cues)
