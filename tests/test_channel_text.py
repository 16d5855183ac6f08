"""Fitting text to channels: every part within the limit, words and hashtags whole, nothing lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beatdesk.channels import CHANNELS, length_on
from beatdesk.errors import BeatdeskError
from publishers.channel_text import fit

WORD = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzé日本👍", min_size=1, max_size=12),
    st.from_regex(r"#[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True),
    st.from_regex(r"https://example\.org/[a-z]{1,30}", fullmatch=True),
)
LIMITED = [name for name, rules in CHANNELS.items() if rules.max_length]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(WORD, min_size=1, max_size=400), channel=st.sampled_from(LIMITED))
def test_parts_fit_and_rejoin(words: list[str], channel: str) -> None:
    text = " ".join(words)
    parts = fit(text, channel)
    limit = CHANNELS[channel].max_length
    assert limit is not None
    assert all(length_on(channel, part) <= limit for part in parts)
    assert " ".join(parts).split() == text.split()  # nothing lost, nothing reordered, no word cut
    tags = {w for w in words if w.startswith("#")}
    assert tags <= {token for part in parts for token in part.split()}  # hashtags whole


def test_short_text_is_one_post_and_urls_count_23_on_x() -> None:
    assert fit("hello", "x") == ["hello"]
    long_url = "https://example.org/" + "a" * 300
    assert fit(f"read {long_url}", "x") == [f"read {long_url}"]  # a URL counts as 23 on X
    assert fit("x" * 5000, "outbox") == ["x" * 5000]


def test_a_word_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(BeatdeskError, match="longer than the 300-character limit"):
        fit("a " + "b" * 301, "bluesky")
