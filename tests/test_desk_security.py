"""The review desk refuses the attacks a security review tries: each one below is one such attempt.

Driven in-process through FastAPI's TestClient (the browser tests, with a real server, are in
test_review_web.py)."""

from __future__ import annotations

import asyncio
import html
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from beatdesk.errors import ConfigError
from beatdesk.review import approve
from beatdesk.settings import get_settings, load_settings
from beatdesk.store import repo
from beatdesk.users import disable_user, list_people, set_password
from review_web.app import create_app
from tests.conftest import run_cli
from tests.desk_client import PASSWORD, Desk, desk_home, form_token, log_in


@pytest.fixture
def desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home) as made:
        yield made


def test_a_session_ends_at_logout_password_change_and_disable(desk: Desk) -> None:
    for end in ("logout", "password", "disable"):
        client = log_in(desk.client())
        stolen = client.cookies["beatdesk_session"]
        assert client.get("/posts/1").status_code == 200
        if end == "logout":
            client.post("/logout", data={"csrftoken": form_token(client, "/")})
        else:
            with desk.store.session() as session:
                if end == "password":
                    set_password(session, name="rita", password=PASSWORD)
                else:
                    disable_user(session, name="rita")
        thief = desk.client(cookies={"beatdesk_session": stolen})
        answer = thief.get("/posts/1", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), end


def test_a_disabled_user_cannot_log_in(desk: Desk) -> None:
    with desk.store.session() as session:
        disable_user(session, name="rita")
    client = desk.client()
    answer = client.post("/login", data={"name": "rita", "password": PASSWORD, "csrftoken": form_token(client)})
    assert answer.status_code == 401 and "Wrong name or password" in answer.text


def test_the_csrf_token_is_bound_to_the_session_and_changes_at_login(desk: Desk) -> None:
    attacker = log_in(desk.client(), "ada")
    attackers_token = form_token(attacker, "/")
    victim = desk.client()
    before_login = form_token(victim)
    log_in(victim)
    for token in (attackers_token, before_login):  # another session's token, and the victim's own from before
        refused = victim.post("/posts/1/reject", data={"reason": "forged", "csrftoken": token})
        assert refused.status_code == 403 and "CSRF" in refused.text
    # the attacker's cookie and token pair, sent with the victim's session cookie too, is no better
    victim.cookies.set("beatdesk_anon", attacker.cookies.get("beatdesk_anon") or "x")
    assert victim.post("/posts/1/reject", data={"reason": "forged", "csrftoken": attackers_token}).status_code == 403
    with desk.store.session() as session:
        assert repo.get_post(session, 1).status == "in_review"
    ok = victim.post("/posts/1/reject", data={"reason": "real", "csrftoken": form_token(victim, "/")})
    assert ok.status_code == 200 and "Rejected #1: real" in ok.text  # and on to the next post in review


def test_a_bearer_header_never_skips_csrf_unless_its_token_is_valid(desk: Desk) -> None:
    client = log_in(desk.client())
    forged = client.post("/posts/1/reject", data={"reason": "forged"}, headers={"Authorization": "Bearer nonsense"})
    assert forged.status_code == 401
    not_bearer = client.post("/posts/1/reject", data={"reason": "forged"}, headers={"Authorization": "Basic eA=="})
    assert not_bearer.status_code == 401
    with desk.store.session() as session:
        assert repo.get_post(session, 1).status == "in_review"

    # A valid token is the credential, and the only one: ada's admin cookie lends rita's read token nothing.
    admin = log_in(desk.client(), "ada")
    read_only = {"Authorization": f"Bearer {desk.token('rita', 'read')}"}
    assert admin.post("/posts/1/reject", data={"reason": "x"}, headers=read_only).status_code == 403
    assert admin.get("/admin/users", headers=read_only).status_code == 403
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    decided = desk.client().post("/posts/1/reject", data={"reason": "by token"}, headers=review)
    assert decided.status_code == 200
    with desk.store.session() as session:
        assert repo.get_post(session, 1).events[-1].actor == "rita"


@pytest.mark.parametrize(("public", "base_url", "secure"), [
    (False, "http://testserver", False), (False, "https://testserver", True), (True, "http://testserver", True),
])  # fmt: skip
def test_cookies_are_secure_over_https_or_beyond_loopback(
    desk: Desk, public: bool, base_url: str, secure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_SECRET_KEY", secrets.token_urlsafe(48))  # needed beyond loopback
    get_settings.cache_clear()
    client = desk.client(public=public, base_url=base_url)
    page = client.get("/login")
    token = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    anon = page.headers["set-cookie"]
    assert anon.startswith("beatdesk_anon=") and ("; secure" in anon.lower()) is secure
    # Sent by hand: a client keeps a Secure cookie to itself over plain http, as it should.
    answer = client.post("/login", data={"name": "rita", "password": PASSWORD, "csrftoken": token},
                         headers={"Cookie": anon.split(";")[0]}, follow_redirects=False)  # fmt: skip
    cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("beatdesk_session=")]
    assert len(cookies) == 1 and "httponly" in cookies[0].lower() and "samesite=lax" in cookies[0].lower()
    assert ("; secure" in cookies[0].lower()) is secure


@pytest.mark.parametrize("key", [
    "a", "x" * 64, "short-but-random-ish-1234", "0123456789abcdef0123456789abcdef", "a" * 200,
    "qwertyuiopasdfghjklzxcvbnm1234567890", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.", "passwordpasswordpasswordpassword",
    "abcdefghijklmnopqrstuvwxyz012345", "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3", secrets.token_urlsafe(40)[:10] * 8,
])  # fmt: skip
def test_a_weak_secret_key_is_refused_with_how_to_make_one(desk: Desk, key: str) -> None:
    for public in (False, True):
        with pytest.raises(ConfigError, match=r"^BEATDESK_SECRET_KEY .*secrets\.token_urlsafe\(48\)"):
            create_app(load_settings(secret_key=SecretStr(key)), public=public)


def test_random_secret_keys_pass_the_measure_and_none_is_needed_on_loopback_only(desk: Desk) -> None:
    for key in [secrets.token_hex(16) for _ in range(20)] + [secrets.token_urlsafe(n) for n in (24, 32, 48, 96)]:
        create_app(load_settings(secret_key=SecretStr(key)), public=True)
    create_app(load_settings())  # one made and kept in the home
    with pytest.raises(ConfigError, match=r"needs BEATDESK_SECRET_KEY set; make one with: python -c"):
        create_app(load_settings(), public=True)


def test_serve_refuses_a_weak_key_in_one_line(desk: Desk, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEATDESK_SECRET_KEY", "a")
    result = run_cli(cli, "serve", "--port", "1", code=1)
    assert result.stderr.startswith("error: BEATDESK_SECRET_KEY is too short") and "token_urlsafe" in result.stderr


ADMIN_ROUTES = [("GET", "/admin/users"), ("GET", "/admin/personas"), ("GET", "/admin/personas/ash"),
                ("GET", "/admin/personas/new"), ("POST", "/admin/users"), ("POST", "/admin/users/rita/disable"),
                ("POST", "/admin/users/rita/enable"), ("POST", "/admin/users/rita/remove"),
                ("POST", "/admin/users/rita/password"), ("POST", "/admin/tokens/1/revoke"),
                ("POST", "/admin/personas/ash")]  # fmt: skip


def test_an_admins_read_or_review_token_opens_no_admin_page(desk: Desk) -> None:
    """As on /api/users: the token's scope counts, not only its owner's role."""
    client = desk.client()
    form = {"name": "tom", "role": "admin", "password": "a typed new password", "confirm": "rita",
            "text": "handle = 'x'"}  # fmt: skip
    for scope in ("read", "review"):
        token = {"Authorization": f"Bearer {desk.token('ada', scope)}"}
        assert client.get("/api/users", headers=token).status_code == 403
        for method, path in ADMIN_ROUTES:
            answer = client.request(method, path, headers=token, data=form if method == "POST" else None,
                                    follow_redirects=False)  # fmt: skip
            assert answer.status_code == 403 and "admin scope" in answer.text, (scope, method, path)
    with desk.store.session() as session:
        assert [p.state for p in list_people(session)] == ["active", "active"]  # nothing changed
    admin = {"Authorization": f"Bearer {desk.token('ada', 'admin')}"}
    assert client.get("/admin/users", headers=admin).status_code == 200
    assert client.get("/api/users", headers=admin).status_code == 200


def test_login_limit_counts_the_peer_whatever_x_forwarded_for_says(desk: Desk) -> None:
    client = desk.client()
    token = form_token(client)
    codes = [client.post("/login", data={"name": "rita", "password": "wrong-password", "csrftoken": token},
                         headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(6)]  # fmt: skip
    assert codes == [401] * 5 + [429]


def test_bodies_past_their_limit_are_refused(desk: Desk) -> None:
    client = log_in(desk.client())
    token = form_token(client, "/")
    assert client.post("/posts/1/reject", data={"reason": "x" * 70_000, "csrftoken": token}).status_code == 413
    assert client.post("/login", data={"name": "rita", "password": "p" * 10_000}).status_code == 413
    admin = log_in(desk.client(), "ada")
    text = (desk.home / "personas" / "ash.toml").read_text() + "\n# notes\n" + "# padding line\n" * 10_000
    saved = admin.post("/admin/personas/ash", data={"text": text, "csrftoken": form_token(admin, "/admin/personas")},
                       follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303  # a persona file may be far larger than a form


def test_a_streamed_body_is_cut_off_as_it_passes_the_limit(desk: Desk) -> None:
    """96 MB sent to /login without a Content-Length: the answer is 413 after the first chunks, not after all."""
    app = create_app(get_settings())
    chunk = b"name=" + b"x" * 65_536
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < 1500}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/login", "raw_path": b"/login", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert read <= 2  # 8 KiB allowed: the first chunk passes it


def test_every_answer_carries_strict_security_headers(desk: Desk) -> None:
    client = log_in(desk.client())
    for path in ("/login", "/", "/posts/1", "/static/desk.css", "/api/posts", "/posts/0"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
    assert "<script>" not in client.get("/").text and " style=" not in client.get("/posts/1").text


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", " JavaScript:alert(1)", "data:text/html,x",
                                 "vbscript:x", "//evil.example/x", "https:no-host"])  # fmt: skip
def test_a_publication_url_is_a_link_only_when_it_is_http_or_https(desk: Desk, url: str) -> None:
    with desk.store.session() as session:
        approve(session, post_id=1, home=desk.home, actor="rita", at=datetime.now(UTC) + timedelta(days=1))
        repo.add_publication(session, post_id=1, channel="outbox", remote_id="remote-1", url=url)
        approve(session, post_id=2, home=desk.home, actor="rita", at=datetime.now(UTC) + timedelta(days=1))
        repo.add_publication(
            session, post_id=2, channel="outbox", remote_id="remote-2", url="https://social.example/p/2"
        )
    client = log_in(desk.client())
    shown = client.get("/posts/1").text
    assert "remote-1" in shown and "remote-1</a>" not in shown and f'href="{html.escape(url.strip())}' not in shown
    assert '<a href="https://social.example/p/2" rel="noopener noreferrer">remote-2</a>' in client.get("/posts/2").text


def test_api_docs_and_schema_are_behind_login(desk: Desk) -> None:
    client = desk.client()
    assert client.get("/api/docs").status_code == 404  # no docs UI: it would load its scripts from a CDN
    assert client.get("/api/openapi.json").status_code == 401
    assert client.get("/openapi.json", follow_redirects=False).status_code in (303, 404)
    schema = log_in(client).get("/api/openapi.json").json()
    assert "/posts/{post_id}/approve" in schema["paths"] and schema["servers"] == [{"url": "/api"}]


def test_tokens_have_scopes_expiry_and_revocation(desk: Desk, cli: CliRunner) -> None:
    client = desk.client()
    read = {"Authorization": f"Bearer {desk.token('rita', 'read')}"}
    assert client.get("/api/posts", headers=read).status_code == 200
    refused = client.post("/api/posts/1/approve", headers=read, json={})
    assert refused.status_code == 403 and "review scope" in refused.json()["detail"]
    review = {"Authorization": f"Bearer {desk.token('rita', 'review')}"}
    assert client.get("/api/users", headers=review).status_code == 403
    assert (
        client.get("/api/users", headers={"Authorization": f"Bearer {desk.token('ada', 'admin')}"}).status_code == 200
    )
    expired = {"Authorization": f"Bearer {desk.token('rita', 'review', timedelta(seconds=-1))}"}
    assert client.get("/api/posts", headers=expired).status_code == 401

    too_much = run_cli(cli, "users", "token", "rita", "--scope", "admin", code=1)
    assert "a token may have scope read, review" in too_much.stderr
    assert "give a number and a unit" in run_cli(cli, "users", "token", "rita", "--expires", "soon", code=1).stderr
    made = run_cli(cli, "users", "token", "rita", "--scope", "review", "--expires", "30d").stdout.strip()
    listed = run_cli(cli, "users", "tokens", "rita", "--json")
    mine = next(t for t in listed if t["scope"] == "review" and t["state"] == "live")
    in_30_days = datetime.fromisoformat(mine["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29) < in_30_days <= timedelta(days=30)
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {made}"}).status_code == 200
    for token in run_cli(cli, "users", "tokens", "--json"):
        if token["state"] == "live":
            run_cli(cli, "users", "revoke", str(token["id"]))
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {made}"}).status_code == 401
    assert {t["state"] for t in run_cli(cli, "users", "tokens", "--json")} == {"revoked", "expired"}

    admin = log_in(desk.client(), "ada")
    page = admin.get("/admin/users").text
    assert 'id="tokens"' in page and "revoked" in page


def test_an_admin_revokes_a_token_and_disables_a_user_on_the_desk(desk: Desk) -> None:
    token = desk.token("rita", "review")
    admin = log_in(desk.client(), "ada")
    row = admin.get("/admin/users").text.split('action="/admin/tokens/')[1].split("/")[0]
    admin.post(f"/admin/tokens/{row}/revoke", data={"csrftoken": form_token(admin, "/admin/users")})
    assert desk.client().get("/api/posts", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    rita = log_in(desk.client())
    admin.post("/admin/users/rita/disable", data={"csrftoken": form_token(admin, "/admin/users")})
    assert rita.get("/", follow_redirects=False).status_code == 303
    assert (
        desk.client().get("/api/posts", headers={"Authorization": f"Bearer {desk.token('ada', 'read')}"}).status_code
        == 200
    )


class _Isolation(HTMLParser):
    """Where a page shows text holding a bidirectional control: the element around it must be <bdi> or carry
    dir (an isolate), so the control cannot reorder the rest of the row."""

    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.exposed: list[str] = []
        self.isolated = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append((tag, tag == "bdi" or any(name == "dir" for name, _ in attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if "\u202e" not in data:
            return
        tag, isolates = self.stack[-1] if self.stack else ("", False)
        if isolates:
            self.isolated += 1
        elif tag != "title":  # the browser tab's title: text only, nothing to isolate with
            self.exposed.append(f"<{tag}>{data.strip()[:60]}")


def test_the_desk_isolates_right_to_left_overrides_in_titles_and_captions(desk: Desk) -> None:
    hostile = "Invoice \u202egnp.exe review"  # shown as "Invoice exe.png…" if the override leaked into the row
    with desk.store.session() as session:
        post = repo.get_post(session, 1)
        assert post.draft is not None
        draft = post.draft.model_copy(update={"title": hostile, "caption": f"{hostile} caption #AI"})
        repo.save_draft(session, post_id=1, draft=draft, checks=post.checks)
    client = log_in(desk.client())
    queue = client.get("/").text
    assert f'<a href="/posts/1"><bdi>{hostile}</bdi></a>' in queue
    assert '<h1 id="title" dir="auto">' in client.get("/posts/1").text
    for path in ("/", "/posts/1", "/batches/1"):
        found = _Isolation()
        found.feed(client.get(path).text)
        assert found.isolated and not found.exposed, (path, found.exposed)
