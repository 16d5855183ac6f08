"""Narrow error types a person can act on, and the one-line form they are shown in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


class BeatdeskError(Exception):
    """An error caused by input or set-up; its message says what to fix, in one line."""


class UnknownPersonaError(BeatdeskError):
    pass


class PersonaFileError(BeatdeskError):
    pass


class BatchSpecError(BeatdeskError):
    pass


class InvalidTransitionError(BeatdeskError):
    pass


class NotFoundError(BeatdeskError):
    pass


class NotEditableError(BeatdeskError):
    """The post's status does not allow an edit (only a post in review, rejected or failed can be edited)."""


class InvalidEditError(BeatdeskError):
    """An edit its own input makes impossible: a channel the persona lacks, a text over the channel's limit."""


class UnreachableServiceError(BeatdeskError):
    pass


class ConfigError(BeatdeskError):
    pass


class UnknownProviderError(BeatdeskError):
    pass


class BudgetExceeded(BeatdeskError):
    """A paid step would pass a budget; it is skipped with this reason."""


# --- what stages raise, and the runner understands ----------------------------------------------


class TransientError(BeatdeskError):
    """Worth another try later (429, 5xx before anything was taken, a timeout, a dropped connection):
    the step stays open with its request id, and the retry resumes it."""


class ChannelBlocked(BeatdeskError):
    """A channel that needs a person before it can take a post: its credentials were refused (401/403) or
    are not set ("not connected"). Its publish step ends blocked; a retry by hand tries it again."""


class RefusedError(BeatdeskError):
    """The provider refused or failed the work (a bad prompt, NSFW, a bad key): retrying will not help.

    `cost_usd` is what was spent before the refusal, when the stage knows it."""

    def __init__(self, message: str, *, cost_usd: Decimal | None = None) -> None:
        super().__init__(message)
        self.cost_usd = cost_usd


class OutcomeUnknownError(RefusedError):
    """A paid call was sent and its answer lost (or answered 5xx): it may have been taken and charged,
    so it is never sent again blindly; the step keeps the estimate on the books."""


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(err: ValidationError, *, source: Path | str | None = None) -> str:
    """One line naming the file, the field path and the bad value of the first error."""
    first = err.errors()[0]
    loc = ""
    for part in first["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    where = f"{source}: " if source else ""
    more = len(err.errors()) - 1
    extra = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    value = f" (got {_short(first['input'])})" if first["type"] != "missing" else ""
    return f"{where}{loc or 'value'}: {first['msg']}{value}{extra}"
