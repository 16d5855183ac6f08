"""The one price table: model -> USD per image, per video second, per 1M tokens."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel

ZERO = Decimal("0")


class Price(BaseModel, frozen=True):
    per_image: Decimal = ZERO
    per_video_second: Decimal = ZERO
    per_1m_input_tokens: Decimal = ZERO
    per_1m_output_tokens: Decimal = ZERO


# Public list prices; `local` and `offline` are the embedded default and cost nothing.
PRICES: dict[str, Price] = {
    "local": Price(),
    "offline": Price(),
    "fal-ai/flux-pro/v1.1-ultra": Price(per_image=Decimal("0.06")),
    "fal-ai/flux/schnell": Price(per_image=Decimal("0.003")),
    "fal-ai/veo3/fast": Price(per_video_second=Decimal("0.40")),
    "gpt-4.1-mini": Price(per_1m_input_tokens=Decimal("0.40"), per_1m_output_tokens=Decimal("1.60")),
    "gpt-4.1": Price(per_1m_input_tokens=Decimal("2.00"), per_1m_output_tokens=Decimal("8.00")),
    "gpt-4.1-nano": Price(per_1m_input_tokens=Decimal("0.10"), per_1m_output_tokens=Decimal("0.40")),
}


def price_for(model: str) -> Price:
    """The price of a model; an unpriced model is an error, never silently free."""
    try:
        return PRICES[model]
    except KeyError:
        raise KeyError(f"no price for model {model!r}; add it to beatdesk.prices.PRICES") from None


def image_cost(model: str, images: int = 1) -> Decimal:
    return price_for(model).per_image * images


def video_cost(model: str, seconds: float) -> Decimal:
    """Priced per started second, as video providers bill."""
    return price_for(model).per_video_second * math.ceil(seconds)


def token_cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    price = price_for(model)
    million = Decimal(1_000_000)
    return (price.per_1m_input_tokens * input_tokens + price.per_1m_output_tokens * output_tokens) / million


def format_usd(amount: Decimal) -> str:
    """Exact decimal text for JSON and tables: `0`, `0.06`, `0.000075`."""
    return format(amount.normalize(), "f") if amount else "0"


def split_cost(total: Decimal, parts: int) -> list[Decimal]:
    """Shares of a cost that add up to it exactly (to the store's 9 places); the first takes the remainder."""
    unit = Decimal("0.000000001")
    share = (total / parts).quantize(unit, rounding=ROUND_DOWN)
    return [total - share * (parts - 1)] + [share] * (parts - 1)


def call_estimate(model: str, *, input_tokens: int, output_tokens: int, calls: int = 1) -> Decimal:
    """What a model call may cost at most, reserved against the budgets before it is sent."""
    return token_cost(model, input_tokens, output_tokens) * calls
