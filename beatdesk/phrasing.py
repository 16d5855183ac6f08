"""Lines written to fit a limit: a shorter phrasing (one side of a colon, the head clause, the text without its
parenthetical) chosen instead of cutting, so no title, hook or on-screen line ever ends in an ellipsis."""

from __future__ import annotations

import re

FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "and",
        "or",
        "but",
        "nor",
        "as",
        "than",
        "that",
        "which",
        "who",
        "whose",
        "whom",
        "when",
        "while",
        "if",
        "so",
        "its",
        "their",
        "his",
        "her",
        "our",
        "your",
        "my",
        "this",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "not",
        "no",
        "into",
        "onto",
        "about",
        "over",
        "under",
        "per",
        "via",
        "it",
        "they",
        "we",
        "you",
        "i",
        "how",
        "what",
        "why",
        "where",
        "up",
        "out",
        "off",
        "more",
        "less",
        "most",
        "least",
        "very",
        "just",
        "only",
        "also",
        "even",
    ]
)
"""Words a phrase never ends on ("…cut the bill by" is no phrase), and that carry no topic of their own."""
_SUBORDINATE = ("when", "because", "before", "after", "while", "which", "who", "where", "if", "until", "unless",
                "although", "though", "since", "depending", "without", "so", "whether")  # fmt: skip
_LINKING = ("with", "for", "by", "in", "on", "at", "from", "across", "over", "into", "through", "under", "and",
            "but", "or", "to")  # fmt: skip
_OPENERS = frozenset({"why", "how", "what", "when", "where", "which", "who", "whether"})
_REPORTING = re.compile(
    r"^[^,;:]{0,60}?\b(?:reports?|reported|says?|said|finds?|found|shows?|showed|notes?|noted|argues?)\s+that\s+",
    re.IGNORECASE,
)
_QUOTES = '“”"‘’'
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][”\"]))\s+(?=[“\"A-Z0-9])")


def sentences(text: str) -> list[str]:
    """The text's sentences, whitespace collapsed."""
    return [s.strip() for s in _SENTENCE_BREAK.split(" ".join(text.split())) if s.strip()]


def capitalised(text: str) -> str:
    """The text with its first letter upper-case (the rest left as written: 'LLM', '3B' stay)."""
    for i, char in enumerate(text):
        if char.isalpha():
            return text[:i] + char.upper() + text[i + 1 :]
        if char.isdigit():
            return text
    return text


def bare(text: str) -> str:
    """The line without a closing full stop, surrounding quotes or stray spaces."""
    text = " ".join(text.split()).strip()
    if len(text) > 1 and text[0] in '“"' and text[-1] in '”"' and text.count(text[0]) == 1:
        text = text[1:-1]
    return text.rstrip(" .,;:").strip()


def is_sentence(line: str) -> bool:
    """Whether the line reads as a statement on its own, not a headline ("Why…", "Distillation: using…")."""
    words = bare(line).split()
    return (
        len(words) >= 5
        and words[0][:1].isupper()
        and words[0].lower().strip(_QUOTES) not in _OPENERS
        and ":" not in line
        and not line.lstrip().startswith(tuple(_QUOTES))
    )


def as_statement(line: str) -> str | None:
    """A headline angle said as a sentence, where its form allows: "Distillation: using…" -> "Distillation means
    using…", "Contamination: why…" -> "Contamination is why…"; a statement stays as it is; None otherwise."""
    line = bare(line)
    if is_sentence(line):
        return line + "."
    head, colon, tail = line.partition(": ")
    words = tail.split()
    if not colon or len(head.split()) > 4 or len(words) < 4 or any(q in line for q in _QUOTES):
        return None
    if words[0].lower() in ("why", "how", "what", "when", "where"):
        return f"{capitalised(head)} is {words[0].lower()} {' '.join(words[1:])}."
    if words[0].lower().endswith("ing"):
        return f"{capitalised(head)} means {words[0].lower()} {' '.join(words[1:])}."
    return None


def fits(text: str, *, chars: int, words: int | None = None) -> bool:
    return len(text) <= chars and (words is None or len(text.split()) <= words)


def shorter(text: str, *, chars: int, words: int | None = None) -> str:
    """The line, or a shorter phrasing of it, within `chars` characters (and `words` words); never cut mid-phrase
    with an ellipsis. Tries, in order: the line; without parentheses; what a "… report that" frames; one side of a
    colon; the longest head clause ending at a comma, then a subordinate clause, then a linking word."""
    line = bare(text)
    if fits(line, chars=chars, words=words):
        return line
    for candidate in _rephrasings(line):
        if fits(candidate, chars=chars, words=words):
            return candidate
    rephrased = _rephrasings(line)
    for candidate in [*rephrased[1:], rephrased[0]]:  # a head of what the line says beats one of its frame
        head = _head(candidate, chars=chars, words=words)
        if head:
            return head
    return _words_that_fit(line, chars=chars, words=words)


def _rephrasings(line: str) -> list[str]:
    """Whole rephrasings of the line, most faithful first."""
    out = []
    plain = _tidy(re.sub(r"\s*\([^)]*\)", "", line))
    out.append(plain)
    reported = _REPORTING.sub("", plain)
    if reported != plain:
        out.append(capitalised(_tidy(reported)))
    if ":" in plain:
        head, tail = (_tidy(part) for part in plain.split(":", 1))
        if len(tail.split()) >= 3:
            out.append(capitalised(tail))
            if _REPORTING.match(tail):
                out.append(capitalised(_tidy(_REPORTING.sub("", tail))))
        if len(head.split()) >= 2:
            out.append(head)
    return out


def _head(line: str, *, chars: int, words: int | None) -> str:
    """The longest head clause of the line that fits: ending at a comma, a dash or before a subordinate clause,
    else before a linking word; at least three words, never ending on a function word."""
    tokens = line.split()
    tiers: list[list[int]] = [[], []]  # cut positions (token counts kept): clause ends, then linking words
    for i in range(3, len(tokens)):
        previous, word = tokens[i - 1], tokens[i].lower().strip(_QUOTES + ",")
        if previous.endswith((",", ";", "—", "–")) or tokens[i] in ("—", "–", "-") or word in _SUBORDINATE:
            tiers[0].append(i)
        elif word in _LINKING:
            tiers[1].append(i)
    for cuts in tiers:
        for cut in sorted(cuts, reverse=True):
            head = _tidy(" ".join(tokens[:cut]))
            if fits(head, chars=chars, words=words) and _ends_well(head) and len(head.split()) >= 3:
                return head
    return ""


def _words_that_fit(line: str, *, chars: int, words: int | None) -> str:
    """The longest run of leading words that fits and ends on a word with a meaning of its own (the last resort)."""
    tokens = line.split()
    for count in range(len(tokens), 0, -1):
        head = _tidy(" ".join(tokens[:count]))
        if fits(head, chars=chars, words=words) and (_ends_well(head) or count == 1):
            return head
    return line[:chars].rstrip()  # one word longer than the limit: nothing shorter says anything


def _ends_well(phrase: str) -> bool:
    last = phrase.split()[-1].lower().strip(_QUOTES + ".,;:—–-") if phrase.split() else ""
    return bool(last) and last not in FUNCTION_WORDS


def _tidy(text: str) -> str:
    """Collapse spaces, drop trailing punctuation, and drop quote marks left without their partner."""
    text = " ".join(text.split()).strip(" ,;:—–-.")
    opened, closed = text.count("“"), text.count("”")
    if opened != closed or text.count('"') % 2:
        text = text.replace("“", "").replace("”", "").replace('"', "")
    return text.strip()
