"""Where each figure and quotation of a draft comes from, traced when it is drafted or edited and shown on the
post page: supported ones tied to their source sentence, an invented one marked; in Chromium at 1280 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from beatdesk.models import Source
from beatdesk.settings import get_settings
from beatdesk.store import Store, open_store, repo
from drafter.edit import edit_draft
from drafter.llm import HeroTextOut, to_draft
from drafter.provenance import trace
from tests.desk_client import Desk, desk_home, log_in
from tests.drafts import hero_args
from tests.test_review_desk_pages import fits_the_width, on_post, shot
from tests.test_review_web import browser, desk  # noqa: F401  (fixtures)

SURVEY = Source(
    id="cache-survey",
    title="What caching did for forty services",
    url="https://example.org/notes/cache-survey",
    text="We turned on prompt caching across 40 production services. Median latency fell 3.5x in the first week. "
    "Input tokens were 71% of the monthly bill before the change. “Caching is the cheapest optimisation most "
    "teams never turn on,” the platform lead said.",
)
BODY = "\n\n".join([
    "Most of an inference bill is the prompt, not the model. In one team's numbers, input tokens were 71 percent of "
    "the monthly bill.",
    "Caching is not exotic. It cut their median latency 3.5× in a week, and a survey nobody ran says 47% of teams "
    "never try it.",
    "As their platform lead put it, “caching is the cheapest optimisation most teams never turn on.” Measure what "
    "you send before you shop for a cheaper model.",
])  # fmt: skip
SUPPORTED = {"71 percent": "Input tokens were 71% of the monthly bill before the change.",
             "3.5×": "Median latency fell 3.5x in the first week."}  # fmt: skip
INVENTED = "47%"
QUOTE = "“caching is the cheapest optimisation most teams never turn on.”"


def test_figures_match_in_any_notation_and_quotations_by_their_words() -> None:
    draft = to_draft(HeroTextOut(**hero_args(body=BODY + " It costs $0.20 a call, or 20 cents with a 6k prompt.")))
    traces = {t.text: t for t in trace(draft, [SURVEY])}
    for figure, sentence in SUPPORTED.items():
        assert traces[figure].sentence == sentence and traces[figure].source_ref == SURVEY.url
    assert not traces[INVENTED].found and not traces["$0.20"].found and not traces["6k"].found
    assert traces[QUOTE].kind == "quotation" and traces[QUOTE].sentence is not None
    assert traces[QUOTE].sentence.startswith("“Caching is the cheapest")
    cents = Source(id="price", title="Price", text="A call costs 20 cents. The prompt is 6,000 tokens.")
    again = {t.text: t for t in trace(draft, [cents])}
    assert again["$0.20"].found and again["20 cents"].found and again["6k"].found
    slipped = to_draft(
        HeroTextOut(
            **hero_args(body=BODY.replace(QUOTE, "“caching is the cheapest optimization most teams never switch on”"))
        )
    )
    assert all(t.found for t in trace(slipped, [SURVEY]) if t.kind == "quotation")  # a word's spelling, a verb
    made_up = to_draft(
        HeroTextOut(**hero_args(body=BODY.replace(QUOTE, "“nobody should ever pay for a prompt twice”")))
    )
    assert not next(t for t in trace(made_up, [SURVEY]) if t.kind == "quotation").found


def traced_post(store: Store, home: Path, post_id: int = 2) -> None:
    """The survey on the post's beat, then a reviewer's edit that states two of its figures, quotes it, and
    invents one figure: the edit traces them."""
    with store.session() as session:
        beat = repo.get_post(session, post_id).plan.beat_key
        repo.store_sources(session, persona="ash", sources=[SURVEY.model_copy(update={"beats": (beat,)})])
    with store.session() as session:
        edit_draft(session, post_id=post_id, home=home, actor="rita", changes={"body": BODY})


@pytest.fixture
def store_desk(cli: CliRunner, home: Path) -> Iterator[Desk]:
    with desk_home(cli, home, items=2) as made:
        traced_post(made.store, home)
        yield made


def test_the_post_page_ties_each_figure_to_its_source_sentence(store_desk: Desk) -> None:
    with store_desk.store.session() as session:
        post = repo.get_post(session, 2)
    assert post.draft is not None and post.draft.provenance is not None  # stored in the draft, as traced
    checks = {c.name: c for c in post.checks}
    assert checks["figures_supported"].level == "warn" and checks["figures_supported"].detail.endswith(INVENTED)
    assert checks["quotations_supported"].level == "ok"

    page = log_in(store_desk.client()).get("/posts/2").text
    section = page.split('id="provenance"')[1].split("</details>\n</details>")[0]
    items = {_text(li).split(" ")[0]: li for li in re.findall(r"<li id=\"prov-\d+\".*?</li>", section, re.S)}
    for figure, sentence in SUPPORTED.items():
        item = items[figure.split(" ")[0]]
        assert 'class="found"' in item and sentence in item and SURVEY.title in item
        assert f'href="{SURVEY.url}"' in item
    assert 'class="missing"' in items[INVENTED] and "no source found" in items[INVENTED]
    quoted = next(li for li in items.values() if "quotation in the body" in li)
    assert "the platform lead said" in quoted and 'class="found"' in quoted
    marks = re.findall(r'<a class="prov (found|missing)" href="#prov-\d+"[^>]*>([^<]+)</a>', section)
    assert ("missing", INVENTED) in marks and ("found", "71 percent") in marks and ("found", "3.5×") in marks


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace("&#34;", '"')


@pytest.mark.parametrize("width", [1280, 390])
def test_provenance_in_the_browser(desk: str, browser: Browser, home: Path, width: int) -> None:  # noqa: F811
    traced_post(open_store(get_settings().effective_database_url), home)
    page = browser.new_page(viewport={"width": width, "height": 900})
    on_post(page, desk, "/posts/2")
    provenance = page.locator("#provenance")
    expect(provenance).to_contain_text("found in a source")
    invented = provenance.locator("a.prov.missing", has_text=INVENTED)
    expect(invented).to_have_css("background-color", "rgb(253, 226, 224)")
    supported = provenance.locator("a.prov.found", has_text="71 percent")
    supported.hover()
    tip = provenance.locator(f"#{supported.get_attribute('aria-describedby')}")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(SURVEY.title)
    expect(tip).to_contain_text("Input tokens were 71% of the monthly bill")
    shot(page, f"post-provenance-hover-{width}.png")
    item = provenance.locator("li.missing", has_text=INVENTED)
    item.locator("summary").click()
    expect(item).to_contain_text("No source the draft was given states it")
    provenance.locator("li.found", has_text="3.5×").locator("summary").click()
    expect(provenance.locator("li.found", has_text="3.5×").locator("blockquote")).to_have_text(SUPPORTED["3.5×"])
    page.mouse.move(0, 0)
    assert fits_the_width(page)
    provenance.scroll_into_view_if_needed()
    shot(page, f"post-provenance-{width}.png")
