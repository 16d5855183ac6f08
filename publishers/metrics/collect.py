"""Collecting engagement: every publication that is due is read from its channel and the reading stored.

Run by the scheduler (its own task, beside publishing, never inside it) and by hand (`beatdesk metrics
collect`). Publications are read per persona and channel, in the channel's batch size, each batch stored in its
own transaction, so what was read stays when a later batch fails. A 429 stops that channel until the reset it
names; a refused token (401/403) marks the channel stale with the reason; a deleted post is recorded once and
never read again; a channel that is down (5xx, timeouts) is left for this run; any other failure is logged for
the publications it concerns; what was not read is tried at the next run.
Nothing here raises into its caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from beatdesk.engagement import Group, Reading
from beatdesk.errors import BeatdeskError
from beatdesk.models import Channel, Persona
from beatdesk.personas import load_persona
from beatdesk.runner import one_line
from beatdesk.settings import Settings
from beatdesk.store import Store, open_store
from beatdesk.store import metrics as store_metrics
from beatdesk.store.metrics import DuePublication
from publishers.credentials import Credentials, credentials_for
from publishers.metrics.base import Counts, MetricsAuthError, MetricsError, MetricsFetcher, RateLimited, Target
from publishers.metrics.bluesky import BlueskyMetrics
from publishers.metrics.linkedin import LinkedInMetrics
from publishers.metrics.mastodon import MastodonMetrics
from publishers.metrics.x import XMetrics
from publishers.stage import thread_parts

log = logging.getLogger(__name__)
FETCHERS: dict[str, Callable[[Channel, Credentials], MetricsFetcher]] = {
    "mastodon": MastodonMetrics, "bluesky": BlueskyMetrics, "x": XMetrics, "linkedin": LinkedInMetrics,
}  # fmt: skip
"""Channels whose numbers are read (the store's METRICS_CHANNELS); the others report none."""


@dataclass
class Collected:
    """What one run did."""

    readings: int = 0
    gone: int = 0
    failed: int = 0
    """Publications not read for a passing reason (logged; tried at the next run)."""
    stale: dict[str, str] = field(default_factory=dict)
    """"persona/channel" -> why its numbers stopped."""
    rate_limited: dict[str, datetime] = field(default_factory=dict)
    """"persona/channel" -> when it may be read again."""

    def as_json(self) -> dict[str, object]:
        return {"readings": self.readings, "gone": self.gone, "failed": self.failed, "stale": self.stale,
                "rate_limited": {k: v.isoformat() for k, v in self.rate_limited.items()}}  # fmt: skip


def collect_due(settings: Settings, now: datetime, *, persona: str | None = None) -> Collected:
    """Read every due publication (of one persona, or all) from its channel and store the readings."""
    done = Collected()
    try:
        store = open_store(settings.effective_database_url)
        with store.session() as session:
            due = store_metrics.due_publications(session, now=now, persona=persona)
    except Exception as err:  # the store is away: the next run tries again
        log.warning("metrics not collected: %s", one_line(err))
        return done
    key: Callable[[DuePublication], tuple[str, str]] = lambda d: (d.persona, d.channel)  # noqa: E731
    for (owner, channel_name), group in groupby(sorted(due, key=key), key=key):
        try:
            _collect_channel(settings, store, owner, channel_name, list(group), now=now, done=done)
        except Exception as err:  # a bug or a surprise in one channel must not stop the others
            log.warning("metrics for %s/%s not collected: %s", owner, channel_name, one_line(err))
    return done


def _collect_channel(
    settings: Settings, store: Store, owner: str, channel_name: str, due: list[DuePublication], *, now: datetime,
    done: Collected,
) -> None:  # fmt: skip
    where = f"{owner}/{channel_name}"
    try:
        persona = load_persona(settings.home, owner)
        channel = _channel(persona, channel_name)
        fetcher = FETCHERS[channel_name](channel, credentials_for(persona, channel, settings.home))
    except BeatdeskError as err:  # a persona file or credentials to fix: said where the numbers stopped
        _stale(store, done, owner, channel_name, one_line(err), now)
        return
    with store.session() as session:
        details = store_metrics.publish_details(session, post_ids=[d.post_id for d in due], channel=channel_name)
    own = {d.publication_id: 1 if thread_parts(details.get(d.post_id)) > 1 else 0 for d in due}
    for start in range(0, len(due), fetcher.batch_size):
        batch = due[start : start + fetcher.batch_size]
        targets = [Target(d.publication_id, d.remote_id, d.published_at, own[d.publication_id]) for d in batch]
        try:
            answers = fetcher.fetch(targets, now=now)
        except RateLimited as err:
            with store.session() as session:
                store_metrics.mark_rate_limited(session, persona=owner, channel=channel_name, until=err.until, at=now)
            done.rate_limited[where] = err.until
            log.info("metrics: %s", err)
            return
        except MetricsAuthError as err:
            _stale(store, done, owner, channel_name, one_line(err), now)
            return
        except MetricsError as err:  # the channel is down or slow: the rest would only wait for the same answer
            rest = due[start:]
            done.failed += len(rest)
            ids = ", ".join(str(d.publication_id) for d in rest)
            log.warning("metrics for publication(s) %s on %s not read this run: %s", ids, where, one_line(err))
            return
        except Exception as err:  # one answer that made no sense: the next batch may be fine
            done.failed += len(batch)
            ids = ", ".join(str(d.publication_id) for d in batch)
            log.warning("metrics for publication(s) %s on %s not read: %s", ids, where, one_line(err))
            continue
        with store.session() as session:
            for item in batch:
                answer = answers.get(item.publication_id)
                if isinstance(answer, Counts):
                    groups = _audience_only(answer.groups, own[item.publication_id])
                    store_metrics.add_reading(session, Reading(publication_id=item.publication_id,
                                                               channel=channel_name, fetched_at=now,
                                                               groups=groups, raw=answer.raw))  # fmt: skip
                    done.readings += 1
                elif answer is not None:
                    store_metrics.mark_gone(session, publication_id=item.publication_id, channel=channel_name, at=now,
                                            reason=answer.reason)  # fmt: skip
                    done.gone += 1
                else:
                    done.failed += 1
            store_metrics.mark_fresh(session, persona=owner, channel=channel_name, at=now)


def _audience_only(groups: Mapping[Group, int | None], own_replies: int) -> dict[Group, int | None]:
    """The groups without the post's own thread: its second part is a reply to the first on every channel that
    counts replies, and would otherwise count as conversation on every thread (raw keeps the channel's count)."""
    replies = groups.get("conversation")
    return {**groups, "conversation": None if replies is None else max(0, replies - own_replies)}


def _channel(persona: Persona, name: str) -> Channel:
    for channel in persona.channels:
        if channel.name == name:
            return channel
    raise BeatdeskError(f"persona {persona.key} no longer lists the {name} channel; its posts' numbers are not read")


def _stale(store: Store, done: Collected, owner: str, channel: str, reason: str, now: datetime) -> None:
    with store.session() as session:
        store_metrics.mark_stale(session, persona=owner, channel=channel, reason=reason, at=now)
    done.stale[f"{owner}/{channel}"] = reason
    log.warning("metrics for %s/%s are stale: %s", owner, channel, reason)


class BesidePublishing:
    """Collection for a loop that publishes (the in-process scheduler): each run in a thread of its own, one at
    a time, at most every `every_s`, so a slow or rate-limited channel never holds up the next publish."""

    def __init__(self, settings: Settings, *, every_s: float, report: Callable[[Collected], None]) -> None:
        self.settings, self.every_s, self.report = settings, every_s, report
        self._last: datetime | None = None
        self._thread: threading.Thread | None = None

    def tick(self, now: datetime) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if self._last is not None and (now - self._last).total_seconds() < self.every_s:
            return
        self._last = now
        self._thread = threading.Thread(target=lambda: self.report(collect_due(self.settings, now)),
                                        name="beatdesk-metrics", daemon=True)  # fmt: skip
        self._thread.start()

    def wait(self, timeout_s: float) -> None:
        """Wait for the run under way, if any, to end (a clean stop)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
