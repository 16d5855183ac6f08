"""The local outbox (the default channel): each post becomes a folder with its text, media and metadata."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from publishers.base import Outgoing, Published
from publishers.media import is_video


class OutboxPublisher:
    channel = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _target(self, outgoing: Outgoing) -> Path:
        return self.folder / f"post-{outgoing.post.id}"

    def publish(self, outgoing: Outgoing) -> Published:
        target = self._target(outgoing)
        if target.is_dir():  # an earlier attempt got this far: the folder only ever appears whole
            return Published(remote_id=f"outbox:{outgoing.post.id}", url=target.as_uri())
        partial = target.with_name(target.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        (partial / "post.txt").write_text("\n\n---\n\n".join(outgoing.parts) + "\n", encoding="utf-8")
        copied = []
        for path in outgoing.media:
            captions = [path.with_suffix(ext) for ext in (".srt", ".vtt") if is_video(path)]  # a video's captions
            for source in [path, *(c for c in captions if c.is_file())]:
                shutil.copy2(source, partial / source.name)
                copied.append(source.name)
        meta = {"post_id": outgoing.post.id, "persona": outgoing.post.persona, "title": outgoing.post.title,
                "slot_at": outgoing.post.slot_at.isoformat() if outgoing.post.slot_at else None,
                "parts": len(outgoing.parts), "media": copied}  # fmt: skip
        (partial / "post.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(partial, target)  # the folder appears whole, or not at all
        return Published(remote_id=f"outbox:{outgoing.post.id}", url=target.as_uri())
