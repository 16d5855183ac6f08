"""A long draft made from real articles, published through the fake Mastodon instance, read back part by part:
the instance's own limit, every word in order, the title and each hashtag once, parts ending where sentences
or paragraphs end, numbered, and the persona's own link tagged for Mastodon."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from publishers.utm import tagged
from tests.conftest import run_cli
from tests.fake_channels import ChannelServer, _mastodon_length
from tests.test_publish_channels import approved_post, publish, server
from tests.thread_drafts import faults, key, long_drafts, without_numbering, words

__all__ = ["server"]  # the fixture, shared with the channel tests
OWN = "https://ash.example/notes"


@pytest.mark.parametrize("instance_limit", [400, None])
def test_a_long_draft_reaches_mastodon_as_a_thread_a_person_would_post(
    cli: CliRunner, server: ChannelServer, home: Path, instance_limit: int | None
) -> None:
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text().replace(
        'handle = "@ash"\n', f'handle = "@ash"\nutm = true\nthread_numbering = true\nlinks = ["{OWN}"]\n', 1))  # fmt: skip
    server.mastodon_max_characters = instance_limit
    post_id = approved_post(cli)
    draft = long_drafts()[0]
    draft = draft.model_copy(update={"body": f"{draft.body} My notes on this are at {OWN}."})
    with open_store(get_settings().effective_database_url).session() as session:
        repo.save_draft(session, post_id=post_id, draft=draft)
    beat = run_cli(cli, "post", "show", str(post_id), "--json")["plan"]["beat_key"]

    assert publish(cli) == [post_id]
    assert server.sent("GET", "/api/v2/instance")  # the limit is the instance's own
    statuses = server.posts["mastodon"]
    assert [s.get("in_reply_to_id") for s in statuses] == [None, *(s["id"] for s in statuses[:-1])]
    received = [s["status"] for s in statuses]
    limit = instance_limit or 500
    assert all(_mastodon_length(text) <= limit for text in received)
    assert [text.rsplit("\n\n", 1)[1] for text in received] == [
        f"{n}/{len(received)}" for n in range(1, len(received) + 1)
    ]
    if instance_limit == 400:
        assert max(_mastodon_length(text) for text in received) > 300  # the room the instance gives is used

    parts = [without_numbering(text) for text in received]
    expected = tagged(draft.body, own=[OWN], source="mastodon", campaign=beat, content=str(post_id))
    expected += "\n\n" + " ".join(draft.hashtags)  # the body opens with the title: it is not said again
    assert words(" ".join(parts)) == words(expected)
    paragraphs = re.split(r"\n\n", expected)
    assert faults(received, title=draft.title, paragraphs=paragraphs) == {"mid_sentence": 0, "glued": 0,
                                                                          "title_twice": 0}  # fmt: skip
    assert key(" ".join(parts)).count(key(draft.title)) == 1
    assert parts[-1].endswith("\n\n" + " ".join(draft.hashtags))
    assert f"{OWN}?utm_source=mastodon&utm_medium=social&utm_campaign={beat}&utm_content={post_id}." in parts[-1]
