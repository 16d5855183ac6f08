"""Threads a person would post: drafts made from the real articles in tests/data/articles, fitted to each
channel by its own count, keep every word in order, break where sentences and paragraphs end, say the title
and each hashtag once, and are not needlessly longer than packing whole sentences."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatdesk.channels import CHANNELS, graphemes, length_on, mastodon_length, x_weighted
from beatdesk.errors import BeatdeskError
from beatdesk.models import Channel, HeroTextDraft
from publishers.breaks import Break, pieces, sentences_of
from publishers.channel_text import THREADED, limit_of, once_each_hashtag, thread_pieces
from publishers.fitting import fit
from tests.thread_drafts import ARTICLES, article, faults, key, long_drafts, without_numbering, words

NAMES = sorted(p.name for p in ARTICLES.glob("[0-9]*.md"))
TAGS = ("#AI", "#LLM", "#Benchmarks", "#Inference", "#Evals")


def compose(draft: HeroTextDraft) -> tuple[str, list[str]]:
    """The thread's whole text as the channel template writes it, and its paragraphs."""
    from publishers.channel_text import _env

    text = _env.get_template("thread.txt.j2").render(**thread_pieces(draft)).strip()
    return text, [p for p in re.split(r"\n\s*\n", text) if p.strip()]


@st.composite
def drafts(draw: st.DrawFn) -> HeroTextDraft:
    """Two to eight paragraphs of real articles, in order, under one of their titles; the body sometimes opens
    with the title, and sometimes carries one of the hashtags itself."""
    chosen = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    title, paragraphs = article(chosen[0])
    for name in chosen[1:]:
        paragraphs += article(name)[1]
    start = draw(st.integers(0, max(0, len(paragraphs) - 2)))
    paragraphs = paragraphs[start : start + draw(st.integers(2, 8))]
    if draw(st.booleans()):
        paragraphs[0] = f"{title}. {paragraphs[0]}"
    tags = tuple(draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=4, unique=True)))
    if draw(st.booleans()):
        paragraphs[-1] += f" That is the {tags[0]} story."
    return HeroTextDraft(title=title, body="\n\n".join(paragraphs), button="b", caption=title, hashtags=tags,
                         image_prompt="p", alt_text="a")  # fmt: skip


def sentence_packing(text: str, channel: str, limit: int) -> int:
    """How many parts packing whole sentences greedily needs (a sentence over the limit alone: its words)."""
    count, room = 0, 0
    for piece in pieces(text, lambda s: length_on(channel, s) <= limit):
        n = length_on(channel, piece.text) + 1
        if n > room:
            count, room = count + 1, limit + 1
        room -= n
    return count


def long_sentences(text: str, channel: str, limit: int) -> list[str]:
    return [s for p in text.split("\n") for s in sentences_of(p) if length_on(channel, s) > limit]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draft=drafts(), channel=st.sampled_from(sorted(THREADED)), numbered=st.booleans(),
       mastodon=st.sampled_from([500, 1000, 350]))  # fmt: skip
def test_threads_from_real_prose_read_as_written(draft: HeroTextDraft, channel: str, numbered: bool,
                                                 mastodon: int) -> None:  # fmt: skip
    limit = mastodon if channel == "mastodon" else CHANNELS[channel].max_length
    assert limit is not None
    text, paragraphs = compose(draft)
    parts = fit(text, channel, limit=limit, numbered=numbered)
    bare = [without_numbering(p) for p in parts]

    assert all(length_on(channel, p) <= limit for p in parts)  # by the channel's own count, numbering included
    assert words(" ".join(bare)) == words(text)  # every word, in order, none cut
    if numbered and len(parts) > 1:
        assert [p.rsplit("\n\n", 1)[1] for p in parts] == [f"{n}/{len(parts)}" for n in range(1, len(parts) + 1)]
    found = faults(parts, title=draft.title, paragraphs=paragraphs)
    assert found["glued"] == 0 and found["title_twice"] == 0
    assert key(" ".join(bare)).count(key(draft.title)) == 1
    for tag in draft.hashtags:
        assert sum(w.casefold() == tag.casefold() for w in words(" ".join(bare))) == 1, tag
    assert bare[-1].endswith(" ".join(t for t in draft.hashtags if t in thread_pieces(draft)["hashtags"]))
    # A part ends mid-sentence only inside a sentence that is alone over the limit.
    long = long_sentences(text, channel, limit)
    for part, following in itertools.pairwise(bare):
        seam = " ".join(words(part)[-2:] + words(following)[:2])
        ends_well = re.search(r"[.!?…][\"'”’)]*$", part) or any(key(p).endswith(key(part)[-40:]) for p in paragraphs)
        assert ends_well or any(seam in " ".join(words(s)) for s in long), (part[-60:], following[:60])
    assert len(parts) <= sentence_packing(text, channel, limit) + 2


@pytest.mark.parametrize("channel", sorted(THREADED - {"threads"}))
@pytest.mark.parametrize("numbered", [False, True])
def test_the_four_long_drafts_have_no_faults(channel: str, numbered: bool) -> None:
    for draft in long_drafts():
        text, paragraphs = compose(draft)
        parts = fit(text, channel, limit=CHANNELS[channel].max_length, numbered=numbered)
        assert len(parts) > 1
        assert faults(parts, title=draft.title, paragraphs=paragraphs) == {"mid_sentence": 0, "glued": 0,
                                                                           "title_twice": 0}  # fmt: skip


def test_a_quotation_stays_with_its_sentence_and_abbreviations_decimals_links_do_not_end_one() -> None:
    line = (
        "Dr. Okafor said the bill fell by 3.5 times. “A support assistant sent a 6,000-token system prompt. "
        "Every request paid for it,” she said. See https://example.org/a.b?c=d. Then e.g. caching helps."
    )
    assert sentences_of(line) == [
        "Dr. Okafor said the bill fell by 3.5 times.",
        "“A support assistant sent a 6,000-token system prompt. Every request paid for it,” she said.",
        "See https://example.org/a.b?c=d.",
        "Then e.g. caching helps.",
    ]


def test_a_sentence_over_the_limit_breaks_at_a_clause_then_a_word_never_inside_a_link_or_tag() -> None:
    link = "https://example.org/" + "a" * 60
    sentence = ("First clause that runs on for a while, second clause with #Hashtag and @ash@example.social; "
                f"then a long tail of plain words that goes on {link} and on and on until it is too long")  # fmt: skip
    found = pieces(sentence, lambda s: graphemes(s) <= 60)
    assert [p.text for p in found][:3] == [
        "First clause that runs on for a while,",
        "second clause with #Hashtag and @ash@example.social;",
        "then",
    ]
    assert {Break.clause, Break.word} <= {p.after for p in found}
    assert link in [p.text for p in found] and "#Hashtag" in " ".join(p.text for p in found).split()
    parts = fit(sentence, "bluesky", limit=100)
    assert all(graphemes(p) <= 100 for p in parts) and words(" ".join(parts)) == words(sentence)
    assert parts[0].endswith(",") or parts[0].endswith(";")  # the first break is at a clause


def test_parts_are_balanced_rather_than_leaving_an_orphan() -> None:
    sentence = "This sentence has exactly eight words in it. "
    text = (sentence * 6).strip() + " Three words more."
    limit = graphemes(sentence * 5)  # greedy would fill five sentences and leave one plus three words
    parts = fit(text, "bluesky", limit=limit)
    assert len(parts) == 2
    assert min(graphemes(p) for p in parts) > limit // 3


def test_paragraph_breaks_are_kept_inside_a_part_and_preferred_as_ends() -> None:
    first = "One short paragraph that ends here."
    second = "A second paragraph with two sentences. It is a little longer than the first one."
    third = "A third one closes. " * 4
    parts = fit(f"{first}\n\n{second}\n\n{third.strip()}", "bluesky", limit=160)
    assert parts[0] == f"{first}\n\n{second}"


def test_the_title_is_said_once_and_each_hashtag_once() -> None:
    body = "Your prompt is most of your inference bill. Caching cuts it. #AI says so.\n\nMeasure first."
    opened = thread_pieces(HeroTextDraft(title="Your prompt is most of your inference bill", body=body, button="b",
                                         caption="c", hashtags=("#AI", "#LLMOps", "#LLMOps"), image_prompt="p",
                                         alt_text="a"))  # fmt: skip
    assert opened["title"] == "" and opened["hashtags"] == ["#LLMOps"]
    other = thread_pieces(HeroTextDraft(title="Where the money goes", body=body, button="b", caption="c",
                                        hashtags=("#AI",), image_prompt="p", alt_text="a"))  # fmt: skip
    assert other["title"] == "Where the money goes" and other["hashtags"] == []
    assert once_each_hashtag("Read this. #AI #LLM\n\n#ai #Evals") == "Read this. #AI #LLM\n\n#Evals"


def test_each_channel_counts_as_it_does() -> None:
    # twitter-text's conformance (WeightedTweetsWithDiscountedEmojiCounterTest, validate.yml)
    assert x_weighted("Hi http://test.co") == 26
    assert x_weighted("https://www.twitter.com/aloha " * 10) == 240
    assert x_weighted("H🐱☺👨‍👩‍👧‍👦") == 7
    assert x_weighted("😷👾😡🔥💩") == 10
    assert x_weighted("Test https://test.com test https://test.com test.com test") == 86
    assert x_weighted("日本") == 4 and x_weighted("see https://example.org/a/very/long/path/indeed") == 4 + 23
    assert graphemes("👍🏽👨‍👩‍👧") == 2 and length_on("bluesky", "https://example.org/" + "a" * 100) == 120
    assert mastodon_length("read https://example.org/" + "a" * 300 + " now") == 5 + 23 + 4
    assert mastodon_length("hi @ash@mastodon.example") == len("hi @ash")


def test_the_instance_limit_wins_and_a_persona_can_lower_it() -> None:
    plain, capped = Channel(name="mastodon", url="https://m.example"), Channel(name="mastodon", url="https://m.example",
                                                                               max_length=1000)  # fmt: skip
    assert limit_of(plain) == 500 and limit_of(plain, instance=5000) == 5000
    assert (
        limit_of(capped) == 1000 and limit_of(capped, instance=5000) == 1000 and limit_of(capped, instance=400) == 400
    )
    assert limit_of(Channel(name="x")) == 280 and limit_of(Channel(name="outbox")) is None


def test_short_text_is_one_part_and_a_word_longer_than_the_limit_is_refused() -> None:
    assert fit("hello", "x", limit=280) == ["hello"]
    assert fit("x" * 5000, "outbox", limit=None) == ["x" * 5000]
    with pytest.raises(BeatdeskError, match="longer than the 300-character limit"):
        fit("a. " + "b" * 301, "bluesky", limit=300)
