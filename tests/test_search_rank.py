"""Search ranks the newest matches (a window) and returns the best of them first, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from beatdesk.store import Store, forget_stores, open_store, search


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, home: Path) -> Iterator[Store]:
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'beatdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield open_store(url)
    forget_stores()


def test_the_best_of_the_newest_matches_comes_first(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_store import new_post

    ids = [new_post(store)[1] for _ in range(4)]
    titles = ["quantisation quantisation quantisation", "a note on quantisation", "quantisation, quantisation", "x"]
    with store.session() as session:
        search.index_posts(session, [(i, {"title": title}, None) for i, title in zip(ids, titles, strict=True)])
    with store.session() as session:
        assert search.matching_ids(session, "quantisation", limit=10) == [ids[0], ids[2], ids[1]]
        monkeypatch.setattr(search, "RANKED_WINDOW", 2)  # only the two newest matches are ranked
        assert search.matching_ids(session, "quantisation", limit=2) == [ids[2], ids[1]]
