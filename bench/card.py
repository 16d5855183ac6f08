"""Milliseconds of CPU per local hero card (1080x1350), drawn and written as PNG as a card process does.

Times `save_card` in this process for a short, a long and a very long title (with a landing line and a
source credit), after a warm-up, and prints each median and the median over all.
Run: python bench/card.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from beatdesk.models import CardStyle
from renderers.local_image import CardFace, save_card

TITLES = {
    "short": "Prompts cost more",
    "long": "Your prompt, not your model, is most of your inference bill",
    "very long": "Why a 6,000-token system prompt quietly costs a support team more than the model they "
    "picked, and what trimming it to 900 tokens did to answers",
}
LANDING = "Cut the prompt before you shop for a cheaper model: it is the part of the bill you write yourself."
CREDIT = "Source: The real cost of long prompts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    face = CardFace(style=CardStyle(), display_name="Ash Rivera", handle="@ash")
    newer = "landing" in inspect.signature(save_card).parameters  # the bench also runs against the old card
    medians = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "card.png"
        for name, title in TITLES.items():
            kwargs = {"landing": LANDING, "credit": CREDIT} if newer else {}
            for _ in range(3):
                save_card(face, title, "Inference economics", (1080, 1350), path, **kwargs)
            times = []
            for _ in range(args.rounds):
                started = time.process_time()
                save_card(face, title, "Inference economics", (1080, 1350), path, **kwargs)
                times.append((time.process_time() - started) * 1000)
            medians.append(statistics.median(times))
            print(f"{name:>9}: {medians[-1]:6.1f} ms per card, {path.stat().st_size // 1024} KB")
    print(f"   median: {statistics.median(medians):6.1f} ms per card")


if __name__ == "__main__":
    main()
