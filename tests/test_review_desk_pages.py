"""The desk as a publishing desk, driven in headless Chromium: the post as each channel shows it, deciding
from the keyboard, failing checks approved only with a reason, the queue at a glance, at 1280 and 390 px."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.test_review_web import ARTIFACTS, browser, desk, log_in  # noqa: F401  (fixtures)

CHANNELS = """
[[channels]]
name = "bluesky"
account = "ash.bsky.social"

[[channels]]
name = "linkedin"
account = "urn:li:person:ash"
max_length = 60
"""
RED = "rgb(179, 38, 30)"


def add_channels(home: Path) -> None:
    """Bluesky (threads a long body) and a LinkedIn with a 60-character limit (no threads: over it)."""
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text() + CHANNELS)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def on_post(page: Page, url: str, path: str) -> None:
    log_in(page, url, path)
    expect(page).to_have_url(f"{url}{path}")
    expect(page.locator("#title")).to_be_visible()
    page.wait_for_load_state()  # post.js (deferred) listens for keys only once the page has loaded


def edit_caption(page: Page, text: str) -> None:
    """A new caption ending on the post's own hashtags, as the checks want."""
    page.keyboard.press("e")
    expect(page.locator("textarea[name=caption]")).to_be_focused()
    tags = page.locator("input[name=hashtags]").input_value()
    page.fill("textarea[name=caption]", f"{text}\n\n{tags}")
    page.click("text=Save (checks run again)")


def test_the_post_shows_as_each_channel_will(desk: str, browser: Browser, home: Path) -> None:  # noqa: F811
    add_channels(home)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/2")
    edit_caption(page, "<script>window.pwned = 1</script> measure it yourself.")

    outbox = page.locator('.card[data-channel="outbox"]')
    image = outbox.locator("img.card-media")
    expect(image).to_be_visible()  # the image inside the channel card, loaded
    assert page.evaluate("document.querySelector('.card[data-channel=outbox] img.card-media').naturalWidth") > 0
    expect(outbox.locator(".alt")).to_contain_text("Alt text:")
    expect(outbox).to_contain_text("<script>window.pwned = 1</script>")  # stored text shows as text
    assert page.evaluate("window.pwned") is None

    bluesky = page.locator('.card[data-channel="bluesky"]')
    expect(bluesky.locator(".part-no").first).to_have_text(f"1/{bluesky.locator('.part-box').count()}")
    assert bluesky.locator(".part-box").count() > 1  # the body as a numbered thread
    expect(bluesky.locator(".counter.over")).to_have_count(0)
    expect(bluesky.locator(".counter").first).to_contain_text("/ 300 characters")

    linkedin = page.locator('.card[data-channel="linkedin"]')
    counter = linkedin.locator(".counter")
    expect(counter).to_have_class("counter over")  # past the 60-character limit: red
    assert counter.evaluate("el => getComputedStyle(el).color") == RED
    expect(linkedin.locator(".card-error")).to_contain_text("shorten the caption")

    side = page.locator(".post-side")
    assert side.evaluate("el => getComputedStyle(el).position") == "sticky"
    expect(page.locator("#slot-pick option").first).to_contain_text("(Europe/Berlin)")
    shot(page, "post-hero-1280.png")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(image).to_be_visible()
    assert fits_the_width(page)
    assert image.bounding_box()["width"] <= 390  # type: ignore[index]
    shot(page, "post-hero-390.png")

    page.goto(f"{desk}/posts/1")  # the video post: the video inside the card, sized to fit, inline
    video = page.locator('.card[data-channel="outbox"] video.card-media')
    expect(video).to_be_visible()
    assert video.get_attribute("playsinline") is not None
    assert video.bounding_box()["width"] <= 390  # type: ignore[index]
    assert fits_the_width(page)
    shot(page, "post-video-390.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    card_width = page.locator('.card[data-channel="outbox"]').bounding_box()["width"]  # type: ignore[index]
    assert video.bounding_box()["width"] <= card_width  # type: ignore[index]
    shot(page, "post-video-1280.png")


def test_failing_checks_need_a_reason_and_the_keyboard_moves_on(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/2")
    page.keyboard.press("n")  # the queue's order, newest first: on to the older one
    expect(page).to_have_url(f"{desk}/posts/1")
    page.wait_for_load_state()
    page.keyboard.press("p")
    expect(page).to_have_url(f"{desk}/posts/2")
    page.wait_for_load_state()
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#keys-help")).to_be_hidden()  # closed before the next key, or that key goes to the dialog

    edit_caption(page, "A game-changer, they say. Measure it.")
    expect(page.locator("#checks li").first).to_contain_text("fail banned_phrases")  # fails first, explained

    # The server refuses it without a reason, whatever the browser does.
    token = page.locator("#approve-form input[name=csrftoken]").input_value()
    answer = page.request.post(f"{desk}/posts/2/approve", form={"csrftoken": token})
    assert "fails its checks (banned_phrases)" in answer.text()
    page.reload()
    page.keyboard.press("Escape")  # the refusal opened the confirmation; start again from the keyboard
    expect(page.locator("#status")).to_have_text("in_review")

    page.keyboard.press("a")
    dialog = page.locator("#confirm-approve")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("banned_phrases")
    page.fill("#override", "quoting a critic, on purpose")
    page.click("#approve-anyway")
    expect(page).to_have_url(f"{desk}/posts/1?done=" + page.url.split("?done=", 1)[-1])
    expect(page.locator("#done")).to_contain_text("Approved #2")
    expect(page.locator("#done")).to_contain_text("(Europe/Berlin)")
    page.wait_for_load_state()

    page.keyboard.press("a")  # no failing check: approved at once, and on to the next post in review
    expect(page.locator("#done")).to_contain_text("Approved #1")
    expect(page).to_have_url(f"{desk}/posts/3?done=" + page.url.split("?done=", 1)[-1])  # back to the newest

    page.goto(f"{desk}/posts/2")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("#slot")).to_contain_text("(Europe/Berlin)")
    expect(page.locator("#audit")).to_contain_text("approved despite failing checks (banned_phrases): quoting a critic")


def test_the_queue_at_a_glance_and_bulk_reject(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/3")
    edit_caption(page, "<b>A game-changer</b> first line.")
    page.goto(f"{desk}/?sort=oldest")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#queue img.qthumb")).to_have_count(3)  # the cards and the video's cover
    expect(rows.nth(2).locator(".first-line")).to_have_text("<b>A game-changer</b> first line.")
    expect(rows.nth(2).locator(".fail-badge")).to_contain_text("banned_phrases")
    expect(rows.nth(0).locator(".fail-badge")).to_have_count(0)
    pill = rows.nth(0).locator(".pill")
    assert pill.evaluate("el => getComputedStyle(el).backgroundColor") != rows.nth(0).evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    shot(page, "queue-1280.png")

    page.locator("#queue input[type=checkbox]").nth(1).check()
    page.locator("#queue input[type=checkbox]").nth(2).check()
    page.click("#reject-selected")  # without a reason: refused, nothing changes
    expect(page.locator(".error")).to_contain_text("a rejection needs a reason")
    expect(page.locator("#queue .status-rejected")).to_have_count(0)
    page.locator("#queue input[type=checkbox]").nth(1).check()
    page.locator("#queue input[type=checkbox]").nth(2).check()
    page.fill("#bulk-reason", "off-beat this week")
    page.click("#reject-selected")
    expect(page.locator("#queue .pill.status-rejected")).to_have_count(2)

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#queue img.qthumb").first).to_be_visible()
    assert fits_the_width(page)
    shot(page, "queue-390.png")
