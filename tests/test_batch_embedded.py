"""A whole batch on the embedded default (SQLite, in-process tasks, offline drafter, local renderer)."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import run_cli


def test_batch_of_five_ends_in_review_with_images_and_costs(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "5", "--video", "1", "--json")
    assert out["status"] == "done" and out["error"] is None
    assert out["counts"] == {"video": 1, "hero_text": 4}
    posts = out["posts"]
    assert len(posts) == 5
    assert sorted(p["content_format"] for p in posts) == ["hero_text"] * 4 + ["video"]
    assert {p["status"] for p in posts} == {"in_review"}
    assert out["total_cost_usd"] == "0" and all(p["total_cost_usd"] == "0" for p in posts)

    beats = set()
    for summary in posts:
        post = run_cli(cli, "post", "show", str(summary["id"]), "--json")
        beats.add(post["plan"]["beat_key"])
        video = post["content_format"] == "video"
        parts = ["video.voiceover", "video.scene_images", "video.assembly"]  # the video's sub-steps, each costed
        names = ["plan", "draft", "cover_image", "video", *parts] if video else ["plan", "draft", "hero_image"]
        assert [s["name"] for s in post["steps"]] == names
        assert {s["status"] for s in post["steps"]} == {"done"}
        image_step = post["steps"][2]
        assert image_step["provider"] == "local" and image_step["cost_usd"] == "0"
        for step in post["steps"]:
            assert set(step) >= {
                "name",
                "status",
                "provider",
                "model",
                "artifact",
                "cost_usd",
                "latency_s",
                "started_at",
                "finished_at",
                "error",
            }
            assert step["latency_s"] is not None and step["started_at"] <= step["finished_at"]
        path = Path(image_step["artifact"]["path"])
        assert path.is_file() and path.is_relative_to(home / "artifacts")
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == ((1080, 1920) if post["content_format"] == "video" else (1080, 1350))
        draft = post["draft"]
        assert draft["title"] and draft["caption"].endswith(" ".join(draft["hashtags"]))
        assert 2 <= len(draft["hashtags"]) <= 5
        if video:
            seconds = sum(s["seconds"] for s in draft["scenes"])
            assert draft["scenes"] and seconds <= 60
            clip = post["steps"][3]["artifact"]
            assert clip["content_type"] == "video/mp4" and (clip["width"], clip["height"]) == (1080, 1920)
            frames, duration = imageio_ffmpeg.count_frames_and_secs(clip["path"])  # ffmpeg reads it back
            assert duration > len(draft["scenes"]) and frames == pytest.approx(
                duration * 30, abs=1
            )  # its voiceover's length
            assert all(Path(clip["path"]).with_suffix(ext).is_file() for ext in (".srt", ".vtt"))
        else:
            assert len(draft["body"].split("\n\n")) >= 3
        plan = post["plan"]
        assert plan["why_beat"] and plan["why_format"] and plan["freshness"]
    assert len(beats) == 5  # distinct beats while the catalogue has enough


def test_next_batch_rotates_beats_and_angles(cli: CliRunner) -> None:
    run_cli(cli, "init")
    first = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "3", "--video", "0", "--json")
    second = run_cli(cli, "batch", "run", "--persona", "@ash", "--items", "3", "--video", "0", "--json")

    def plans(batch: dict) -> list[dict]:
        return [run_cli(cli, "post", "show", str(p["id"]), "--json")["plan"] for p in batch["posts"]]

    first_beats = {p["beat_key"] for p in plans(first)}
    second_plans = plans(second)
    assert not first_beats & {p["beat_key"] for p in second_plans}  # the first batch's beats are cooling down
    assert all("has not run yet" in p["why_beat"] for p in second_plans)


def test_message_is_stored_and_shown(cli: CliRunner) -> None:
    run_cli(cli, "init")
    message = "Generate exactly 2 items: 1 video and 1 hero_text."
    out = run_cli(
        cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "1", "--message", message, "--json"
    )
    assert out["message"] == message
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert post["message"] == message
    shown = run_cli(cli, "post", "show", str(out["posts"][0]["id"]))
    assert "batch message: Generate exactly 2 items" in shown.stdout


def test_review_approve_into_slot_and_reject(cli: CliRunner) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "3", "--video", "0", "--json")
    first, second, third = (p["id"] for p in out["posts"])
    a = run_cli(cli, "review", "approve", str(first), "--json")
    b = run_cli(cli, "review", "approve", str(second), "--json")
    assert a["status"] == b["status"] == "approved"
    assert a["slot_at"] < b["slot_at"]  # the next free slot each time
    c = run_cli(cli, "review", "approve", str(third), "--at", "2099-01-05T08:30", "--json")
    assert c["slot_at"] == "2099-01-05T07:30:00+00:00"  # 08:30 in Europe/Berlin

    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    fourth = out["posts"][0]["id"]
    taken = run_cli(cli, "review", "approve", str(fourth), "--at", "2099-01-05T08:30", code=1)
    assert f"is taken by post {third}; pick another time" in taken.stderr  # one post per slot, never two
    assert run_cli(cli, "post", "show", str(fourth), "--json")["status"] == "in_review"  # nothing of it kept

    again = run_cli(cli, "review", "reject", str(first), "--reason", "too long", code=1)
    assert "post 1 is approved; it cannot become rejected" in again.stderr

    queue = run_cli(cli, "queue", "list", "--status", "approved", "--json")
    assert {p["id"] for p in queue} == {first, second, third}
    listed = run_cli(cli, "queue", "list", "--persona", "ash", "--json")
    assert len(listed) == 4

    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "1", "--video", "0", "--json")
    rejected = run_cli(cli, "review", "reject", str(out["posts"][0]["id"]), "--reason", "off-voice", "--json")
    assert rejected["status"] == "rejected" and rejected["reason"] == "off-voice"
    post = run_cli(cli, "post", "show", str(out["posts"][0]["id"]), "--json")
    assert [e["action"] for e in post["events"]] == ["plan", "draft", "drafted", "rendered", "reject"]


def test_human_output(cli: CliRunner) -> None:
    run_cli(cli, "init")
    result = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "1")
    assert "in_review" in result.stdout and "total cost: 0 USD" in result.stdout
    shown = run_cli(cli, "post", "show", "1")
    for part in ("Plan (drafter input)", "Pipeline", "Caption", "local · pillow-card"):
        assert part in shown.stdout
    assert "everything was already there" in run_cli(cli, "init").stdout


def test_audit_proves_the_books_and_names_what_is_off(cli: CliRunner, home: Path) -> None:
    run_cli(cli, "init")
    out = run_cli(cli, "batch", "run", "--persona", "ash", "--items", "2", "--video", "0", "--json")
    report = run_cli(cli, "audit", "--json")
    assert report["ok"] and report["findings"] == [] and report["batches"] == 1 and report["posts"] == 2
    assert report["steps"] == 2 * 3 + 1  # plan, draft, hero_image per post, and the batch's own planning step
    from sqlalchemy import update

    from beatdesk.store import open_store
    from beatdesk.store.schema import StepRow

    store = open_store(f"sqlite:///{home / 'beatdesk.db'}")
    with store.session() as session:  # as the old failure paths left a render fal had charged for
        session.execute(
            update(StepRow)
            .where(StepRow.post_id == out["posts"][0]["id"], StepRow.name == "hero_image")
            .values(model="fal-ai/flux-pro/v1.1-ultra", request_id="req-1")
        )
    bad = run_cli(cli, "audit", code=1)
    assert "the provider holds request req-1 but the step shows $0" in bad.stdout
