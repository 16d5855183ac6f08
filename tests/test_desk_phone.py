"""The desk on a phone (390 by 844 px) in headless Chromium: no page is wider than the screen, a post's decision bar
stays at the foot of the screen wherever one scrolls and hides nothing for good, and the calendar moves a post by
taps alone (no dragging on a touch screen)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from beatdesk.store import Store, repo
from tests.test_desk_a11y import PAGES, log_in_as, served  # noqa: F401  (fixture)
from tests.test_desk_calendar import berlin, next_monday
from tests.test_review_desk_pages import shot
from tests.test_review_web import ARTIFACTS, browser  # noqa: F401  (fixture)

PHONE = {"width": 390, "height": 844}


def phone_page(browser: Browser, url: str) -> Page:  # noqa: F811
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in_as(page, url)
    return page


def test_no_page_is_wider_than_the_phone(served: tuple[str, Store], browser: Browser) -> None:  # noqa: F811
    url, _ = served
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{url}/login")
    widths = {"login": page.evaluate("document.documentElement.scrollWidth")}
    log_in_as(page, url)
    for name, path in PAGES.items():
        page.goto(f"{url}{path}")
        page.wait_for_load_state()
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
    assert {name: wide for name, wide in widths.items() if wide > PHONE["width"]} == {}
    page.goto(f"{url}/evals")  # the widest before: a table of eleven columns, now a card per row
    row = page.locator("#evals tbody tr").first
    expect(row.get_by_role("cell", name="Accepted: 3 (75%)")).to_be_visible()  # each value under its column's name
    shot(page, "evals-390.png")


def bar_in_view(page: Page) -> dict[str, float]:
    """Where the decision bar and its two buttons are on the screen, and whether each button is the element a
    tap at its middle lands on (nothing drawn over it)."""
    return page.evaluate("""() => {
        const box = (el) => el.getBoundingClientRect();
        const hit = (el) => { const b = box(el); return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2)?.closest("button") === el; };
        const bar = box(document.getElementById("decide"));
        return {top: bar.top, bottom: bar.bottom, left: bar.left, right: bar.right, height: bar.height,
                approve: hit(document.getElementById("approve")), reject: hit(document.getElementById("reject")),
                slotRight: box(document.getElementById("slot-pick")).right};
    }""")


def test_the_decision_bar_is_in_reach_and_covers_nothing_for_good(served: tuple[str, Store], browser: Browser) -> None:  # noqa: F811
    url, store = served
    page = phone_page(browser, url)
    page.goto(f"{url}/posts/2")
    page.wait_for_load_state()
    tall = page.evaluate("document.documentElement.scrollHeight")
    assert tall > 3 * PHONE["height"]  # a long page: previews, checks, provenance, plan
    for at in (0, tall // 3, 2 * tall // 3, tall):
        page.evaluate(f"window.scrollTo(0, {at})")
        bar = bar_in_view(page)
        assert bar["top"] >= 0 and bar["bottom"] <= PHONE["height"] + 0.5, (at, bar)
        assert bar["left"] >= 0 and bar["right"] <= PHONE["width"] and bar["slotRight"] <= bar["right"], (at, bar)
        assert bar["approve"] and bar["reject"], (at, bar)
        assert bar["height"] < PHONE["height"] / 4, bar  # a bar, not a second page
    page.evaluate(f"window.scrollTo(0, {tall // 2})")
    page.screenshot(path=str(ARTIFACTS / "post-390-decision-bar.png"))  # the screen as the phone shows it

    # At the end of the page the bar has its own place: the last of the rest ends above it.
    page.evaluate(f"window.scrollTo(0, {tall})")
    covered = page.evaluate("""() => {
        const bar = document.getElementById("decide").getBoundingClientRect();
        return [...document.querySelectorAll(".post-grid section, .post-grid details, .post-grid article")]
            .filter((el) => el.id !== "decide" && !el.closest("#decide") && el.getClientRects().length)
            .filter((el) => { const b = el.getBoundingClientRect(); return b.bottom > bar.top + 1 && b.top < bar.bottom; })
            .map((el) => el.id || el.className);
    }""")
    assert covered == []
    page.screenshot(path=str(ARTIFACTS / "post-390-end.png"))

    # The focus in the bar opens its "or another time"; the slot picked in the bar is the one the post gets.
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator("input[name=at]")).to_be_hidden()
    page.locator("#slot-pick").focus()
    expect(page.locator("input[name=at]")).to_be_in_viewport()
    slot = page.locator("#slot-pick option").nth(1).get_attribute("value")
    page.locator("#slot-pick").select_option(slot)
    page.locator("#approve").tap()
    expect(page.locator("#done")).to_contain_text("Approved #2")
    with store.session() as session:
        assert repo.get_post(session, 2).slot_at.isoformat() == slot  # type: ignore[union-attr]


def test_the_calendar_moves_a_post_by_taps(served: tuple[str, Store], browser: Browser) -> None:  # noqa: F811
    url, store = served
    monday = next_monday()
    page = phone_page(browser, url)
    page.goto(f"{url}/calendar?persona=ash&start={monday}")
    page.locator('.cal-post[data-post="4"] a.cal-pick-post').tap()
    expect(page.locator("#moving")).to_contain_text("Moving #4")
    expect(page.locator("#moving")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "calendar-390-moving.png")
    saturday = berlin(monday + timedelta(days=5), 12)
    page.locator(f'.cal-free[data-slot="{saturday.isoformat()}"] button').tap()
    expect(page.locator("#done")).to_contain_text("Moved #4")
    with store.session() as session:
        assert repo.get_post(session, 4).slot_at == saturday
    expect(page.locator(f'section[data-day="{monday + timedelta(days=5)}"] .cal-post[data-post="4"]')).to_be_visible()
