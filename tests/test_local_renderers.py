"""Local renderers: card sizes per aspect, titles that wrap and never overflow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from beatdesk.models import Persona
from renderers.base import SIZES, ImageRequest
from renderers.local_image import LocalImageRenderer, fit_text


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


@pytest.mark.parametrize("words", [1, 12, 60, 200])
def test_titles_wrap_and_never_overflow(words: int) -> None:
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    title = " ".join(["inference"] * words)
    box = (900, 900)
    font, lines, line_height = fit_text(draw, title, None, box, start=98)
    text = " ".join(lines)
    assert text == title or (text.endswith(" …") and title.startswith(text[:-2]))  # no word cut, at most shortened
    assert all(draw.textlength(line, font=font) <= box[0] for line in lines)
    assert len(lines) * line_height <= box[1]


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
