"""Local renderers: card sizes per aspect, and the hero card judged as a picture at phone size."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageColor

from beatdesk.models import HeroTextDraft, Persona, Source
from renderers.base import SIZES, ImageRequest
from renderers.card_text import landing_line, source_credit
from renderers.layout import font
from renderers.local_image import CardFace, LocalImageRenderer, card


@pytest.mark.parametrize("aspect", list(SIZES))
def test_card_size_per_aspect(ash: Persona, tmp_path: Path, aspect: str) -> None:
    out = tmp_path / f"{aspect.replace(':', 'x')}.png"
    result = LocalImageRenderer().render(
        ImageRequest(
            kind="hero_image", title="Short title", kicker="Beat", prompt="p", persona=ash, aspect=aspect, out_path=out
        )  # type: ignore[arg-type]
    )
    with Image.open(out) as image:
        assert image.size == SIZES[aspect] and (result.artifact.width, result.artifact.height) == SIZES[aspect]
    assert not out.with_suffix(".part").exists()


ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PHONE_WIDTH = 390
TITLES = {
    "short": "Prompts cost more",
    "long": "Your prompt, not your model, is most of your inference bill",
    "very-long": "Why a 6,000-token system prompt quietly costs a support team more than the model they picked, and "
    "what trimming it to 900 tokens did to its answers in three languages",  # 160 characters, the most a title has
}
LANDING = "Cut the prompt before you shop for a cheaper model: it is the part of the bill you write yourself."


@pytest.mark.parametrize("length", list(TITLES))
def test_a_hero_card_reads_at_phone_size(ash: Persona, length: str) -> None:
    """The card as a phone shows it (390 px wide): ink in every third of its height, no long empty band,
    every text whole, inside the margins and clear of the others, and the title's capitals 14 px or taller."""
    title = TITLES[length]
    drawn = card(CardFace.of(ash), title=title, kicker="Inference economics", size=SIZES["4:5"], landing=LANDING,
                 credit="Source: The real cost of long prompts")  # fmt: skip
    width, height = drawn.image.size
    scale = PHONE_WIDTH / width
    phone = drawn.image.convert("RGB").resize((PHONE_WIDTH, round(height * scale)), Image.Resampling.LANCZOS)
    ARTIFACTS.mkdir(exist_ok=True)
    phone.save(ARTIFACTS / f"hero-card-{length}-390.png")

    background = np.array(ImageColor.getrgb(ash.style.background))
    inked = (np.abs(np.asarray(phone, dtype=int) - background).max(axis=2) > 40).sum(axis=1)  # ink per row
    thirds = np.array_split(inked, 3)
    assert all(third.sum() > 200 for third in thirds), [int(third.sum()) for third in thirds]
    empty, longest = 0, 0
    for row in inked:
        empty = empty + 1 if row == 0 else 0
        longest = max(longest, empty)
    assert longest < phone.height * 0.2, f"an empty band of {longest} px rows on a {phone.height} px card"

    assert " ".join(drawn.lines["title"]) == title and " ".join(drawn.lines["landing"]) == LANDING  # never cut
    assert not any("…" in line for lines in drawn.lines.values() for line in lines)
    margin = width // 12
    for name, (left, top, right, bottom) in drawn.boxes.items():
        assert margin <= left and right <= width - margin and margin <= top and bottom <= height - margin, name
    for (a, box_a), (b, box_b) in itertools.combinations(drawn.boxes.items(), 2):
        apart = box_a[2] <= box_b[0] or box_b[2] <= box_a[0] or box_a[3] <= box_b[1] or box_b[3] <= box_a[1]
        assert apart, f"{a} {box_a} overlaps {b} {box_b}"
    _, cap_top, _, cap_bottom = font(ash.style.font_path, drawn.title_size).getbbox("H")
    cap = (cap_bottom - cap_top) * scale
    assert cap >= 14, f"title capitals {cap:.1f} px high at phone size"


@pytest.mark.parametrize("aspect", list(SIZES))
def test_every_text_stays_inside_the_margins_on_every_shape(ash: Persona, aspect: str) -> None:
    width, height = SIZES[aspect]  # type: ignore[index]
    drawn = card(CardFace.of(ash), title=TITLES["very-long"], kicker="Inference economics", size=(width, height),
                 landing=LANDING, credit="Source: The real cost of long prompts")  # fmt: skip
    inset = min(width, height * 4 // 5) // 12
    for name, (left, top, right, bottom) in drawn.boxes.items():
        assert inset <= left and right <= width - inset and inset <= top and bottom <= height - inset, (aspect, name)
    assert " ".join(drawn.lines["title"]) == TITLES["very-long"]


def test_a_card_shows_the_personas_colours_where_a_reader_sees_them(ash: Persona, tmp_path: Path) -> None:
    """Drawn as coverage masks and stored as a palette PNG: the file still shows the style's exact colours
    (background, the accent bar and kicker, the title in the foreground) and blends only at type edges."""
    out = tmp_path / "card.png"
    LocalImageRenderer().render(
        ImageRequest(kind="hero_image", title="Inference economics", kicker="Beat", prompt="p", persona=ash,
                     aspect="4:5", out_path=out)  # type: ignore[arg-type]
    )  # fmt: skip
    style = ash.style
    with Image.open(out) as image:
        assert image.mode == "P"
        rgb = image.convert("RGB")
    margin = rgb.width // 12
    hex_of = "#{:02x}{:02x}{:02x}".format
    assert hex_of(*rgb.getpixel((2, 2))) == style.background.lower()
    assert hex_of(*rgb.getpixel((margin + 10, margin + 7))) == style.accent.lower()  # inside the accent bar
    colours = {hex_of(*c) for _, c in rgb.getcolors(1 << 16) or []}
    assert style.foreground.lower() in colours  # the title's solid strokes
    assert len(colours) <= 256


def test_card_processes_hold_none_of_this_processes_connections() -> None:
    """The desk draws cards in-process: a client connection it closes must close for the browser too. A card
    process forked from the desk kept a copy of it open, and the browser's next request on it went unanswered."""
    import os
    import socket

    from renderers.local_image import card_pool

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    card_pool.cache_clear()
    pool = card_pool()
    try:
        pids = {pool.submit(os.getpid).result(timeout=60) for _ in range(8)}
        assert os.getpid() not in pids  # the cards are drawn elsewhere, by processes started while it was open
        accepted.close()
        client.settimeout(10)
        assert client.recv(1) == b""  # the end of the stream at once: nobody else holds the connection
    finally:
        pool.shutdown()
        card_pool.cache_clear()
        client.close()
        listener.close()


def test_the_landing_line_is_the_drafts_closing_line_or_its_last_sentence() -> None:
    body = "Prompts grow quietly. A 6,000-token system prompt costs more than the model. Trim it first."
    draft = HeroTextDraft(title="Prompts cost more", body=body, button="Trim the prompt before the model.",
                          caption="c", hashtags=("#AI",), image_prompt="p", alt_text="a")  # fmt: skip
    assert landing_line(draft) == "Trim the prompt before the model."
    assert landing_line(draft.model_copy(update={"button": ""})) == "Trim it first."
    assert landing_line(draft.model_copy(update={"button": "word " * 40})) == "Trim it first."  # too long to read


def test_a_quoted_figure_is_credited_to_the_source_that_has_it() -> None:
    sources = [
        Source(id="other", title="Agents in production", text="Teams capped agents at 20 steps."),
        Source(id="prompts", title="The real cost of long prompts", text="A 6000-token prompt, sent a million times."),
        Source(id="long", title="A very long title " * 5, url="https://www.example.org/a", text="It cut 40% of spend."),
    ]
    assert source_credit("A 6,000-token system prompt costs more.", sources) == "Source: The real cost of long prompts"
    assert source_credit("Trimming saved 40% of the bill.", sources) == "Source: example.org"  # a long title: the host
    assert source_credit("Prompts cost more than models.", sources) == ""  # no figure, no credit
    assert source_credit("It took 3 weeks and 75 reviews.", sources) == ""  # figures no source has
