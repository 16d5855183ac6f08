"""The post page as a reviewer uses it: live counters and previews while editing, the diff between drafts,
hashtags edited in one place, and approving a post whose checks fail only with a reason, everywhere (the
page, the JSON API, the CLI, bulk approve), the reason kept in the audit log.

The browser tests drive Debian's headless Chromium at 1280 and 390 px against `beatdesk serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from beatdesk.store import repo
from drafter.edit import edit_draft
from review_web.history import Run, word_diff
from tests.conftest import run_cli
from tests.desk_client import Desk, desk_home, form_token, log_in
from tests.test_review_desk_pages import RED, add_channels, fits_the_width, on_post, shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)

BANNED = "A game-changer, they say. Measure it."


@pytest.fixture
def store_desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def make_failing(made: Desk, post_id: int) -> None:
    """An edit with one of the persona's banned phrases: the post now fails its checks."""
    with made.store.session() as session:
        draft = repo.get_post(session, post_id).draft
        assert draft is not None
        caption = f"{BANNED}\n\n{' '.join(draft.hashtags)}"
        edit_draft(session, post_id=post_id, home=made.home, actor="rita", changes={"caption": caption})


def status_and_audit(made: Desk, post_id: int) -> tuple[str, list[str]]:
    with made.store.session() as session:
        post = repo.get_post(session, post_id)
    return post.status, [event.note or "" for event in post.events if event.action == "approve"]


def test_the_api_refuses_a_failing_post_without_a_reason(store_desk: Desk) -> None:
    make_failing(store_desk, 2)
    api = TestClient(store_desk.client().app, base_url="http://testserver/api")
    review = {"Authorization": f"Bearer {store_desk.token('rita', 'review')}"}
    refused = api.post("/posts/2/approve", headers=review, json={})
    assert refused.status_code == 409
    assert refused.json() == {"detail": "post 2 fails its checks (banned_phrases): give a reason to approve it anyway"}
    assert api.post("/posts/2/approve", headers=review, json={"reason": "  "}).status_code == 409
    assert status_and_audit(store_desk, 2) == ("in_review", [])

    approved = api.post("/posts/2/approve", headers=review, json={"reason": "quoting a critic"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    status, notes = status_and_audit(store_desk, 2)
    assert status == "approved" and "approved despite failing checks (banned_phrases): quoting a critic" in notes[0]
    assert api.post("/posts/3/approve", headers=review, json={}).json()["status"] == "approved"  # passes: no reason


def test_the_cli_refuses_a_failing_post_without_reason(store_desk: Desk, cli: CliRunner) -> None:
    make_failing(store_desk, 2)
    refused = run_cli(cli, "review", "approve", "2", code=1)
    assert refused.stderr.strip().count("\n") == 0
    assert "post 2 fails its checks (banned_phrases): give a reason" in refused.stderr
    assert status_and_audit(store_desk, 2) == ("in_review", [])

    approved = run_cli(cli, "review", "approve", "2", "--reason", "quoting a critic", "--json")
    assert approved["status"] == "approved"
    assert "approved despite failing checks (banned_phrases): quoting a critic" in status_and_audit(store_desk, 2)[1][0]


def test_bulk_approve_names_the_failing_posts_unless_a_reason_is_given(store_desk: Desk) -> None:
    make_failing(store_desk, 2)
    make_failing(store_desk, 3)
    client = log_in(store_desk.client())
    token = form_token(client, "/")
    answer = client.post("/bulk/approve", data={"post_ids": [1, 2, 3], "csrftoken": token})
    assert answer.status_code == 200
    assert "post 2 fails its checks (banned_phrases)" in answer.text and "post 3 fails its checks" in answer.text
    assert "Approved post #1" in answer.text
    assert [status_and_audit(store_desk, n)[0] for n in (1, 2, 3)] == ["approved", "in_review", "in_review"]

    answer = client.post("/bulk/approve", data={"post_ids": [2, 3], "reason": "a series on hype", "csrftoken": token})
    assert "Approved 2 posts: #2, #3" in answer.text and "fails its checks" not in answer.text
    for post_id in (2, 3):
        status, notes = status_and_audit(store_desk, post_id)
        assert status == "approved" and notes[0].endswith("(banned_phrases): a series on hype")


def test_the_preview_fits_an_unsaved_edit_as_the_publishers_would(store_desk: Desk) -> None:
    add_channels(store_desk.home)
    client = log_in(store_desk.client())
    token = form_token(client, "/posts/2")
    fields = {"csrftoken": token, "title": "A title", "body": "word " * 200, "caption": "Short.",
              "hashtags": "#AI #Costs"}  # fmt: skip
    cards = {c["channel"]: c for c in client.post("/posts/2/preview", data=fields).json()["cards"]}
    assert cards["outbox"]["parts"] == [{"text": "Short.\n\n#AI #Costs", "length": 18, "over": False}]
    assert len(cards["bluesky"]["parts"]) == 4 and cards["bluesky"]["parts"][-1]["text"].endswith("#AI #Costs")
    assert cards["linkedin"]["error"] is None and cards["linkedin"]["limit"] == 60

    longer = client.post("/posts/2/preview", data=fields | {"caption": "x " * 40}).json()["cards"]
    linkedin = next(c for c in longer if c["channel"] == "linkedin")
    assert linkedin["parts"][0]["over"] and "shorten the caption" in linkedin["error"]

    bad = client.post("/posts/2/preview", data=fields | {"title": "ab"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("edit: title: String should have at least 3")
    assert client.post("/posts/2/preview", data=fields | {"csrftoken": "stale"}).status_code == 403
    with store_desk.store.session() as session:  # nothing was saved
        assert repo.get_post(session, 2).draft.caption != "Short.\n\n#AI #Costs"  # type: ignore[union-attr]
    anonymous = TestClient(store_desk.client().app).post("/posts/2/preview", data=fields, follow_redirects=False)
    assert anonymous.status_code == 303  # to the login page


def test_hashtags_are_edited_once_and_the_history_shows_the_diff(store_desk: Desk) -> None:
    client = log_in(store_desk.client())
    page = client.get("/posts/2").text
    with store_desk.store.session() as session:
        draft = repo.get_post(session, 2).draft
    assert draft is not None
    tags = " ".join(draft.hashtags)
    caption_field = page.split('name="caption"', 1)[1].split("</textarea>", 1)[0]
    assert tags not in caption_field  # the caption's hashtag line is the hashtags field, not typed twice

    token = form_token(client, "/posts/2")
    edited = client.post("/posts/2/edit", data={"csrftoken": token, "title": draft.title, "body": draft.body,  # type: ignore[union-attr]
                                                "caption": "<script>alert(1)</script> Try it yourself.",
                                                "hashtags": "#AI #Measure"})  # fmt: skip
    assert edited.status_code == 200
    with store_desk.store.session() as session:
        post = repo.get_post(session, 2)
    assert post.draft is not None and post.draft.caption == "<script>alert(1)</script> Try it yourself.\n\n#AI #Measure"
    assert post.draft.hashtags == ("#AI", "#Measure")
    assert post.draft_history[-1]["kind"] == "edit" and post.draft_history[-1]["draft"]["caption"] == draft.caption
    assert "ok hashtags_at_end" in edited.text.replace("<strong>ok</strong>", "ok")

    history = edited.text.split('<details id="history">', 1)[1].split("</details>", 1)[0]
    assert "Draft history · 1 earlier" in history and "edit by rita" in history
    assert "changed caption, hashtags" in history
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt; Try it yourself." in history  # escaped, never markup
    assert "<script>" not in history
    assert "#Measure</ins>" in history


def test_the_diff_is_word_level_and_folds_what_did_not_change() -> None:
    before = "The quick brown fox jumps over the lazy dog and then it runs off into the woods far away from here"
    after = before.replace("brown", "red").replace("here", "there")
    assert word_diff(before, after) == [
        Run("same", "The quick "), Run("del", "brown "), Run("ins", "red "),
        Run("same", "fox jumps over the lazy dog … into the woods far away from "),
        Run("del", "here"), Run("ins", "there"),
    ]  # fmt: skip
    assert word_diff("a b\n\n#AI #X", "a b\n\n#AI #Y") == [Run("same", "a b\n\n#AI "), Run("del", "#X"),
                                                          Run("ins", "#Y")]  # fmt: skip


def test_a_redraft_is_in_the_history_with_its_note(store_desk: Desk, cli: CliRunner) -> None:
    run_cli(cli, "post", "redraft", "2", "--note", "lead with the number")
    make_failing(store_desk, 2)
    page = log_in(store_desk.client()).get("/posts/2").text
    history = page.split('<details id="history">', 1)[1].split("</details>", 1)[0]
    assert "Draft history · 2 earlier" in history
    edit, redraft = history.split('<div class="old-draft">')[1:]
    assert "edit by rita" in edit and '<h2 class="sub">caption</h2>' in edit and "<ins>A game-changer," in edit
    assert "redraft by" in redraft and "lead with the number" in redraft


def edit_fields(page: Page) -> None:
    page.keyboard.press("e")
    expect(page.locator("#edit textarea[name=caption]")).to_be_focused()


def test_editing_updates_counters_and_previews_as_you_type(desk: str, browser: Browser, home: Path) -> None:  # noqa: F811
    add_channels(home)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/2")
    outbox = page.locator('.card[data-channel="outbox"]')
    linkedin = page.locator('.card[data-channel="linkedin"]')
    bluesky = page.locator('.card[data-channel="bluesky"]')
    parts_before = bluesky.locator(".part-box").count()

    edit_fields(page)
    caption = page.locator("#edit textarea[name=caption]")
    caption.fill("")
    caption.press_sequentially("Short.")
    tags = page.locator("#edit input[name=hashtags]").input_value()
    expect(outbox.locator(".part")).to_have_text(f"Short.\n\n{tags}")  # the preview follows the typing
    expect(outbox.locator(".counter")).to_have_text(f"{len('Short.') + 2 + len(tags)} characters")
    expect(linkedin.locator(".counter")).not_to_have_class("counter over")
    expect(linkedin.locator(".card-error")).to_be_hidden()
    expect(outbox.locator("img.card-media")).to_be_visible()  # the image stays in the card

    caption.press_sequentially(" And a longer line that takes it past sixty characters.")
    expect(linkedin.locator(".counter")).to_have_class("counter over")  # red, past the limit, before saving
    assert linkedin.locator(".counter").evaluate("el => getComputedStyle(el).color") == RED
    expect(linkedin.locator(".card-error")).to_contain_text("shorten the caption")
    expect(page.locator("#preview-state")).to_contain_text("1 channel over the limit")

    body = page.locator("#edit textarea[name=body]")
    body.fill("")
    body.press_sequentially("One short body, just enough.")  # the thread re-split as the server would: one part now
    expect(bluesky.locator(".part-box")).to_have_count(1)
    expect(bluesky.locator(".part-no")).to_be_hidden()
    expect(bluesky.locator(".chan")).to_have_text("bluesky")
    body.fill("word " * 120)
    body.press_sequentially("end")
    expect(bluesky.locator(".part-box")).to_have_count(3)
    expect(bluesky.locator(".part-no").first).to_have_text("1/3")
    assert parts_before >= 1

    page.locator("#edit input[name=hashtags]").fill("#AI #Only")  # one place: every card shows them
    expect(outbox.locator(".part")).to_contain_text("#AI #Only")
    expect(bluesky.locator(".part").last).to_contain_text("#AI #Only")
    shot(page, "post-editing.png")


def test_a_failing_post_is_approved_with_a_reason_and_the_diff_shows(desk: str, browser: Browser, home: Path) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/2")
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    expect(page.locator("#keys-help")).to_contain_text("e edit")
    page.keyboard.press("Escape")
    expect(page.locator("#keys-help")).to_be_hidden()

    edit_fields(page)
    page.locator("#edit textarea[name=caption]").fill("<script>window.pwned = 1</script> " + BANNED)
    page.click("text=Save (checks run again)")
    expect(page.locator("#checks li").first).to_contain_text("fail banned_phrases")
    page.wait_for_load_state()
    expect(page.locator('.card[data-channel="outbox"] .part')).to_contain_text("<script>window.pwned = 1</script>")
    assert page.evaluate("window.pwned") is None

    history = page.locator("#history")
    history.locator("summary").click()
    expect(history.locator("summary")).to_have_text("Draft history · 1 earlier")
    expect(history.locator("ins").first).to_contain_text("<script>window.pwned = 1</script>")
    expect(history.locator("del").first).to_be_visible()
    expect(history).to_contain_text("edit by rita")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "post-hero.png")

    page.keyboard.press("a")
    dialog = page.locator("#confirm-approve")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Approve despite 1 failing check?")
    page.locator("#approve-anyway").click()  # no reason yet: still asking
    expect(dialog).to_be_visible()
    expect(page.locator("#status")).to_have_text("in_review")
    page.fill("#override", "quoting a critic, on purpose")
    page.click("#approve-anyway")
    expect(page.locator("#done")).to_contain_text("Approved #2")
    expect(page).to_have_url(f"{desk}/posts/1?done=" + page.url.split("?done=", 1)[-1])  # the next older one

    out = run_cli(CliRunner(), "post", "show", "2", "--json")  # the reason is in the store's audit log
    notes = [event["note"] for event in out["events"] if event["action"] == "approve"]
    assert notes and notes[0].endswith("approved despite failing checks (banned_phrases): quoting a critic, on purpose")


def test_the_keyboard_and_the_video_at_390_px(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/1")  # the video post
    video = page.locator('.card[data-channel="outbox"] video.card-media')
    expect(video).to_be_visible()
    assert video.get_attribute("controls") is not None and video.get_attribute("playsinline") is not None
    card = page.locator('.card[data-channel="outbox"]').bounding_box()
    box = video.bounding_box()
    assert card and box and card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
    assert box["height"] <= 900
    assert page.evaluate("(async () => { const v = document.querySelector('video.card-media');"
                         " v.muted = true; await v.play(); return !v.paused; })()")  # fmt: skip
    shot(page, "post-video.png")

    expect(page.locator("#next-post")).to_have_count(0)  # the oldest: last in the queue's newest-first order
    page.keyboard.press("p")
    expect(page).to_have_url(f"{desk}/posts/2")
    page.wait_for_load_state()  # the keys work once post.js has run
    page.keyboard.press("n")
    expect(page).to_have_url(f"{desk}/posts/1")
    page.wait_for_load_state()
    page.keyboard.press("e")
    expect(page.locator("#edit")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    page.locator("h1").click()
    page.keyboard.press("r")
    expect(page.locator("#reject-reason")).to_be_focused()
    page.keyboard.type("off-beat")
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_contain_text("Rejected #1: off-beat")
    expect(page).to_have_url(f"{desk}/posts/3?done=" + page.url.split("?done=", 1)[-1])  # back to the newest
    page.wait_for_load_state()
    page.keyboard.press("a")  # checks pass: approved at once, and on to the next
    expect(page.locator("#done")).to_contain_text("Approved #3")
    expect(page).to_have_url(f"{desk}/posts/2?done=" + page.url.split("?done=", 1)[-1])

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{desk}/posts/1")
    expect(video).to_be_visible()
    assert fits_the_width(page)
    box = video.bounding_box()
    assert box and box["width"] <= 390 and box["x"] >= 0
    page.goto(f"{desk}/posts/2")  # the one left in review
    assert fits_the_width(page)
    card = page.locator('.card[data-channel="outbox"]').bounding_box()
    image = page.locator('.card[data-channel="outbox"] img.card-media')
    expect(image).to_be_visible()  # the image inside the channel card, loaded, within its box
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    box = image.bounding_box()
    assert card and box and card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
    decide = page.locator("#decide").bounding_box()
    plan = page.locator("#plan").bounding_box()
    pipeline = page.locator("#pipeline").bounding_box()
    assert decide and plan and pipeline and decide["y"] < plan["y"] and decide["y"] < pipeline["y"]
    expect(page.locator("#approve")).to_be_visible()
    shot(page, "post-390.png")


def test_the_page_works_without_javascript(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900}).new_page()
    on_post(page, desk, "/posts/2")
    tags = page.locator("#edit input[name=hashtags]").input_value()
    page.locator("#edit summary").click()  # a <details> opens without script
    page.locator("#edit textarea[name=caption]").fill(BANNED)
    page.click("text=Save (checks run again)")
    outbox = page.locator('.card[data-channel="outbox"] .part')
    expect(outbox).to_have_text(f"{BANNED}\n\n{tags}")  # the hashtags field made the caption's last line
    expect(page.locator("#checks li").first).to_contain_text("fail banned_phrases")

    page.click("#approve")  # no script to ask first: the server refuses and the page asks for the reason
    expect(page.locator(".error")).to_contain_text("fails its checks (banned_phrases): give a reason")
    expect(page.locator("#override")).to_be_visible()
    page.fill("#override", "quoting a critic")
    page.click("#approve-anyway")
    expect(page.locator("#done")).to_contain_text("Approved #2")
