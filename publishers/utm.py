"""UTM tags on the persona's own links, per channel, so its site's analytics can tell which post sent a reader.

Only links with a scheme under one of the persona's `links` are tagged (`utm_source` = channel,
`utm_medium=social`, `utm_campaign` = beat, `utm_content` = post id); a link's own query and fragment
are kept, and links to any other host are left exactly as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_LINK = re.compile(r"https?://[^\s<>\"“”]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'’»"
"""Punctuation that ends the sentence, not the link."""


def tagged(text: str, *, own: Iterable[str], source: str, campaign: str, content: str) -> str:
    """`text` with every link under `own` carrying this post's UTM tags."""
    prefixes = [_place(link) for link in own if not link.startswith("@")]
    tags = {"utm_source": source, "utm_medium": "social", "utm_campaign": campaign, "utm_content": content}

    def tag(match: re.Match[str]) -> str:
        link = match.group(0)
        bare = link.rstrip(_TRAILING)
        if not any(_under(_place(bare), prefix) for prefix in prefixes):
            return link
        parts = urlsplit(bare)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in tags]
        return urlunsplit(parts._replace(query=urlencode(query + list(tags.items())))) + link[len(bare) :]

    return _LINK.sub(tag, text) if prefixes else text


def _place(link: str) -> tuple[str, str]:
    """A link's host (no `www.`, any case) and path (no trailing slash)."""
    parts = urlsplit(link if "://" in link else f"https://{link}")
    return (parts.hostname or "").removeprefix("www."), parts.path.rstrip("/")


def _under(place: tuple[str, str], prefix: tuple[str, str]) -> bool:
    host, path = place
    return host == prefix[0] and (path == prefix[1] or path.startswith(prefix[1] + "/"))
