"""How hard a password or the desk's secret key is to guess, measured by zxcvbn (dictionaries of common
passwords, names and words, and the patterns people fall into: sequences, repeats, keyboard walks, dates)."""

from __future__ import annotations

import re
import threading

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3
"""zxcvbn's 0-4 scale: 3 is "safely unguessable" (about 10^8 guesses and up), what it advises for accounts."""
MIN_SECRET_BYTES = 32
MIN_SECRET_GUESSES_LOG10 = 24
"""About 80 bits. 16 random bytes as hex (128 bits) measure 29 at the least, a sequence or repeat under 6."""
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
ZXCVBN_MAX = 72
"""zxcvbn refuses longer text (its matching grows fast with length): only the start of longer text is measured."""
_WORDS_OF_THIS_APP = ("beatdesk", "desk", "review", "reviewer", "admin")
_measuring = threading.Lock()
"""zxcvbn keeps the user inputs in a module-wide dictionary during a call: two calls at once would mix them."""


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why `password` is too easy to guess, as one line, or None when it will do.

    `user_inputs` are words an attacker knows (the user's name): a password built on them counts as weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password needs at least {MIN_PASSWORD_LENGTH} characters (a few uncommon words do well)"
    with _measuring:
        found = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[*user_inputs, *_WORDS_OF_THIS_APP])
    if found["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = found["feedback"]
    said = [part for part in (feedback["warning"], *feedback["suggestions"][:2]) if part]
    return "the password is too easy to guess: " + ("; ".join(map(_one_clause, said)) or "add an uncommon word or two")


def _one_clause(sentences: str) -> str:
    """zxcvbn's "Add another word or two. Uncommon words are better." as "add another word or two, uncommon …"."""
    joined = re.sub(r"\. (\w)", lambda m: ", " + m[1].lower(), sentences.strip().rstrip("."))
    return joined[:1].lower() + joined[1:]


def secret_problem(key: str) -> str | None:
    """Why `key` is too weak to sign cookies with, as a few words, or None when it will do."""
    if len(key.encode()) < MIN_SECRET_BYTES:
        return f"is too short: use at least {MIN_SECRET_BYTES} random bytes"
    # The first 72 characters alone (zxcvbn's limit) must be strong enough: a lower bound for a longer key.
    with _measuring:
        log10 = zxcvbn(key[:ZXCVBN_MAX])["guesses_log10"]
    if log10 < MIN_SECRET_GUESSES_LOG10:
        return (
            f"is too easy to guess (about {round(log10 * 3.32)} bits measured, at least "
            f"{round(MIN_SECRET_GUESSES_LOG10 * 3.32)} needed: sequences, repeats and keyboard walks count for little)"
        )
    return None
