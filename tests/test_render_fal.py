"""fal.ai renderers against a server on 127.0.0.1 that speaks fal's queue protocol: paid once, budgeted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beatdesk import retries
from beatdesk.settings import get_settings
from renderers.registry import _shared_queue
from tests.conftest import run_cli
from tests.fake_fal import FalState, fal_server

FLUX = "fal-ai/flux-pro/v1.1-ultra"


@pytest.fixture
def fal(cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FalState]:
    with fal_server() as state:
        monkeypatch.setenv("FAL_KEY", "test-fal-key")
        monkeypatch.setenv("BEATDESK_FAL_URL", state.url)
        monkeypatch.setenv("BEATDESK_IMAGE_RENDERER", f"fal:{FLUX}")
        run_cli(cli, "init")
        yield state


def run(cli: CliRunner, *args: str, code: int = 0) -> dict:
    """The batch's JSON; with code=1 (a post failed) it is printed all the same, the failures said on stderr."""
    result = run_cli(cli, "batch", "run", "--persona", "ash", *args, "--json", code=code)
    if code == 0:
        return result
    assert "error: batch 1: 1 of 1 posts failed" in result.stderr and "post 1 (hero_text) failed: " in result.stderr
    return json.loads(result.stdout)


def image_step(cli: CliRunner, post_id: int) -> dict:
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    return next(s for s in post["steps"] if s["name"] in ("hero_image", "cover_image"))


def test_images_through_the_queue_are_paid_once_each(cli: CliRunner, fal: FalState, home: Path) -> None:
    out = run(cli, "--items", "3", "--video", "0")
    assert {p["status"] for p in out["posts"]} == {"in_review"}
    assert fal.charges == len(fal.submits) == 3
    assert {s["app"] for s in fal.submits} == {FLUX}
    assert fal.submits[0]["arguments"]["aspect_ratio"] == "4:5"
    assert Decimal(out["total_cost_usd"]) == Decimal("0.18")
    step = image_step(cli, out["posts"][0]["id"])
    assert (step["provider"], step["model"], step["cost_usd"]) == ("fal", FLUX, "0.06")
    assert step["artifact"]["content_type"] == "image/png" and step["artifact"]["url"].startswith(fal.url)
    assert Path(step["artifact"]["path"]).is_file() and Path(step["artifact"]["path"]).is_relative_to(home)
    assert "seed 42" in step["detail"]


def test_a_429_burst_ends_in_success_with_one_charge(cli: CliRunner, fal: FalState) -> None:
    fal.status_errors = [429, 429, 429]
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1


def test_a_500_while_waiting_resumes_the_stored_request(cli: CliRunner, fal: FalState) -> None:
    fal.status_errors = [500]
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review"
    assert fal.charges == 1  # the task retried and resumed the request id it had stored


def test_the_status_stream_waits_without_polling(cli: CliRunner, fal: FalState) -> None:
    fal.latency_s = 0.5
    out = run(cli, "--items", "2", "--video", "0")
    assert {p["status"] for p in out["posts"]} == {"in_review"}
    assert fal.status_calls == 2  # one stream per request, however long the render


def test_the_status_stream_is_read_to_its_end_so_its_connection_is_reused(
    cli: CliRunner, fal: FalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    fal.latency_s = 0.2
    monkeypatch.setenv("BEATDESK_IN_PROCESS_THREADS", "1")  # one render after another, else each has a connection
    get_settings.cache_clear()
    out = run(cli, "--items", "3", "--video", "0")
    assert {p["status"] for p in out["posts"]} == {"in_review"}
    # Submits, streams and results of three renders on one connection; their files on one more (the bounded fetch).
    assert fal.connections == 2


def test_a_stream_left_open_after_completed_costs_a_read_timeout_not_the_render(cli: CliRunner, fal: FalState) -> None:
    fal.linger_s = 3.0
    _shared_queue("test-fal-key", fal.url, 600).stream_read_timeout_s = 0.3
    started = time.monotonic()
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1
    assert time.monotonic() - started < 3.0


def test_a_server_without_a_status_stream_is_polled(cli: CliRunner, fal: FalState) -> None:
    fal.stream, fal.latency_s = False, 0.4
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1
    assert fal.status_calls >= 3  # the 404 on the stream, then polls until COMPLETED


@pytest.mark.parametrize("stream", [True, False])
def test_a_model_error_in_the_status_fails_the_step(cli: CliRunner, fal: FalState, stream: bool) -> None:
    fal.stream, fal.error = stream, "CUDA out of memory"
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "CUDA out of memory" in post["reason"] and fal.charges == 1
    assert charged(cli, post) == "0.06"  # fal held the request: its price is on the books


def test_nsfw_fails_the_step_with_the_reason(cli: CliRunner, fal: FalState) -> None:
    fal.nsfw = True
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "flagged the image as NSFW" in post["reason"]
    assert image_step(cli, post["id"])["status"] == "failed"
    assert charged(cli, post) == "0.06" == post["total_cost_usd"]


def test_a_rejected_prompt_fails_at_once_with_the_providers_message(cli: CliRunner, fal: FalState) -> None:
    fal.reject_prompt = "Editorial hero image"
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "refused the request (422)" in post["reason"]
    assert "content policy" in post["reason"] and fal.charges == 0
    assert charged(cli, post) == "0"  # refused before fal took anything


def test_a_lost_submit_answer_is_not_resubmitted(cli: CliRunner, fal: FalState) -> None:
    fal.lose_submit_answers = 1
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "outcome unknown" in post["reason"] and "not resubmitted" in post["reason"]
    assert fal.charges == 1 and len(fal.submits) == 1
    assert charged(cli, post) == "0.06"  # it may have been charged (it was): the estimate stays on the books


def test_submit_429_is_retried_without_a_double_charge(cli: CliRunner, fal: FalState) -> None:
    fal.submit_errors = [429, 429]
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1


def test_a_submit_answered_5xx_is_never_sent_again(cli: CliRunner, fal: FalState) -> None:
    """fal may have taken a submit it answered 5xx: sending it again could pay twice."""
    fal.submit_errors = [503]
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "outcome unknown" in post["reason"] and "503" in post["reason"]
    assert fal.submit_errors == [] and len(fal.submits) == 0  # one submit sent, none after it
    assert charged(cli, post) == "0.06"


def test_a_render_past_its_deadline_is_cancelled_and_keeps_its_price(
    cli: CliRunner, fal: FalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_FAL_TIMEOUT_S", "1")
    fal.latency_s = 30
    started = time.monotonic()
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "not done after 1s; cancel requested" in post["reason"]
    assert len(fal.cancels) == 1 and fal.cancels[0].endswith(f"{fal.submits[0]['request_id']}/cancel")
    assert charged(cli, post) == "0.06" and time.monotonic() - started < 20


def test_a_stream_of_nothing_but_keepalives_falls_back_to_polling(cli: CliRunner, fal: FalState) -> None:
    """A stream that only ever says it is alive cannot hold a render: after its window the request is polled."""
    fal.keepalive_only, fal.latency_s = True, 0.5
    _shared_queue("test-fal-key", fal.url, 600).stream_window_s = 1.0
    started = time.monotonic()
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("answer", [500, 502, 400])
def test_a_stream_that_answers_an_error_falls_back_to_polling(cli: CliRunner, fal: FalState, answer: int) -> None:
    fal.status_errors, fal.latency_s = [answer], 0.3  # the first status call is the stream's
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1


def test_a_budget_stops_the_fourth_image_of_four(cli: CliRunner, fal: FalState) -> None:
    out = run(cli, "--items", "4", "--video", "0", "--max-cost", "0.18")
    assert fal.charges == 3 and Decimal(out["total_cost_usd"]) == Decimal("0.18")
    statuses = [image_step(cli, p["id"])["status"] for p in out["posts"]]
    assert sorted(statuses) == ["done", "done", "done", "skipped"]
    skipped = next(p for p in out["posts"] if image_step(cli, p["id"])["status"] == "skipped")
    post = run_cli(cli, "post", "show", str(skipped["id"]), "--json")
    assert post["status"] == "in_review"  # flagged for the reviewer, not lost
    flag = next(c for c in post["checks"] if c["name"] == "budget")
    assert flag["level"] == "fail" and "batch budget" in flag["detail"] and "0.18" in flag["detail"]


def test_fal_video_is_priced_per_second(
    cli: CliRunner, fal: FalState, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_VIDEO_RENDERER", "fal:fal-ai/veo3/fast")
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text().replace('per_batch_usd = "5.00"', 'per_batch_usd = "50.00"'))
    out = run(cli, "--items", "1", "--video", "1")
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    video = next(s for s in post["steps"] if s["name"] == "video")
    seconds = sum(s["seconds"] for s in post["draft"]["scenes"])
    assert video["status"] == "done" and video["artifact"]["content_type"] == "video/mp4"
    assert Decimal(video["cost_usd"]) == Decimal("0.40") * -(-int(seconds * 10) // 10)


def test_unknown_fal_model_lists_the_priced_ones(
    cli: CliRunner, fal: FalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_IMAGE_RENDERER", "fal:fal-ai/nope")
    result = run_cli(cli, "batch", "run", "--persona", "ash", code=1)
    assert (
        "unknown fal model 'fal-ai/nope'; priced models: fal-ai/flux-pro/v1.1-ultra, fal-ai/flux/schnell"
        in result.stderr
    )
    assert fal.charges == 0


def test_rerender_with_another_model_keeps_the_first_image_and_its_cost(cli: CliRunner, fal: FalState) -> None:
    out = run(cli, "--items", "1", "--video", "0")
    post_id = out["posts"][0]["id"]
    again = run_cli(cli, "post", "rerender", str(post_id), "--model", "fal:fal-ai/flux/schnell", "--json")
    assert again["status"] == "in_review" and fal.charges == 2
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    images = [s for s in post["steps"] if s["name"] == "hero_image"]
    assert [(s["model"], s["cost_usd"]) for s in images] == [(FLUX, "0.06"), ("fal-ai/flux/schnell", "0.003")]
    assert images[0]["artifact"]["path"] != images[1]["artifact"]["path"]
    assert all(Path(s["artifact"]["path"]).is_file() for s in images)
    assert post["total_cost_usd"] == "0.063"


def charged(cli: CliRunner, post: dict) -> str:
    return image_step(cli, post["id"])["cost_usd"]


def test_sweeper_resumes_a_render_left_running(cli: CliRunner, fal: FalState, home: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from beatdesk.store import open_store
    from beatdesk.store.schema import PostRow, StepRow

    out = run(cli, "--items", "1", "--video", "0")
    post_id = out["posts"][0]["id"]
    request_id = fal.submits[0]["request_id"]
    store = open_store(f"sqlite:///{home / 'beatdesk.db'}")
    with store.session() as session:  # as a worker lost mid-render an hour ago would leave it
        session.execute(update(PostRow).where(PostRow.id == post_id).values(status="rendering"))
        session.execute(
            update(StepRow)
            .where(StepRow.post_id == post_id, StepRow.name == "hero_image")
            .values(
                status="running",
                request_id=request_id,
                started_at=datetime.now(UTC) - timedelta(hours=1),
                beat_at=datetime.now(UTC) - timedelta(minutes=5),
                cost_usd=Decimal("0.06"),
            )
        )
        session.execute(
            update(PostRow).where(PostRow.id == post_id).values(touched_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert "1 stuck post(s) or batch(es) handed on or ended" in run_cli(cli, "sweep").stdout
    post = run_cli(cli, "post", "show", str(post_id), "--json")
    assert post["status"] == "in_review" and fal.charges == 1  # resumed the stored request, no new submit
    assert run_cli(cli, "sweep").stdout.startswith("0 stuck")


def test_a_persona_may_choose_its_own_renderer(cli: CliRunner, fal: FalState, home: Path) -> None:
    persona = home / "personas" / "ash.toml"
    persona.write_text('image_renderer = "fal:fal-ai/flux/schnell"\n' + persona.read_text())
    out = run(cli, "--items", "1", "--video", "0")
    step = image_step(cli, out["posts"][0]["id"])
    assert (step["model"], step["cost_usd"]) == ("fal-ai/flux/schnell", "0.003")
    assert fal.submits[0]["app"] == "fal-ai/flux/schnell"


def test_hero_image_takes_the_first_channels_shape(cli: CliRunner, fal: FalState, home: Path) -> None:
    persona = home / "personas" / "ash.toml"
    persona.write_text(persona.read_text().replace('[[channels]]\nname = "outbox"', '[[channels]]\nname = "linkedin"'))
    run(cli, "--items", "1", "--video", "0")
    assert fal.submits[0]["arguments"]["aspect_ratio"] == "1:1"


def test_a_flaky_download_is_retried_without_a_second_charge(cli: CliRunner, fal: FalState) -> None:
    fal.file_errors = [500, 503]
    out = run(cli, "--items", "1", "--video", "0")
    assert out["posts"][0]["status"] == "in_review" and fal.charges == 1


def test_a_download_that_keeps_failing_fails_the_step_with_its_url(cli: CliRunner, fal: FalState) -> None:
    fal.file_errors = [500] * 100
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    url = f"{fal.url}files/{fal.submits[0]['request_id']}.png"
    assert (
        post["status"] == "failed" and f"gave up after the fal retries: downloading {url} failed: 500" in post["reason"]
    )
    step = image_step(cli, post["id"])
    assert step["status"] == "failed" and url in step["error"] and step["cost_usd"] == "0.06"
    # fal's one policy sends the download its attempts, and nothing retries it on top (the step fails)
    assert fal.charges == 1 and len(fal.file_errors) == 100 - retries.FAL.attempts


def test_a_submit_answered_429_every_time_is_sent_as_often_as_the_fal_policy_says(
    cli: CliRunner, fal: FalState
) -> None:
    fal.submit_errors = [429] * 100
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "gave up after the fal retries" in post["reason"] and "429" in post["reason"]
    assert len(fal.submit_errors) == 100 - retries.FAL.attempts and fal.charges == 0


def test_a_trickled_file_ends_at_its_deadline_and_keeps_the_price(
    cli: CliRunner, fal: FalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("beatdesk.retries.STEP_IN_PLACE", replace(retries.STEP_IN_PLACE, max_wait_s=0.0))
    monkeypatch.setenv("BEATDESK_FAL_DOWNLOAD_TIMEOUT_S", "1")
    get_settings.cache_clear()
    fal.trickle_files = True
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "no complete answer within 1 s" in post["reason"]
    assert fal.charges == 1 and image_step(cli, post["id"])["cost_usd"] == "0.06"  # paid once, kept
    assert not list((Path(get_settings().home) / "artifacts").rglob("*.part"))  # nothing half-written stays


def test_a_file_over_the_byte_cap_is_refused_at_once(
    cli: CliRunner, fal: FalState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEATDESK_FAL_DOWNLOAD_MAX_BYTES", "100")
    get_settings.cache_clear()
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and "over the 100-byte limit" in post["reason"]
    assert fal.charges == 1 and charged(cli, post) == "0.06"


def test_a_missing_file_fails_at_once_with_its_url(cli: CliRunner, fal: FalState) -> None:
    fal.file_errors = [404]
    out = run(cli, "--items", "1", "--video", "0", code=1)
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["status"] == "failed" and f"downloading {fal.url}files/" in post["reason"]
    assert post["reason"].endswith("failed: 404") and fal.charges == 1
    assert charged(cli, post) == "0.06" == post["total_cost_usd"]  # paid for, though the file never came


def test_a_redirected_file_is_followed(cli: CliRunner, fal: FalState) -> None:
    fal.moved_files = True
    out = run(cli, "--items", "1", "--video", "0")
    step = image_step(cli, out["posts"][0]["id"])
    assert step["artifact"]["url"].startswith(f"{fal.url}moved/")  # the URL the provider gave
    assert Path(step["artifact"]["path"]).read_bytes().startswith(b"\x89PNG")


def test_a_full_disk_is_one_line_naming_the_file_and_sweep_resumes_without_paying_again(
    cli: CliRunner, fal: FalState, home: Path
) -> None:
    folder = home / "artifacts" / "batch-1"
    folder.mkdir(parents=True)
    (folder / "post-1-hero_image.png.part").symlink_to("/dev/full")  # every write: ENOSPC
    result = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json", code=1)
    assert result.stderr.startswith(f"error: disk full at {home / 'artifacts'} (")  # a write's error names no file
    assert "free space and run `beatdesk sweep`" in result.stderr and "Traceback" not in result.stderr
    post = run_cli(cli, "post", "show", "1", "--json")
    assert post["status"] == "rendering"  # not failed: a full disk is not the render's fault
    assert list(folder.iterdir()) == [] and fal.charges == 1  # no part left (the /dev/full link went with it)
    assert run_cli(cli, "sweep").stdout.startswith("1 stuck post(s)")
    post = run_cli(cli, "post", "show", "1", "--json")
    assert post["status"] == "in_review" and fal.charges == 1 and charged(cli, post) == "0.06"  # resumed, not resent
    assert (folder / "post-1-hero_image.png").stat().st_size > 0
