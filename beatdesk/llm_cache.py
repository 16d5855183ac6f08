"""LangChain's LLM cache in the beatdesk store: an identical prompt to the same model is answered from it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, Generation
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from beatdesk.store import Store
from beatdesk.store.schema import LLMCacheRow


def _key(prompt: str, llm_string: str) -> str:
    return hashlib.sha256(f"{llm_string}\x00{prompt}".encode()).hexdigest()


class StoreCache(BaseCache):
    def __init__(self, store: Store) -> None:
        self.store = store

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        with self.store.session() as session:
            text = session.scalar(select(LLMCacheRow.generations).where(LLMCacheRow.key == _key(prompt, llm_string)))
        if not text:
            return None
        # Only what a chat reply is made of may come back from the store: no clients, no URLs.
        return loads(text, allowed_objects=[ChatGeneration, Generation, AIMessage, AIMessageChunk])

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        try:
            with self.store.session() as session:
                session.merge(LLMCacheRow(key=_key(prompt, llm_string), generations=dumps(list(return_val))))
        except IntegrityError:  # another worker cached the same reply first: theirs is as good
            pass

    def clear(self, **kwargs: Any) -> None:
        with self.store.session() as session:
            session.execute(delete(LLMCacheRow))
