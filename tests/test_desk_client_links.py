"""A client link in Chromium at 1280 and 390 px: a stranger sees the post's channel cards with its image,
asks for a change, approves, and the desk's pages stay behind a login."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from tests.desk_client import served_desk
from tests.test_review_desk_pages import fits_the_width, shot
from tests.test_review_web import browser  # noqa: F401  (fixtures)


@pytest.fixture
def hero_desk(cli: CliRunner, home: Path) -> Iterator[str]:
    with served_desk(cli, home, video=0) as url:
        yield url


def link_to(home: Path, post_id: int) -> str:
    made = subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "link", "create", "--post", str(post_id),
                           "--for", "acme"], env=os.environ | {"BEATDESK_HOME": str(home)}, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return made.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("width", [1280, 390])
def test_a_client_asks_for_a_change_then_approves(browser: Browser, hero_desk: str, home: Path, width: int) -> None:  # noqa: F811
    url = link_to(home, 1).replace("http://127.0.0.1:8000", hero_desk)
    page: Page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    post = page.locator("#post-1")
    expect(post.locator("article.card").first).to_be_visible()
    expect(post.locator("img.card-media")).to_have_js_property("complete", True)
    assert post.locator("img.card-media").evaluate("img => img.naturalWidth") > 0  # the card image loads
    assert fits_the_width(page)
    shot(page, f"client-link-{width}.png")

    post.locator("textarea[name=note]").fill("Could the first line name the 4.1 points?")
    post.get_by_role("button", name="Ask for changes").click()
    expect(page.locator("#done")).to_contain_text("Asked for changes to post 1")
    expect(page.locator("#post-1 .client-said")).to_contain_text("Could the first line name the 4.1 points?")
    page.locator("#post-1").get_by_role("button", name="Approve").click()
    expect(page.locator("#done")).to_contain_text("Approved post 1")
    expect(page.locator("#post-1 .pill")).to_have_text("approved")
    expect(page.locator("#post-1").get_by_role("button", name="Approve")).to_have_count(0)

    page.goto(f"{hero_desk}/posts/2")
    expect(page).to_have_url(f"{hero_desk}/login?next=/posts/2")  # the link opened nothing else
    page.close()
