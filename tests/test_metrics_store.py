"""Engagement in the store, on SQLite and PostgreSQL: readings in time order, unknown kept as None, the
latest reading per channel with the post's exact cost, what is due, and each channel's metrics state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select

from beatdesk.engagement import Reading
from beatdesk.models import BatchSpec, ContentFormat, Plan
from beatdesk.store import Store, forget_stores, open_store, repo
from beatdesk.store import metrics as store_metrics
from beatdesk.store.schema import PostRow, PublicationRow, ReadingRow, StepRow

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
COSTS = ["0.000000001", "12.5", "0.1", "999999.999999999", "0.000000009"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def post_with(store: Store, *, persona: str, beat: str, angle: str, channels: dict[str, datetime],
              costs: list[str] = ()) -> tuple[int, dict[str, int]]:  # type: ignore[assignment]  # fmt: skip
    """A post with steps costing `costs` that went out on `channels` (name -> when); its id and publication ids."""
    plan = Plan(beat_key=beat, beat_title=beat, content_format=ContentFormat.video, title="t", angle=angle,
                button="b", why_beat="w", why_format="w", freshness="f")  # fmt: skip
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona=persona, counts={ContentFormat.video: 1}))
        post_id = repo.add_planned_post(session, batch_id=batch_id, persona=persona, plan=plan, steps=())
        if costs:
            session.execute(insert(StepRow), [
                {"post_id": post_id, "batch_id": batch_id, "persona": persona, "position": n, "name": "draft",
                 "status": "done", "cost_usd": Decimal(cost), "started_at": T0} for n, cost in enumerate(costs)
            ])  # fmt: skip
        if channels:
            session.execute(insert(PublicationRow), [
                {"post_id": post_id, "channel": name, "remote_id": f"{name}-{post_id}", "published_at": at}
                for name, at in channels.items()
            ])  # fmt: skip
        ids = dict(session.execute(
            select(PublicationRow.channel, PublicationRow.id).where(PublicationRow.post_id == post_id)
        ).all())  # fmt: skip
    return post_id, ids


def reading(publication_id: int, channel: str, at: datetime, **groups: int | None) -> Reading:
    return Reading(publication_id=publication_id, channel=channel, fetched_at=at, groups=groups,  # type: ignore[arg-type]
                   raw={f"{k}_count": v for k, v in groups.items() if v is not None})  # fmt: skip


def test_readings_keep_time_order_and_unknown_stays_none(store: Store) -> None:
    post_id, pubs = post_with(store, persona="ash", beat="b", angle="a",
                              channels={"mastodon": T0, "x": T0 + timedelta(minutes=3)})  # fmt: skip
    with store.session() as session:  # added out of order: read back in fetch order
        store_metrics.add_reading(session, reading(pubs["x"], "x", T0 + timedelta(days=1), approval=9, reach=0))
        store_metrics.add_reading(session, reading(pubs["mastodon"], "mastodon", T0 + timedelta(hours=1), approval=2))
        store_metrics.add_reading(session, reading(pubs["x"], "x", T0 + timedelta(hours=1), approval=1))
    with store.session() as session:
        got = store_metrics.readings_of_post(session, post_id)
    assert [(r.channel, r.fetched_at, r.groups["approval"]) for r in got] == [
        ("mastodon", T0 + timedelta(hours=1), 2), ("x", T0 + timedelta(hours=1), 1), ("x", T0 + timedelta(days=1), 9)
    ]  # fmt: skip
    assert got[0].groups == {"reach": None, "approval": 2, "redistribution": None, "conversation": None, "saves": None}
    assert got[2].groups["reach"] == 0 and got[2].raw == {"approval_count": 9, "reach_count": 0}  # a real 0 stays 0


def test_engagement_gives_each_post_its_latest_readings_and_exact_cost(store: Store) -> None:
    first, pubs = post_with(store, persona="ash", beat="open_weights", angle="a puppy is free",
                            channels={"mastodon": T0, "bluesky": T0 + timedelta(hours=2)}, costs=COSTS)  # fmt: skip
    second, pubs2 = post_with(store, persona="ash", beat="agents", angle="step limits",
                              channels={"x": T0 + timedelta(days=3)}, costs=["0.04"])  # fmt: skip
    post_with(store, persona="bea", beat="b", angle="c", channels={"x": T0})
    unpublished, _ = post_with(store, persona="ash", beat="b", angle="c", channels={}, costs=["1"])
    with store.session() as session:
        store_metrics.add_reading(session, reading(pubs["mastodon"], "mastodon", T0 + timedelta(hours=1), approval=1))
        store_metrics.add_reading(session, reading(pubs["mastodon"], "mastodon", T0 + timedelta(days=1), approval=8))
        store_metrics.add_reading(session, reading(pubs["bluesky"], "bluesky", T0 + timedelta(hours=3), approval=3))
        store_metrics.mark_gone(session, publication_id=pubs2["x"], channel="x", at=T0 + timedelta(days=4),
                                reason="deleted")  # fmt: skip
    with store.session() as session:
        found = store_metrics.engagement(session, persona="ash", since=None)
        later = store_metrics.engagement(session, persona=None, since=T0 + timedelta(days=1))
    assert [e.post_id for e in found] == [first, second]  # published only, oldest first, ash only
    one = found[0]
    assert (one.persona, one.beat_key, one.content_format, one.angle) == ("ash", "open_weights", "video",
                                                                           "a puppy is free")  # fmt: skip
    assert one.published_at == T0 and one.cost_usd == sum(map(Decimal, COSTS)) == Decimal("1000012.600000009")
    assert {c: r.groups["approval"] for c, r in one.latest.items()} == {"mastodon": 8, "bluesky": 3}
    assert found[1].latest == {} and found[1].cost_usd == Decimal("0.04")  # gone: no reading to show
    assert [e.post_id for e in later] == [second]
    assert unpublished not in {e.post_id for e in found}


def test_due_publications_and_channel_states(store: Store) -> None:
    _, pubs = post_with(store, persona="ash", beat="b", angle="a",
                        channels={"mastodon": T0, "bluesky": T0, "webhook": T0, "outbox": T0})  # fmt: skip
    _, late = post_with(store, persona="bea", beat="b", angle="a", channels={"x": T0 + timedelta(minutes=30)})
    now = T0 + timedelta(hours=1)
    with store.session() as session:
        due = store_metrics.due_publications(session, now=now)
        assert {(d.persona, d.channel) for d in due} == {("ash", "mastodon"), ("ash", "bluesky")}
        store_metrics.add_reading(session, reading(pubs["mastodon"], "mastodon", now, approval=1))
        store_metrics.mark_rate_limited(session, persona="ash", channel="bluesky", until=now + timedelta(minutes=5),
                                        at=now)  # fmt: skip
        store_metrics.mark_stale(session, persona="bea", channel="x", reason="x refused the token (401)", at=now)
    with store.session() as session:
        assert store_metrics.due_publications(session, now=now + timedelta(minutes=4)) == []
        due = store_metrics.due_publications(session, now=now + timedelta(minutes=30))
        assert [(d.channel, d.publication_id) for d in due] == [("bluesky", pubs["bluesky"]), ("x", late["x"])]
        assert (
            store_metrics.due_publications(session, now=now + timedelta(minutes=30), persona="bea")[0].persona == "bea"
        )
        states = {(s.persona, s.channel): s for s in store_metrics.channel_states(session)}
    assert states[("bea", "x")].stale_reason == "x refused the token (401)"
    assert states[("ash", "bluesky")].rate_limited_until == now + timedelta(minutes=5)
    with store.session() as session:
        store_metrics.mark_fresh(session, persona="bea", channel="x", at=now)
        assert store_metrics.channel_states(session, persona="bea")[0].stale_reason is None


def test_engagement_reads_many_posts_in_three_queries(store: Store) -> None:
    """Hundreds of posts with several readings each: the same three statements, never one per post."""
    now = datetime.now(UTC)
    with store.session() as session:
        batch_id = repo.create_batch(session, spec=BatchSpec(persona="ash", counts={ContentFormat.video: 1}))
        plan = {"beat_key": "b", "beat_title": "B", "content_format": "video", "title": "t", "angle": "a",
                "button": "b", "why_beat": "w", "why_format": "w", "freshness": "f"}  # fmt: skip
        session.execute(insert(PostRow), [
            {"batch_id": batch_id, "persona": "ash", "beat_key": f"b{i % 5}", "content_format": "video",
             "status": "published", "status_changed_at": now, "created_at": now, "plan": plan}
            for i in range(300)
        ])  # fmt: skip
        post_ids = list(session.scalars(select(PostRow.id)))
        session.execute(insert(StepRow), [
            {"post_id": p, "batch_id": batch_id, "persona": "ash", "position": 0, "name": "draft", "status": "done",
             "cost_usd": Decimal("0.01"), "started_at": now} for p in post_ids
        ])  # fmt: skip
        session.execute(insert(PublicationRow), [
            {"post_id": p, "channel": c, "remote_id": f"{c}-{p}", "published_at": T0} for p in post_ids
            for c in ("mastodon", "x")
        ])  # fmt: skip
        pubs = session.execute(select(PublicationRow.id, PublicationRow.channel)).all()
        session.execute(insert(ReadingRow), [
            {"publication_id": pub, "channel": channel, "fetched_at": T0 + timedelta(hours=h), "approval": h,
             "raw": {}} for pub, channel in pubs for h in (1, 24, 168)
        ])  # fmt: skip
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, ...)
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        with store.session() as session:
            found = store_metrics.engagement(session, persona="ash", since=None)
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    assert len(found) == 300 and all(e.cost_usd == Decimal("0.01") for e in found)
    assert all({c: r.groups["approval"] for c, r in e.latest.items()} == {"mastodon": 168, "x": 168} for e in found)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
