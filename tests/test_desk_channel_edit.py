"""Editing one channel's text on the post page, in headless Chromium against `beatdesk serve`: the card's
count follows the typing, a text over the channel's limit is refused with one line, a saved own text and
first comment show on that card alone, and a reset brings the generated text back."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.test_review_desk_pages import RED, add_channels, on_post, shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)

MASTODON = """
[[channels]]
name = "mastodon"
url = "https://mastodon.example"
"""
OWN = "Your prompt is most of your inference bill.\n\nTrim it before you shop for a smaller model."
COMMENT = "Where the numbers come from: the cost study linked in my profile."


def test_one_channel_is_edited_on_its_card(desk: str, browser: Browser, home: Path) -> None:  # noqa: F811
    add_channels(home)  # bluesky, and a linkedin of 60 characters
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text() + MASTODON)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/2")
    mastodon = page.locator('.card[data-channel="mastodon"]')
    bluesky = page.locator('.card[data-channel="bluesky"]')
    linkedin = page.locator('.card[data-channel="linkedin"]')
    bluesky_before = bluesky.locator(".part").all_inner_texts()

    # LinkedIn takes no thread: past its 60 characters the count turns red as you type, and saving is refused.
    linkedin.locator("summary", has_text="Edit linkedin").click()
    text = linkedin.locator("textarea[name=text]")
    text.fill("")
    text.press_sequentially("Short enough for this LinkedIn.")
    expect(linkedin.locator(".channel-count")).to_have_text("31 / 60 characters in all")
    expect(linkedin.locator(".channel-count")).not_to_have_class("count channel-count over")
    text.press_sequentially(" And now a good deal longer than sixty.")
    expect(linkedin.locator(".channel-count")).to_have_class("count channel-count over")
    assert linkedin.locator(".channel-count").evaluate("el => getComputedStyle(el).color") == RED
    expect(linkedin.locator(".preview-state")).to_contain_text("over the limit")
    linkedin.locator(".save-channel").click()
    expect(page.locator("p.error")).to_have_text(
        "linkedin: the text is 70 characters as linkedin counts them, over its 60: shorten it by 10"
    )
    expect(linkedin.locator(".own-text")).to_have_count(0)  # nothing was kept

    # Mastodon: its own text and a first comment, previewed on its card, then saved.
    mastodon.locator("summary", has_text="Edit mastodon").click()
    mastodon.locator("textarea[name=text]").fill(OWN)
    mastodon.locator("textarea[name=first_comment]").fill(COMMENT)
    expect(mastodon.locator(".part")).to_have_count(1)  # the generated thread gives way to the one own post
    expect(mastodon.locator(".part")).to_have_text(OWN)
    expect(mastodon.locator(".comment-text")).to_have_text(COMMENT)
    expect(mastodon.locator(".channel-count")).to_have_text(f"{len(OWN)} / 500 characters in all")
    mastodon.locator(".save-channel").click()

    expect(page.locator("#done")).to_contain_text("Saved mastodon")  # said at the top, with the checks it changed
    expect(mastodon.locator(".own-text")).to_have_text("own text")
    expect(mastodon.locator(".part")).to_have_text(OWN)
    expect(mastodon.locator(".comment-box")).to_be_visible()
    expect(mastodon.locator(".comment-text")).to_have_text(COMMENT)
    assert bluesky.locator(".part").all_inner_texts() == bluesky_before  # the other channels keep the generated text
    expect(page.locator("#checks")).to_contain_text("mastodon: own text and first comment")
    page.locator("#audit summary").click()
    expect(page.locator("#audit")).to_contain_text("mastodon: own text (Your prompt is most of your inference bill.")
    mastodon.locator("summary", has_text="Edit mastodon").click()  # the saved text and comment, ready to edit again
    expect(mastodon.locator("textarea[name=text]")).to_have_value(OWN)
    expect(mastodon.locator("textarea[name=first_comment]")).to_have_value(COMMENT)
    mastodon.scroll_into_view_if_needed()
    shot(page, "post-channel-edit.png")

    mastodon.locator(".reset-channel").click()
    expect(mastodon.locator(".own-text")).to_have_count(0)
    expect(mastodon.locator(".part").first).not_to_have_text(OWN)
    expect(mastodon.locator(".comment-text")).to_have_text(COMMENT)  # a reset is of the text; the comment stays
