"""Draft payloads as a model would return them, valid for the example persona unless changed."""

from __future__ import annotations

from typing import Any

PARAGRAPH = (
    "Most of an inference bill is the prompt, not the model. A long system prompt sent with every "
    "request is paid for every time, and caching turns that cost into a one-off. "
)


def hero_args(**changes: Any) -> dict[str, Any]:
    args = {
        "title": "Your prompt is most of your inference bill",
        "body": "\n\n".join([PARAGRAPH * 2, PARAGRAPH, "Measure what you send before you shop for a cheaper model."]),
        "button": "Measure what you send before you shop for a cheaper model.",
        "caption": "Your prompt is most of your inference bill.\n\n#AI #LLMOps #Inference",
        "hashtags": ["#AI", "#LLMOps", "#Inference"],
        "image_prompt": "A receipt made of tokens",
        "alt_text": "A long receipt of tokens",
    }
    return args | changes


def video_args(**changes: Any) -> dict[str, Any]:
    args = {
        "title": "Leaderboards move with the prompt",
        "hook": "Change the template, change the winner.",
        "scenes": [
            {
                "on_screen": "Same model, new template",
                "voiceover": "Change the template, change the winner.",
                "seconds": 5,
            },
            {
                "on_screen": "Build a private eval",
                "voiceover": "Fifty examples of your own beat any leaderboard.",
                "seconds": 8,
            },
        ],
        "caption": "Leaderboards move with the prompt.\n\n#AI #Benchmarks",
        "hashtags": ["#AI", "#Benchmarks"],
        "video_prompt": "Two bar charts swapping places",
        "cover_prompt": "A leaderboard with a question mark",
    }
    return args | changes


def answer(tool: str, request: dict[str, Any]) -> dict[str, Any]:
    """What the fake chat-completions server answers for each of beatdesk's tools."""
    if tool == "HeroTextOut":
        return hero_args()
    if tool == "VideoOut":
        return video_args()
    if tool == "ProposedBatch":
        return {
            "items": [
                {
                    "beat_key": "benchmark_skepticism",
                    "content_format": "video",
                    "title": "Leaderboards move with the prompt",
                    "angle": "Leaderboards reward prompt tuning more than model quality",
                    "button": "Build your own eval.",
                    "peg": [],
                },
                {
                    "beat_key": "foundation_models_and_inference_economics",
                    "content_format": "hero_text",
                    "title": "Your prompt is most of your bill",
                    "angle": "The cheapest token is the one you cache",
                    "button": "Measure what you send.",
                    "peg": [],
                },
                {
                    "beat_key": "evaluation_in_production",
                    "content_format": "hero_text",
                    "title": "Sample production weekly",
                    "angle": "Sample production traffic every week to find regressions",
                    "button": "Label twenty a week.",
                    "peg": [],
                },
            ]
        }
    raise AssertionError(f"unexpected tool {tool}")
