"""Admins manage people and tokens: remove (at once, history kept), disable and enable, reset a password, list
and revoke tokens; reviewers are refused, forms without a CSRF token are refused, nobody locks the desk out.
In-process through TestClient, the CLI through CliRunner, and one removal in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from beatdesk.settings import get_settings
from beatdesk.store import open_store, repo
from beatdesk.users import issue_token, list_people, list_tokens, user_events
from beatdesk_cli.main import app
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, Desk, desk_home, form_token, log_in
from tests.test_review_desk_pages import fits_the_width, shot
from tests.test_review_web import add_admin, browser, desk, log_in_again_as_admin  # noqa: F401  (fixtures)
from tests.test_review_web import log_in as browser_log_in


@pytest.fixture
def home_desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home) as made:
        yield made


def admin_form(admin: TestClient, path: str, **fields: str) -> Response:
    """An admin's form as the users page sends it, its CSRF token read from the page."""
    return admin.post(path, data={"csrftoken": form_token(admin, "/admin/users"), **fields}, follow_redirects=True)


def piped(cli: CliRunner, *args: str, text: str) -> None:
    """A CLI command that reads a password from stdin."""
    get_settings.cache_clear()
    result = cli.invoke(app, list(args), input=text)
    assert result.exit_code == 0, result.stderr


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def state_of(made: Desk, name: str) -> str:
    with made.store.session() as session:
        return next(p.state for p in list_people(session) if p.name == name)


def test_a_removed_user_is_out_at_once_and_their_decisions_keep_their_name(home_desk: Desk) -> None:
    rita = log_in(home_desk.client())
    token = home_desk.token("rita", "review")
    rejected = rita.post("/posts/1/reject", data={"reason": "off beat", "csrftoken": form_token(rita, "/")})
    assert rejected.status_code == 200
    assert home_desk.client().get("/api/posts", headers=bearer(token)).status_code == 200

    admin = log_in(home_desk.client(), "ada")
    unconfirmed = admin_form(admin, "/admin/users/rita/remove")
    assert "type their name" in unconfirmed.text and state_of(home_desk, "rita") == "active"
    done = admin_form(admin, "/admin/users/rita/remove", confirm="rita")
    assert "rita removed: sessions ended, tokens revoked" in done.text

    gone = rita.get("/posts/1", follow_redirects=False)  # her open session: the login page now
    assert gone.status_code == 303 and gone.headers["location"] == "/login?next=/posts/1"
    assert home_desk.client().get("/api/posts", headers=bearer(token)).status_code == 401
    again = home_desk.client()
    refused = again.post("/login", data={"name": "rita", "password": PASSWORD, "csrftoken": form_token(again)})
    assert refused.status_code == 401
    with home_desk.store.session() as session:
        assert [e.actor for e in repo.get_post(session, 1).events if e.to_status == "rejected"] == ["rita"]
        assert [t.state for t in list_tokens(session, name="rita")] == ["revoked"]  # still listed, revoked
        assert next((e.actor, e.action, e.subject) for e in user_events(session)) == ("ada", "removed", "rita")
    assert "rita" in admin.get("/posts/1").text.split('id="audit"')[1]  # the post's audit log still names her
    page = admin.get("/admin/users").text
    assert 'data-user="rita" class="user-removed"' in page
    re_added = admin_form(admin, "/admin/users", name="rita", role="reviewer", password="another long password")
    assert "a name is never given again" in re_added.text


def test_a_reset_password_works_and_the_old_one_does_not(home_desk: Desk) -> None:
    rita = log_in(home_desk.client())
    admin = log_in(home_desk.client(), "ada")
    made = admin.post("/admin/users/rita/password", data={"csrftoken": form_token(admin, "/admin/users")})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    password = made.text.split('id="made-password">')[1].split("<")[0]
    assert len(password) >= 16 and password not in admin.get("/admin/users").text  # shown that once only
    assert rita.get("/", follow_redirects=False).status_code == 303  # her session ended
    with pytest.raises(AssertionError):
        log_in(home_desk.client(), "rita", PASSWORD)
    log_in(home_desk.client(), "rita", password)

    typed = admin_form(admin, "/admin/users/rita/password", password="a typed new password")
    assert "password of rita set; sessions ended" in typed.text
    log_in(home_desk.client(), "rita", "a typed new password")
    short = admin_form(admin, "/admin/users/rita/password", password="short")
    assert "at least 10 characters" in short.text


def test_a_token_listed_then_revoked_stops_working_on_the_api(home_desk: Desk, cli: CliRunner) -> None:
    token = run_cli(cli, "users", "token", "rita", "--scope", "read", "--name", "chat <bot>").stdout.strip()
    assert home_desk.client().get("/api/posts", headers=bearer(token)).status_code == 200
    admin = log_in(home_desk.client(), "ada")
    page = admin.get("/admin/users").text
    row = page.split('<tr data-token="1">')[1].split("</tr>")[0]
    for shown in ("rita", "chat &lt;bot&gt;", "read", "UTC", "live"):  # owner, name, scope, times, state
        assert shown in row, shown
    assert row.count("UTC") == 3 and "never" not in row  # created, last used, expires
    revoked = admin_form(admin, "/admin/tokens/1/revoke")
    assert "token 1 revoked" in revoked.text
    assert home_desk.client().get("/api/posts", headers=bearer(token)).status_code == 401
    listed = run_cli(cli, "tokens", "list", "--json")
    assert [(t["name"], t["state"], t["last_used_at"] is not None) for t in listed] == [("chat <bot>", "revoked", True)]


def test_disable_ends_sessions_and_tokens_at_once_and_enable_brings_them_back(home_desk: Desk) -> None:
    rita = log_in(home_desk.client())
    token = home_desk.token("rita", "read")
    admin = log_in(home_desk.client(), "ada")
    assert "rita disabled" in admin_form(admin, "/admin/users/rita/disable").text
    assert rita.get("/", follow_redirects=False).status_code == 303
    assert home_desk.client().get("/api/posts", headers=bearer(token)).status_code == 401
    assert 'action="/admin/users/rita/enable"' in admin.get("/admin/users").text
    assert "rita enabled" in admin_form(admin, "/admin/users/rita/enable").text
    log_in(home_desk.client())
    assert home_desk.client().get("/api/posts", headers=bearer(token)).status_code == 200


ADMIN_FORMS = [
    ("/admin/users/rita/remove", {"confirm": "rita"}),
    ("/admin/users/rita/disable", {}),
    ("/admin/users/rita/enable", {}),
    ("/admin/users/rita/password", {}),
    ("/admin/tokens/1/revoke", {}),
    ("/admin/users", {"name": "mallory", "role": "admin", "password": "a long enough password"}),
]


def test_reviewers_get_403_and_forms_without_csrf_are_refused(home_desk: Desk) -> None:
    home_desk.token("rita", "read")
    rita = log_in(home_desk.client())
    assert rita.get("/admin/users").status_code == 403
    token = form_token(rita, "/")
    admin = log_in(home_desk.client(), "ada")
    for path, fields in ADMIN_FORMS:
        assert rita.post(path, data={"csrftoken": token, **fields}).status_code == 403, path
        assert admin.post(path, data=fields).status_code == 403, path  # no CSRF token
        assert admin.post(path, data={"csrftoken": "forged", **fields}).status_code == 403, path
    assert state_of(home_desk, "rita") == "active"
    with home_desk.store.session() as session:
        assert [t.state for t in list_tokens(session)] == ["live"]
        assert "mallory" not in [p.name for p in list_people(session)]
    log_in(home_desk.client())  # rita's password is unchanged


def test_nobody_removes_or_disables_themselves_or_the_last_admin(home_desk: Desk, cli: CliRunner) -> None:
    admin = log_in(home_desk.client(), "ada")
    for action in ("remove", "disable"):
        refused = admin_form(admin, f"/admin/users/ada/{action}", confirm="ada")
        assert f"you cannot {action} yourself" in refused.text, action
        said = run_cli(cli, "users", action, "ada", *(["--yes"] if action == "remove" else []), code=1).stderr
        assert "ada is the last admin" in said
    assert state_of(home_desk, "ada") == "active"
    piped(cli, "users", "add", "bea", "--role", "admin", "--password-stdin", text="another long password\n")
    run_cli(cli, "users", "remove", "ada", "--yes")
    assert state_of(home_desk, "ada") == "removed"
    assert admin.get("/admin/users", follow_redirects=False).status_code == 303  # her session ended too


def test_the_cli_removes_enables_and_resets(home_desk: Desk, cli: CliRunner) -> None:
    run_cli(cli, "users", "disable", "rita")
    run_cli(cli, "users", "enable", "rita")
    made = run_cli(cli, "users", "reset-password", "rita")
    password = made.stdout.strip()
    assert len(password) >= 16 and "shown once" in made.stderr
    log_in(home_desk.client(), "rita", password)
    piped(cli, "users", "reset-password", "rita", "--password-stdin", text="a piped new password\n")
    log_in(home_desk.client(), "rita", "a piped new password")
    assert "add --yes to confirm" in run_cli(cli, "users", "remove", "rita", code=1).stderr
    run_cli(cli, "users", "remove", "rita", "--yes")
    people = run_cli(cli, "users", "list", "--json")
    assert {p["name"]: p["state"] for p in people} == {"ada": "active", "rita": "removed"}
    assert "removed users stay removed" in run_cli(cli, "users", "enable", "rita", code=1).stderr
    assert "no token with id 9" in run_cli(cli, "tokens", "revoke", "9", code=1).stderr
    with home_desk.store.session() as session:
        actions = [(e.actor, e.action, e.subject) for e in reversed(user_events(session))]
    assert actions[-5:] == [("cli", "disabled", "rita"), ("cli", "enabled", "rita"), ("cli", "password reset", "rita"),
                            ("cli", "password reset", "rita"), ("cli", "removed", "rita")]  # fmt: skip


def test_an_admin_removes_a_user_in_the_browser(desk: str, browser: Browser, home: Path) -> None:  # noqa: F811
    """rita's open page goes to the login page once ada has removed her; the users page at 1280 and 390 px."""
    add_admin(home)
    with open_store(get_settings().effective_database_url).session() as session:
        issue_token(session, name="rita", scope="read", label="chat bot")
    ritas = browser.new_page()
    browser_log_in(ritas, desk, "/")
    expect(ritas.locator("#queue")).to_be_visible()
    adas = browser.new_context().new_page()
    adas.set_viewport_size({"width": 1280, "height": 900})
    adas.goto(f"{desk}/admin/users")
    adas.fill("input[name=name]", "ada")
    adas.fill("input[name=password]", "correct horse battery")
    adas.click("button[type=submit]")
    row = adas.locator('#users tr[data-user="rita"]')
    row.locator("summary", has_text="Reset password").click()
    row.locator("button.reset").click()
    expect(adas.locator("#made-password")).to_be_visible()
    shot(adas, "users.png")
    row = adas.locator('#users tr[data-user="rita"]')
    row.locator("summary", has_text="Remove").click()
    row.locator("input[name=confirm]").fill("rita")
    row.locator("button.remove").click()
    expect(adas.locator("#done")).to_contain_text("rita removed")
    expect(adas.locator('#users tr[data-user="rita"] .pill')).to_have_text("removed")
    expect(adas.locator("#user-events tbody tr").first).to_contain_text("1 token(s) revoked")
    expect(adas.locator('#tokens tr[data-token="1"] .pill')).to_have_text("revoked")

    ritas.reload()
    expect(ritas).to_have_url(f"{desk}/login?next=/")
    adas.set_viewport_size({"width": 390, "height": 844})
    assert fits_the_width(adas)
    shot(adas, "users-390.png")
