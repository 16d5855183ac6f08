"""Reading sources: notes, digests of short insights, and RSS/Atom feeds, from files or URLs.

Everything is parsed before anything is stored, so a bad input stores nothing. Source text is
untrusted: it is kept as data and quoted to models inside a fence, never obeyed.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse
from xml.sax import SAXException

import feedparser
import httpx
from pydantic import ValidationError

from beatdesk import net
from beatdesk.bounds import FRONT_MATTER_MAX_BYTES, TooLargeError, loads_toml, read_capped
from beatdesk.errors import BeatdeskError, describe_validation_error
from beatdesk.models import Beat, Persona, Source
from beatdesk.settings import DEFAULT_SOURCE_MAX_BYTES
from beatdesk.store import Store, repo
from planner.similarity import Vectors, terms

Kind = Literal["note", "digest", "feed"]
FRONT_MATTER = "+++"
TAG_THRESHOLD = 0.045
"""Least similarity of a source to a beat's profile for the source to be tagged with that beat. Calibrated on
tests/data/articles (`python bench/tagging.py`): pieces a person files under a beat score 0.07 and up, off-beat
pieces (AI policy, chips, other subjects) 0.025 at most."""
SECOND_BEAT_SHARE = 0.8
"""A second beat is tagged only when it scores at least this share of the best one: a piece about both."""
MIN_ARTICLE_WORDS = 30
"""Fewer words than this extracted from a page: a cover, a login wall or an error page, not an article."""
MAX_REDIRECTS = 5
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")


class SourceError(BeatdeskError):
    pass


class SourceUnreachable(SourceError):
    """A URL that could not be fetched; the caller skips it and says so."""


def slug(text: str, limit: int = 48) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = "-".join(words)[:limit].strip("-")
    return out or "source"


def read_sources(
    target: str,
    *,
    persona: Persona,
    kind: Kind | None = None,
    beats: tuple[str, ...] = (),
    max_bytes: int = DEFAULT_SOURCE_MAX_BYTES,
) -> list[Source]:
    """Parse a file or URL into sources, tagged with beats (given, from front matter, or by similarity)."""
    for key in beats:
        _check_beat(persona, key, where="--beat")
    if urlparse(target).scheme in ("http", "https"):
        sources = _from_url(target, kind=kind, max_bytes=max_bytes)
    else:
        sources = _from_file(Path(target), kind=kind, max_bytes=max_bytes)
    for source in sources:
        for key in source.beats:
            _check_beat(persona, key, where=source.origin or target)
    return tag_beats(sources, persona, given=beats)


def _check_beat(persona: Persona, key: str, *, where: str) -> None:
    if key not in {beat.key for beat in persona.beats}:
        known = ", ".join(beat.key for beat in persona.beats)
        raise SourceError(f"{where}: unknown beat {key!r} for persona {persona.key}; known: {known}")


def beat_profile(beat: Beat) -> str:
    """What a beat is about, in words: its title, the persona's take, its angles and its hashtags' words."""
    tags = [re.sub(r"([a-z])([A-Z])", r"\1 \2", tag.lstrip("#")) for tag in beat.hashtags]
    return " ".join((beat.title, beat.notes, *beat.angles, *tags))


def tag_beats(sources: list[Source], persona: Persona, *, given: tuple[str, ...] = ()) -> list[Source]:
    """Sources without beats get the beat their text is closest to (TF-IDF), above a threshold, and the score.

    Each source is scored on its own against the beats, so its tags do not depend on what was added with it."""
    untagged = [i for i, source in enumerate(sources) if not (source.beats or given)]
    profiles = [terms(beat_profile(b)) for b in persona.beats] if untagged else []  # counted once, for all sources
    tagged = list(sources)
    for i in untagged:
        source = sources[i]
        text = terms(f"{source.title} {source.text}")
        scores = Vectors.of_terms([text], profiles).block([0], range(len(profiles)))[0]
        first, second = sorted(range(len(profiles)), key=lambda j: -scores[j])[:2]
        best = float(scores[first])
        keys = [persona.beats[first].key] if best >= TAG_THRESHOLD else []
        if keys and scores[second] >= max(TAG_THRESHOLD, SECOND_BEAT_SHARE * best):
            keys.append(persona.beats[second].key)
        tagged[i] = source.model_copy(update={"beats": tuple(keys), "beat_score": round(best, 4)})
    if given:
        tagged = [source.model_copy(update={"beats": given}) for source in tagged]
    return tagged


def _check_size(origin: object, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise SourceError(
            f"{origin}: {size:,} bytes, over the {max_bytes:,}-byte limit for a source "
            "(BEATDESK_SOURCE_MAX_BYTES); split it or raise the limit"
        )


def _read_text(path: Path, *, max_bytes: int) -> str:
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    try:  # never more than the cap is read: a 1 GB file costs one read of max_bytes + 1
        data = read_capped(path, max_bytes=max_bytes, what="a source", setting="BEATDESK_SOURCE_MAX_BYTES")
    except TooLargeError as err:
        raise SourceError(f"{err}; split it or raise the limit") from None
    except OSError as err:
        raise SourceError(f"{path}: cannot read it ({err.strerror or err})") from None
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: a binary file, not text; give a Markdown, text or feed file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(f"{path}: not UTF-8 text (byte {err.start})") from None
    if not text.strip():
        raise SourceError(f"{path}: the file is empty")
    return text


def _guess_kind(text: str, name: str) -> Kind:
    head = text.lstrip()[:200].lower()
    if head.startswith("<?xml") or head.startswith("<rss") or head.startswith("<feed"):
        return "feed"
    return "digest" if "digest" in name.lower() else "note"


def _from_file(path: Path, *, kind: Kind | None, max_bytes: int) -> list[Source]:
    text = _read_text(path, max_bytes=max_bytes)
    kind = kind or _guess_kind(text, path.name)
    if kind == "feed":
        return parse_feed(text, origin=str(path))
    meta, body = split_front_matter(text, origin=str(path))
    if not body.strip():
        raise SourceError(f"{path}: no text after the front matter")
    if kind == "digest":
        return parse_digest(body, meta=meta, origin=str(path), stem=path.stem)
    meta.setdefault("title", _first_words(body) if path.suffix.lower() == ".txt" else path.stem.replace("-", " "))
    meta.setdefault("published", datetime.fromtimestamp(path.stat().st_mtime, UTC).date())
    return [_source({"id": slug(path.stem, 80), **meta, "kind": "note", "text": " ".join(body.split())}, str(path))]


def _from_url(url: str, *, kind: Kind | None, max_bytes: int) -> list[Source]:
    from beatdesk.settings import get_settings

    try:
        response = net.request(
            _client(), "GET", url, max_bytes=max_bytes, deadline_s=get_settings().source_fetch_timeout_s,
            redirects=MAX_REDIRECTS,
        )  # fmt: skip
    except net.AnswerTooLarge:
        raise SourceError(
            f"{url}: over the {max_bytes:,}-byte limit for a source (BEATDESK_SOURCE_MAX_BYTES); nothing stored"
        ) from None
    except net.AddressRefused as err:
        raise SourceError(f"{url}: {err}; nothing stored") from None
    except net.FetchError as err:
        raise SourceError(f"{err}; nothing stored") from None
    except httpx.HTTPError as err:
        raise SourceUnreachable(f"{url}: cannot fetch it ({type(err).__name__}: {err}); skipped") from None
    if response.status_code >= 400:
        raise SourceUnreachable(f"{url}: the server answered {response.status_code}; skipped")
    text = response.text
    if not text.strip():
        raise SourceError(f"{url}: the answer is empty")
    if (kind or _guess_kind(text, url)) == "feed":
        return parse_feed(text, origin=url)
    if "html" not in response.headers.get("content-type", "") and not _looks_like_html(text):
        raise SourceError(f"{url}: neither a feed nor an HTML page; save it as a note file and add that")
    return parse_article(text, origin=url)


@lru_cache(maxsize=1)
def _client() -> httpx.Client:
    """One guarded client per process: a batch of URLs reuses its connections."""
    return net.client(headers={"User-Agent": "beatdesk"}, timeout=httpx.Timeout(10))


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith("<!doctype html") or "<html" in head


def parse_article(html: str, *, origin: str) -> list[Source]:
    """An article page as its text, title, author, date and canonical URL (trafilatura), not its HTML."""
    import trafilatura  # imported here: lxml and its helpers cost every CLI start 0.3 s, and only pages need them
    from trafilatura.settings import Document

    document = trafilatura.bare_extraction(html, url=origin, with_metadata=True, include_comments=False)
    text = " ".join(str(document.text or "").split()) if isinstance(document, Document) else ""
    if not isinstance(document, Document) or len(text.split()) < MIN_ARTICLE_WORDS:
        raise SourceError(f"{origin}: no article text found on the page; save it as a note file and add that")
    title = " ".join(str(document.title or "").split()) or _first_words(text)
    if text.startswith(title):  # trafilatura's text opens with the headline; the title is kept apart
        text = text[len(title) :].strip() or text
    published = None
    if document.date:
        try:
            published = date.fromisoformat(str(document.date)[:10])
        except ValueError:
            published = None
    canonical = str(document.url or origin)
    source = _source(
        {"id": "x", "title": title, "kind": "note", "url": canonical, "published": published,
         "author": " ".join(str(document.author).split()) if document.author else None, "text": text},
        origin,
    )  # fmt: skip
    return [source.model_copy(update={"id": f"{slug(title, 40)}-{source.content_hash[:8]}"})]


def split_front_matter(text: str, *, origin: str) -> tuple[dict[str, object], str]:
    """TOML front matter between `+++` lines, and the body after it."""
    if not text.startswith(FRONT_MATTER):
        return {}, text
    head, sep, body = text[len(FRONT_MATTER) :].partition(f"\n{FRONT_MATTER}")
    if not sep:
        raise SourceError(f"{origin}: front matter opened with +++ is never closed")
    try:
        return loads_toml(head, source=origin, max_bytes=FRONT_MATTER_MAX_BYTES, what="front matter"), body
    except tomllib.TOMLDecodeError as err:
        raise SourceError(f"{origin}: front matter is not valid TOML: {err}") from None
    except TooLargeError as err:
        raise SourceError(str(err)) from None


def parse_digest(body: str, *, meta: dict[str, object], origin: str, stem: str) -> list[Source]:
    """One source per bullet, or per paragraph when there are no bullets."""
    lines = body.splitlines()
    if any(_BULLET.match(line) for line in lines):
        items: list[str] = []
        current: list[str] = []
        for line in lines:
            if _BULLET.match(line):
                if current:
                    items.append(" ".join(current))
                current = [_BULLET.sub("", line, count=1)]
            elif line.strip() and current:
                current.append(line.strip())
        if current:
            items.append(" ".join(current))
    else:
        items = [
            " ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip() and not p.lstrip().startswith("#")
        ]
    published = meta.get("published", date.today())
    beats = meta.get("beats", ())
    return [
        _source(
            {
                "id": f"{slug(stem, 40)}-{i + 1}-{slug(item, 30)}"[:80].strip("-"),
                "title": _first_words(item),
                "kind": "digest",
                "published": published,
                "beats": beats,
                "text": " ".join(item.split()),
            },
            origin,
        )
        for i, item in enumerate(items)
    ]


def parse_feed(text: str, *, origin: str) -> list[Source]:
    feed = feedparser.parse(text)
    # Malformed XML is refused even where feedparser salvaged items: half a feed is not what was meant.
    if feed.bozo and (isinstance(feed.bozo_exception, SAXException) or not feed.entries):
        err = feed.bozo_exception
        line = getattr(err, "getLineNumber", lambda: None)()
        where = f" (line {line})" if line else ""
        raise SourceError(f"{origin}: not a valid RSS or Atom feed{where}: {err}")
    if not feed.entries:
        raise SourceError(f"{origin}: the feed has no items")
    sources = []
    for entry in feed.entries:
        title = " ".join(str(entry.get("title", "")).split()) or "untitled"
        summary = entry.get("summary") or (entry.get("content") or [{}])[0].get("value", "")
        body = " ".join(re.sub(r"<[^>]+>", " ", str(summary)).split()) or title
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        source = _source(
            {
                "id": "x",
                "title": title,
                "kind": "feed",
                "url": entry.get("link"),
                "published": date(*stamp[:3]) if stamp else None,
                "text": body,
            },
            origin,
        )
        sources.append(source.model_copy(update={"id": f"{slug(title, 40)}-{source.content_hash[:8]}"}))
    return sources


def _first_words(text: str, count: int = 10) -> str:
    words = text.split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")


def _source(values: dict[str, object], origin: str) -> Source:
    try:
        return Source.model_validate({**values, "origin": origin})
    except ValidationError as err:
        raise SourceError(describe_validation_error(err, source=origin)) from None


FOLDER_SUFFIXES = (".md", ".markdown", ".txt", ".xml", ".rss", ".atom")


def folder_sources(
    home: Path, persona: Persona, *, max_bytes: int = DEFAULT_SOURCE_MAX_BYTES
) -> tuple[list[Source], list[str]]:
    """The notes the team keeps in `personas/KEY/sources/` (Markdown or text), read fresh each time, and a
    warning for each file skipped: a link out of the folder (never followed), or a file over `max_bytes`,
    unreadable or malformed. One bad file never stops planning for the persona."""
    folder = home / "personas" / persona.key / "sources"
    if not folder.is_dir():
        return [], []
    inside = folder.resolve()
    found: list[Source] = []
    warnings: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in FOLDER_SUFFIXES:
            continue
        try:
            target = path.resolve(strict=True)
            if not target.is_relative_to(inside):
                warnings.append(f"{path}: skipped: a link to {target}, outside the sources folder")
                continue
            if not target.is_file():
                continue
            found.extend(read_sources(str(target), persona=persona, max_bytes=max_bytes))
        except SourceError as err:
            warnings.append(f"skipped: {err}")
        except (OSError, RuntimeError) as err:  # a dangling link, a loop of links, a file that cannot be read
            warnings.append(f"{path}: skipped: cannot read it ({getattr(err, 'strerror', None) or err})")
    return found, warnings


def add_sources(
    store: Store,
    *,
    persona: Persona,
    targets: list[str],
    kind: Kind | None = None,
    beats: tuple[str, ...] = (),
    max_bytes: int = DEFAULT_SOURCE_MAX_BYTES,
) -> tuple[list[Source], int, list[str]]:
    """Read every target first, then store all in one transaction.

    Returns (stored, skipped as already known, unreachable URLs with the reason)."""
    sources: list[Source] = []
    unreachable: list[str] = []
    for target in targets:
        try:
            sources.extend(read_sources(target, persona=persona, kind=kind, beats=beats, max_bytes=max_bytes))
        except SourceUnreachable as err:
            unreachable.append(str(err))
    with store.session() as session:
        stored, skipped = repo.store_sources(session, persona=persona.key, sources=sources)
    return stored, skipped, unreachable


def sync_folder(store: Store, *, home: Path, persona: Persona, max_bytes: int = DEFAULT_SOURCE_MAX_BYTES) -> list[str]:
    """Store the folder's notes; returns a warning per file skipped."""
    sources, warnings = folder_sources(home, persona, max_bytes=max_bytes)
    if sources:
        with store.session() as session:
            repo.store_sources(session, persona=persona.key, sources=sources)
    return warnings
