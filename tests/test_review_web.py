"""The review desk in a real headless Chromium (Debian's), driven by Playwright, against `beatdesk serve`."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, served_desk

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("BEATDESK_TEST_ARTIFACTS", "test-artifacts")).resolve()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture
def desk(cli: CliRunner, home: Path) -> Iterator[str]:
    """A home with a batch of three posts (one a video) and a reviewer, served by `beatdesk serve` on 127.0.0.1."""
    with served_desk(cli, home, video=1) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(page: Page, url: str, path: str = "/") -> None:
    page.goto(f"{url}{path}")
    expect(page).to_have_url(f"{url}/login?next={path}")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def add_admin(home: Path) -> None:
    """ada, an admin, through the CLI as an operator would add her."""
    subprocess.run([sys.executable, "-m", "beatdesk_cli.main", "users", "add", "ada", "--role", "admin", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=os.environ | {"BEATDESK_HOME": str(home)}, check=True)  # fmt: skip


def log_in_again_as_admin(page: Page, url: str, path: str) -> None:
    page.goto(f"{url}/")
    page.click("text=Log out")
    page.goto(f"{url}{path}")
    page.fill("input[name=name]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_a_reviewer_works_the_queue(desk: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, desk)
    expect(page.locator("#queue tbody tr")).to_have_count(3)

    page.select_option("select[name=format]", "video")
    page.click("text=Filter")
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    page.select_option("select[name=format]", "")
    page.select_option("select[name=status]", "in_review")
    page.click("text=Filter")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)

    rows.nth(0).locator("a").first.click()
    expect(page.locator("#pipeline")).to_contain_text("local · pillow-card")
    expect(page.locator("#total-cost")).to_have_text("0 USD")
    expect(page.locator("#plan")).to_contain_text("Why this beat")
    expect(page.locator("#pipeline img.thumb")).to_have_count(1)
    expect(page.locator("#previews")).to_contain_text("outbox")

    page.keyboard.press("e")  # the edit panel opens on the caption
    page.fill("textarea[name=caption]", "A sharper caption.\n\n#AI #Benchmarks")
    page.fill("input[name=hashtags]", "#AI #Benchmarks")  # the caption's tags, so no check fails
    page.click("text=Save (checks run again)")
    expect(page.locator("#caption")).to_contain_text("A sharper caption.")
    expect(page.locator("#audit")).to_contain_text("changed caption, hashtags (before")  # the body came back unchanged
    expect(page.locator("#checks")).to_contain_text("ok paragraphs")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "post-page.png"), full_page=True)

    approved = page.url
    page.click("#approve")
    expect(page.locator("#done")).to_contain_text("Approved #")  # and on to the next post in review
    page.goto(approved)
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("#audit")).to_contain_text("approve")

    page.goto(f"{desk}/?status=in_review")
    page.locator("#queue tbody tr").nth(0).locator("a").first.click()
    page.select_option("#reject-code", "tone")
    rejected = page.url
    page.fill("input[name=reason]", "off-voice")
    page.click("#reject")
    expect(page.locator("#done")).to_contain_text("Rejected #")
    page.goto(rejected)
    expect(page.locator("#status")).to_have_text("rejected")
    expect(page.locator("body")).to_contain_text("reason: off-voice")
    expect(page.locator("body")).to_contain_text("(tone)")

    page.click("text=Log out")
    page.goto(f"{desk}/")
    expect(page).to_have_url(f"{desk}/login?next=/")


def test_html_in_a_draft_shows_as_text(desk: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, desk, "/posts/2")
    expect(page).to_have_url(f"{desk}/posts/2")
    page.wait_for_load_state()  # post.js (deferred) listens for keys only once the page has loaded
    page.keyboard.press("e")
    page.fill("textarea[name=caption]", "<script>window.pwned = 1</script><b>bold?</b>\n\n#AI #Inference")
    page.click("text=Save (checks run again)")
    expect(page.locator("#caption")).to_contain_text("<script>window.pwned = 1</script>")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#caption b").count() == 0


def test_forms_need_a_session_and_a_csrf_token(desk: str) -> None:
    anonymous = httpx.get(f"{desk}/posts/1", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/posts/1"
    with httpx.Client(base_url=desk) as client:
        token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
        assert client.post("/login", data={"name": "rita", "password": PASSWORD}).status_code == 403  # no token
        bad = client.post("/login", data={"name": "rita", "password": "nope-nope-nope", "csrftoken": token})
        assert bad.status_code == 401 and "Wrong name or password" in bad.text
        ok = client.post("/login", data={"name": "rita", "password": PASSWORD, "csrftoken": token})
        assert ok.status_code == 303
        assert client.post("/posts/1/reject", data={"reason": "x"}).status_code == 403  # a form without a token
        assert client.get("/posts/999").status_code == 404
        session_cookie = ok.headers.get("set-cookie", "")
        assert "beatdesk_session=" in session_cookie and "httponly" in session_cookie.lower()
        assert "samesite=lax" in session_cookie.lower()


def test_login_attempts_are_rate_limited(desk: str) -> None:
    with httpx.Client(base_url=desk) as client:
        token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
        codes = [client.post("/login", data={"name": "rita", "password": "wrong-password", "csrftoken": token}).status_code
                 for _ in range(6)]  # fmt: skip
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_json_api_with_tokens(desk: str, cli: CliRunner, home: Path) -> None:
    reviewer = run_cli(cli, "users", "token", "rita").stdout.strip()
    add_admin(home)
    admin = run_cli(cli, "users", "token", "ada", "--scope", "admin").stdout.strip()
    with httpx.Client(base_url=f"{desk}/api") as api:
        assert api.get("/posts").status_code == 401
        assert api.get("/posts", headers={"Authorization": "Bearer nope"}).status_code == 401
        as_rita = {"Authorization": f"Bearer {reviewer}"}
        posts = api.get("/posts", headers=as_rita, params={"status": "in_review"}).json()
        assert len(posts) == 3 and {p["status"] for p in posts} == {"in_review"}
        one = api.get(f"/posts/{posts[0]['id']}", headers=as_rita).json()
        assert one["steps"] and one["references"] == [] and "total_cost_usd" in one
        assert api.get("/posts/999", headers=as_rita).status_code == 404

        approved = api.post(f"/posts/{posts[0]['id']}/approve", headers=as_rita, json={}).json()
        assert approved["status"] == "approved"
        channels = api.get(f"/posts/{posts[0]['id']}", headers=as_rita).json()["channels"]
        assert [(c["channel"], c["status"]) for c in channels] == [("outbox", "waiting")]  # its slot is to come
        again = api.post(f"/posts/{posts[0]['id']}/approve", headers=as_rita, json={})
        assert again.status_code == 409 and "cannot become approved" in again.json()["detail"]
        rejected = api.post(f"/posts/{posts[1]['id']}/reject", headers=as_rita, json={"reason": "too long"}).json()
        assert rejected["status"] == "rejected"
        assert api.post(f"/posts/{posts[2]['id']}/reject", headers=as_rita, json={}).status_code == 422

        word = one["plan"]["beat_title"].split()[0]
        found = api.get("/search", headers=as_rita, params={"q": word}).json()
        assert posts[0]["id"] in {p["id"] for p in found}

        ref = api.post(f"/posts/{posts[2]['id']}/references", headers=as_rita,
                       json={"bot": "helper-bot", "turn_id": "t-42", "excerpt": "As @ash put it…"})  # fmt: skip
        assert ref.status_code == 201
        assert api.get(f"/posts/{posts[2]['id']}", headers=as_rita).json()["references"][0]["bot"] == "helper-bot"

        assert api.get("/users", headers=as_rita).status_code == 403
        assert {u["name"] for u in api.get("/users", headers={"Authorization": f"Bearer {admin}"}).json()} == {
            "ada",
            "rita",
        }
        assert api.get("/openapi.json").status_code == 401  # the schema is for people who may use the API
        assert api.get("/openapi.json", headers=as_rita).json()["info"]["title"] == "beatdesk API"


def test_bulk_approve_send_back_and_the_batch_and_persona_pages(desk: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, desk, "/posts/1")
    page.click("#redraft")
    expect(page.locator("#audit")).to_contain_text("redraft")
    expect(page.locator("#status")).to_have_text("in_review")  # in-process: redrafted and rendered again
    # The video's plan, draft, cover, video and its three parts (voiceover, scene images, assembly); then the
    # redraft's draft, cover, video and three parts again.
    expect(page.locator("#pipeline tbody tr")).to_have_count(13)

    page.click("text=@ash")
    expect(page.locator("#costs #no-spend")).to_have_text("No spend yet.")  # local renderers cost nothing
    page.goto(f"{desk}/batches/1")
    expect(page.locator("#batch-cost")).to_have_text("0 USD")

    page.goto(f"{desk}/?status=in_review&sort=oldest")
    boxes = page.locator("#queue input[type=checkbox]")
    expect(boxes).to_have_count(3)
    boxes.nth(1).check()
    boxes.nth(2).check()
    page.click("#approve-selected")
    expect(page).to_have_url(re.compile(re.escape(f"{desk}/?status=in_review&sort=oldest") + "(&|$)"))  # its place kept
    expect(page.locator("#done")).to_have_text("Approved 2 posts: #2, #3")
    expect(page.locator("#queue tbody tr")).to_have_count(1)


def test_only_admins_manage_users(desk: str, browser: Browser, home: Path) -> None:
    page = browser.new_page()
    log_in(page, desk)
    assert page.goto(f"{desk}/admin/users").status == 403  # rita is a reviewer
    add_admin(home)
    log_in_again_as_admin(page, desk, "/admin/users")
    expect(page.locator("#users")).to_contain_text("rita")
    page.fill("form[action='/admin/users'] input[name=name]", "sam")
    page.fill("form[action='/admin/users'] input[name=password]", "short")
    page.click("#add-user")
    expect(page.locator(".error")).to_contain_text("at least 10 characters")
    page.fill("form[action='/admin/users'] input[name=name]", "sam")
    page.fill("form[action='/admin/users'] input[name=password]", "a long enough password")
    page.click("#add-user")
    expect(page.locator("#users")).to_contain_text("sam")


def test_an_expired_session_goes_to_login_and_back(desk: str, home: Path) -> None:
    """A session past its end (sessions last eight hours) counts for nothing; logging in again leads back."""
    from datetime import UTC, datetime, timedelta

    from beatdesk.store import open_store
    from beatdesk.users import expire_sessions

    with httpx.Client(base_url=desk) as client:
        token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
        client.post("/login", data={"name": "rita", "password": PASSWORD, "csrftoken": token})
        assert client.get("/posts/1").status_code == 200
        with open_store(get_settings().effective_database_url).session() as session:
            expire_sessions(session, user_id=1, at=datetime.now(UTC) - timedelta(minutes=1))
        expired = client.get("/posts/1", follow_redirects=False)
        assert expired.status_code == 303 and expired.headers["location"] == "/login?next=/posts/1"
        login = client.get(expired.headers["location"])
        token = login.text.split('name="csrftoken" value="')[1].split('"')[0]
        form = {"name": "rita", "password": PASSWORD, "csrftoken": token, "next": "/posts/1"}
        back = client.post("/login", data=form, follow_redirects=False)
        assert back.status_code == 303 and back.headers["location"] == "/posts/1"


def test_the_queue_works_from_the_keyboard(desk: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, desk)
    page.goto(f"{desk}/?status=in_review&sort=oldest")
    rows = page.locator("#queue tbody tr")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    page.keyboard.press("x")
    expect(rows.nth(1).locator("input[type=checkbox]")).to_be_checked()
    page.keyboard.press("A")  # approve the selected
    expect(page.locator("#queue tbody tr")).to_have_count(2)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{desk}/posts/1")
    page.go_back()
    expect(rows.nth(0)).to_have_attribute("aria-current", "true")  # the row last opened is marked again
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"  # the words box
    page.keyboard.press("j")  # typed into the filter, not taken as a key
    expect(page.locator("#queue tbody tr[aria-current]")).to_have_count(1)
    expect(rows.nth(0)).to_have_attribute("aria-current", "true")


def test_admins_manage_personas_and_a_bad_file_is_never_saved(desk: str, browser: Browser, home: Path) -> None:
    page = browser.new_page()
    log_in(page, desk)
    assert page.goto(f"{desk}/admin/personas").status == 403  # rita is a reviewer
    add_admin(home)
    log_in_again_as_admin(page, desk, "/admin/personas")
    expect(page.locator("#personas")).to_contain_text("@ash")

    file = home / "personas" / "ash.toml"
    before = file.read_text()
    page.click("text=ash >> nth=0")
    text = page.locator("textarea[name=text]")
    text.fill(before.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\nslot_cron = ["0 25 * * *"]'))
    page.click("#save-persona")
    expect(page.locator("#persona-error")).to_contain_text("slot_cron[0]")
    expect(page.locator("#persona-error")).to_contain_text("'0 25 * * *'")
    assert file.read_text() == before  # nothing written
    expect(text).to_have_value(re.compile("0 25"))  # the text as typed comes back, to be fixed

    text.fill(before.replace('display_name = "Ash Moreau"', 'display_name = "Ash M."'))
    page.click("#save-persona")
    expect(page.locator("[role=status]")).to_contain_text("Saved ash")
    assert 'display_name = "Ash M."' in file.read_text()

    page.click("#new-persona")
    page.fill("input[name=new_key]", "bea")
    page.locator("textarea[name=text]").fill(before.replace('handle = "@ash"', 'handle = "@bea"'))
    page.click("#save-persona")
    expect(page.locator("#personas")).to_contain_text("@bea")
    assert (home / "personas" / "bea.toml").is_file()


def test_the_queue_searches_the_posts_words(desk: str, browser: Browser) -> None:
    page = browser.new_page()
    log_in(page, desk)
    titles = page.locator("#queue tbody a[href^='/posts/']").all_inner_texts()
    word = max(titles[0].split(), key=len).strip(".,:;?!'\"")  # a long word of one title
    page.fill("input[name=q]", word)
    page.click("nav.filters button[type=submit]")
    expect(page.locator("#queue")).to_contain_text(titles[0])
    assert 1 <= page.locator("#queue tbody tr").count() <= len(titles)
    page.fill("input[name=q]", "zyzzyva")
    page.click("nav.filters button[type=submit]")
    expect(page.locator("#queue tbody")).to_contain_text("No posts match.")


def test_a_huge_login_post_is_cut_off_and_forwarded_for_fools_no_limit(desk: str) -> None:
    """Against `beatdesk serve` (uvicorn): a 96 MB body is refused from its Content-Length, before it is sent,
    and X-Forwarded-For from a peer that is no trusted proxy changes nothing in the login limit."""
    host, port = desk.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 100663296\r\n\r\nname=")  # fmt: skip
        answer = sock.recv(4096).decode("latin-1")  # answered with 96 MB still unsent
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    with httpx.Client(base_url=desk) as client:
        token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
        codes = [client.post("/login", data={"name": "rita", "password": "wrong-password", "csrftoken": token},
                             headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(6)]  # fmt: skip
    assert codes == [401] * 5 + [429]
