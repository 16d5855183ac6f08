"""The post page's engagement: for each channel the post went out on, its readings over time, what the
channel does not report, and why numbers stopped (stale token, rate limit, post deleted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from beatdesk.engagement import Reading
from beatdesk.models import Post
from beatdesk.store import Store
from beatdesk.store import metrics as store_metrics


@dataclass(frozen=True)
class ChannelNumbers:
    channel: str
    read: bool
    """Whether beatdesk reads this channel's numbers at all (the outbox and the webhook have none)."""
    readings: list[Reading]
    """Oldest first."""
    gone: store_metrics.Gone | None
    stale_reason: str | None
    rate_limited_until: datetime | None
    next_at: datetime | None
    """When the publication is read next (None: its 30 days are over, or it is gone)."""

    def unknown(self, group: str) -> bool:
        """The channel reported nothing for `group` in any reading (shown as —, never 0)."""
        return all(reading.groups.get(group) is None for reading in self.readings)  # type: ignore[call-overload]


def post_metrics(store: Store, post: Post) -> list[ChannelNumbers]:
    """Each of the post's publications with its numbers; empty before the post went out anywhere."""
    if not post.publications:
        return []
    with store.session() as session:
        readings = store_metrics.readings_of_post(session, post.id)
        gone = {g.channel: g for g in store_metrics.gone_of_post(session, post.id)}
        states = {s.channel: s for s in store_metrics.channel_states(session, persona=post.persona)}
    shown = []
    for publication in sorted(post.publications, key=lambda p: p.published_at):
        name = publication.channel
        own = [r for r in readings if r.channel == name]
        state = states.get(name)
        read = name in store_metrics.METRICS_CHANNELS
        last = own[-1].fetched_at if own else None
        shown.append(ChannelNumbers(
            channel=name, read=read, readings=own, gone=gone.get(name),
            stale_reason=state.stale_reason if state else None,
            rate_limited_until=state.rate_limited_until if state else None,
            next_at=store_metrics.next_due(publication.published_at, last) if read and name not in gone else None,
        ))  # fmt: skip
    return shown
