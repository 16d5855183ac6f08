"""The one settings object, read from BEATDESK_* variables and a .env file."""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from beatdesk import retries
from beatdesk.errors import ConfigError, describe_validation_error
from beatdesk.notify.urls import shape_problem, split_urls
from beatdesk.notify.urls import shown as shown_url
from beatdesk.strength import MAKE_SECRET, secret_problem

DEFAULT_SOURCE_MAX_BYTES = 1_000_000
DEFAULT_DESK_PORT = 8000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEATDESK_", env_file=".env", extra="ignore")

    home: Path = Path(".beatdesk")
    """Where personas, the SQLite store and artifacts live."""
    database_url: str | None = None
    """SQLAlchemy URL; unset means SQLite at $BEATDESK_HOME/beatdesk.db."""
    broker_url: str | None = None
    """redis://… sends tasks to `beatdesk worker` processes; unset runs them in-process."""
    llm: str = "offline"
    image_renderer: str = "local"
    video_renderer: str = "local"
    fal_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("FAL_KEY", "BEATDESK_FAL_KEY"))
    llm_api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    """Signs session and CSRF cookies; unset, one is made and kept in $BEATDESK_HOME/secret.key."""
    llm_base_url: str | None = None
    """An OpenAI-compatible endpoint, or a proxy, for the chosen provider."""
    llm_temperature: float = Field(default=0.4, ge=0, le=2)
    llm_timeout_s: float = Field(default=60, gt=0)
    llm_max_tokens: int = Field(default=2000, ge=16)
    llm_max_retries: int = Field(default=retries.LLM.attempts - 1, ge=0, le=10)
    """Retries with backoff on 429, 5xx and timeouts, done by the provider's client (the LLM's one policy)."""
    llm_requests_per_second: float | None = Field(default=None, gt=0)
    """Client-side rate limit for model calls; counted in the broker's Redis when there is one (shared by every
    worker on it), else per process; unset means none."""
    llm_cache: bool = False
    """Keep model replies in the store, so an identical re-draft costs nothing."""
    fal_url: str = "https://queue.fal.run/"
    """fal's queue endpoint, or a proxy or fal-compatible server (plain http allowed)."""
    fal_timeout_s: float = Field(default=600, gt=0, le=7200)
    """How long a render waits for fal; then the request is cancelled and its price kept on the step."""
    visibility_timeout_s: int = Field(default=3600, ge=1)
    """Redis gives an unacknowledged task to another worker after this; keep it above the longest render."""
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    in_process_threads: int = Field(default=0, ge=0, le=64)
    """With no broker: how many of a batch's posts run at once (0: two per core)."""
    freshness_days: int = Field(default=30, ge=0, le=3650)
    """How far back a new item must not repeat a post."""
    freshness_threshold: float = Field(default=0.4, gt=0, le=1)
    """Similarity (0..1) at which two angles count as the same piece."""
    batch_timeout_s: float = Field(default=900, gt=0)
    """How long `batch run` waits for workers before it returns."""
    scheduler_tick_s: float = Field(default=60, ge=1, le=3600)
    """How often `beatdesk scheduler` makes due batches and publishes due posts."""
    restart_backoff_s: float = Field(default=1, gt=0, le=600)
    """`beatdesk up` starts a child that exited again after this; doubled on each exit in a row."""
    restart_backoff_max_s: float = Field(default=30, gt=0, le=3600)
    """The longest `beatdesk up` waits before starting a child again."""
    restart_reset_after_s: float = Field(default=60, gt=0, le=86400)
    """A child that ran this long before it exited is started again after the first wait."""
    worker_stale_after_s: float = Field(default=30, ge=1, le=3600)
    """A worker that has not said it is alive for this long is taken for dead: its steps are taken over."""
    reconcile_every_s: float = Field(default=10, ge=0.2, le=3600)
    """How often workers (and a waiting `batch run`) look for posts that stopped moving."""
    idle_after_s: float = Field(default=60, ge=1, le=86400)
    """A post that has not moved for this long, with no live worker on it, is handed to a worker again."""
    give_up_after_s: float = Field(default=900, ge=1, le=7 * 86400)
    """A post that has not moved for this long, with no live worker on it, ends failed with the reason."""
    source_max_bytes: int = Field(default=DEFAULT_SOURCE_MAX_BYTES, ge=1)
    """The largest source file or feed `sources add` reads, in decoded bytes; a bigger one is refused."""
    source_fetch_timeout_s: float = Field(default=20, gt=0, le=3600)
    """How long fetching one source URL may take in all (redirects included), however the server trickles."""
    publish_timeout_s: float = Field(default=60, gt=0, le=3600)
    """How long one call to a channel's or a metrics API may take in all (an upload included)."""
    publish_give_up_after_s: float = Field(default=6 * 3600, ge=60, le=30 * 86400)
    """A channel still failing transiently (refused connection, 5xx, timeout) this long after its slot is given up."""
    fal_download_max_bytes: int = Field(default=500_000_000, ge=1)
    """The largest media file a fal render may download (an image, a video), in bytes."""
    fal_download_timeout_s: float = Field(default=300, gt=0, le=7200)
    """How long downloading one fal result file may take in all, however the server trickles."""
    log_format: Literal["text", "json"] = "text"
    """Log lines of the worker, scheduler and desk: plain text, or one JSON object a line."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    allow_private_urls: bool = False
    """Let source URLs and channels reach loopback, private and link-local addresses (an intranet, tests)."""
    notify_urls: str | None = None
    """Apprise URLs (space or comma separated) told what needs a person: a batch ready, a publication blocked,
    credentials refused, a budget near its end, no live worker. A persona's `notify` list adds its own."""
    public_url: str | None = None
    """The desk's address as people reach it (https://desk.example.com), for links in notifications; unset:
    the address `beatdesk up` or `serve` listens on."""

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("home", mode="before")
    @classmethod
    def _not_empty(cls, home: object) -> object:
        if isinstance(home, str) and not home.strip():
            raise ValueError("is empty; unset it to use ./.beatdesk, or give a folder")
        return home

    @field_validator("home")
    @classmethod
    def _absolute(cls, home: Path) -> Path:
        home = home.expanduser().resolve()
        if home.exists() and not home.is_dir():
            raise ValueError(f"is a file ({home}), not a folder; give a folder (it is made if missing)")
        return home

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str | None) -> str | None:
        if url is not None:
            try:
                make_url(url)
            except ArgumentError:
                raise ValueError("is not a database URL such as postgresql://user:pw@127.0.0.1/beatdesk") from None
        return url or None

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, url: str | None) -> str | None:
        if url and urlsplit(url).scheme not in ("redis", "rediss"):
            raise ValueError(
                "is not a Redis URL such as redis://127.0.0.1:6379/0 (or unset it to run tasks in-process)"
            )
        return url or None

    @field_validator("notify_urls")
    @classmethod
    def _notify_urls(cls, text: str | None) -> str | None:
        problem = shape_problem(split_urls(text))
        if problem:
            raise ValueError(problem)
        return text or None

    @field_validator("llm_base_url", "fal_url", "public_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("is not an http(s) URL such as https://api.example.com/v1")
        return url

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'beatdesk.db'}"

    @property
    def notify_url_list(self) -> tuple[str, ...]:
        return split_urls(self.notify_urls)

    @property
    def desk_url(self) -> str:
        """Where links in notifications point: BEATDESK_PUBLIC_URL, else the desk's default address."""
        return (self.public_url or f"http://127.0.0.1:{DEFAULT_DESK_PORT}").rstrip("/")

    @property
    def in_process(self) -> bool:
        return not self.broker_url

    def check_secrets(self) -> None:
        """Refuse a paid provider whose key is missing, naming the variable to set."""
        for name in ("image_renderer", "video_renderer"):
            if getattr(self, name).startswith("fal:") and self.fal_key is None:
                raise ConfigError(f"BEATDESK_{name.upper()} uses fal.ai but FAL_KEY is not set; nothing was spent")

    def check_secret_key(self, *, public: bool) -> None:
        """The desk's key: required beyond this machine (locally one is made and kept in the home), and when
        given, measured: short keys and patterns (sequences, repeats, keyboard walks) are refused."""
        if self.secret_key is None:
            if public:
                raise ConfigError(f"serving beyond this machine needs BEATDESK_SECRET_KEY set; make one with: "
                                  f"{MAKE_SECRET}")  # fmt: skip
            return
        problem = secret_problem(self.secret_key.get_secret_value())
        if problem is not None:
            raise ConfigError(f"BEATDESK_SECRET_KEY {problem}; make one with: {MAKE_SECRET}")

    def check_home(self) -> None:
        """Make the home if missing and prove it writable (the SQLite store and media live there), or say why not."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.home):
                pass
        except OSError as err:
            raise ConfigError(
                f"BEATDESK_HOME {self.home}: cannot write there ({err.strerror or err}); give a folder you may write to"
            ) from None

    def llm_options(self) -> dict[str, Any]:
        """Keyword arguments for LangChain's init_chat_model, from the BEATDESK_LLM_* settings."""
        options: dict[str, Any] = {
            "temperature": self.llm_temperature,
            "timeout": self.llm_timeout_s,
            "max_tokens": self.llm_max_tokens,
            "max_retries": self.llm_max_retries,
        }
        if self.llm_base_url:
            options["base_url"] = self.llm_base_url
        if self.llm_api_key is not None:
            options["api_key"] = self.llm_api_key.get_secret_value()
        return options

    def masked(self) -> dict[str, Any]:
        """The effective settings with secrets and URL passwords hidden."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********"
            elif name == "notify_urls" and value:  # Apprise URLs carry their tokens in hosts and paths
                value = " ".join(shown_url(url) for url in split_urls(value))
            elif name.endswith("_url") and value:
                value = _without_password(value)
            shown[name] = str(value) if isinstance(value, Path) else value
        shown["effective_database_url"] = _without_password(self.effective_database_url)
        shown["mode"] = "in-process" if self.in_process else "celery workers"
        return shown


_SECRETS = ("fal_key", "llm_api_key", "secret_key", "notify_urls")


def _without_password(url: str) -> str:
    """The URL as shown to people: any password replaced by ***, even in a URL too broken to parse."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url, count=1)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        if first["loc"] and first["loc"][0] in Settings.model_fields:
            name = str(first["loc"][0])
            variable = "FAL_KEY" if name == "fal_key" else f"BEATDESK_{name.upper()}"
            message = str(first["msg"]).removeprefix("Value error, ")
            given = first["input"]
            if isinstance(given, str) and name.endswith("_url"):
                given = _without_password(given)
            shown = "" if name in _SECRETS else f" (got {given!r})"
            joint = " " if message.startswith("is ") else ": "
            raise ConfigError(f"{variable}{joint}{message}{shown}") from None
        raise ConfigError(describe_validation_error(err, source="environment (BEATDESK_*)")) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
