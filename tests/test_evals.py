"""Private evals: decisions kept with what made each post, models ranked by acceptance, and split drafting."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk.evals import evals, wilson, words_changed
from beatdesk.home import init_home
from beatdesk.models import BatchSpec, ContentFormat, Plan
from beatdesk.personas import load_persona
from beatdesk.store import Store, open_store, repo
from drafter.edit import edit_draft
from drafter.split import model_for_post
from tests.conftest import run_cli
from tests.drafts import answer
from tests.fake_openai import chat_server

MINI, NANO, TINY = "openai:gpt-4.1-mini", "openai:gpt-4.1-nano", "openai:gpt-5-nano"
PLAN = Plan(beat_key="open_weights", beat_title="Open weights", content_format=ContentFormat.hero_text,
            title="t", angle="a", button="b", why_beat="w", why_format="w", freshness="f")  # fmt: skip


def test_wilson_interval_matches_the_textbook() -> None:
    assert [round(x, 4) for x in wilson(8, 10)] == [0.4902, 0.9433]
    assert [round(x, 4) for x in wilson(20, 40)] == [0.352, 0.648]
    low, high = wilson(0, 5)
    assert low == 0 and round(high, 4) == 0.4345


def test_words_changed_counts_words_rewritten() -> None:
    assert words_changed("your prompt is most of the bill", "your prompt is most of the bill") == 0
    assert words_changed("your prompt is most of the bill", "the prompt is most of your monthly bill") == 3


def seed(store: Store, persona: str, drafter: str, outcomes: list[tuple[str, int, str | None]], *,
         cost: str, at: datetime) -> None:  # fmt: skip
    """One planned post and one decision per outcome: (decision, words edited, reason code)."""
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona=persona, counts={ContentFormat.hero_text: 1}))
        for decision, words, reason in outcomes:
            post_id = repo.add_planned_post(session, batch_id=batch_id, persona=persona, plan=PLAN, steps=["plan"])
            repo.add_decision(
                session, post_id=post_id, persona=persona, at=at, planner="offline:offline", drafter=drafter,
                prompt_version="abcdef0123", decision=decision, edit_distance=words, reason_code=reason,
                decide_seconds=600.0, cost_usd=Decimal(cost),
            )  # fmt: skip


def test_a_seeded_history_ranks_models_by_acceptance_with_intervals(cli: CliRunner, home: Path) -> None:
    init_home(home)
    store = open_store(f"sqlite:///{home / 'beatdesk.db'}")
    now = datetime.now(UTC)
    mini = [("approved", 0, None)] * 24 + [("edited", 5, None)] * 8 + [("rejected", 0, "too_close")] * 5
    seed(store, "ash", MINI, mini + [("rejected", 0, "tone")] * 3, cost="0.002", at=now)
    seed(store, "ash", NANO, [("approved", 0, None)] * 20 + [("rejected", 0, "wrong_facts")] * 20, cost="0.0005",
         at=now)  # fmt: skip
    seed(store, "ash", TINY, [("approved", 0, None)] * 5, cost="0.0001", at=now)  # 5 of 5: too few to rank first
    seed(store, "ash", NANO, [("rejected", 0, "format")] * 9, cost="0.0005", at=now - timedelta(days=40))

    out = run_cli(cli, "evals", "--persona", "ash", "--since", (now - timedelta(days=30)).date().isoformat(), "--json")
    assert [row["drafter"] for row in out] == [MINI, TINY, NANO]
    best, small, cheap = out
    assert (best["decisions"], best["accepted"], best["approved_as_is"], best["approved_after_edits"]) == (
        40,
        32,
        24,
        8,
    )
    assert best["acceptance_rate"] == 0.8 and best["acceptance_95"] == [0.6524, 0.895]
    assert best["reasons"] == {"too_close": 5, "tone": 3} and best["mean_words_edited"] == 1.2  # 8 x 5 over 32
    assert best["cost_per_accepted_usd"] == "0.0025"  # 40 x 0.002 over 32 accepted
    assert small["acceptance_rate"] == 1.0 and small["acceptance_95"][0] < best["acceptance_95"][0]
    assert cheap["decisions"] == 40 and cheap["acceptance_95"] == [0.352, 0.648]  # the 40-day-old 9 left out
    assert cheap["reasons"] == {"wrong_facts": 20} and cheap["cost_per_accepted_usd"] == "0.001"
    everything = run_cli(cli, "evals", "--json")
    assert sum(row["decisions"] for row in everything) == 94
    table = run_cli(cli, "evals").stdout
    assert "gpt-4.1-mini" in table and "65%-90%" in table
    bad = run_cli(cli, "evals", "--since", "last week", code=1)
    assert "--since 'last week' is not an ISO time" in bad.stderr


def test_the_split_sends_each_model_its_share(ash) -> None:
    persona = ash.model_copy(update={"drafting": ash.drafting.model_copy(update={"models": {MINI: 80, NANO: 20}})})
    chosen = Counter(model_for_post(persona, post_id=i, default="offline") for i in range(1, 1001))
    assert abs(chosen[MINI] - 800) <= 2 and abs(chosen[NANO] - 200) <= 2
    for start in (1, 137, 5000):  # any ten consecutive posts split 8 to 2, give or take one
        run = Counter(model_for_post(persona, post_id=i, default="offline") for i in range(start, start + 10))
        assert run[MINI] in (7, 8, 9)
    assert model_for_post(persona, post_id=42, default="offline") == model_for_post(persona, post_id=42, default="x")
    assert model_for_post(ash, post_id=42, default="offline") == "offline"  # no split: BEATDESK_LLM


def test_split_batch_then_decisions_feed_the_evals(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli(cli, "init")
    persona_file = home / "personas" / "ash.toml"
    text = persona_file.read_text().replace("[drafting]\n", f'[drafting]\nmodels = {{"{MINI}" = 80, "{NANO}" = 20}}\n')
    persona_file.write_text(text)
    stat = persona_file.stat()  # a new mtime: the persona cache keys on it, and a rewrite can land in the same tick
    os.utime(persona_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with chat_server(answer) as server:
        for name, value in {"BEATDESK_LLM": MINI, "BEATDESK_LLM_BASE_URL": server.url,
                            "BEATDESK_LLM_API_KEY": "test-key"}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "10", "--video", "0", "--json")
    assert out["status"] == "done"
    persona = load_persona(home, "ash")
    posts = [run_cli(cli, "post", "show", str(p["id"]), "--json") for p in out["posts"]]
    for post in posts:
        draft = [s for s in post["steps"] if s["name"] == "draft"][-1]
        assert f"{draft['provider']}:{draft['model']}" == model_for_post(persona, post_id=post["id"], default=MINI)
    drafted = Counter(r["model"] for r in server.requests if r["tools"][0]["function"]["name"] == "HeroTextOut")
    assert drafted["gpt-4.1-nano"] in (1, 2, 3) and drafted["gpt-4.1-mini"] + drafted["gpt-4.1-nano"] == 10

    store = open_store(f"sqlite:///{home / 'beatdesk.db'}")
    first, second, third = (p["id"] for p in posts[:3])
    with store.session() as session:
        edit_draft(session, post_id=second, home=home, actor="rita",
                   changes={"title": "Open weights buy you control, and a pager"})  # fmt: skip
    run_cli(cli, "review", "approve", str(first))
    run_cli(cli, "review", "approve", str(second))
    run_cli(cli, "review", "reject", str(third), "--reason-code", "too_close")
    rows = run_cli(cli, "evals", "--json")
    assert sum(r["decisions"] for r in rows) == 3 and {r["prompt_version"] for r in rows} != {"unknown"}
    assert all(len(r["prompt_version"]) == 10 and r["planners"] == [f"{MINI}"] for r in rows)
    assert sum(r["approved_after_edits"] for r in rows) == 1 and sum(r["rejected"] for r in rows) == 1
    assert all(Decimal(r["cost_usd"]) > 0 and r["median_decide_seconds"] is not None for r in rows)
    with store.session() as session:
        edited = next(d for d in repo.list_decisions(session) if d.post_id == second)
    assert edited.decision == "edited" and edited.edit_distance > 0


def test_decisions_and_their_sums_on_postgresql(pg_url: str) -> None:
    store = open_store(pg_url)
    now = datetime.now(UTC)
    seed(store, "ash", MINI, [("approved", 0, None)] * 3 + [("rejected", 0, "tone")], cost="0.000123457", at=now)
    with store.session() as session:
        [standing] = evals(session, persona="ash")
        post_id = repo.list_decisions(session)[0].post_id
        assert repo.decided_cost(session, post_id=post_id) == Decimal("0.000123457")  # exact: NUMERIC, no float
    assert (standing.decisions, standing.accepted, standing.cost_usd) == (4, 3, Decimal("0.000493828"))


def test_the_desk_shows_the_ranking(home: Path) -> None:
    from starlette.testclient import TestClient

    from beatdesk.settings import get_settings
    from beatdesk.users import add_user
    from review_web.app import create_app

    init_home(home)
    settings = get_settings()
    store = open_store(settings.effective_database_url)
    seed(store, "ash", MINI, [("approved", 0, None)] * 8 + [("rejected", 0, "tone")] * 2, cost="0.002",
         at=datetime.now(UTC))  # fmt: skip
    with store.session() as session:
        add_user(session, name="rita", role="reviewer", password="correct horse battery")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert client.get("/evals", follow_redirects=False).headers["location"] == "/login?next=/evals"
        token = client.get("/login").text.split('name="csrftoken" value="')[1].split('"')[0]
        client.post("/login", data={"name": "rita", "password": "correct horse battery", "csrftoken": token})
        page = client.get("/evals?persona=ash&days=30")
        assert page.status_code == 200
        row = page.text.split('<table id="evals"')[1]
        assert "openai:gpt-4.1-mini" in row and "8 (80%)" in row and "49%–94%" in row and "tone 2" in row
        assert "0.0025" in row
        assert "No review decisions yet for bob" in client.get("/evals?persona=bob").text


def test_evals_at_eighty_columns_stack_and_say_when_there_is_nothing(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    empty = run_cli(CliRunner(env={"COLUMNS": "80"}), "evals").stdout
    assert empty.startswith("No review decisions yet") and "┃" not in empty
    batch = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json")
    first, second = (p["id"] for p in batch["posts"])
    run_cli(cli, "review", "reject", str(first), "--reason-code", "off_beat")
    run_cli(cli, "review", "approve", str(second))
    text = run_cli(CliRunner(env={"COLUMNS": "80"}), "evals").stdout
    assert "┃" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "1. offline:offline" in text and "accepted 1 (50%)" in text and "rejected 1: off_beat 1" in text
