"""The metrics fetchers against hostile or broken answers: absurd rate-limit resets, counts no channel gives,
and HTML where JSON was promised. A bad answer costs at most its own publication, never the channel's run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from beatdesk.settings import get_settings
from publishers.metrics.base import MAX_WAIT, count, reset_time
from publishers.metrics.collect import collect_due
from tests.fake_metrics import MetricsServer
from tests.test_metrics_collect import T0, published, readings, server, states, the_store

__all__ = ["server"]  # the fixture, shared


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "99999999999999999999"},  # seconds past datetime's end
        {"x-rate-limit-reset": "253402300800000"},  # a Unix time in milliseconds, past year 9999
        {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
        {"X-RateLimit-Reset": "9999-12-31T23:59:59Z"},
        {"Retry-After": "999999999"},  # 31 years in seconds, below the Unix-time floor
    ],
)
def test_an_absurd_reset_waits_at_most_a_day(headers: dict[str, str]) -> None:
    now = T0
    assert now < reset_time(headers, now) <= now + MAX_WAIT


@pytest.mark.parametrize("value", ["-5", "-1700000000", "soon", "1.5e3", "NaN", "\u00b2"])
def test_an_unreadable_or_negative_reset_waits_the_usual_window(value: str) -> None:
    assert reset_time({"Retry-After": value}, T0) == T0 + timedelta(minutes=15)


def test_a_429_with_a_reset_past_year_9999_stops_the_channel(server: MetricsServer) -> None:
    """Not one request per publication to a channel that said to slow down, and not locked out for ever."""
    server.counts = {"mastodon": {"101": {"favourites_count": 1}, "102": {"favourites_count": 2}}}
    for remote in ("101", "102"):
        published(the_store(), {"mastodon": remote})
    server.limited["mastodon"] = {"Retry-After": "99999999999999999999"}
    now = T0 + timedelta(hours=1)
    done = collect_due(get_settings(), now)
    assert len(server.sent("mastodon")) == 1
    until = done.rate_limited["ash/mastodon"]
    assert now < until <= now + MAX_WAIT
    assert states(the_store())["mastodon"].rate_limited_until == until


def test_counts_no_channel_gives_are_unknown() -> None:
    assert count(2_000_000_000) == 2_000_000_000
    assert [count(v) for v in (10**20, 2**31, -1, True, 1.5, "7", None)] == [None] * 7


def test_a_huge_count_costs_only_its_own_group(server: MetricsServer) -> None:
    """A count the store cannot hold is unknown; the publication's other counts, and the channel's other
    publications, are still stored."""
    server.counts = {"mastodon": {"101": {"favourites_count": 10**20, "reblogs_count": 2},
                                  "102": {"favourites_count": 3}}}  # fmt: skip
    first, second = (published(the_store(), {"mastodon": remote}) for remote in ("101", "102"))
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert done.readings == 2
    assert readings(the_store(), first)["mastodon"][0]["approval"] is None
    assert readings(the_store(), first)["mastodon"][0]["redistribution"] == 2
    assert readings(the_store(), second)["mastodon"][0]["approval"] == 3


MAINTENANCE = "<html><body><h1>Down for maintenance</h1><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    ("channel", "remotes"),
    [("mastodon", ("101", "102")), ("linkedin", ("urn:li:share:1", "urn:li:share:2")), ("x", ("1", "2"))],
)
def test_an_html_page_where_json_was_promised_is_the_channel_having_a_bad_day(
    server: MetricsServer, channel: str, remotes: tuple[str, str]
) -> None:
    """A 200 that is not JSON: left for the next run like a 5xx, without asking for each publication in turn."""
    for remote in remotes:
        published(the_store(), {channel: remote})
    server.garbled[channel] = (200, MAINTENANCE)
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert (done.readings, done.failed, done.stale) == (0, 2, {})
    assert len(server.sent(channel)) == 1


def test_a_bluesky_session_answered_with_html_is_asked_for_once(server: MetricsServer) -> None:
    """createSession is itself rate-limited: a run whose session failed does not ask again for each batch."""
    remotes = [f"at://did:plc:ash/app.bsky.feed.post/{n}" for n in range(30)]  # two getPosts batches
    for remote in remotes:
        published(the_store(), {"bluesky": remote})
    server.garbled["bluesky"] = (200, MAINTENANCE)
    done = collect_due(get_settings(), T0 + timedelta(hours=1))
    assert (done.readings, done.failed) == (0, 30)
    assert len([r for r in server.requests if "createSession" in r.path]) == 1
