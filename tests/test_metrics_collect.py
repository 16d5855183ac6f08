"""Engagement collection against servers on 127.0.0.1 that answer as each API documents: the numbers each
channel gives (unknown groups stay None), the fetch schedule, rate limits with reset headers, refused and
revoked tokens, deleted posts; and collection never touching publishing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from beatdesk.models import BatchSpec, ContentFormat, Plan
from beatdesk.settings import get_settings
from beatdesk.store import Store, open_store, repo
from beatdesk.store import metrics as store_metrics
from beatdesk.store.schema import PublicationRow, StepRow
from publishers.metrics import collect
from publishers.metrics.base import Counts, Target, reset_time
from publishers.metrics.collect import collect_due
from publishers.stage import thread_note
from tests.conftest import run_cli
from tests.fake_metrics import APP_PASSWORD, TOKEN, MetricsServer, metrics_server

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PLAN = Plan(beat_key="open_weights", beat_title="Open weights", content_format=ContentFormat.hero_text,
            title="Open weights are free the way a puppy is free", angle="a puppy is free", button="Count it.",
            why_beat="test", why_format="test", freshness="test")  # fmt: skip
CREDENTIALS = {"BEATDESK_ASH_MASTODON_TOKEN": TOKEN, "BEATDESK_ASH_BLUESKY_APP_PASSWORD": APP_PASSWORD,
               "BEATDESK_ASH_X_TOKEN": TOKEN, "BEATDESK_ASH_LINKEDIN_TOKEN": TOKEN,
               "BEATDESK_ASH_WEBHOOK_SECRET": "whsec"}  # fmt: skip
BSKY = "at://did:plc:ash/app.bsky.feed.post/3kabc"
LINKEDIN = "urn:li:share:7001"


def channels_toml(url: str) -> str:
    return f"""
[[channels]]
name = "mastodon"
url = "{url}"

[[channels]]
name = "bluesky"
account = "ash.test"
url = "{url}"

[[channels]]
name = "x"
url = "{url}"

[[channels]]
name = "linkedin"
account = "urn:li:person:ash"
url = "{url}"

[[channels]]
name = "webhook"
url = "{url}hook"
"""


@pytest.fixture
def server(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MetricsServer]:
    run_cli(cli, "init")
    persona = home / "personas" / "ash.toml"
    text = persona.read_text().replace('[[channels]]\nname = "outbox"\n', "")
    with metrics_server() as state:
        persona.write_text(text + channels_toml(state.url))
        for name, value in CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield state


def the_store() -> Store:
    return open_store(get_settings().effective_database_url)


def published(store: Store, channels: dict[str, str], *, at: datetime = T0, persona: str = "ash") -> int:
    """A post that went out on `channels` (name -> remote id) at `at`; its id."""
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona=persona, counts={ContentFormat.hero_text: 1}))
        post_id = repo.add_planned_post(session, batch_id=batch_id, persona=persona, plan=PLAN, steps=("plan",))
        session.execute(insert(PublicationRow), [
            {"post_id": post_id, "channel": name, "remote_id": remote_id, "url": None, "published_at": at}
            for name, remote_id in channels.items()
        ])  # fmt: skip
    return post_id


def readings(store: Store, post_id: int) -> dict[str, list[dict[str, int | None]]]:
    with store.session() as session:
        found = store_metrics.readings_of_post(session, post_id)
    by_channel: dict[str, list[dict[str, int | None]]] = {}
    for reading in found:
        by_channel.setdefault(reading.channel, []).append(dict(reading.groups))
    return by_channel


def states(store: Store) -> dict[str, store_metrics.ChannelMetricsState]:
    with store.session() as session:
        return {s.channel: s for s in store_metrics.channel_states(session, persona="ash")}


def everywhere(server: MetricsServer) -> int:
    server.counts = {
        "mastodon": {"101": {"favourites_count": 5, "reblogs_count": 2, "replies_count": 1}},
        "bluesky": {BSKY: {"likeCount": 7, "repostCount": 3, "replyCount": 2, "quoteCount": 1}},
        "x": {"9001": {"like_count": 11, "retweet_count": 4, "quote_count": 1, "reply_count": 3,
                       "impression_count": 900, "bookmark_count": 6, "np_impression_count": 950,
                       "np_url_link_clicks": 12, "np_user_profile_clicks": 2}},
        "linkedin": {LINKEDIN: {"IMPRESSION": 400, "REACTION": 20, "RESHARE": 2, "COMMENT": 5}},
    }  # fmt: skip
    server.created["9001"] = datetime.now(UTC)
    return published(the_store(), {"mastodon": "101", "bluesky": BSKY, "x": "9001", "linkedin": LINKEDIN,
                                   "webhook": "hook-1"})  # fmt: skip


def test_each_channel_gives_its_own_numbers_and_unknown_groups_stay_none(server: MetricsServer) -> None:
    post_id = everywhere(server)
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert (done.readings, done.gone, done.failed, done.stale) == (4, 0, 0, {})
    got = readings(the_store(), post_id)
    assert got == {
        # Mastodon: no reach, no saves (unknown, not 0).
        "mastodon": [{"reach": None, "approval": 5, "redistribution": 2, "conversation": 1, "saves": None}],
        # Bluesky: reposts and quotes redistribute; no reach; this App View counted no bookmarks.
        "bluesky": [{"reach": None, "approval": 7, "redistribution": 4, "conversation": 2, "saves": None}],
        "x": [{"reach": 900, "approval": 11, "redistribution": 5, "conversation": 3, "saves": 6}],
        "linkedin": [{"reach": 400, "approval": 20, "redistribution": 2, "conversation": 5, "saves": None}],
    }  # the webhook has no numbers: nothing stored, nothing asked
    with the_store().session() as session:
        raw = {r.channel: r.raw for r in store_metrics.readings_of_post(session, post_id)}
    assert raw["x"]["non_public_url_link_clicks"] == 12 and raw["x"]["bookmark_count"] == 6
    assert raw["mastodon"] == {"favourites_count": 5, "reblogs_count": 2, "replies_count": 1}

    # Each request as the API documents it.
    (status,) = server.sent("mastodon")
    assert status.path == "/api/v1/statuses/101" and status.headers["authorization"] == f"Bearer {TOKEN}"
    (posts,) = server.sent("bluesky")
    assert posts.path == "/xrpc/app.bsky.feed.getPosts" and posts.query["uris"] == [BSKY]
    (tweets,) = server.sent("x")
    assert tweets.query == {"ids": ["9001"], "tweet.fields": ["public_metrics,non_public_metrics"]}
    analytics = server.sent("linkedin")
    assert sorted(r.query["queryType"][0] for r in analytics) == ["COMMENT", "IMPRESSION", "REACTION", "RESHARE"]
    assert all(r.raw_query.startswith("q=entity&entity=(share:urn%3Ali%3Ashare%3A7001)") for r in analytics)


def test_a_threads_own_second_part_is_not_the_audiences_conversation(server: MetricsServer) -> None:
    server.counts = {"mastodon": {"101": {"favourites_count": 2, "replies_count": 3}, "102": {"replies_count": 3}}}
    thread = published(the_store(), {"mastodon": "101"})
    single = published(the_store(), {"mastodon": "102"})
    with the_store().session() as session:
        session.execute(insert(StepRow), [
            {"post_id": post_id, "batch_id": repo.batch_id_of(session, post_id), "persona": "ash", "position": 1,
             "name": "publish_mastodon", "status": "done", "detail": remote_id + thread_note(parts)}
            for post_id, remote_id, parts in ((thread, "101", 3), (single, "102", 1))
        ])  # fmt: skip
    collect_due(get_settings(), T0 + timedelta(hours=1))
    assert readings(the_store(), thread)["mastodon"][0]["conversation"] == 2  # one of the 3 replies is its own
    assert readings(the_store(), single)["mastodon"][0]["conversation"] == 3
    with the_store().session() as session:
        assert store_metrics.readings_of_post(session, thread)[0].raw["replies_count"] == 3  # as the channel said


def test_each_publication_is_read_on_schedule_and_never_early(server: MetricsServer) -> None:
    server.counts = {"mastodon": {"101": {"favourites_count": 1}}}
    post_id = published(the_store(), {"mastodon": "101"})
    settings = get_settings()
    read_at = []
    for minutes in range(0, 31 * 24 * 60, 30):  # a collector every 30 minutes for 31 days
        now = T0 + timedelta(minutes=minutes)
        if collect_due(settings, now).readings:
            read_at.append(now - T0)
    assert read_at == [timedelta(hours=1), timedelta(hours=24), *(timedelta(days=d) for d in (7, 14, 21, 28))]
    assert len(server.sent("mastodon")) == 6 and len(readings(the_store(), post_id)["mastodon"]) == 6


def test_a_collector_that_was_away_catches_up_once() -> None:
    assert store_metrics.is_due(T0, None, T0 + timedelta(minutes=59)) is False
    assert store_metrics.is_due(T0, None, T0 + timedelta(hours=1)) is True
    assert store_metrics.is_due(T0, T0 + timedelta(hours=1), T0 + timedelta(hours=23)) is False
    # Away from 2 h to 8 d: one read covers the 24 h and 7 d milestones, and the next is at 14 d.
    assert store_metrics.is_due(T0, T0 + timedelta(hours=1), T0 + timedelta(days=8)) is True
    assert store_metrics.is_due(T0, T0 + timedelta(days=8), T0 + timedelta(days=13)) is False
    assert store_metrics.next_due(T0, T0 + timedelta(days=8)) == T0 + timedelta(days=14)
    assert store_metrics.next_due(T0, T0 + timedelta(days=28)) is None
    assert store_metrics.is_due(T0, None, T0 + timedelta(days=40)) is False  # long over: never read


@pytest.mark.parametrize(
    ("channel", "remote_id", "headers", "until"),
    [
        ("mastodon", "101", {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": "2026-11-02T10:25:00.000Z"}, datetime(2026, 11, 2, 10, 25, tzinfo=UTC)),
        ("bluesky", BSKY, {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                           "RateLimit-Reset": str(int(datetime(2026, 11, 2, 10, 30, tzinfo=UTC).timestamp())),
                           "RateLimit-Policy": "3000;w=300"}, datetime(2026, 11, 2, 10, 30, tzinfo=UTC)),
        ("x", "9001", {"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0",
                       "x-rate-limit-reset": str(int(datetime(2026, 11, 2, 10, 15, tzinfo=UTC).timestamp()))},
         datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        ("linkedin", LINKEDIN, {"Retry-After": "3600"}, datetime(2026, 11, 2, 11, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_a_429_stops_the_channel_until_its_reset(
    server: MetricsServer, channel: str, remote_id: str, headers: dict[str, str], until: datetime
) -> None:
    everywhere(server)
    server.limited[channel] = headers
    now = T0 + timedelta(hours=1)
    done = collect_due(get_settings(), now)
    assert done.rate_limited == {f"ash/{channel}": until} and done.readings == 3
    assert states(the_store())[channel].rate_limited_until == until
    asked = len(server.sent(channel))
    assert collect_due(get_settings(), until - timedelta(minutes=1)).readings == 0
    assert len(server.sent(channel)) == asked  # not asked again before the reset
    del server.limited[channel]
    assert collect_due(get_settings(), until).readings == 1
    assert states(the_store())[channel].rate_limited_until is None


def test_reset_headers_are_read_in_each_form() -> None:
    now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert reset_time({"Retry-After": "120"}, now) == now + timedelta(minutes=2)
    assert reset_time({"Retry-After": "Mon, 02 Nov 2026 10:05:00 GMT"}, now) == now + timedelta(minutes=5)
    assert reset_time({"ratelimit-reset": "30"}, now) == now + timedelta(seconds=30)  # the IETF draft: seconds
    assert reset_time({}, now) == now + timedelta(minutes=15)


def test_a_revoked_token_marks_the_channel_stale_until_a_fetch_succeeds(server: MetricsServer, cli: CliRunner) -> None:
    post_id = everywhere(server)
    server.revoked.add("mastodon")
    result = run_cli(cli, "metrics", "collect", "--now", (T0 + timedelta(hours=1)).isoformat())
    assert "3 reading(s) stored" in result.stdout
    assert "ash/mastodon stale: mastodon refused the token (401: The access token was revoked)" in result.stdout
    state = states(the_store())["mastodon"]
    assert state.stale_reason is not None and "revoked" in state.stale_reason
    server.revoked.clear()  # someone set a fresh token: the publication was never read, so it is still due
    out = run_cli(cli, "metrics", "collect", "--now", (T0 + timedelta(hours=2)).isoformat(), "--json")
    assert out["readings"] == 1 and out["stale"] == {}
    assert states(the_store())["mastodon"].stale_reason is None
    assert len(readings(the_store(), post_id)["mastodon"]) == 1


def test_missing_scopes(server: MetricsServer) -> None:
    """LinkedIn without r_member_postAnalytics is stale with the scope named; an X token that may not read
    non-public metrics still gives the public ones (asked again without the private field)."""
    post_id = everywhere(server)
    server.counts["x"]["9001"] = {"like_count": 11, "retweet_count": 4, "quote_count": 1, "reply_count": 3}
    server.no_scope |= {"linkedin", "x"}
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert "r_member_postAnalytics" in done.stale["ash/linkedin"] and "403" in done.stale["ash/linkedin"]
    assert readings(the_store(), post_id)["x"] == [
        {"reach": None, "approval": 11, "redistribution": 5, "conversation": 3, "saves": None}
    ]  # public metrics without impressions or bookmarks: unknown, never 0
    assert [r.query["tweet.fields"] for r in server.sent("x")] == [
        ["public_metrics,non_public_metrics"],
        ["public_metrics"],
    ]


def test_a_deleted_post_is_recorded_once_and_not_fetched_again(server: MetricsServer) -> None:
    post_id = everywhere(server)
    server.deleted |= {"101", BSKY, "9001", LINKEDIN}
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert (done.readings, done.gone) == (0, 4)
    asked = len(server.requests)
    assert collect_due(get_settings(), T0 + timedelta(days=7)).gone == 0
    assert len(server.requests) == asked
    with the_store().session() as session:
        gone = {g.channel: g.reason for g in store_metrics.gone_of_post(session, post_id)}
        assert store_metrics.due_publications(session, now=T0 + timedelta(days=14)) == []
    assert gone["mastodon"] == "mastodon: the status is gone (404: deleted)"
    assert "resource-not-found" in gone["x"] and "getPosts" in gone["bluesky"]


def test_a_channel_that_is_down_is_left_for_the_next_run(server: MetricsServer) -> None:
    server.counts = {"mastodon": {"101": {"favourites_count": 1}, "102": {"favourites_count": 2}}}
    first, second = (published(the_store(), {"mastodon": remote}) for remote in ("101", "102"))
    server.down.add("mastodon")
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert (done.readings, done.failed, done.stale) == (0, 2, {}) and len(server.sent("mastodon")) == 1
    server.down.clear()
    assert collect_due(get_settings(), T0 + timedelta(hours=1, minutes=10)).readings == 2
    assert readings(the_store(), first) and readings(the_store(), second)


def test_a_failing_metrics_fetch_does_not_touch_publishing(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetcher that blows up is logged for its publications; the same scheduler pass publishes the due post."""
    run_cli(cli, "init")
    ash = (home / "personas" / "ash.toml").read_text()
    (home / "personas" / "bea.toml").write_text(
        ash.replace('handle = "@ash"', 'handle = "@bea"')
        + '\n[[channels]]\nname = "mastodon"\nurl = "http://127.0.0.1:9/"\n'
    )
    monkeypatch.setenv("BEATDESK_BEA_MASTODON_TOKEN", TOKEN)
    get_settings.cache_clear()
    published(the_store(), {"mastodon": "101"}, at=datetime(2099, 1, 5, 7, 0, tzinfo=UTC), persona="bea")

    class Broken:
        channel, batch_size = "mastodon", 1

        def __init__(self, *_: object) -> None:
            pass

        def fetch(self, targets: list[Target], *, now: datetime) -> dict[int, Counts]:
            raise RuntimeError("the metrics API answered garbage")

    monkeypatch.setitem(collect.FETCHERS, "mastodon", Broken)
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    post_id = out["posts"][0]["id"]
    run_cli(cli, "review", "approve", str(post_id), "--at", "2099-01-05T08:30")
    result = run_cli(cli, "scheduler", "--once", "--now", "2099-01-05T09:00:00+00:00")
    assert "1 post(s) published" in result.stdout
    assert "metrics: 0 reading(s) stored, 1 not read (tried again next run)" in result.stdout
    assert run_cli(cli, "post", "show", str(post_id), "--json")["status"] == "published"


def test_the_scheduler_collects_on_a_task_and_a_thread_of_its_own(server: MetricsServer) -> None:
    """Celery beat sends `beatdesk.collect_metrics` every 10 minutes beside (never inside) publish-due; the
    in-process loop runs one collection at a time in a thread, at most every 10 minutes."""
    from workers.app import configure
    from workers.tasks import METRICS_EVERY_S, app, collect_metrics_task

    assert app.conf.beat_schedule["collect-metrics"] == {"task": "beatdesk.collect_metrics", "schedule": 600.0}
    server.counts = {"mastodon": {"101": {"favourites_count": 4}}}
    published(the_store(), {"mastodon": "101"}, at=datetime.now(UTC) - timedelta(hours=2))
    configure(get_settings())  # no broker: the task runs in-process
    assert collect_metrics_task.delay().get() == 1

    runs: list[collect.Collected] = []
    later = published(the_store(), {"mastodon": "101"}, at=T0)
    beside = collect.BesidePublishing(get_settings(), every_s=METRICS_EVERY_S, report=runs.append)
    for minutes in (60, 61, 65, 69):  # ticks every minute or so: one run, then none until 10 minutes passed
        beside.tick(T0 + timedelta(minutes=minutes))
        beside.wait(10)
    assert [r.readings for r in runs] == [1]
    beside.tick(T0 + timedelta(minutes=70))
    beside.wait(10)
    assert [r.readings for r in runs] == [1, 0] and len(readings(the_store(), later)["mastodon"]) == 1


def test_bad_input_is_one_line(cli: CliRunner) -> None:
    run_cli(cli, "init")
    result = run_cli(cli, "metrics", "collect", "--persona", "nobody", code=1)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    result = run_cli(cli, "metrics", "collect", "--now", "yesterday-ish", code=1)
    assert "--now" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert run_cli(cli, "metrics", "collect", "--json") == {"readings": 0, "gone": 0, "failed": 0, "stale": {},
                                                            "rate_limited": {}}  # fmt: skip
