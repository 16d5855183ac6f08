"""The post page shows its engagement per channel over time, in the persona's zone, with what a channel does
not report as — (never 0), why numbers stopped, and everything escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from typer.testing import CliRunner

from beatdesk.engagement import Reading
from beatdesk.store import metrics as store_metrics
from beatdesk.store.schema import PublicationRow
from tests.desk_client import desk_home, log_in

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_post_page_shows_numbers_per_channel(cli: CliRunner, home: Path) -> None:
    with desk_home(cli, home, items=1) as desk:
        client = log_in(desk.client())
        assert 'id="engagement"' not in client.get("/posts/1").text  # nothing went out yet: no section
        with desk.store.session() as session:
            session.execute(insert(PublicationRow), [
                {"post_id": 1, "channel": "mastodon", "remote_id": "101", "published_at": AT},
                {"post_id": 1, "channel": "outbox", "remote_id": "outbox:1", "published_at": AT},
            ])  # fmt: skip
            mastodon = session.scalar(select(PublicationRow.id).where(PublicationRow.channel == "mastodon"))
            assert mastodon is not None
            for hour, likes in ((10, 3), (9 + 24, 8)):
                at = datetime(2026, 11, 2, 0, 0, tzinfo=UTC).replace(day=2 + hour // 24, hour=hour % 24)
                groups = {"reach": None, "approval": likes, "redistribution": 0, "conversation": 1, "saves": None}
                store_metrics.add_reading(session, Reading(publication_id=mastodon, channel="mastodon", fetched_at=at,
                                                           groups=groups, raw={"favourites_count": likes}))  # type: ignore[arg-type]  # fmt: skip
            store_metrics.mark_stale(session, persona="ash", channel="mastodon", at=AT,
                                     reason="mastodon refused the token (401: <script>revoked</script>)")  # fmt: skip
        page = client.get("/posts/1").text
    section = page.split('id="engagement"', 1)[1].split("</details>", 1)[0]
    table = section.split('id="engagement-mastodon"', 1)[1].split("</section>", 1)[0]
    assert "Fetched at (Europe/Berlin)" in table
    assert "Mon 02 Nov 2026 11:00 CET (Europe/Berlin)" in table  # 10:00 UTC, in the persona's zone, zone named
    assert table.index("11:00 CET") < table.index("Tue 03 Nov 2026 10:00 CET")  # oldest first
    cells = table.split("<tbody>", 1)[1]
    assert cells.count('title="mastodon does not report reach">—</td>') == 2
    assert cells.count('title="mastodon does not report saves">—</td>') == 2
    assert '<td class="num">0</td>' in cells and '<td class="num">8</td>' in cells  # a real 0 is a 0
    assert "Stale: <bdi>mastodon refused the token (401: &lt;script&gt;revoked&lt;/script&gt;)</bdi>" in table
    assert "<script>revoked" not in page
    assert "Next read: Mon 09 Nov 2026 10:00 CET (Europe/Berlin)" in table  # 7 days after it went out
    assert "outbox reports no numbers." in section
