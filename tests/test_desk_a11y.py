"""The desk for people who use a keyboard or a screen reader: axe-core finds nothing on any page at 1280 and
390 px; every page starts with a skip link to its main content; Tab reaches every control and shows a ring on it;
the calendar moves a post to a free slot from the keyboard. Driven in Debian's headless Chromium against
`beatdesk serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import Store, open_store, repo
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, served_desk
from tests.test_desk_calendar import berlin, next_monday
from tests.test_desk_client_links import link_to
from tests.test_review_desk_pages import shot
from tests.test_review_web import add_admin, browser  # noqa: F401  (fixture)

WIDTHS = {1280: 900, 390: 844}
PAGES = {
    "queue": "/",
    "post-hero": "/posts/2",
    "post-video": "/posts/1",
    "post-rejected": "/posts/3",
    "batch": "/batches/1",
    "calendar-week": "/calendar?persona=ash",
    "calendar-moving": "/calendar?persona=ash&move=4",
    "calendar-month": "/calendar?persona=ash&view=month",
    "persona": "/personas/ash",
    "evals": "/evals",
    "attention": "/attention",
    "users": "/admin/users",
    "personas": "/admin/personas",
    "persona-edit": "/admin/personas/ash",
    "persona-new": "/admin/personas/new",
    "not-found": "/posts/999",
}
INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])"


@pytest.fixture
def served(cli: CliRunner, home: Path) -> Iterator[tuple[str, Store]]:
    """The desk with something on every page: posts in review (a video, an image), a rejected one (a row on the
    evals page), approved ones on the calendar, a late and a failed one needing attention; rita and ada (admin)."""
    with served_desk(cli, home, video=1) as url:
        add_admin(home)
        run_cli(cli, "batch", "run", "--persona", "ash", "--items", "3", "--video", "0")
        run_cli(cli, "review", "reject", "3", "--reason-code", "off_beat", "--reason", "not one of ash's beats")
        for post_id in (4, 5, 6):
            run_cli(cli, "review", "approve", str(post_id))
        store = open_store(get_settings().effective_database_url)
        with store.session() as session:
            repo.set_slot(session, post_id=4, slot_at=berlin(next_monday(), 8))  # a week of free slots round it
            repo.set_slot(session, post_id=5, slot_at=datetime.now(UTC) - timedelta(hours=1))
            repo.fail_post(session, post_id=6, actor="reconciler", reason="the publisher gave up")
        yield url, store


def log_in_as(page: Page, url: str, name: str = "ada") -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/")


def findings(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it stands (every impact), one line each."""
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:4]]}" for v in violations]


def test_axe_finds_nothing_on_any_page_at_1280_and_390(served: tuple[str, Store], browser: Browser, home: Path) -> None:  # noqa: F811
    url, _ = served
    client = link_to(home, 2).replace("http://127.0.0.1:8000", url)
    found: list[str] = []
    for width, height in WIDTHS.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{url}/login")
        found += [f"{width} login: {line}" for line in findings(page)]
        page.goto(client)  # what a client without an account sees
        found += [f"{width} client link: {line}" for line in findings(page)]
        if width < 1280:
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        log_in_as(page, url)
        for name, path in PAGES.items():
            page.goto(f"{url}{path}")
            page.wait_for_load_state()
            found += [f"{width} {name}: {line}" for line in findings(page)]
        page.goto(f"{url}/posts/2")  # everything folded away unfolded: the draft, pipeline, history, audit log
        page.wait_for_load_state()
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        found += [f"{width} post, unfolded: {line}" for line in findings(page)]
        page.keyboard.press("?")
        expect(page.locator("#keys-help")).to_be_visible()
        found += [f"{width} post, keys dialog: {line}" for line in findings(page)]
        page.close()
    assert not found, "\n".join(found)


def focused(page: Page) -> dict[str, Any]:
    """The element with the focus: its mark (see `mark_interactive`), tag and the ring drawn round it."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return {mark: el.dataset.a11y || null, tag: el.tagName.toLowerCase(), id: el.id,
                outline: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0};
    }""")


def mark_interactive(page: Page) -> dict[str, str]:
    """Every control a person can see on the page, marked with a number; what each is, by number."""
    return page.evaluate(
        """(selector) => {
        const seen = {};
        document.querySelectorAll(selector).forEach((el, i) => {
            if (el.disabled || !el.checkVisibility({visibilityProperty: true})) return;
            if (el.tagName === "A" && el.closest("summary")) return;  // a link inside a summary: the summary's
            el.dataset.a11y = String(i);
            seen[String(i)] = el.outerHTML.slice(0, 120);
        });
        return seen;
    }""",
        INTERACTIVE,
    )


def to_the_skip_link(page: Page, name: str) -> None:
    """From a page just opened, the key presses to its skip link: the first Tab, or back from the login form's name
    field, which has the focus as the login page opens (in its main content already)."""
    if name == "login":
        expect(page.locator("input[name=name]")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
    else:
        page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to the main content")
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["height"] > 10, f"{name}: the skip link is not on the screen when focused"


def test_a_skip_link_then_tab_reaches_every_control_with_a_ring(served: tuple[str, Store], browser: Browser) -> None:  # noqa: F811
    url, _ = served
    anonymous = browser.new_page(viewport={"width": 1280, "height": 900})
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in_as(page, url)
    missed: list[str] = []
    for name, path in {"login": "/login", **PAGES}.items():
        on = anonymous if name == "login" else page
        on.goto(f"{url}{path}")
        on.wait_for_load_state()
        to_the_skip_link(on, name)
        on.keyboard.press("Enter")
        expect(on.locator("main#main")).to_be_focused()
        on.keyboard.press("Tab")
        assert on.evaluate("document.activeElement.closest('main') !== null"), f"{name}: Tab after the skip link"

        on.goto(f"{url}{path}")  # from the top again: Tab until the focus leaves the page
        on.wait_for_load_state()
        controls = mark_interactive(on)
        to_the_skip_link(on, name)
        reached = {focused(on)["mark"]}
        for _ in range(3 * len(controls) + 10):
            on.keyboard.press("Tab")
            now = focused(on)
            if now["tag"] == "body":
                break
            reached.add(now["mark"])
            if now["tag"] != "video" and not (now["outline"] == "solid" and now["width"] >= 2):
                missed.append(f"{name}: no focus ring on {now}")
        missed += [f"{name}: Tab never reaches {html}" for mark, html in controls.items() if mark not in reached]
    assert not missed, "\n".join(missed)


def test_a_post_moves_to_a_free_slot_from_the_keyboard(served: tuple[str, Store], browser: Browser) -> None:  # noqa: F811
    url, store = served
    monday = next_monday()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in_as(page, url)
    page.goto(f"{url}/calendar?persona=ash&start={monday}")
    pick = page.locator('.cal-post[data-post="4"] a.cal-pick-post')
    for _ in range(60):
        page.keyboard.press("Tab")
        if pick.evaluate("el => el === document.activeElement"):
            break
    expect(pick).to_be_focused()
    page.keyboard.press("Enter")
    moving = page.locator("#moving")
    expect(moving).to_contain_text("Moving #4")
    expect(moving).to_be_focused()  # the page goes on from the line that says what to do
    expect(page.locator('.cal-post[data-post="4"]')).to_have_class(re.compile(r"\bmoving\b"))
    shot(page, "calendar-keyboard-moving.png")

    thursday_evening = berlin(monday + timedelta(days=3), 17)
    target = page.locator(f'.cal-free[data-slot="{thursday_evening.isoformat()}"] button')
    expect(target).to_have_text("move #4 here")  # and to a screen reader, where to
    expect(target).to_have_accessible_name(re.compile(r"^move #4 here: Thu \d\d \w+ \d{4} 17:30 CET"))
    for _ in range(40):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_contain_text("Moved #4")
    expect(
        page.locator(f'section[data-day="{monday + timedelta(days=3)}"] .cal-post[data-post="4"] .cal-time')
    ).to_have_text("17:30")
    expect(page.locator("#moving")).to_have_count(0)
    with store.session() as session:
        assert repo.get_post(session, 4).slot_at == thursday_evening
    shot(page, "calendar-keyboard-moved.png")
