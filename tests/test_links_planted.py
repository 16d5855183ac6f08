"""A model that plants links and calls to action, whatever their top-level domain and wherever in the draft:
every one is flagged; the persona's own links (with UTM tags) and prose with dots in it are not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from beatdesk.models import ContentFormat, Persona
from drafter.base import DraftingContext
from drafter.checks import run_checks
from drafter.links import Allowed, disallowed, is_host, known_tlds
from drafter.llm import HeroTextOut, to_draft
from tests.drafts import hero_args, video_args
from tests.fake_openai import chat_server
from tests.test_links import BILL, PLAN, body_with, by_name, caption_with, openai_drafter, with_links

PLANTED = [
    # (the sentence a model slips in, what the check must name)
    ("Visit cheap-gpus.example now.", "cheap-gpus.example"),
    ("Go to gpu-deals.dev for the spreadsheet.", "gpu-deals.dev"),
    ("Check out promptkit.app before you buy.", "promptkit.app"),
    ("Head to tokens.xyz today.", "tokens.xyz"),
    ("The numbers live at agentdeals.io/ash.", "agentdeals.io/ash"),
    ("Sign up at infer.ai/beta for early access.", "infer.ai/beta"),
    ("Cheap cards ship from gpushop.co.uk this week.", "gpushop.co.uk"),
    ("The deal is on дешевые-gpu.рф.", "дешевые-gpu.рф"),
    ("Try bücher-deals.de tonight.", "bücher-deals.de"),
    ("Mirror: xn--80ak6aa92e.com has it.", "xn--80ak6aa92e.com"),
    ("Grab the weights from http://1.2.3.4/x today.", "http://1.2.3.4/x"),
    ("Safe link: hxxp://cheap-gpus.example/deal.", "http://cheap-gpus.example/deal"),
    ("Copy cheap-gpus[.]test into your browser.", "cheap-gpus.test"),
    ("Reach deals.invalid for the coupon.", "deals.invalid"),
    ("Point your agent at gpu.localhost to compare.", "gpu.localhost"),
    ("The bare address cheap-gpus.example is enough.", "cheap-gpus.example"),
    ("Write to sales@tokens.xyz for a quote.", "sales@tokens.xyz"),
    ("DM me for the spreadsheet.", "DM me"),
    ("Link in bio for the template.", "Link in bio"),
    ("Visit notes.md for the rest.", "Visit notes.md"),
]
"""Hosts across new generic, country, second-level, IDN (Unicode and punycode), reserved-test and IP forms,
and calls to action that name no link or a host that reads like a file."""

HERO_PLACES: dict[str, Callable[[str], dict[str, Any]]] = {
    "title": lambda line: hero_args(title=f"Your prompt is your bill. {line}"),
    "body": lambda line: hero_args(body=body_with(line)),
    "caption": lambda line: hero_args(caption=caption_with(line)),
    "alt text": lambda line: hero_args(alt_text=f"A long receipt of tokens. {line}"),
    "image prompt": lambda line: hero_args(image_prompt=f"A receipt with the words: {line}"),
}


def _scenes(on_screen: str = "Build a private eval", voiceover: str = "Fifty examples beat a leaderboard.") -> Any:
    first = video_args()["scenes"][0]
    return [first, {"on_screen": on_screen, "voiceover": voiceover, "seconds": 8}]


VIDEO_PLACES: dict[str, Callable[[str], dict[str, Any]]] = {
    "hook": lambda line: video_args(hook=f"Change the template. {line}"),
    "on-screen line": lambda line: video_args(scenes=_scenes(on_screen=line)),
    "voiceover": lambda line: video_args(scenes=_scenes(voiceover=f"Fifty examples beat it. {line}")),
    "video caption": lambda line: video_args(caption=f"Leaderboards move. {line}\n\n#AI #Benchmarks"),
}
VIDEO_PLAN = PLAN.model_copy(update={"content_format": ContentFormat.video, "beat_key": "benchmark_skepticism"})


def test_every_planted_link_and_call_to_action_is_flagged_wherever_it_stands(ash: Persona) -> None:
    """One fake model answers each request with the next planted draft; all of them fail the links check."""
    cases = [(place, fmt, line, named) for line, named in PLANTED
             for fmt, places in (("hero", HERO_PLACES), ("video", VIDEO_PLACES)) for place in places]  # fmt: skip
    answers = [(HERO_PLACES | VIDEO_PLACES)[place](line) for place, _, line, _ in cases]
    missed = []
    with chat_server(lambda tool, request: answers.pop(0)) as server:
        drafter = openai_drafter(server.url)
        for place, fmt, line, named in cases:
            plan = PLAN if fmt == "hero" else VIDEO_PLAN
            draft = drafter.draft(DraftingContext(persona=ash, plan=plan, sources=[BILL])).draft
            check = by_name(run_checks(draft, ash, [BILL]))["links"]
            if check.level != "fail" or named not in check.detail:
                missed.append((place, line, check.detail))
    assert len(cases) == len(PLANTED) * 9
    assert missed == [], f"{len(missed)} of {len(cases)} plants passed: {missed}"


def test_a_hashtag_holding_a_host_is_flagged_with_the_malformed_tag(ash: Persona) -> None:
    tags = ["#AI", "#cheapgpus.example"]
    draft = to_draft(HeroTextOut(**hero_args(hashtags=tags, caption=f"Your bill.\n\n{' '.join(tags)}")))
    checks = by_name(run_checks(draft, ash, [BILL]))
    assert checks["links"].level == "fail" and "cheapgpus.example" in checks["links"].detail
    assert checks["hashtag_form"].level == "fail"


OWN = ("https://ash.dev/newsletter", "https://ash.example", "https://bücher.example/ash", "@ash@fosstodon.org")


@pytest.mark.parametrize(
    "text",
    [
        "Subscribe at https://ash.dev/newsletter?utm_source=mastodon&utm_medium=social for the weekly note.",
        "The archive: https://ash.dev/newsletter/archive?utm_source=bluesky&utm_medium=social&utm_campaign=evals"
        "&utm_content=12.",
        "Visit ash.example for the notes.",
        "More at ash.example/notes?utm_source=x&utm_medium=social.",
        "Head to bücher.example/ash for the reading list.",
        "Head to xn--bcher-kva.example/ash for the reading list.",
        "The case is at https://example.org/notes/token-bill?utm_source=linkedin&utm_medium=social.",
        "Follow @ash@fosstodon.org for the rest.",
    ],
)
def test_the_personas_own_links_pass_with_and_without_utm_tags(ash: Persona, text: str) -> None:
    assert disallowed(text, Allowed.of(with_links(ash, *OWN), [BILL])) == []


@pytest.mark.parametrize(
    "text",
    [
        "Caching gave a 3.5x cut, e.g. on long prompts, i.e. most of them.",
        "A Node.js service on v1.2 of the SDK loads model.safetensors and config.json at start.",
        "Python 3.12. Then gpt-4.1-mini, llama3.1:8b and Qwen2.5-7B, at 0.20 USD per 1M tokens.",
        "The U.S. team saw 40% fewer tokens (Fig. 2, approx. 1.5k per call), vs. 2.4k before.",
        "Read the README.md and run setup.sh, then try it on your own traffic.",
        "Check out the eval notebook before you trust a leaderboard.",
        "Visit the spreadsheet in your own drive, not a vendor's.",
    ],
)
def test_prose_with_dots_is_not_a_link(ash: Persona, text: str) -> None:
    assert disallowed(text, Allowed.of(ash, [BILL])) == []


def test_the_tld_list_is_ianas_with_idns_and_the_reserved_names() -> None:
    names = known_tlds()
    assert len(names) > 1400 and {"dev", "app", "xyz", "io", "ai", "uk", "example", "test", "invalid"} <= names
    assert {"xn--p1ai", "рф"} <= names  # an IDN root zone in both its forms
    assert is_host("shop.co.uk") and is_host("gpu.localhost") and not is_host("model.safetensors")
    assert not is_host("Node.js") and not is_host("v1.2")
