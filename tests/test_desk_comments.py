"""A post's comment thread in Chromium, at 1280 and 390 px: written with a mention, counted in the queue,
resolved, and never wider than a phone's screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from tests.desk_client import served_desk
from tests.test_review_desk_pages import fits_the_width, on_post, shot
from tests.test_review_web import add_admin, browser  # noqa: F401  (fixtures)


@pytest.fixture
def hero_desk(cli: CliRunner, home: Path) -> Iterator[str]:
    """Two hero posts (no video: the thread does not care), rita the reviewer and ada the admin."""
    with served_desk(cli, home, video=0) as url:
        add_admin(home)
        yield url


@pytest.mark.parametrize("width", [1280, 390])
def test_a_thread_is_written_counted_and_resolved(browser: Browser, hero_desk: str, width: int) -> None:  # noqa: F811
    page: Page = browser.new_page(viewport={"width": width, "height": 900})
    on_post(page, hero_desk, "/posts/1")
    thread = page.locator("#comments")
    expect(thread.locator("h2")).to_contain_text("0 open")
    expect(thread).to_contain_text("No comments yet.")

    page.fill("#comment-text", "Is the figure in the second paragraph from the source, @ada?\nIt reads high.")
    page.keyboard.press("Tab")  # leaving the box: typed keys went into it, not to the page's shortcuts
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#done")).to_contain_text("Comment added, telling @ada")
    comment = thread.locator("article.comment").first
    expect(comment).to_contain_text("Is the figure in the second paragraph from the source, @ada?")
    expect(comment.locator(".mention")).to_have_text("@ada")
    expect(comment.locator(".comment-head")).to_contain_text("rita")
    expect(thread.locator("h2")).to_contain_text("1 open")
    assert fits_the_width(page)
    shot(page, f"post-comments-{width}.png")

    page.goto(f"{hero_desk}/?status=")
    badge = page.locator("tr:has(a[href='/posts/1']) .comments-badge")
    expect(badge).to_have_text("💬 1 open comment")
    badge.click()
    expect(page).to_have_url(f"{hero_desk}/posts/1#comments")

    thread.get_by_role("button", name="Resolve").click()
    expect(page.locator("#done")).to_contain_text("resolved")
    expect(thread.locator("h2")).to_contain_text("0 open, 1 resolved")
    expect(thread.locator("article.comment.resolved")).to_contain_text("resolved by rita")
    page.goto(f"{hero_desk}/?status=")
    expect(page.locator(".comments-badge")).to_have_count(0)
    page.close()
