"""Domain models: validation that names the file, field and value; money that stays exact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from beatdesk.errors import InvalidTransitionError, PersonaFileError
from beatdesk.home import init_home
from beatdesk.models import BatchSpec, ContentFormat, PipelineStep, PostStatus, StepStatus
from beatdesk.personas import load_persona, parse_persona_file
from beatdesk.prices import format_usd, image_cost, split_cost, token_cost
from beatdesk.states import check_transition

MINIMAL = """
handle = "@kim"
display_name = "Kim"
voice = "Short and exact."

[[beats]]
key = "open_weights"
title = "Open weights"
weight = {weight}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_example_persona_is_complete(home: Path) -> None:
    init_home(home)
    ash = load_persona(home, "@ash")
    assert ash.handle == "@ash" and ash.key == "ash"
    assert len(ash.beats) >= 6
    assert {b.kind for b in ash.beats} == {"evergreen", "news_pegged"}
    assert all(b.angles and b.notes and len(b.hashtags) >= 2 for b in ash.beats)
    assert ash.beat("foundation_models_and_inference_economics").title == "Inference economics"


def test_bad_field_names_file_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path / "kim.toml", MINIMAL.format(weight=-2))
    with pytest.raises(PersonaFileError) as err:
        parse_persona_file(path)
    message = str(err.value)
    assert str(path) in message and "beats[0].weight" in message and "-2" in message
    assert "\n" not in message


def test_bad_toml_says_where(tmp_path: Path) -> None:
    path = write(tmp_path / "kim.toml", 'handle = "@kim\n')
    with pytest.raises(PersonaFileError, match=r"kim\.toml: not valid TOML.*line 1"):
        parse_persona_file(path)


def test_duplicate_beat_keys_refused(tmp_path: Path) -> None:
    text = MINIMAL.format(weight=1) + '\n[[beats]]\nkey = "open_weights"\ntitle = "Again"\n'
    with pytest.raises(PersonaFileError, match="appears twice"):
        parse_persona_file(write(tmp_path / "kim.toml", text))


def test_unknown_field_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonaFileError, match=r"colour.*Extra inputs"):
        parse_persona_file(write(tmp_path / "kim.toml", 'colour = "red"\n' + MINIMAL.format(weight=1)))


def test_batch_spec_formats_line_up() -> None:
    spec = BatchSpec(persona="ash", counts={ContentFormat.video: 1, ContentFormat.hero_text: 4})
    assert spec.total == 5
    assert spec.formats() == [ContentFormat.video] + [ContentFormat.hero_text] * 4
    with pytest.raises(ValueError, match="at least one item"):
        BatchSpec(persona="ash", counts={ContentFormat.video: 0})


def test_money_is_exact_text_in_json() -> None:
    step = PipelineStep(id=1, name="render", status=StepStatus.done, cost_usd=Decimal("0.060000000"))
    assert json.loads(step.model_dump_json())["cost_usd"] == "0.06"
    assert format_usd(Decimal("1E+2")) == "100"
    assert image_cost("fal-ai/flux-pro/v1.1-ultra", 3) == Decimal("0.18")
    assert token_cost("gpt-4.1-mini", 1000, 500) == Decimal("0.0012")
    with pytest.raises(KeyError, match="no price"):
        image_cost("somebody/unknown")


@pytest.mark.parametrize(("total", "parts"), [(Decimal("0.1"), 3), (Decimal("0"), 4), (Decimal("1.000000007"), 2)])
def test_split_cost_adds_up(total: Decimal, parts: int) -> None:
    shares = split_cost(total, parts)
    assert len(shares) == parts and sum(shares) == total and all(s >= 0 for s in shares)


def test_state_machine_refuses_jumps() -> None:
    check_transition(1, PostStatus.in_review, PostStatus.approved)
    check_transition(1, PostStatus.rejected, PostStatus.drafting)  # sent back for a redraft
    with pytest.raises(InvalidTransitionError, match="post 7 is planned; it cannot become published"):
        check_transition(7, PostStatus.planned, PostStatus.published)
    with pytest.raises(InvalidTransitionError):
        check_transition(7, PostStatus.published, PostStatus.in_review)
