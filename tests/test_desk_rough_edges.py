"""Rough edges a reviewer hit on the desk (issue 32): a reject by its kind alone, what the planner dropped shown
on the batch page as `batch show` shows it, and the rest of the list, each tried in Chromium as well."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import repo
from beatdesk_cli.main import app
from review_web.app import create_app
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, Desk, desk_home, form_token, log_in
from tests.test_review_desk_pages import edit_caption, on_post, shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)
from tests.test_review_web import log_in as browser_log_in


@pytest.fixture
def made(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=2) as home_desk:
        yield home_desk


def test_a_reject_needs_only_its_kind(made: Desk) -> None:
    client = log_in(made.client())
    page = client.get("/posts/1").text
    assert 'id="reject-reason" required' not in page  # the browser does not ask for words either
    answer = client.post(
        "/posts/1/reject", data={"code": "off_beat", "reason": "", "csrftoken": form_token(client, "/posts/1")}
    )
    assert answer.status_code == 200 and "Rejected #1: off the persona&#39;s beats" in answer.text
    with made.store.session() as session:
        post = repo.get_post(session, 1)
    assert (post.status, post.reason_code) == ("rejected", "off_beat")
    neither = client.post(
        "/posts/2/reject", data={"code": "", "reason": " ", "csrftoken": form_token(client, "/posts/2")}
    )
    assert "a rejection needs a reason" in neither.text
    with made.store.session() as session:
        assert repo.get_post(session, 2).status == "in_review"


def test_the_batch_page_shows_what_the_planner_dropped(made: Desk, cli: CliRunner) -> None:
    run_cli(cli, "review", "reject", "1", "--reason-code", "too_close")
    second = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "5", "--video", "0", "--json")
    dropped = run_cli(cli, "batch", "show", str(second["batch_id"]), "--json")["dropped"]
    assert dropped
    page = log_in(made.client()).get(f"/batches/{second['batch_id']}").text
    assert f"Dropped by the planner ({len(dropped)})" in page
    assert all(str(escape(line)) in page for line in dropped)


def test_the_batch_page_lists_the_dropped_items_with_their_reasons_in_a_browser(
    desk: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    cli: CliRunner,
) -> None:
    run_cli(cli, "review", "reject", "1", "--reason-code", "too_close")
    second = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "5", "--video", "0", "--json")
    dropped = run_cli(cli, "batch", "show", str(second["batch_id"]), "--json")["dropped"]
    assert dropped
    page = browser.new_page()
    browser_log_in(page, desk, f"/batches/{second['batch_id']}")
    expect(page.locator("#dropped h2")).to_have_text(f"Dropped by the planner ({len(dropped)})")
    expect(page.locator("#dropped li")).to_have_text(dropped)  # each with the planner's reason, as `batch show` says
    shot(page, "batch-dropped.png")


def audit_of(made: Desk, post_id: int) -> list[tuple[str, str | None]]:
    with made.store.session() as session:
        return [(event.action, event.note) for event in repo.get_post(session, post_id).events]


def test_the_api_and_the_cli_reject_by_a_code_alone_into_the_audit_log(made: Desk, cli: CliRunner) -> None:
    api = TestClient(made.client().app, base_url="http://testserver/api")
    review = {"Authorization": f"Bearer {made.token('rita', 'review')}"}
    neither = api.post("/posts/1/reject", headers=review, json={})
    assert neither.status_code == 422 and "a rejection needs a reason or a code" in neither.json()["detail"]
    unknown = api.post("/posts/1/reject", headers=review, json={"code": "boring"})
    assert unknown.status_code == 422 and "unknown reason code" in unknown.json()["detail"]
    assert api.post("/posts/1/reject", headers=review, json={"code": "wrong_facts"}).json()["status"] == "rejected"
    assert ("reject", "wrong or unsupported facts") in audit_of(made, 1)
    rejected = run_cli(cli, "review", "reject", "2", "--reason-code", "tone", "--json")
    assert rejected["status"] == "rejected"
    assert ("reject", "not the persona's voice") in audit_of(made, 2)
    with made.store.session() as session:
        assert [repo.get_post(session, i).reason_code for i in (1, 2)] == ["wrong_facts", "tone"]


def test_a_kind_alone_rejects_in_a_browser(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page()
    browser_log_in(page, desk, "/posts/2")
    page.select_option("#reject-code", "off_beat")
    page.click("#reject")  # the reason box left empty
    expect(page.locator("#done")).to_contain_text("Rejected #2: off the persona's beats")
    page.goto(f"{desk}/posts/2")
    expect(page.locator("#status")).to_have_text("rejected")
    expect(page.locator("#audit")).to_contain_text("off the persona's beats")


def test_n_walks_the_posts_in_the_queue_s_order(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page()
    browser_log_in(page, desk)
    page.goto(f"{desk}/?status=in_review")
    listed = [link.get_attribute("href") for link in page.locator("#queue tbody tr td a[href^='/posts/']").all()]
    assert listed == ["/posts/3", "/posts/2", "/posts/1"]  # newest first
    page.goto(f"{desk}{listed[0]}")
    walked = [listed[0]]
    for _ in listed[1:]:
        page.wait_for_load_state()  # post.js listens once the page has loaded
        page.keyboard.press("n")
        expect(page).not_to_have_url(f"{desk}{walked[-1]}")
        walked.append(page.url.removeprefix(desk))
    assert walked == listed
    expect(page.locator("#next-post")).to_have_count(0)  # the last in the queue has no next
    page.keyboard.press("p")
    expect(page).to_have_url(f"{desk}{listed[1]}")


def test_correct_logins_never_lock_a_person_out_and_failures_do(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page()
    for _ in range(6):  # six correct logins within the minute
        browser_log_in(page, desk)
        expect(page.locator("#queue")).to_be_visible()
        page.click("text=Log out")
    for _ in range(5):
        page.fill("input[name=name]", "rita")
        page.fill("input[name=password]", "not her password")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_have_text("Wrong name or password.")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")  # the sixth try within the minute, right or wrong, waits
    expect(page.locator(".error")).to_have_text("Too many attempts; wait a minute and try again.")


def test_saving_says_what_the_edit_changed_and_bulk_actions_say_what_they_did(desk: str, browser: Browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    on_post(page, desk, "/posts/2")
    edit_caption(page, "A game-changer, they say. Measure it.")
    expect(page.locator("#done")).to_have_text("Saved caption · now failing: banned_phrases")
    expect(page.locator("#done")).to_be_in_viewport()  # at the top, not below the fold with the checks
    shot(page, "post-saved-notice.png")
    page.wait_for_load_state()
    edit_caption(page, "Measure it on your own data before you believe it.")
    expect(page.locator("#done")).to_have_text("Saved caption · now passing: banned_phrases")

    page.goto(f"{desk}/posts/1")
    page.select_option("#reject-code", "tone")
    page.click("#reject")
    page.goto(f"{desk}/posts/1")
    expect(page.locator("#status")).to_have_text("rejected")
    expect(page.locator("#reopen")).to_be_visible()
    expect(page.locator("#edit, .channel-edit")).to_have_count(0)  # no Edit on a rejected post: reopen it first
    page.wait_for_load_state()
    page.keyboard.press("e")  # and the key does nothing
    expect(page).to_have_url(f"{desk}/posts/1")

    page.goto(f"{desk}/?status=in_review")
    page.wait_for_load_state()
    page.keyboard.press("A")  # nothing ticked
    expect(page.locator(".error")).to_contain_text("Nothing selected: tick the posts first")
    expect(page.locator("#queue tbody tr")).to_have_count(2)
    page.locator("#queue input[type=checkbox]").nth(0).check()
    page.locator("#queue input[type=checkbox]").nth(1).check()
    page.click("#approve-selected")
    expect(page.locator("#done")).to_have_text("Approved 2 posts: #3, #2")
    shot(page, "queue-bulk-approved.png")


def test_the_readme_s_desk_example_makes_an_admin_first_whose_admin_pages_open(cli: CliRunner, home: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## First steps", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    adds = [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.startswith("beatdesk users add")]
    assert adds and "admin" in adds[0]  # the first person made is an admin
    run_cli(cli, "init")
    for add in adds:  # as typed, with the password piped in instead of asked for
        assert cli.invoke(app, [*add[1:], "--password-stdin"], input=PASSWORD + "\n").exit_code == 0
    first = adds[0][3]
    client = TestClient(create_app(get_settings()))
    log_in(client, first)
    assert client.get("/admin/users").status_code == 200
