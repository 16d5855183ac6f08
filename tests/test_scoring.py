"""Normalised engagement: unknown groups left out (never 0), reach as the denominator, each channel and persona
against its own median, per dollar with free posts, honest intervals, posting times in the persona's zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from beatdesk.audience import beat_scores, build_report
from beatdesk.engagement import GROUPS, Group, PostEngagement, Reading
from beatdesk.scoring import Rank, by_dollar, rank, score_posts, t_interval

AT = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)  # 09:30 in Berlin (summer time)
UTC_ZONE = {"ash": "UTC", "bo": "UTC"}


def reading(channel: str, **counts: int | None) -> Reading:
    groups: dict[Group, int | None] = {g: counts.get(g) for g in GROUPS}
    return Reading(publication_id=1, channel=channel, fetched_at=AT + timedelta(days=7), groups=groups, raw={})


def post(
    post_id: int, *readings: Reading, beat: str = "b", persona: str = "ash", cost: str = "0", at: datetime = AT,
    fmt: str = "hero_text",
) -> PostEngagement:  # fmt: skip
    return PostEngagement(post_id=post_id, persona=persona, beat_key=beat, content_format=fmt, angle=f"angle {post_id}",
                          published_at=at, cost_usd=Decimal(cost),  # each read a week after it went out
                          latest={r.channel: replace(r, fetched_at=at + timedelta(days=7)) for r in readings})  # fmt: skip


def scores(posts: list[PostEngagement]) -> dict[int, float | None]:
    return {s.post.post_id: s.score for s in score_posts(posts)}


def test_a_group_the_channel_does_not_report_is_left_out_never_zero() -> None:
    posts = [
        post(1, reading("x", approval=10, saves=10)),
        post(2, reading("x", approval=10, saves=10)),
        post(3, reading("x", approval=10, saves=None)),  # saves unknown: judged on approval alone
        post(4, reading("x", approval=10, saves=0)),  # saves known to be 0: below the typical post
    ]
    got = scores(posts)
    assert got[1] == got[2] == pytest.approx(1.0)
    assert got[3] == pytest.approx(1.0)
    assert got[4] is not None and got[4] < 0.5


def test_a_post_with_nothing_that_counts_has_no_score_and_is_not_ranked() -> None:
    posts = [
        post(1, reading("x", approval=5), beat="read"),
        post(2, reading("x", reach=900), beat="reach_only"),  # reach is a denominator, never a score
        post(3, beat="unread"),  # published, not read yet (or on the outbox)
    ]
    got = scores(posts)
    assert got[2] is None and got[3] is None
    report = build_report(posts, zones=UTC_ZONE, zone="UTC")
    assert (report.published, report.scored) == (3, 1)
    assert [r.key for r in report.per_post["beat"]] == ["read"]


def test_high_intent_groups_weigh_more_than_approval() -> None:
    typical = [post(i, reading("mastodon", approval=10, redistribution=2, conversation=2)) for i in range(1, 4)]
    liked = post(10, reading("mastodon", approval=30, redistribution=2, conversation=2))
    shared = post(11, reading("mastodon", approval=10, redistribution=6, conversation=2))
    got = scores([*typical, liked, shared])
    assert got[11] > got[10] > 1.0  # type: ignore[operator]


def test_reach_turns_counts_into_rates() -> None:
    posts = [
        post(1, reading("x", reach=1000, approval=20)),
        post(2, reading("x", reach=10_000, approval=20)),  # the same likes from ten times the reach
        post(3, reading("x", reach=4000, approval=20)),
    ]
    got = scores(posts)
    assert got[1] > got[3] > got[2]  # type: ignore[operator]


def test_each_channel_against_its_own_median_so_a_big_audience_does_not_drown_a_small_one() -> None:
    """Beat "hit" doubles the typical post on Mastodon (small numbers) and is typical on X (big numbers); beat
    "flat" is typical on Mastodon and slightly above on X. Raw sums would rank "flat" first."""
    posts = []
    for i in range(6):
        posts.append(post(i, reading("mastodon", approval=20, redistribution=4, conversation=4),
                          reading("x", approval=5000, redistribution=1000, conversation=500, saves=400), beat="hit"))  # fmt: skip
        posts.append(post(100 + i, reading("mastodon", approval=10, redistribution=2, conversation=2),
                          reading("x", approval=5200, redistribution=1040, conversation=520, saves=416), beat="flat"))  # fmt: skip
    ranks = rank(score_posts(posts), "beat", zone_of=lambda _: ZoneInfo("UTC"))
    assert [r.key for r in ranks] == ["hit", "flat"]
    assert ranks[0].mean > 1.0 > ranks[1].mean


def test_each_persona_is_measured_against_its_own_posts() -> None:
    small = [post(i, reading("mastodon", approval=4 + i % 3), persona="ash") for i in range(5)]
    big = [post(10 + i, reading("mastodon", approval=4000 + 1000 * (i % 3)), persona="bo") for i in range(5)]
    got = score_posts(small + big)
    means = {p: sum(s.score for s in got if s.post.persona == p) / 5 for p in ("ash", "bo")}  # type: ignore[misc]
    assert means["ash"] == pytest.approx(means["bo"], abs=0.1)


def test_per_dollar_is_free_for_posts_that_cost_nothing_never_infinite() -> None:
    posts = [
        post(1, reading("x", approval=10), beat="paid", cost="0.50"),
        post(2, reading("x", approval=10), beat="paid", cost="0.50"),
        post(3, reading("x", approval=10), beat="free", cost="0"),
    ]
    scored = score_posts(posts)
    assert scored[0].per_dollar == pytest.approx(2.0) and scored[2].per_dollar is None
    ranks = rank(scored, "beat", zone_of=lambda _: ZoneInfo("UTC"))
    assert [r.key for r in by_dollar(ranks)] == ["free", "paid"]
    shown = {r.key: r.as_json() for r in ranks}
    assert shown["free"]["score_per_usd"] == "free" and shown["free"]["cost_usd"] == "0"
    assert shown["paid"]["score_per_usd"] == pytest.approx(2.0) and shown["paid"]["cost_usd"] == "1"


def test_a_rank_from_two_posts_is_not_over_read() -> None:
    assert t_interval([1.5]) is None
    low, high = t_interval([2.0, 1.0])  # type: ignore[misc]
    assert low == 0.0 and high > 5  # two posts: the interval says almost nothing
    lucky = Rank("lucky", (2.0, 1.9), Decimal(0))
    steady = Rank("steady", (1.4, 1.5, 1.3, 1.45, 1.35, 1.5, 1.4, 1.4), Decimal(0))
    ranks = sorted([lucky, steady], key=lambda r: -(r.interval or (0, 0))[0])
    assert [r.key for r in ranks] == ["steady", "lucky"]
    assert lucky.as_json()["posts"] == 2 and steady.as_json()["score_95"][0] > 1.2


def test_posting_times_are_in_the_persona_zone_and_suggested_when_they_did_best() -> None:
    morning, evening = AT, AT.replace(hour=16)  # 09:30 and 18:30 in Berlin, a Monday
    posts = [post(i, reading("x", approval=30), at=morning + timedelta(weeks=i)) for i in range(4)]
    posts += [post(10 + i, reading("x", approval=10), at=evening + timedelta(weeks=i)) for i in range(4)]
    report = build_report(posts, zones={"ash": "Europe/Berlin"}, zone="Europe/Berlin")
    assert [r.key for r in report.per_post["hour"]] == ["09:00", "18:00"]
    assert [r.key for r in report.per_post["weekday"]] == ["Mon"]
    assert [r.key for r in report.suggested_times] == ["09:00"]
    shown = report.as_json()
    assert shown["zone"] == "Europe/Berlin" and shown["suggested_times"] == ["09:00"]
    assert {r["key"] for r in shown["per_post"]["format"]} == {"hero_text"}


def test_beat_scores_feed_the_planner_only_scored_posts() -> None:
    posts = [
        post(1, reading("x", approval=10), beat="a"),
        post(2, beat="a"),
        post(3, reading("x", approval=10), beat="c"),
    ]
    assert beat_scores(posts) == {"a": (pytest.approx(1.0),), "c": (pytest.approx(1.0),)}


def test_a_post_read_before_it_is_a_week_old_is_not_scored_yet() -> None:
    """A reading an hour after posting has had no time to gather anything: against posts read at four weeks
    it would look like a flop, so it waits until it is comparable."""
    old = [post(i, reading("mastodon", approval=40)) for i in range(1, 7)]
    fresh = PostEngagement(post_id=9, persona="ash", beat_key="b", content_format="hero_text", angle="fresh",
                           published_at=AT, cost_usd=Decimal(0),
                           latest={"mastodon": replace(reading("mastodon", approval=4), fetched_at=AT + timedelta(hours=1))})  # fmt: skip
    scored = scores([*old, fresh])
    assert scored[9] is None and scored[1] == pytest.approx(1.0)
    assert beat_scores([*old, fresh])["b"] == tuple(pytest.approx(1.0) for _ in range(6))
