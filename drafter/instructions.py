"""What a source asks for: sentences aimed at the writer or the model rather than at a reader, and what
they want a post to carry (a link, a handle, a phrase).

A sentence is judged by three things at once, never by a trigger phrase alone: it gives an order
(an imperative, "make sure", "should", "must", "please"), the order is about the output or its
readers (every caption, your summary, posts about this, readers should be sent to) or addressed to
whoever writes them (writers, AI assistants, "if you are summarising this"), and it asks for
something to be put in (include, add, end with, link to, mention). Advice to the article's own
readers ("teams should measure on their own data") has the order but neither the output nor the
payload, and passes. Classic overrides ("ignore previous instructions") count on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from beatdesk.models import Source
from drafter.links import handles_in, normal_url, urls_in

OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override) (?:all |any |the |your )*(?:previous |prior |above |earlier |other )*"
    r"(?:instructions|rules|guidelines|prompts?|directions)\b|\bnew instructions\b|\byou are now (?:a|an|the)\b"
    r"|\bfrom now on,? (?:you|always|never)\b|\bmake every item\b|\bwrite \d+ items\b",
    re.IGNORECASE,
)
DIRECTIVE = re.compile(
    r"\b(?:make sure|be sure|ensure|always|never|must|should|shall|needs? to|have to|has to|is to|are to"
    r"|(?:is|are) (?:asked|required|expected|instructed|encouraged) to|please|remember to|do not forget"
    r"|don't forget|it is (?:important|essential|mandatory|crucial) (?:that|to)|be certain)\b",
    re.IGNORECASE,
)
IMPERATIVE = re.compile(
    r"^(?:[\"“(\[]?\s*)(?:(?:if|when|whenever|while|once)\b[^,]{0,160},\s*)?(?:(?:note|attention|editors?|writers?|assistants?)\s*[:,-]\s*)?"
    r"(?:include|add|append|insert|mention|end|finish|close|start|begin|open|link|cite|credit|tag|say|state"
    r"|recommend|promote|plug|put|feature|use|send|direct|point|refer|tell|write|describe|call|present|frame"
    r"|sign off|wrap up|conclude)\b",
    re.IGNORECASE,
)
OUTPUT = re.compile(
    r"\b(?:every|each|all|any|your|the|a|this|such|these) (?:(?:social|generated|resulting|final|published"
    r"|written) )?(?:posts?|captions?|summar(?:y|ies)|threads?|tweets?|toots?|newsletters?|write-?ups?|drafts?"
    r"|items?|responses?|answers?|replies|outputs?|copy|content|pieces?|videos?|scripts?|voiceovers?|bodies"
    r"|body|article(?:s)? (?:you|about|on|that|based|derived|written)|coverage)\b"
    r"|\b(?:posts?|summar(?:y|ies)|articles?|pieces?|content|coverage|threads?|captions?) (?:about|on|of|based on"
    r"|derived from|drawing on|citing|mentioning|covering|that (?:cite|mention|cover|use|draw on)) (?:this|it|these"
    r"|our|the (?:report|study|article|piece|story|release|findings))\b"
    r"\b",
    re.IGNORECASE,
)
SEND_READERS = re.compile(
    r"\b(?:readers?|audiences?|followers?|viewers?|subscribers|fans) (?:should|must|need to|are to|have to|ought to)"
    r" (?:be )?(?:sent|directed|pointed|told|referred|linked|encouraged|taken|asked|invited|reminded)\b"
    r"|\b(?:send|direct|point|refer|drive|steer|route)(?:s|ing)? (?:your |the |all |any |our )?(?:readers?"
    r"|audiences?|followers?|viewers?|subscribers|fans)\b",
    re.IGNORECASE,
)
"""Text that wants the post's readers sent somewhere: aimed at the output, and a payload, in one."""
WRITER = re.compile(
    r"\b(?:writers?|authors?|editors?|journalists?|copywriters?|creators?|bloggers?|summari[sz]ers?"
    r"|(?:ai|language|llm) (?:models?|assistants?|systems?|tools?|agents?|writers?)|assistants?|chatbots?|bots?"
    r"|llms?) (?:covering|writing|summari[sz]ing|drafting|posting|reading|using|quoting|processing|repurposing"
    r"|sharing|who (?:cover|write|summari[sz]e|draft|post|share|use|quote|read|process))\b"
    r"|\b(?:if|when|whenever|while) (?:you(?:'re| are)? (?:an? )?(?:ai|language model|llm|assistant|bot|model)"
    r"|you(?:'re| are)? (?:writing|summari[sz]ing|drafting|posting|covering|sharing|quoting|repurposing|turning)"
    r"|(?:writing|summari[sz]ing|drafting|posting|covering|sharing|quoting|repurposing) (?:about )?(?:this|it|these)"
    r"|this (?:is|gets) (?:summari[sz]ed|shared|quoted|reposted|repurposed|used|turned))\b"
    r"|\b(?:anyone|whoever|everyone) (?:writing|posting|sharing|summari[sz]ing|covering|quoting)\b"
    r"|\b(?:note|message|instructions?) (?:to|for) (?:editors?|writers?|ai|assistants?|models?|bots?|llms?)\b",
    re.IGNORECASE,
)
PAYLOAD = re.compile(
    r"\b(?:include|includes|including|add|append|insert|mention|ends? with|end on|finish(?:es)? with|close with"
    r"|closes with|start with|starts with|begin with|begins with|open with|opens with|link(?:s)? to|links back"
    r"|cite|credit|tag|say|says|state|recommend|promote|plug|put|feature|carry|carries|contain|use the (?:phrase"
    r"|words?|line|hashtag|link|url|handle|tagline)|sign off with|point (?:them |readers )?(?:to|at)|send"
    r"|direct|refer|the (?:following|link|url|address|handle|tagline|line)|this (?:link|url|address|line|tagline"
    r"|handle|phrase))\b",
    re.IGNORECASE,
)
QUOTED = re.compile(r"[\"“']([^\"”']{3,200})[\"”']")
AFTER_VERB = re.compile(
    r"\b(?:(?:ends?|finish(?:es)?|closes?|starts?|begins?|opens?|sign(?:s)? off)\b(?:\s+\S+){0,3}?\s+(?:with|on)"
    r"|say|state|include|add|append|mention)\s*:?\s+(?:the (?:line|phrase|words|sentence) )?(.{8,200}?)\s*[.!]?$",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Instruction:
    """A sentence of a source that instructs the writer, and what it asks a post to carry."""

    source_id: str
    sentence: str
    asks_for: tuple[str, ...]
    """Links, handles and phrases the source wants in the post; empty for a bare override."""


def is_instruction(sentence: str) -> bool:
    """Whether the sentence gives the writer or the model an order about the post, rather than informing."""
    if OVERRIDE.search(sentence):
        return True
    ordered = bool(DIRECTIVE.search(sentence) or IMPERATIVE.search(sentence))
    if not ordered:
        return False
    if SEND_READERS.search(sentence):
        return True
    output, writer = bool(OUTPUT.search(sentence)), bool(WRITER.search(sentence))
    return (output or writer) and bool(PAYLOAD.search(sentence) or (output and writer))


def asks_for(sentence: str, following: str = "") -> tuple[str, ...]:
    """The links, handles and phrases an instructing sentence wants a post to carry."""
    wanted = [*urls_in(sentence), *handles_in(sentence), *(m.group(1).strip() for m in QUOTED.finditer(sentence))]
    if not wanted:
        after = AFTER_VERB.search(sentence)
        if after and not DIRECTIVE.search(after.group(1)):
            wanted.append(after.group(1).strip(" :,"))
    if not urls_in(sentence) and not handles_in(sentence):  # "... a line for our partner. It is https://…"
        wanted += [*urls_in(following), *handles_in(following)]
    return tuple(dict.fromkeys(wanted))


def instructions_in(source: Source) -> list[Instruction]:
    """Every sentence of the source (title included) that instructs the writer."""
    return list(_instructions(source.id, source.title, source.text))


@lru_cache(maxsize=4096)
def _instructions(source_id: str, title: str, text: str) -> tuple[Instruction, ...]:
    """Read once per source text: every draft on a beat is checked against the same sources."""
    sentences = [s.strip() for s in _SENTENCE.split(f"{title}.\n{text}") if s.strip()]
    out = []
    for i, sentence in enumerate(sentences):
        if is_instruction(sentence):
            following = sentences[i + 1] if i + 1 < len(sentences) else ""
            wanted = asks_for(sentence, following)
            override = OVERRIDE.search(sentence)
            out.append(Instruction(source_id, sentence, wanted or ((override.group(0),) if override else ())))
    return tuple(out)


def echoes(text: str, wanted: str) -> bool:
    """Whether `text` carries what was asked for: a link or handle as such, a phrase or four words of it in a row."""
    if urls_in(wanted):
        host = normal_url(wanted).split("/")[0]
        return any(normal_url(u) == normal_url(wanted) or normal_url(u).split("/")[0] == host for u in urls_in(text))
    low = " ".join(text.lower().split())
    want = " ".join(wanted.lower().split())
    if want in low:
        return True
    words = re.findall(r"[a-z0-9@.'/:-]+", want)
    if len(words) < 4:
        return False
    mine = " ".join(re.findall(r"[a-z0-9@.'/:-]+", low))
    return any(" ".join(words[i : i + 4]) in mine for i in range(len(words) - 3))
