"""UTM tags on the persona's own links, per channel; other hosts untouched; the links check still passes them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from beatdesk.models import Channel, ContentFormat, HeroTextDraft, Persona, Plan, Post, PostStatus, Source
from drafter.links import Allowed, disallowed, urls_in
from publishers.channel_text import channel_parts, channel_text
from publishers.utm import tagged

OWN = "https://ash.example/notes"
SOURCE = "https://news.example.com/2026/11/bill?ref=feed"
BODY = (
    f"Your prompt is most of your inference bill. The numbers are in {SOURCE} and my notes at {OWN}.\n\n"
    "The longer write-up, https://www.ash.example/notes/caching?lang=en#part-2, has the whole table. "
    "Another site, https://ash.example.org/notes, is not mine."
)


def post_with(body: str) -> Post:
    plan = Plan(beat_key="foundation_models_and_inference_economics", beat_title="Inference economics",
                content_format=ContentFormat.hero_text, title="Your prompt is most of your bill", angle="a",
                button="b", why_beat="w", why_format="w", freshness="f")  # fmt: skip
    draft = HeroTextDraft(title="Where the bill goes", body=body, button="b", caption=f"Where the bill goes: {OWN}",
                          hashtags=("#AI",), image_prompt="p", alt_text="a")  # fmt: skip
    return Post(id=42, batch_id=1, persona="ash", content_format=ContentFormat.hero_text, status=PostStatus.approved,
                status_changed_at=datetime.now(UTC), created_at=datetime.now(UTC), plan=plan, draft=draft)  # fmt: skip


def tags_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize("name", ["mastodon", "bluesky", "x", "linkedin", "instagram", "threads"])
def test_own_links_carry_the_channel_beat_and_post(ash: Persona, name: str) -> None:
    persona = ash.model_copy(update={"links": (OWN, "@ash@ash.example"), "utm": True})
    channel = Channel(name=name, url="https://m.example" if name == "mastodon" else None)  # type: ignore[arg-type]
    text = channel_text(post_with(BODY), channel, persona=persona)
    links = urls_in(text)
    own = [u for u in links if "ash.example/notes" in u and "ash.example.org" not in u]
    assert len(own) == (1 if name in ("linkedin", "instagram") else 2)  # the caption, or the thread's body
    for url in own:
        assert tags_of(url) | {"lang": ["en"]} == {
            "utm_source": [name], "utm_medium": ["social"], "utm_campaign": ["foundation_models_and_inference_economics"],
            "utm_content": ["42"], "lang": ["en"],
        }  # fmt: skip
    if name not in ("linkedin", "instagram"):
        assert "https://www.ash.example/notes/caching?lang=en&utm_source=" in text and text.count("#part-2,") == 1
        assert SOURCE in text and "https://ash.example.org/notes," in text  # other hosts exactly as written
    # The links check judges the tagged text as it judges the untagged one: only the other site is named.
    allowed = Allowed.of(persona, [Source(id="bill", title="t", url=SOURCE, text="x")])
    untagged = channel_text(post_with(BODY), channel, persona=persona.model_copy(update={"utm": False}))
    assert [f.text for f in disallowed(text, allowed)] == [f.text for f in disallowed(untagged, allowed)]
    assert [f.text for f in disallowed(text, allowed)] in ([], ["https://ash.example.org/notes"])


def test_without_the_option_links_are_left_alone(ash: Persona) -> None:
    persona = ash.model_copy(update={"links": (OWN,)})
    assert OWN + "." in channel_text(post_with(BODY), Channel(name="bluesky"), persona=persona)
    assert tagged("no links here", own=[OWN], source="x", campaign="c", content="1") == "no links here"


def test_tagged_threads_still_fit_and_number_their_parts(ash: Persona) -> None:
    persona = ash.model_copy(update={"links": (OWN,), "utm": True, "thread_numbering": True})
    parts = channel_parts(post_with(BODY * 3), Channel(name="bluesky"), persona=persona)
    assert len(parts) > 1 and all(p.endswith(f"\n\n{n}/{len(parts)}") for n, p in enumerate(parts, 1))
    assert all("utm_source=bluesky" in u for p in parts for u in urls_in(p) if u.startswith(OWN))
