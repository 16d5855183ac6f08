"""The queue keeps its place: back from a post page (after the last decision, or by the header's link) on the
same page and filters, a page emptied by decisions shows the last one left, the status counts keep the filters;
and it reads at a glance at 1280 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from review_web.pages import PAGE_SIZE
from tests.desk_client import Desk, desk_home, form_token, log_in
from tests.test_review_desk_pages import fits_the_width, shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)
from tests.test_review_web import log_in as browser_log_in


@pytest.fixture
def home_desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=3) as made:
        yield made


def test_after_the_last_decision_the_queue_comes_back_on_its_filters(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    filtered = client.get("/?status=in_review&sort=oldest&format=hero_text&q=")
    assert filtered.status_code == 200 and 'id="all-posts"' in filtered.text
    token = form_token(client, "/?status=in_review&sort=oldest&format=hero_text")
    for post_id in (1, 2, 3):  # each rejection goes on to the next post in review, the last one to the queue
        decided = client.post(f"/posts/{post_id}/reject", data={"reason": "not this week", "csrftoken": token},
                              follow_redirects=False)  # fmt: skip
        target = decided.headers["location"]
    assert target.startswith("/?done=")
    back = client.get(target, follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"].startswith("/?status=in_review&format=hero_text&sort=oldest&done=Rejected")
    page = client.get(back.headers["location"]).text
    assert "Rejected #3" in page and '<option value="in_review" selected>' in page

    assert (
        client.get("/", follow_redirects=False).headers["location"] == "/?status=in_review&format=hero_text&sort=oldest"
    )
    assert client.get("/?p=1").status_code == 200  # asked for plainly: the unfiltered queue, and the new place
    assert client.get("/", follow_redirects=False).status_code == 200


def test_a_page_emptied_by_decisions_shows_the_last_page_left(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    beyond = client.get(f"/?status=in_review&p={PAGE_SIZE}")
    assert beyond.status_code == 200 and "page 1 of 1" in beyond.text and "No posts match" not in beyond.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/?status=in_review"


def test_the_status_counts_keep_the_other_filters(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    page = client.get("/?persona=ash&sort=oldest&q=model").text
    assert 'href="/?persona=ash&amp;status=in_review&amp;sort=oldest&amp;q=model"' in page


def test_a_cookie_edited_by_hand_changes_nothing_else(home_desk: Desk) -> None:
    client = log_in(home_desk.client())
    client.cookies.set("beatdesk_queue", "next=//evil.example&status=rejected&p=99999999999999&p=x&persona=" + "a" * 65)
    moved = client.get("/", follow_redirects=False)
    assert moved.headers["location"] == "/?status=rejected"
    assert client.get(moved.headers["location"]).status_code == 200


def test_the_queue_at_a_glance_at_1280_and_390(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    browser_log_in(page, desk, "/posts/3")
    expect(page.locator("#title")).to_be_visible()
    form = {
        name: page.locator(f"[name={name}]").first.input_value() for name in ("csrftoken", "title", "body", "hashtags")
    }
    form["caption"] = "<script>window.pwned = 1</script> A game-changer, first line.\n\n" + form["hashtags"]
    assert page.request.post(f"{desk}/posts/3/edit", form=form).ok  # as the edit form sends it
    page.goto(f"{desk}/?sort=oldest")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#queue img.qthumb")).to_have_count(3)
    expect(rows.nth(2).locator(".first-line")).to_have_text(
        "<script>window.pwned = 1</script> A game-changer, first line."
    )
    expect(rows.nth(2).locator(".fail-badge")).to_contain_text("banned_phrases")
    expect(rows.nth(0).locator("td.num").last).to_have_text("0")  # the cost
    assert page.evaluate("window.pwned") is None
    shot(page, "queue.png")

    rows.nth(1).locator("a").first.click()  # open a post; the header's link leads back to the queue as it was
    page.click("header a.brand")
    expect(page).to_have_url(f"{desk}/?sort=oldest")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#queue img.qthumb").first).to_be_visible()
    expect(rows.nth(2).locator(".fail-badge")).to_be_visible()
    expect(rows.nth(0).locator(".pill")).to_be_visible()
    assert fits_the_width(page)
    shot(page, "queue-390.png")
