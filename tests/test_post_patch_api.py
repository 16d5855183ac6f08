"""PATCH /api/posts/{id}: the draft's fields and channels' own texts and first comments, for a token of the
review scope; 409 when the post's status allows no edit, 422 when the edit cannot be made, one line each,
nothing written; the checks come back run again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from beatdesk.store import repo
from tests.desk_client import Desk, desk_home

CHANNELS = """
[[channels]]
name = "mastodon"
url = "https://mastodon.example"

[[channels]]
name = "linkedin"
account = "urn:li:person:ash"
"""


@pytest.fixture
def api(cli: CliRunner, home: Path) -> Iterator[tuple[Desk, TestClient, dict[str, str]]]:
    with desk_home(cli, home, items=2) as made:
        persona = home / "personas" / "ash.toml"
        persona.write_text(persona.read_text() + CHANNELS)
        client = TestClient(made.client().app, base_url="http://testserver/api")
        yield made, client, {"Authorization": f"Bearer {made.token('rita', 'review')}"}


def story(made: Desk, post_id: int) -> tuple[Any, ...]:
    with made.store.session() as session:
        post = repo.get_post(session, post_id)
    return post.draft, post.channel_versions, len(post.events), post.checks


def test_a_patch_sets_a_channel_text_and_comment_and_returns_the_checks(api: Any) -> None:
    made, client, review = api
    own = "Measure the prompt before the model.\n\nMost of the bill is input."
    answer = client.patch("/posts/1", headers=review, json={
        "alt_text": "A chart of prompt tokens against output tokens.",
        "channels": {"mastodon": {"text": own, "first_comment": "Source: the study in my profile."}},
    })  # fmt: skip
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["changed"] == ["alt_text"] and done["channels"][0].startswith("mastodon: own text")
    assert {"name": "channel_versions", "level": "ok", "detail": "mastodon: own text and first comment"} in done[
        "checks"
    ]
    draft, versions, _, _ = story(made, 1)
    assert draft.alt_text == "A chart of prompt tokens against output tokens."
    assert versions["mastodon"].text == own

    post = client.get("/posts/1", headers=review).json()
    assert post["channel_versions"]["mastodon"]["first_comment"] == "Source: the study in my profile."
    assert [e["action"] for e in post["events"]][-2:] == ["edit_channel", "edit"]

    reset = client.patch("/posts/1", headers=review, json={"channels": {"mastodon": {"text": None}}}).json()
    assert reset["channels"] == ["mastodon: reset to the generated text"]
    assert story(made, 1)[1]["mastodon"].text is None  # the comment stays


def test_bad_patches_are_one_line_and_write_nothing(api: Any) -> None:
    made, client, review = api
    before = story(made, 1)
    cases = [
        ({"channels": {"tiktok": {"text": "hi"}}}, 422, "'tiktok' is not one of @ash's channels"),
        ({"title": "Fine title", "channels": {"linkedin": {"text": "word " * 700}}}, 422, "over its 3000"),
        ({"channels": {"mastodon": {"first_comment": "y" * 501}}}, 422, "the first comment is 501 characters"),
        ({"title": "ab"}, 422, "at least 3 characters"),
        ({"body": "nul \x00 byte"}, 422, None),
        ({"hashtags": "#not-a-list"}, 422, None),
    ]  # fmt: skip
    for body, status, needle in cases:
        answer = client.patch("/posts/1", headers=review, json=body)
        assert answer.status_code == status, (body, answer.text)
        if needle:
            detail = answer.json()["detail"]
            assert isinstance(detail, str) and "\n" not in detail and needle in detail, detail
    assert story(made, 1) == before

    reader = {"Authorization": f"Bearer {made.token('rita', 'read')}"}
    assert client.patch("/posts/1", headers=reader, json={"title": "Read only"}).status_code == 403
    assert client.patch("/posts/99", headers=review, json={"title": "Nobody"}).status_code == 404

    assert client.post("/posts/2/reject", headers=review, json={"reason": "off-voice"}).status_code == 200
    assert client.post("/posts/1/approve", headers=review, json={"reason": "fine"}).status_code == 200
    late = client.patch("/posts/1", headers=review, json={"channels": {"mastodon": {"text": "late"}}})
    assert late.status_code == 409 and late.json()["detail"].startswith("post 1 is approved; only a post in review")
    assert story(made, 1)[1] == {}
