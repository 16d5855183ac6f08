"""One small server on 127.0.0.1 that speaks the parts of Mastodon, Bluesky (atproto XRPC), X API v2,
LinkedIn's posts API and a webhook receiver that beatdesk uses, recording every request.

Per test: revoke a token (401), answer the next creates with 429/503, or take the next create and
drop the connection before answering (a lost answer), to check that a retry posts nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import regex

from tests.loopback import serving

TOKEN = "channel-token"
APP_PASSWORD = "app-pass-1234"
WEBHOOK_SECRET = "whsec-test"
SERVICE_TOKEN = "bsky-service-token"
MASTODON_NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
CREATES = {
    ("POST", "/api/v1/statuses"): "mastodon",
    ("POST", "/api/v2/media"): "mastodon_media",
    ("GET", "/xrpc/app.bsky.video.getJobStatus"): "bluesky_job",
    ("POST", "/threads-api/me/threads_publish"): "threads",
    ("POST", "/ig-api/me/media_publish"): "instagram",
    ("POST", "/xrpc/com.atproto.repo.createRecord"): "bluesky",
    ("POST", "/2/tweets"): "x",
    ("POST", "/rest/posts"): "linkedin",
    ("POST", "/hook"): "webhook",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ChannelServer:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """What each channel now shows, by channel name: one entry per remote post."""
    revoked: set[str] = field(default_factory=set)
    create_errors: dict[str, list[int]] = field(default_factory=dict)
    lose_answers: dict[str, int] = field(default_factory=dict)
    lose_texts: dict[str, str] = field(default_factory=dict)
    """By kind of create (a CREATES value, linkedin_comment or instagram_comment): take the next one that carries
    the text (in its body or query, or a Graph publish in its container's), and drop the connection before
    answering (once)."""
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Comments by what they are on: a LinkedIn post's URN, an Instagram media's id."""
    stall_answers: dict[str, int] = field(default_factory=dict)
    """Creates to take and then hold without an answer (a stalled server) until `release` is set, then drop."""
    stalled: threading.Event = field(default_factory=threading.Event)
    """Set once a create has been taken and its answer is being held."""
    release: threading.Event = field(default_factory=threading.Event)
    retry_after: str | None = None
    """The Retry-After header sent with scripted 429/503 answers."""
    mastodon_media: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Mastodon uploads by id: kind, polls left before processing ends, the status holding it."""
    processing_polls: int = 2
    """How many 206 answers a Mastodon video (or a Bluesky video job, a Graph API container) gets before it is ready."""
    linkedin_videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    """LinkedIn videos by URN: size, parts (URL -> ETag once PUT), bytes taken, finalized, polls left."""
    linkedin_part_bytes: int = 4 * 1024 * 1024
    """LinkedIn's upload instructions cut a video into parts of this size."""
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Graph API (Threads, Instagram) media containers by id: channel, parameters, polls left, status."""
    replies_lag: int = 0
    """How many of the next Threads reply listings leave out the newest reply (listed a moment late)."""
    bluesky_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Bluesky video-service jobs by id: polls left, the blob it gives when completed."""
    videos: dict[str, dict[str, int]] = field(default_factory=dict)
    """X's chunked uploads by media id: total bytes announced, bytes appended, status polls."""
    mastodon_max_characters: int | None = 500
    """What the Mastodon instance gives as `configuration.statuses.max_characters` and refuses longer statuses
    by; None: an instance older than 4.0, without /api/v2/instance (then 500 holds)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]


@contextmanager
def channel_server() -> Iterator[ChannelServer]:
    state = ChannelServer()
    idempotent: dict[str, dict[str, Any]] = {}
    videos = state.videos
    records: dict[str, dict[str, Any]] = {}

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            request = Request(method, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                              body)  # fmt: skip
            with state.lock:
                state.requests.append(request)
            channel = _channel_of(parts.path)
            if channel in state.revoked or not self._authorised(channel, request):
                if channel in ("threads", "instagram"):  # the Graph API says so with a 400 and code 190
                    self._send(400, {"error": {"message": "Error validating access token: Session has expired",
                                               "type": "OAuthException", "code": 190}})  # fmt: skip
                else:
                    self._send(401, {"error": "invalid_token", "error_description": "The access token is invalid"})
                return
            create = CREATES.get((method, parts.path))
            if method == "POST" and _LINKEDIN_COMMENTS.match(parts.path):
                create = "linkedin_comment"
            if method == "POST" and _INSTAGRAM_COMMENTS.match(parts.path):
                create = "instagram_comment"
            if create:
                with state.lock:
                    errors = state.create_errors.get(create) or []
                    error = errors.pop(0) if errors else None
                if error:
                    if error == 422 and create == "mastodon":  # Mastodon's own words for media not yet processed
                        self._send(422, {"error": MASTODON_NOT_READY})
                    else:
                        wait = {"Retry-After": state.retry_after} if state.retry_after is not None else {}
                        self._send(error, {"error": "scripted", "message": "slow down"}, wait)
                    return
            status, answer, headers = self._answer(channel, method, parts.path, request)
            with state.lock:
                lose = bool(create) and state.lose_answers.get(create or "", 0) > 0
                if lose:
                    state.lose_answers[create] -= 1  # type: ignore[index]
                held = state.lose_texts.get(create or "")
                if held is not None and held in _carried(state, request):
                    del state.lose_texts[create]  # type: ignore[arg-type]
                    lose = True
                stall = bool(create) and state.stall_answers.get(create, 0) > 0
                if stall:
                    state.stall_answers[create] -= 1  # type: ignore[index]
            if stall:  # taken, then the server stalls: the client waits for an answer that never comes
                state.stalled.set()
                state.release.wait(timeout=120)
                lose = True
            if lose:  # taken, but the answer never arrives
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._send(status, answer, headers)

        def _authorised(self, channel: str, request: Request) -> bool:
            if channel == "webhook":
                expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.headers["x-beatdesk-timestamp"].encode()
                                                + b"." + request.body, hashlib.sha256).hexdigest()  # fmt: skip
                return hmac.compare_digest(expected, request.headers.get("x-beatdesk-signature", ""))
            if request.path.endswith("createSession") or request.path.startswith("/upload/"):
                return True
            if request.path.endswith("app.bsky.video.getJobStatus"):
                return True  # the video service answers job polls without a session
            if request.path.endswith("app.bsky.video.uploadVideo"):  # a service-auth token from getServiceAuth
                return request.headers.get("authorization") == f"Bearer {SERVICE_TOKEN}"
            token = "bsky-jwt" if channel == "bluesky" else TOKEN
            return request.headers.get("authorization") == f"Bearer {token}"

        def _answer(self, channel: str, method: str, path: str, r: Request) -> tuple[int, Any, dict[str, str]]:
            with state.lock:
                shown = state.posts.setdefault(channel, [])
                if channel in ("threads", "instagram"):
                    return self._graph(channel, method, path, r)
                if path == "/api/v2/media":
                    return self._mastodon_upload(r)
                if path.startswith("/api/v1/media/") and method == "GET":
                    media = state.mastodon_media.get(path.rsplit("/", 1)[1])
                    if media is None or media["status"] is not None:  # Mastodon shows only unattached media
                        return 404, {"error": "Record not found"}, {}
                    if media["polls_left"] > 0:
                        media["polls_left"] -= 1
                        return 206, media["json"] | {"url": None}, {}
                    return 200, media["json"], {}
                if path == "/api/v2/instance" and method == "GET":
                    if state.mastodon_max_characters is None:
                        return 404, {"error": "Record not found"}, {}
                    limits = {"max_characters": state.mastodon_max_characters, "characters_reserved_per_url": 23}
                    return 200, {"domain": "fake.test", "configuration": {"statuses": limits}}, {}
                if path == "/api/v1/statuses":
                    key = r.headers.get("idempotency-key", "")
                    if key and key in idempotent:  # Mastodon answers a repeated key before any validation
                        return 200, idempotent[key], {}
                    most = state.mastodon_max_characters or 500
                    if _mastodon_length(r.json()["status"]) > most:
                        return 422, {"error": f"Validation failed: Text character limit of {most} exceeded"}, {}
                    attached = [state.mastodon_media.get(str(i)) for i in r.json().get("media_ids") or []]
                    if any(m is not None and m["polls_left"] > 0 for m in attached):
                        return 422, {"error": MASTODON_NOT_READY}, {}
                    status = {"id": str(len(shown) + 100), "url": f"{state.url}@ash/{len(shown) + 100}"} | r.json()
                    for media in attached:
                        if media is not None:
                            media["status"] = status["id"]
                    shown.append(status)
                    idempotent[key] = status
                    return 200, status, {}
                if path.endswith("createSession"):
                    if r.json() != {"identifier": "ash.test", "password": APP_PASSWORD}:
                        return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, {}
                    return 200, {"did": "did:plc:ash", "handle": "ash.test", "accessJwt": "bsky-jwt"}, {}
                if path.endswith("getRecord"):
                    rkey = r.query["rkey"][0]
                    if rkey not in records:
                        return 400, {"error": "RecordNotFound", "message": f"Could not locate record: {rkey}"}, {}
                    return 200, records[rkey], {}
                if path.endswith("com.atproto.server.getServiceAuth"):
                    query = {k: v[0] for k, v in r.query.items()}
                    if (
                        not query.get("aud", "").startswith("did:web:")
                        or query.get("lxm") != "com.atproto.repo.uploadBlob"
                    ):
                        return 400, {"error": "InvalidRequest", "message": f"bad service auth request {query}"}, {}
                    return 200, {"token": SERVICE_TOKEN}, {}
                if path.endswith("app.bsky.video.uploadVideo"):
                    if r.headers.get("content-type") != "video/mp4" or r.query.get("did") != ["did:plc:ash"]:
                        return 400, {"error": "InvalidRequest", "message": "expected video/mp4 for did:plc:ash"}, {}
                    job = "job" + uuid.uuid4().hex[:8]
                    blob = {"$type": "blob", "ref": {"$link": "bafkreivideo" + job}, "mimeType": "video/mp4",
                            "size": len(r.body)}  # fmt: skip
                    state.bluesky_jobs[job] = {"polls_left": state.processing_polls, "blob": blob}
                    return 200, {"jobStatus": {"jobId": job, "did": "did:plc:ash", "state": "JOB_STATE_CREATED"}}, {}
                if path.endswith("app.bsky.video.getJobStatus"):
                    job = r.query["jobId"][0]
                    found = state.bluesky_jobs.get(job)
                    if found is None:
                        return 400, {"error": "InvalidRequest", "message": "job not found"}, {}
                    status = {"jobId": job, "did": "did:plc:ash", "state": "JOB_STATE_ENCODING", "progress": 50}
                    if found["polls_left"] > 0:
                        found["polls_left"] -= 1
                        return 200, {"jobStatus": status}, {}
                    return 200, {"jobStatus": status | {"state": "JOB_STATE_COMPLETED", "blob": found["blob"]}}, {}
                if path.endswith("uploadBlob"):
                    return 200, {"blob": {"$type": "blob", "ref": {"$link": "bafkrei" + uuid.uuid4().hex[:20]},
                                          "mimeType": r.headers["content-type"], "size": len(r.body)}}, {}  # fmt: skip
                if path.endswith("createRecord"):
                    data = r.json()
                    video = (data["record"].get("embed") or {}).get("video")
                    done = [j["blob"] for j in state.bluesky_jobs.values() if j["polls_left"] == 0]
                    if video is not None and video not in done:  # the PDS holds only blobs the video service sent it
                        return 400, {"error": "InvalidRequest", "message": f"Could not find blob: {video}"}, {}
                    if data["rkey"] in records:
                        return 400, {"error": "InvalidRequest", "message": "Record already exists"}, {}
                    uri = f"at://{data['repo']}/{data['collection']}/{data['rkey']}"
                    records[data["rkey"]] = {"uri": uri, "cid": "bafy" + data["rkey"], "value": data["record"]}
                    shown.append(data["record"])
                    return 200, {"uri": uri, "cid": "bafy" + data["rkey"]}, {}
                if path == "/2/users/me":
                    return 200, {"data": {"id": "42", "username": "ash"}}, {}
                if path == "/2/users/42/tweets":
                    newest = [{"id": t["id"], "text": t["text"]} for t in reversed(shown)]
                    return 200, ({"data": newest[:20]} if newest else {"meta": {"result_count": 0}}), {}
                if path == "/2/media/upload/initialize":
                    media_id = str(uuid.uuid4().int)[:12]
                    videos[media_id] = {"total": r.json()["total_bytes"], "appended": 0, "status_calls": 0}
                    return (
                        200,
                        {"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86400}},
                        {},
                    )
                if path.startswith("/2/media/upload/") and path.endswith("/append"):
                    videos[path.split("/")[4]]["appended"] += len(r.body)  # the multipart body: at least the chunk
                    return 204, None, {}
                if path.startswith("/2/media/upload/") and path.endswith("/finalize"):
                    info = {"state": "pending", "check_after_secs": 0}
                    return 200, {"data": {"id": path.split("/")[4], "processing_info": info}}, {}
                if path == "/2/media/upload" and method == "GET":
                    video = videos[r.query["media_id"][0]]
                    video["status_calls"] += 1
                    phase = "in_progress" if video["status_calls"] < 2 else "succeeded"
                    return 200, {"data": {"processing_info": {"state": phase, "check_after_secs": 0}}}, {}
                if path == "/2/media/upload":
                    return 200, {"data": {"id": str(uuid.uuid4().int)[:12], "media_key": "3_1"}}, {}
                if path == "/2/tweets":
                    tweet = {"id": str(1000 + len(shown))} | r.json()
                    shown.append(tweet)
                    return 201, {"data": {"id": tweet["id"], "text": tweet["text"]}}, {}
                if path == "/rest/images":
                    n = len(state.sent("POST", "/rest/images")) - 1  # this request is already recorded
                    return 200, {"value": {"uploadUrl": f"{state.url}upload/img{n}", "image": f"urn:li:image:{n}"}}, {}
                if path == "/rest/videos" and r.query.get("action") == ["initializeUpload"]:
                    ask = r.json()["initializeUploadRequest"]
                    urn = f"urn:li:video:{len(state.linkedin_videos) + 1}"
                    size, step = int(ask["fileSizeBytes"]), state.linkedin_part_bytes
                    parts = [{"uploadUrl": f"{state.url}upload/vid{len(state.linkedin_videos) + 1}-{i}",
                              "firstByte": first, "lastByte": min(first + step, size) - 1}
                             for i, first in enumerate(range(0, size, step))]  # fmt: skip
                    state.linkedin_videos[urn] = {"size": size, "parts": {p["uploadUrl"]: None for p in parts},
                                                  "taken": 0, "finalized": False,
                                                  "polls_left": state.processing_polls}  # fmt: skip
                    return 200, {"value": {"video": urn, "uploadToken": "", "uploadInstructions": parts,
                                           "uploadUrlsExpireAt": 1_900_000_000_000}}, {}  # fmt: skip
                if path.startswith("/upload/vid"):
                    for urn, video in state.linkedin_videos.items():
                        url = state.url + path.lstrip("/")
                        if url in video["parts"]:
                            video["parts"][url] = f"etag-{urn.rsplit(':', 1)[1]}-{len(r.body)}-{path[-2:]}"
                            video["taken"] += len(r.body)
                            return 200, None, {"ETag": video["parts"][url]}
                    return 404, {"message": "no such upload"}, {}
                if path == "/rest/videos" and r.query.get("action") == ["finalizeUpload"]:
                    ask = r.json()["finalizeUploadRequest"]
                    video = state.linkedin_videos[ask["video"]]
                    if ask["uploadedPartIds"] != list(video["parts"].values()) or video["taken"] != video["size"]:
                        return 400, {"message": "uploadedPartIds do not match the parts uploaded"}, {}
                    video["finalized"] = True
                    return 200, None, {}
                if path.startswith("/rest/videos/"):
                    video = state.linkedin_videos.get(unquote(path.removeprefix("/rest/videos/")))
                    if video is None:
                        return 404, {"message": "Not Found"}, {}
                    if not video["finalized"]:
                        return 200, {"status": "WAITING_UPLOAD"}, {}
                    if video["polls_left"] > 0:
                        video["polls_left"] -= 1
                        return 200, {"status": "PROCESSING"}, {}
                    return 200, {"status": "AVAILABLE"}, {}
                if path.startswith("/upload/"):
                    return 201, None, {}
                if _LINKEDIN_COMMENTS.match(path):  # the Comments API: on a post, as its author
                    target = unquote(path.split("/")[3])
                    comments = state.comments.setdefault(target, [])
                    if method == "GET":
                        return 200, {"elements": comments, "paging": {"count": len(comments)}}, {}
                    ask = r.json()
                    if ask.get("object") != target or not (ask.get("message") or {}).get("text"):
                        return 400, {"message": "object must be the post commented on, and message.text given"}, {}
                    number = 900 + sum(len(c) for c in state.comments.values())
                    comment = {"id": str(number), "$URN": f"urn:li:comment:({target},{number})"} | ask
                    comments.append(comment)
                    return 201, comment, {"x-restli-id": comment["$URN"]}
                if path == "/rest/posts" and method == "GET":
                    return 200, {"elements": [{"id": p["id"], "commentary": p["commentary"]} for p in shown]}, {}
                if path == "/rest/posts":
                    post = {"id": f"urn:li:share:{700 + len(shown)}"} | r.json()
                    shown.append(post)
                    return 201, None, {"x-restli-id": post["id"]}
                if path == "/hook":
                    delivery = r.json()
                    if not any(d["id"] == delivery["id"] for d in shown):
                        shown.append(delivery)
                    return 200, {"id": f"hook-{delivery['post_id']}"}, {}
            return 404, {"error": "NotFound"}, {}

        def _graph(self, channel: str, method: str, path: str, r: Request) -> tuple[int, Any, dict[str, str]]:
            """Threads (/threads-api) and Instagram (/ig-api): containers, their status, publishing, reading."""
            threads = channel == "threads"
            text_field, status_field = ("text", "status") if threads else ("caption", "status_code")
            create, publish = ("threads", "threads_publish") if threads else ("media", "media_publish")
            shown = state.posts.setdefault(channel, [])
            rest = path.split("/", 2)[2]
            query = {k: v[0] for k, v in r.query.items()}
            if method == "GET" and rest == f"me/{create}":  # Threads lists replies apart, at me/replies
                return 200, {"data": [{"id": m["id"], text_field: m[text_field], "permalink": m["permalink"]}
                                      for m in reversed(shown) if not m["reply_to_id"]]}, {}  # fmt: skip
            if method == "GET" and threads and rest == "me/replies":
                replies = [{"id": m["id"], "text": m["text"], "permalink": m["permalink"],
                            "replied_to": {"id": m["reply_to_id"]}} for m in reversed(shown) if m["reply_to_id"]]  # fmt: skip
                if state.replies_lag > 0:
                    state.replies_lag -= 1
                    replies = replies[1:]
                return 200, {"data": replies}, {}
            if not threads and rest.endswith("/comments"):  # comments on a published media: made at once
                return self._instagram_comment(method, rest.split("/")[0], query)
            if method == "POST" and rest == f"me/{create}":
                replied = query.get("reply_to_id")
                if threads and replied and not any(m["id"] == replied for m in shown):
                    return 400, {"error": {"message": f"The reply_to_id {replied} is not a published thread",
                                           "type": "OAuthException", "code": 100}}, {}  # fmt: skip
                problem = _graph_container_problem(channel, query, state.url + "media/")
                if problem:
                    return 400, {"error": {"message": problem, "type": "OAuthException", "code": 100,
                                           "fbtrace_id": "fake"}}, {}  # fmt: skip
                cid = f"c{len(state.containers) + 1}"
                video = "video_url" in query
                state.containers[cid] = {"channel": channel, "params": query, "status": "IN_PROGRESS",
                                         "polls_left": state.processing_polls if video else 1}  # fmt: skip
                return 200, {"id": cid}, {}
            if method == "POST" and rest == f"me/{publish}":
                container = state.containers.get(query.get("creation_id", ""))
                if container is None or container["status"] != "FINISHED":
                    message = "The media is not ready for publishing, please wait for a moment"
                    return 400, {"error": {"message": message, "type": "OAuthException", "code": 9007,
                                           "error_subcode": 2207027}}, {}  # fmt: skip
                container["status"] = "PUBLISHED"
                mid = f"m{len(shown) + 1}"
                shown.append({"id": mid, text_field: container["params"].get(text_field, ""),
                              "permalink": f"{state.url}{channel}/p/{mid}", "container": query["creation_id"],
                              "reply_to_id": container["params"].get("reply_to_id")})  # fmt: skip
                return 200, {"id": mid}, {}
            if method == "GET" and rest in state.containers:
                container = state.containers[rest]
                if container["status"] == "IN_PROGRESS":
                    container["polls_left"] -= 1
                    if container["polls_left"] <= 0:
                        container["status"] = "FINISHED"
                    return 200, {status_field: "IN_PROGRESS", "id": rest}, {}
                return 200, {status_field: container["status"], "id": rest}, {}
            found = next((m for m in shown if m["id"] == rest), None)
            if method == "GET" and found:
                return 200, {"id": rest, "permalink": found["permalink"]}, {}
            return 400, {"error": {"message": f"Unsupported request: {method} {path}", "code": 100}}, {}

        def _instagram_comment(
            self, method: str, media_id: str, query: dict[str, str]
        ) -> tuple[int, Any, dict[str, str]]:
            """`/{ig-media-id}/comments`: GET lists them (id, text, timestamp), POST makes one from `message`."""
            if not any(m["id"] == media_id for m in state.posts.get("instagram", [])):
                return 400, {"error": {"message": f"Unsupported request: object {media_id} does not exist",
                                       "type": "GraphMethodException", "code": 100}}, {}  # fmt: skip
            comments = state.comments.setdefault(media_id, [])
            if method == "GET":
                return 200, {"data": list(reversed(comments))}, {}
            if not query.get("message"):
                return 400, {"error": {"message": "(#100) The parameter message is required", "code": 100}}, {}
            number = 1790 + sum(len(c) for c in state.comments.values())
            comments.append({"id": str(number), "text": query["message"], "timestamp": "2099-01-05T08:31:00+0000"})
            return 200, {"id": str(number)}, {}

        def _mastodon_upload(self, r: Request) -> tuple[int, Any, dict[str, str]]:
            """/api/v2/media: images are ready at once (200); videos are processed first (202, url null)."""
            kind = "video" if b"Content-Type: video/" in r.body else "image"
            media_id = uuid.uuid4().hex[:8]
            json_ = {"id": media_id, "type": kind, "url": f"{state.url}media/{media_id}", "description": None}
            polls = state.processing_polls if kind == "video" else 0
            state.mastodon_media[media_id] = {"json": json_, "polls_left": polls, "status": None, "size": len(r.body)}
            return (202, json_ | {"url": None}, {}) if polls else (200, json_, {})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        try:
            yield state
        finally:
            state.release.set()


def _graph_container_problem(channel: str, query: dict[str, str], media_base: str) -> str | None:
    """What the Graph API would refuse in a container request, as its documentation states the rules."""
    urls = [query[k] for k in ("image_url", "video_url") if k in query]
    if any(not url.startswith(media_base) for url in urls):
        return f"The media could not be fetched from this uri: {urls}"
    if channel == "threads":
        kind = query.get("media_type")
        needs = {"TEXT": None, "IMAGE": "image_url", "VIDEO": "video_url"}
        if kind not in needs or (needs[kind] and needs[kind] not in query) or len(query.get("text", "")) > 500:
            return f"Param media_type or its media is invalid: {query}"
        return None
    if "image_url" in query and not query["image_url"].lower().endswith((".jpg", ".jpeg")):
        return "Only photo or video can be accepted as media type. The image format is not supported (JPEG only)"
    if "video_url" in query and query.get("media_type") != "REELS":
        return "The video must be posted with media_type REELS"
    if not urls:
        return "Media is required"
    return None


_LINKEDIN_COMMENTS = re.compile(r"^/rest/socialActions/[^/]+/comments$")
_INSTAGRAM_COMMENTS = re.compile(r"^/ig-api/[^/]+/comments$")


def _carried(state: ChannelServer, request: Request) -> str:
    """The text a request carries: its body, its query's values, and for a Graph publish its container's."""
    values = [v for vs in request.query.values() for v in vs]
    container = state.containers.get(request.query.get("creation_id", [""])[0])
    if container is not None:
        values += container["params"].values()
    return request.body.decode(errors="replace") + "\n" + "\n".join(values)


def _mastodon_length(text: str) -> int:
    """As Mastodon's StatusLengthValidator counts: grapheme clusters, each link as 23, @name@host as @name."""
    text = re.sub(r"(@\w+)@[\w.-]+\w", r"\1", re.sub(r"https?://\S+", "x" * 23, text))
    return len(regex.findall(r"\X", text))


def _channel_of(path: str) -> str:
    if path.startswith("/threads-api/"):
        return "threads"
    if path.startswith("/ig-api/"):
        return "instagram"
    if path.startswith("/api/"):
        return "mastodon"
    if path.startswith("/xrpc/"):
        return "bluesky"
    if path.startswith("/2/"):
        return "x"
    if path.startswith(("/rest/", "/upload/")):
        return "linkedin"
    return "webhook"
