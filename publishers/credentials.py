"""Channel credentials: from the environment or a secrets file, never the database, never a log line.

`BEATDESK_<PERSONA>_<CHANNEL>_<NAME>` (e.g. BEATDESK_ASH_MASTODON_TOKEN) wins over the secrets file
`$BEATDESK_HOME/secrets.toml` (or BEATDESK_SECRETS_FILE), laid out as `[ash.mastodon] token = "…"`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from beatdesk.bounds import SECRETS_MAX_BYTES, TooLargeError, loads_toml, read_capped
from beatdesk.errors import ChannelBlocked, ConfigError
from beatdesk.models import Channel, Persona

NEEDED: dict[str, tuple[str, ...]] = {
    "outbox": (),
    "mastodon": ("token",),
    "bluesky": ("app_password",),
    "x": ("token",),
    "linkedin": ("token",),
    "threads": ("token",),
    "instagram": ("token",),
    "webhook": ("secret",),
}


@dataclass(frozen=True)
class Credentials:
    values: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def __repr__(self) -> str:  # never print a secret, even by accident
        return f"Credentials({sorted(self.values)})"


def env_name(persona: Persona, channel: Channel, name: str) -> str:
    return f"BEATDESK_{persona.key}_{channel.name}_{name}".upper().replace("-", "_")


def secrets_file(home: Path) -> Path:
    return Path(os.environ.get("BEATDESK_SECRETS_FILE") or home / "secrets.toml")


def _file_values(home: Path) -> dict[str, object]:
    path = secrets_file(home)
    if not path.is_file():
        return {}
    try:
        text = read_capped(path, max_bytes=SECRETS_MAX_BYTES, what="a secrets file").decode("utf-8")
        return loads_toml(text, source=path, max_bytes=SECRETS_MAX_BYTES, what="a secrets file")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({type(err).__name__})") from None
    except TooLargeError as err:
        raise ConfigError(str(err)) from None


def _found(persona: Persona, channel: Channel, home: Path) -> tuple[dict[str, str], list[str]]:
    """The channel's credentials that are set, and the names of those that are not."""
    if channel.name not in NEEDED:
        raise ConfigError(
            f"persona {persona.key}: channel {channel.name!r} has no publisher; known: {', '.join(NEEDED)}"
        )
    section = _file_values(home).get(persona.key, {})
    from_file = section.get(channel.name, {}) if isinstance(section, dict) else {}
    values, missing = {}, []
    for name in NEEDED[channel.name]:
        value = os.environ.get(env_name(persona, channel, name)) or (from_file or {}).get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
        else:
            missing.append(name)
    return values, missing


def credentials_for(persona: Persona, channel: Channel, home: Path) -> Credentials:
    values, missing = _found(persona, channel, home)
    if missing:
        hints = " and ".join(f"{env_name(persona, channel, n)} (or {n} under [{persona.key}.{channel.name}] "
                             f"in {secrets_file(home)})" for n in missing)  # fmt: skip
        raise ConfigError(f"persona {persona.key}: channel {channel.name} has no credentials: set {hints}")
    return Credentials(values)


class NotConnected(ChannelBlocked):
    """A channel without its credentials: skipped, with the variable to set, while the others publish."""


def not_connected(personas: list[Persona], home: Path) -> list[str]:
    """Channels without their credentials, one line each ("not connected: ash/mastodon (set …)", the secrets
    file being the other place): said once when a long-running process starts, then skipped, while the other
    channels and the desk go on."""
    lines = []
    for persona in personas:
        for channel in persona.channels:
            _values, missing = _found(persona, channel, home)
            if missing:
                names = " and ".join(env_name(persona, channel, n) for n in missing)
                lines.append(f"not connected: {persona.key}/{channel.name} (set {names})")
    return lines
