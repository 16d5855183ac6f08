"""Domain models shared by every stage: what a persona is, what a batch asks for, what a post holds."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    computed_field,
    field_validator,
    model_validator,
)

from beatdesk.bounds import ANGLE_MAX_CHARS, BEAT_MAX_ANGLES, PERSONA_MAX_BEATS
from beatdesk.prices import format_usd

Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=9),
    PlainSerializer(format_usd, return_type=str, when_used="json"),
]
"""USD, exact; written to JSON as decimal text such as "0.06"."""
BeatKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Hashtag = Annotated[str, Field(pattern=r"^#[A-Za-z][A-Za-z0-9_]{0,49}$")]
HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


from beatdesk.enums import REJECT_REASONS, BatchStatus, ContentFormat, PostStatus, StepStatus  # noqa: E402

__all__ = ["REJECT_REASONS", "BatchStatus", "ContentFormat", "PostStatus", "StepStatus"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Angle = Annotated[str, Field(max_length=ANGLE_MAX_CHARS)]


class Beat(Strict):
    """A recurring subject the persona explains, with its own take and rotation rules."""

    key: BeatKey
    title: str = Field(min_length=3, max_length=120)
    kind: Literal["evergreen", "news_pegged"] = "evergreen"
    weight: float = Field(default=1.0, gt=0, le=100)
    cooldown_days: int = Field(default=3, ge=0, le=365)
    """Days before the beat may run again."""
    notes: str = Field(default="", max_length=4000)
    """The persona's take on this beat, in its own words; drafts build on it."""
    angles: tuple[Angle, ...] = Field(default=(), max_length=BEAT_MAX_ANGLES)
    """Specific cases a piece on this beat can make."""
    hashtags: tuple[Hashtag, ...] = ()
    video_friendly: bool = False
    """Whether the beat reads well as a short video (a process, a before/after, a number that moves)."""


ChannelName = Literal["outbox", "mastodon", "bluesky", "x", "linkedin", "threads", "instagram", "webhook"]


def check_cron(line: str) -> str:
    """A five-field cron line (minute hour day month weekday), or a ValueError that quotes it."""
    from croniter import croniter  # imported here: only personas with cron lines pay for it

    if len(line.split()) != 5 or not croniter.is_valid(line):
        raise ValueError(f"not a five-field cron line (minute hour day month weekday): {line!r}")
    return line


CronLine = Annotated[str, AfterValidator(check_cron)]


def is_loopback_host(host: str) -> bool:
    """This machine, by a literal address or `localhost` (not by a name that merely resolves there)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _loopback_url(url: str) -> bool:
    try:
        return is_loopback_host(urlsplit(url).hostname or "")
    except ValueError:  # a malformed address (a bad IPv6 literal) is not this machine
        return False


class Channel(Strict):
    """Where the persona posts; `outbox` writes files locally. Credentials never live here (see docs/publishing.md)."""

    name: ChannelName
    account: str = ""
    """Who posts: a Bluesky handle, a LinkedIn author URN (urn:li:person:…); a label elsewhere."""
    url: str | None = None
    """The Mastodon instance, the webhook's target, or another API address (a proxy, a test server)."""
    video_url: str | None = None
    """Bluesky's video service (default https://video.bsky.app), or a proxy or test server."""
    media_url: str | None = None
    """Where $BEATDESK_HOME/artifacts/ is served publicly: Threads and Instagram fetch media from a URL."""
    policy: Literal["thread", "caption"] | None = None
    """A long hero_text body as a thread of posts, or the caption alone with the image. Default: thread where
    the channel has threads (X, Bluesky, Mastodon, Threads), caption elsewhere."""
    max_length: int | None = Field(default=None, ge=50, le=100_000)
    """The channel's limit where an instance sets its own (Mastodon): used where the instance does not say (an
    older instance, the desk's previews), and as a cap where it does."""
    slots: tuple[time, ...] = ()
    cron: tuple[CronLine, ...] = ()
    """This channel's own posting times (local times, or cron lines); a post goes out at the first of them
    at or after its approved slot. Empty: at the approved slot."""

    @model_validator(mode="after")
    def _addresses(self) -> Channel:
        for name, value in (("url", self.url), ("video_url", self.video_url), ("media_url", self.media_url)):
            if value is not None and not re.match(r"^https?://[^\s/]+", value):
                raise ValueError(f"{name} must be an http(s) address, got {value!r}")
        for name, value in (("url", self.url), ("video_url", self.video_url)):  # both are sent credentials
            if value is not None and value.lower().startswith("http:") and not _loopback_url(value):
                raise ValueError(
                    f"the {self.name} channel's {name} {value!r} is plain http to another machine, which would send "
                    "its credentials in the clear; use https:// (plain http only to 127.0.0.1, ::1 or localhost)"
                )
        if self.name in ("mastodon", "webhook") and self.url is None:
            raise ValueError(f"a {self.name} channel needs url (e.g. https://mastodon.social)")
        return self


class BatchSchedule(Strict):
    """A batch the scheduler makes by itself, e.g. weekdays at 06:00: 5 items, 1 video."""

    cron: CronLine
    """In the persona's time zone."""
    items: int = Field(default=5, ge=1, le=50)
    video: int = Field(default=0, ge=0, le=50)
    message: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _counts(self) -> BatchSchedule:
        if self.video > self.items:
            raise ValueError(f"video ({self.video}) cannot be more than items ({self.items})")
        return self


class Budgets(Strict):
    per_batch_usd: Money = Decimal("5")
    per_day_usd: Money = Decimal("20")


class CardStyle(Strict):
    """How the local hero card looks."""

    background: HexColour = "#101418"
    foreground: HexColour = "#f4f1ea"
    accent: HexColour = "#ffb000"
    font_path: str | None = None


class DraftRules(Strict):
    """What a publishable draft looks like for this persona; the drafter's checks enforce it."""

    body_words: tuple[int, int] = (120, 450)
    """Least and most words in a hero_text body."""
    caption_max_chars: int = Field(default=500, ge=50, le=3000)
    hashtags: tuple[int, int] = (2, 5)
    video_max_seconds: float = Field(default=60, gt=0, le=180)
    models: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*:\S+$")], Annotated[int, Field(gt=0, le=100)]] = {}
    """Drafting models to compare on live posts, with their shares, e.g. {"openai:gpt-4.1-mini" = 80,
    "openai:gpt-4.1-nano" = 20}; each post goes to one of them by its id. Empty: BEATDESK_LLM drafts every post."""

    @field_validator("body_words", "hashtags")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError(f"expected [least, most] with 0 <= least <= most, got {list(value)}")
        return value


class BatchDefaults(Strict):
    items: int = Field(default=5, ge=1, le=50)
    video: int = Field(default=1, ge=0, le=50)


class Persona(Strict):
    """A content persona: who speaks, about what, where and when."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    handle: Annotated[str, Field(pattern=r"^@[A-Za-z0-9_.]{1,30}$")]
    display_name: str = Field(min_length=1, max_length=80)
    voice: str = Field(min_length=1, max_length=4000)
    """How the persona sounds: register, stance, words it uses and avoids."""
    audience: str = ""
    timezone: str = "UTC"
    beats: tuple[Beat, ...] = Field(min_length=1, max_length=PERSONA_MAX_BEATS)
    channels: tuple[Channel, ...] = (Channel(name="outbox"),)
    slots: tuple[time, ...] = (time(9, 0), time(17, 0))
    """Local posting times, in the persona's time zone."""
    slot_cron: tuple[CronLine, ...] = ()
    """More posting times as cron lines (e.g. "30 8 * * 1-5"), in the persona's time zone."""
    schedule: tuple[BatchSchedule, ...] = ()
    budgets: Budgets = Budgets()
    batch: BatchDefaults = BatchDefaults()
    style: CardStyle = CardStyle()
    drafting: DraftRules = DraftRules()
    image_renderer: str | None = None
    """Overrides BEATDESK_IMAGE_RENDERER for this persona, e.g. "fal:fal-ai/flux-pro/v1.1-ultra"."""
    video_renderer: str | None = None
    """Overrides BEATDESK_VIDEO_RENDERER for this persona."""
    banned_phrases: tuple[str, ...] = ()
    links: tuple[Annotated[str, Field(min_length=2, max_length=300)], ...] = ()
    """The persona's own addresses and handles (its site, newsletter, other accounts): the only places besides
    cited sources that a draft may send readers."""
    utm: bool = False
    """Tag the persona's own links (under `links`) with UTM parameters per channel: utm_source = the channel,
    utm_medium = social, utm_campaign = the beat, utm_content = the post id."""
    thread_numbering: bool = False
    """End each part of a thread with "i/n" (counted into the channel's limit)."""
    notify: tuple[str, ...] = Field(default=(), max_length=20)
    """Apprise URLs told about this persona's batches, publications and budgets, besides BEATDESK_NOTIFY_URLS."""
    learn_from_audience: bool = True
    """Blend each beat's weight with how its published posts did (Thompson sampling over normalised
    engagement) once any post has been scored; false keeps the rotation on the weights alone."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        """Checked when the persona is read, not first at approve time."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone such as Europe/Paris or America/New_York") from None
        return zone

    @field_validator("beats")
    @classmethod
    def _unique_beats(cls, beats: tuple[Beat, ...]) -> tuple[Beat, ...]:
        seen: set[str] = set()
        for beat in beats:
            if beat.key in seen:
                raise ValueError(f"beat key {beat.key!r} appears twice")
            seen.add(beat.key)
        return beats

    def beat(self, key: str) -> Beat:
        for beat in self.beats:
            if beat.key == key:
                return beat
        raise KeyError(key)


class Source(Strict):
    """A piece of material the persona may draw on: a note, a digest line, a feed item."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")
    title: str = Field(min_length=1)
    kind: Literal["note", "digest", "feed"] = "note"
    published: date | None = None
    url: str | None = None
    origin: str | None = None
    """The file or feed it came from."""
    author: str | None = None
    beats: tuple[str, ...] = ()
    beat_score: float | None = None
    """How close the text is to the beat it was tagged with, by similarity (None: beats given by hand)."""
    text: str = Field(min_length=1)
    """Untrusted: quoted to models as data, never obeyed."""

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(" ".join(self.text.lower().split()).encode()).hexdigest()

    def sentences(self) -> list[str]:
        return [s.strip() for s in re.split(r"(?<=[.!?])\s+", self.text.strip()) if s.strip()]


MAX_BATCH_ITEMS = 1000
"""Items of one format in a batch at most: a batch's cost grows linearly, and 1,000 is what was measured."""


class BatchSpec(Strict):
    """What a batch asks for: exact counts per format, and an optional special message."""

    persona: str
    counts: dict[ContentFormat, Annotated[int, Field(ge=0, le=MAX_BATCH_ITEMS)]]
    message: str | None = Field(default=None, max_length=2000)
    max_cost_usd: Money | None = None
    """A cap on what the batch may spend, below the persona's per-batch budget."""

    @model_validator(mode="after")
    def _some_items(self) -> BatchSpec:
        if sum(self.counts.values()) < 1:
            raise ValueError("a batch needs at least one item")
        return self

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def formats(self) -> list[ContentFormat]:
        """One entry per item, videos first, so plans and posts line up."""
        order = (ContentFormat.video, ContentFormat.hero_text)
        return [fmt for fmt in order for _ in range(self.counts.get(fmt, 0))]


class Plan(Strict):
    """The planner's decision for one item, with its reasons."""

    beat_key: str
    beat_title: str
    content_format: ContentFormat
    title: str
    angle: str
    """The specific case the piece makes."""
    button: str
    """The closing line the piece lands on."""
    peg: tuple[str, ...] = ("evergreen",)
    """Source ids the piece is pegged on, or ("evergreen",)."""
    why_beat: str
    why_format: str
    freshness: str
    """What makes the item distinct from the rest of the batch and from recent posts."""
    freshness_score: float = Field(default=0.0, ge=0, le=1)
    """Highest similarity to another item of the batch or a recent post (0 = nothing alike)."""


class Trace(Strict):
    """Where one figure or quotation of a draft comes from: the source sentence that states it, or none found."""

    kind: Literal["figure", "quotation"]
    text: str
    """As the draft writes it: "82%", "$0.20", "“Caching is not free.”"."""
    where: str
    """The draft's field it first stands in: "title", "body", "caption", "scene 2"…"""
    source_id: str | None = None
    """None: no source the draft was given states it."""
    source_title: str | None = None
    source_ref: str | None = None
    """The source's URL, or the file or feed it came from."""
    sentence: str | None = None
    """The source's sentence (or sentences, for a quotation across two) that states it."""

    @property
    def found(self) -> bool:
        return self.source_id is not None


class HeroTextDraft(Strict):
    content_format: Literal[ContentFormat.hero_text] = ContentFormat.hero_text
    title: str = Field(min_length=3, max_length=160)
    body: str = Field(min_length=20)
    button: str
    caption: str = Field(min_length=1, max_length=5000)
    hashtags: tuple[str, ...]
    """Judged by the drafter's checks (form, count, duplicates), not refused here."""
    image_prompt: str
    alt_text: str = Field(min_length=1, max_length=1000)
    provenance: tuple[Trace, ...] | None = None
    """Each figure and quotation with its source sentence, traced when drafted or edited; None: not traced."""


class Scene(Strict):
    on_screen: str = Field(min_length=1, max_length=120)
    voiceover: str = Field(min_length=1)
    seconds: float = Field(gt=0, le=30)


class VideoDraft(Strict):
    content_format: Literal[ContentFormat.video] = ContentFormat.video
    title: str = Field(min_length=3, max_length=160)
    hook: str = Field(min_length=1)
    scenes: tuple[Scene, ...] = Field(min_length=1)
    caption: str = Field(min_length=1, max_length=5000)
    hashtags: tuple[str, ...]
    video_prompt: str
    cover_prompt: str
    alt_text: str | None = Field(default=None, min_length=1, max_length=1000)
    """What the video shows, for people who cannot see it; None: its title."""
    provenance: tuple[Trace, ...] | None = None
    """Each figure and quotation with its source sentence, traced when drafted or edited; None: not traced."""

    @property
    def seconds(self) -> float:
        return sum(scene.seconds for scene in self.scenes)

    @property
    def voiceover(self) -> str:
        return " ".join(scene.voiceover for scene in self.scenes)


Draft = Annotated[HeroTextDraft | VideoDraft, Field(discriminator="content_format")]


class Check(BaseModel):
    """One editorial check of a draft, shown to reviewers."""

    name: str
    level: Literal["ok", "warn", "fail"]
    detail: str


class Artifact(BaseModel):
    """A file (or URL) a step produced."""

    kind: str
    path: str | None = None
    url: str | None = None
    content_type: str
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None


class PipelineStep(BaseModel):
    """One step of a post's pipeline: who did it, what it made, what it cost and how long it took."""

    id: int
    name: str
    status: StepStatus
    provider: str | None = None
    model: str | None = None
    artifact: Artifact | None = None
    cost_usd: Money = Decimal("0")
    latency_s: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    worker: str | None = None
    """host:pid of the process that ran the step."""
    detail: str | None = None
    """How the step went, beyond its status: e.g. a reply served from the LLM cache."""
    request_id: str | None = None
    """The provider's id for the paid request, once it has one."""
    attempts: int = 0
    """How many times a worker took the step up: more than 1 after a worker died or a retry."""
    retry_at: datetime | None = None
    """A publish step waiting after a transient error (its reason in `error`): tried again from then."""


class ChannelVersion(BaseModel):
    """A reviewer's own text for one channel, in place of the text made from the draft, and its first comment."""

    text: str | None = None
    """What the channel carries, whole (a thread channel still splits it into parts); None: the generated text."""
    first_comment: str | None = None
    """Posted once after the post: a self-reply to its last part, or a comment where the channel has no replies."""


class Publication(BaseModel):
    channel: str
    remote_id: str
    url: str | None = None
    published_at: datetime


class PostEvent(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: PostStatus | None
    to_status: PostStatus
    note: str | None = None


class Comment(BaseModel):
    """A comment in a post's thread; `mentions` are the people with an account it names as @name."""

    id: int
    post_id: int
    at: datetime
    author: str
    body: str
    mentions: list[str] = []
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


class Post(BaseModel):
    """A post with its plan, draft, pipeline and decisions: the whole story."""

    id: int
    batch_id: int
    persona: str
    content_format: ContentFormat
    status: PostStatus
    status_changed_at: datetime
    message: str | None = None
    plan: Plan
    draft: Draft | None = None
    checks: list[Check] = []
    draft_history: list[dict[str, Any]] = []
    """Earlier drafts, oldest first, each with when it was replaced and the reviewer's note."""
    steps: list[PipelineStep] = []
    events: list[PostEvent] = []
    publications: list[Publication] = []
    channel_versions: dict[str, ChannelVersion] = {}
    """Reviewers' texts and first comments, by channel name."""
    slot_at: datetime | None = None
    reason: str | None = None
    reason_code: str | None = None
    """A rejection's kind: one of REJECT_REASONS."""
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def title(self) -> str:
        return self.draft.title if self.draft else self.plan.title

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cost_usd(self) -> Money:
        """The sum of the post's steps."""
        return sum((step.cost_usd for step in self.steps), Decimal("0"))


class PostListing(BaseModel):
    """A post as a list shows it: no steps, events or publications are loaded, its cost is summed in SQL."""

    id: int
    batch_id: int
    persona: str
    content_format: ContentFormat
    status: PostStatus
    status_changed_at: datetime
    title: str
    total_cost_usd: Money
    """The sum of the post's steps."""
    slot_at: datetime | None = None
    created_at: datetime


class ListingGlance(BaseModel):
    """What a queue row shows beyond the listing: the caption's first line, failing checks, a thumbnail."""

    first_line: str = ""
    failing: list[str] = []
    warnings: int = 0
    open_comments: int = 0
    thumbnail: str | None = None
    """The path of the post's latest image file (its card or video cover), if it has one."""


class SpendLine(BaseModel):
    """What one beat or one format has cost a persona: its posts and the sum of their steps."""

    key: str
    """The beat's key or the format's name."""
    posts: int
    total_usd: Money

    @property
    def per_post(self) -> Decimal:
        """The mean cost of a post, to the cent's billionth like every sum (exact division is not possible)."""
        return (self.total_usd / self.posts).quantize(Decimal("0.000000001")) if self.posts else Decimal(0)


class Spend(BaseModel):
    """A persona's spend, per beat and per format (its posts' steps), and on planning (its batches' own steps)."""

    by_beat: list[SpendLine]
    by_format: list[SpendLine]
    planning_usd: Money
    total_usd: Money


class Batch(BaseModel):
    id: int
    persona: str
    status: BatchStatus
    spec: BatchSpec
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    dropped: list[str] = []
    """What the planner turned down, one line each with the reason."""
    posts: list[Post] = []
    steps: list[PipelineStep] = []
    """The batch's own steps: its planning attempts (their cost moves to the posts' plan steps once planned)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cost_usd(self) -> Money:
        """The sum of the batch's posts and of its own steps."""
        own = sum((step.cost_usd for step in self.steps), Decimal("0"))
        return sum((post.total_cost_usd for post in self.posts), own)
