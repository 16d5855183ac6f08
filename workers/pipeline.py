"""The runner of this process, wired to the stages the settings name: which drafter, planner and renderers."""

from __future__ import annotations

from beatdesk.errors import BeatdeskError
from beatdesk.models import Persona
from beatdesk.pipeline import DRAFT, VIDEO
from beatdesk.publishing import channel_of, is_publish
from beatdesk.recovery import Limits
from beatdesk.runner import Runner, StepWork
from beatdesk.settings import Settings, get_settings
from beatdesk.store import Store, open_store
from drafter.base import Drafter, UnavailableDrafter
from drafter.registry import drafter_for
from drafter.split import model_for_post
from drafter.stage import DraftWork
from planner.registry import planner_for
from planner.stage import BatchPlanning
from publishers.stage import PublishWork
from renderers.local_image import LocalImageRenderer, card_pool
from renderers.registry import image_renderer, video_renderer
from renderers.stage import MediaWork


def store_of(settings: Settings) -> Store:
    return open_store(settings.effective_database_url)


_built: tuple[Settings, Runner] | None = None


def runner() -> Runner:
    """This process's runner for the current settings (built again only when the settings are read anew)."""
    global _built
    settings = get_settings()
    if _built is None or _built[0] is not settings:
        _built = (settings, _runner(settings))
    return _built[1]


def _runner(settings: Settings) -> Runner:
    store = store_of(settings)
    drafting: dict[str, DraftWork] = {}
    if settings.in_process and settings.image_renderer == "local":
        card_pool()  # no workers: local cards are drawn in processes of this one, one per core, starting now

    def draft_work(name: str) -> DraftWork:
        """One drafter per model name in this process (a persona may split drafting between two)."""
        if name not in drafting:
            try:
                drafter: Drafter = drafter_for(name)
            except BeatdeskError as err:  # a missing key or package fails each item's draft step, not the worker
                drafter = UnavailableDrafter(name, err)
            drafting[name] = DraftWork(store, drafter, max_output_tokens=settings.llm_max_tokens)
        return drafting[name]

    def works(step: str, persona: Persona, chosen: str | None, post_id: int) -> StepWork:
        if is_publish(step):
            return PublishWork(channel_of(step), settings.home)
        if step == DRAFT:  # a draft taken over keeps its model; a new one gets the persona's split, if any
            return draft_work(chosen or model_for_post(persona, post_id=post_id, default=settings.llm))
        if step == VIDEO:
            return MediaWork(step, video_renderer(chosen or persona.video_renderer or settings.video_renderer),
                             home=settings.home)  # fmt: skip
        images = image_renderer(chosen or persona.image_renderer or settings.image_renderer)
        if settings.in_process and isinstance(images, LocalImageRenderer):
            images = LocalImageRenderer(pool=card_pool())  # the same processes (started anew if one died)
        return MediaWork(step, images, home=settings.home)

    planning = BatchPlanning(
        store,
        planner_for(settings.llm),
        home=settings.home,
        freshness_days=settings.freshness_days,
        freshness_threshold=settings.freshness_threshold,
        max_output_tokens=settings.llm_max_tokens,
        source_max_bytes=settings.source_max_bytes,
    )
    return Runner(store, home=settings.home, works=works, planning=planning,
                  stale_after_s=settings.worker_stale_after_s,
                  publish_give_up_after_s=settings.publish_give_up_after_s)  # fmt: skip


def limits(settings: Settings) -> Limits:
    return Limits(stale_after_s=settings.worker_stale_after_s, idle_after_s=settings.idle_after_s,
                  give_up_after_s=settings.give_up_after_s)  # fmt: skip
