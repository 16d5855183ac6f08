"""fal.ai renderers through its queue protocol: submit once, store the request id, then wait and download.

fal has no idempotency key, so a submit is sent again only when it certainly never arrived (the
connection could not be made, or the queue answered 429, its rate limit, which takes nothing). A
submit whose answer was lost after it was sent, or answered 5xx, may have been taken: it is never
sent again, and the step ends "outcome unknown" with the estimate on the books. Once fal holds a
request id, whatever goes wrong after (a failed download, an NSFW flag, a timeout) keeps the price
on the step. Status and cancel go through fal-client's request handles, at `BEATDESK_FAL_URL`.

The exchanges with the queue go through one urllib3 pool (submit, status stream, result): per request it
costs half the CPU of httpx, which a render pays three times on every worker thread. Result files, at
URLs fal names, go through the shared bounded fetch (beatdesk.net): capped bytes, one total deadline.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import fal_client
import httpx
import urllib3
from sseclient import SSEClient

from beatdesk import net, retries
from beatdesk.errors import OutcomeUnknownError, RefusedError, TransientError
from beatdesk.models import Artifact
from beatdesk.prices import image_cost, price_for, video_cost
from renderers.base import ImageRequest, RenderResult, RequestMemory, VideoRequest

FAL_QUEUE_URL = "https://queue.fal.run/"
_POOL_SIZE = 64
"""Connections kept alive per host: at least the threads of a worker, so none is opened per render."""


class RenderRefused(RefusedError):
    """fal refused or failed the work (a bad prompt, NSFW, a bad key): retrying will not help."""


class TransientRenderError(TransientError):
    """Worth another try later: 429, 5xx while waiting, a timeout, a dropped connection."""


class SubmitNotSent(TransientRenderError):
    """The submit certainly never reached fal (no connection, or 429): safe to send again."""


def _transient_status(code: int) -> bool:
    return code in (408, 409, 425, 429) or code >= 500


class FalQueue:
    """The queue protocol: submit by hand (to control retries), status and result through fal-client."""

    def __init__(
        self,
        *,
        key: str,
        base_url: str,
        poll_interval_s: float = 0.1,
        timeout_s: float = 600,
        download_max_bytes: int = 500_000_000,
        download_timeout_s: float = 300,
    ) -> None:
        self.key, self.base_url = key, base_url.rstrip("/") + "/"
        self.poll_interval_s, self.timeout_s = poll_interval_s, timeout_s
        self.stream_read_timeout_s = 60.0  # fal sends a comment every 15 s while a request runs
        self.stream_window_s = 30.0
        """How long the status stream is trusted to bring COMPLETED; then the request is polled to its deadline."""
        # fal-client's handles poll and cancel with this client (the same key fal-client would send).
        self.client = httpx.Client(headers={"Authorization": f"Key {key}"}, timeout=60)
        # One pool, kept alive across renders: a new connection per call costs ~50 ms of TLS set-up.
        # Nothing is retried by urllib3: whether a request may be sent again is decided here.
        self.http = urllib3.PoolManager(maxsize=_POOL_SIZE, retries=False, timeout=urllib3.Timeout(connect=10, read=60))
        self._auth = {"Authorization": f"Key {key}", "User-Agent": "beatdesk"}
        # Result files come from URLs fal names (a CDN): fetched like any URL from outside, bounded.
        self.files = net.client(timeout=httpx.Timeout(60, connect=10), headers={"User-Agent": "beatdesk"})
        self.download_max_bytes, self.download_timeout_s = download_max_bytes, download_timeout_s

    def submit(self, application: str, arguments: dict[str, Any]) -> str:
        """Send the request; again (fal's one retry policy, `retries.FAL`) only when it certainly never arrived."""
        return retries.FAL.call(
            lambda: self._submit_once(application, arguments), retry_if=retries.of_type(SubmitNotSent)
        )

    def _submit_once(self, application: str, arguments: dict[str, Any]) -> str:
        url = self.base_url + application
        try:
            response = self.http.request("POST", url, json=arguments, headers=self._auth, timeout=30)
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.NewConnectionError) as err:
            raise SubmitNotSent(f"cannot reach {url}: {type(err).__name__}") from err
        except urllib3.exceptions.HTTPError as err:  # sent, answer lost: fal may have taken it, so do not send again
            raise OutcomeUnknownError(
                f"outcome unknown: the submit to {application} was sent but its answer was lost "
                f"({type(err).__name__}); it may have been charged, and is not resubmitted: rerender to try again"
            ) from err
        if response.status == 429:  # fal's rate limit takes nothing: wait and send again
            raise SubmitNotSent(f"{application} answered 429 to the submit")
        if response.status >= 500:  # the queue may have taken it before failing
            raise OutcomeUnknownError(
                f"outcome unknown: {application} answered {response.status} to the submit; it may have been "
                "charged, and is not resubmitted: rerender to try again"
            )
        if response.status >= 400:
            raise RenderRefused(f"{application} refused the request ({response.status}): {_detail(response)}")
        return str(response.json()["request_id"])

    def request(self, application: str, arguments: dict[str, Any], job: RequestMemory) -> str:
        """The step's request: the one stored by an earlier attempt (resumed, never paid again), or a new
        submit, marked under way before it is sent and stored before any waiting."""
        if job.request_id is None:
            # Never taken: it never arrived (SubmitNotSent), or fal answered it with a refusal (4xx).
            with job.submitting(not_sent=(SubmitNotSent, RenderRefused)):
                job.remember_request(self.submit(application, arguments))
        assert job.request_id is not None  # set just above, or by the earlier attempt
        return job.request_id

    def handle(self, application: str, request_id: str) -> fal_client.SyncRequestHandle:
        """fal-client's handle on a stored request, at this queue's address (fal-client has no base-URL option)."""
        owner, alias = application.split("/")[:2]  # fal's queue: requests live under owner/alias
        base = f"{self.base_url}{owner}/{alias}/requests/{request_id}"
        return fal_client.SyncRequestHandle(
            request_id=request_id,
            response_url=base,
            status_url=base + "/status",
            cancel_url=base + "/cancel",
            client=self.client,
        )

    def cancel(self, application: str, request_id: str) -> None:
        """Ask fal to drop a request we stopped waiting for (best effort: it may already be charged)."""
        with contextlib.suppress(httpx.HTTPError, fal_client.FalClientHTTPError):
            self.handle(application, request_id).cancel()

    def wait(self, application: str, request_id: str) -> dict[str, Any]:
        """Wait for the request to complete (its status stream, or polls where there is none); return its result."""
        handle = self.handle(application, request_id)
        deadline = time.monotonic() + self.timeout_s
        try:
            window = min(deadline, time.monotonic() + self.stream_window_s)
            if not self._streamed_to_completion(application, handle, window):
                self._poll_until_done(application, handle, deadline)
            response = self.http.request("GET", handle.response_url, headers=self._auth)
        except fal_client.FalClientHTTPError as err:
            if _transient_status(err.status_code):
                raise TransientRenderError(f"{application} answered {err.status_code}: {err.message}") from err
            raise RenderRefused(f"{application} answered {err.status_code}: {err.message}") from err
        except (urllib3.exceptions.HTTPError, httpx.HTTPError, ValueError) as err:  # ValueError: a garbled event
            raise TransientRenderError(f"{application}: {type(err).__name__}: {err}") from err
        _raise_for_answer(application, response)
        return dict(response.json())

    def _streamed_to_completion(self, application: str, handle: fal_client.SyncRequestHandle, deadline: float) -> bool:
        """Follow the request's status stream (server-sent events) to COMPLETED: no poll overshoot, one
        connection. False when the stream cannot be trusted (no stream, an error answer, a garbled or
        early-closed stream, silence): the caller then polls, which any fal queue serves.

        The deadline is checked on every chunk, keep-alive comments included, so a stream that only
        ever says it is alive cannot hold a render past it. fal ends the stream right after COMPLETED,
        so it is read to its end and the connection goes back to the pool."""
        url = handle.status_url + "/stream"
        completed = ended = False
        read_s = max(0.1, min(self.stream_read_timeout_s, deadline - time.monotonic()))
        timeout = urllib3.Timeout(connect=10, read=read_s)
        try:
            response = self.http.request("GET", url, headers=self._auth, timeout=timeout, preload_content=False)
        except urllib3.exceptions.HTTPError:
            return False
        try:
            if response.status >= 400:
                if response.status in (401, 403):
                    _raise_for_answer(application, response)
                return False
            for event in SSEClient(_until(response.stream(), deadline)).events():  # type: ignore[arg-type]
                completed = completed or _completed(application, handle.request_id, json.loads(event.data))
            ended = True  # read to its end (fal ends it after COMPLETED): the connection can be kept
        except (urllib3.exceptions.HTTPError, ValueError, _PastDeadline):
            pass  # not trusted: whatever it said before stands; the caller polls otherwise
        finally:
            if not ended:  # a half-read stream must not go back to the pool
                response.close()
            response.release_conn()
        return completed

    def _poll_until_done(self, application: str, handle: fal_client.SyncRequestHandle, deadline: float) -> None:
        interval = self.poll_interval_s
        while True:
            status = handle.status()
            if isinstance(status, fal_client.Completed):
                _completed(application, handle.request_id, {"status": "COMPLETED", "error": status.error})
                return
            if time.monotonic() > deadline:
                self.cancel(application, handle.request_id)
                raise RenderRefused(
                    f"{application} request {handle.request_id} not done after {self.timeout_s:g}s; "
                    "cancel requested (it may still be charged)"
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 2.0)  # quick for fast models, gentle on long videos

    def download(self, url: str, out_path: Path) -> tuple[Path, str, int]:
        """Fetch a result file next to `out_path` (its extension from the content type); atomic, never half-written.
        A failed fetch is tried again under fal's one retry policy (`retries.FAL`); a trickle is not (its own try
        took the whole deadline).

        Through the bounded fetch every URL from outside takes: at most `download_max_bytes`, all of it within
        `download_timeout_s` however the server trickles, never to an internal address unless allowed."""
        return retries.FAL.call(lambda: self._download_once(url, out_path),
                                retry_if=retries.of_type(TransientRenderError))  # fmt: skip

    def _download_once(self, url: str, out_path: Path) -> tuple[Path, str, int]:
        try:
            with net.streamed(self.files, "GET", url, max_bytes=self.download_max_bytes,
                              deadline_s=self.download_timeout_s, redirects=5) as (response, body):  # fmt: skip
                if response.status_code >= 400:
                    error = TransientRenderError if _transient_status(response.status_code) else RenderRefused
                    raise error(f"downloading {url} failed: {response.status_code}")
                content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0]
                path = out_path.with_suffix(mimetypes.guess_extension(content_type) or out_path.suffix)
                return path, content_type, _write_atomically(path, body)
        except net.PastDeadline as err:  # a trickle: tried again by the step's retry, not at once here
            raise DownloadTooSlow(f"downloading {err}") from err
        except net.FetchError as err:  # too large, an internal address, endless redirects: no retry helps
            raise RenderRefused(f"downloading {url} refused: {err}") from err
        except httpx.HTTPError as err:  # no connection, or it dropped mid-file
            raise TransientRenderError(f"downloading {url} failed: {type(err).__name__}") from err


class DownloadTooSlow(TransientError):
    """A result file did not arrive within its deadline: worth a later try, not an immediate one."""


def _write_atomically(path: Path, chunks: Iterator[bytes]) -> int:
    """The chunks into `path` through a `.part` file (a long video never sits whole in memory); its size."""
    partial = path.with_suffix(path.suffix + ".part")
    size = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as file:
            for chunk in chunks:
                size += file.write(chunk)
        os.replace(partial, path)
    except OSError as err:  # a full disk, a read-only folder: say which file
        partial.unlink(missing_ok=True)
        raise RenderRefused(f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:  # a bound hit or a dropped connection mid-file: nothing half-written stays
        partial.unlink(missing_ok=True)
        raise
    return size


class _PastDeadline(Exception):
    pass


def _until(chunks: Any, deadline: float) -> Any:
    """The stream's chunks, until the deadline passes (checked on every chunk, keep-alives included)."""
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise _PastDeadline
        yield chunk


@contextmanager
def charged(price: Decimal) -> Iterator[None]:
    """Inside, fal holds the request: a refusal from here on (NSFW, no file, a failed download, a
    timeout) keeps the request's price on the step."""
    try:
        yield
    except RefusedError as err:
        if err.cost_usd is None:
            err.cost_usd = price
        raise


def _completed(application: str, request_id: str, status: dict[str, Any]) -> bool:
    if status.get("status") != "COMPLETED":
        return False
    if status.get("error"):
        raise RenderRefused(f"{application} failed request {request_id}: {status['error']}")
    return True


def _raise_for_answer(application: str, response: urllib3.BaseHTTPResponse) -> None:
    if response.status < 400:
        return
    error = TransientRenderError if _transient_status(response.status) else RenderRefused
    if error is TransientRenderError:
        raise error(f"{application} answered {response.status}")
    raise error(f"{application} answered {response.status}: {_detail(response)}")


def _detail(response: urllib3.BaseHTTPResponse) -> str:
    data = response.data  # read here if the body was streamed
    try:
        body = json.loads(data)
    except ValueError:
        return data.decode(errors="replace")[:200]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return str(detail)[:300]


class FalImageRenderer:
    provider = "fal"

    def __init__(self, model: str, queue: FalQueue) -> None:
        price_for(model)  # an unpriced model is refused before anything is spent
        self.model, self.queue = model, queue

    def estimate(self) -> Decimal:
        return image_cost(self.model)

    def render(self, request: ImageRequest, job: RequestMemory) -> RenderResult:
        arguments = {
            "prompt": request.prompt,
            "aspect_ratio": request.aspect,
            "num_images": 1,
            "output_format": "png",
            "enable_safety_checker": True,
        }
        request_id = self.queue.request(self.model, arguments, job)
        with charged(image_cost(self.model)):
            result = self.queue.wait(self.model, request_id)
            if any(result.get("has_nsfw_concepts") or []):
                raise RenderRefused(f"{self.model} flagged the image as NSFW (request {request_id})")
            images = result.get("images") or []
            if not images:
                raise RenderRefused(f"{self.model} returned no image (request {request_id})")
            image = images[0]
            path, content_type, size = self.queue.download(image["url"], request.out_path)
        seed = result.get("seed")
        return RenderResult(
            artifact=Artifact(
                kind=request.kind,
                path=str(path),
                url=image["url"],
                content_type=image.get("content_type") or content_type,
                size_bytes=size,
                width=image.get("width"),
                height=image.get("height"),
            ),
            cost_usd=image_cost(self.model),
            detail=f"request {request_id}" + (f", seed {seed}" if seed is not None else ""),
        )


class FalVideoRenderer:
    """Text-to-video on fal (e.g. fal-ai/veo3/fast), priced per second of video."""

    provider = "fal"

    def __init__(self, model: str, queue: FalQueue) -> None:
        price_for(model)
        self.model, self.queue = model, queue

    def estimate(self, seconds: float) -> Decimal:
        return video_cost(self.model, seconds)

    def render(self, request: VideoRequest, job: RequestMemory) -> RenderResult:
        seconds = sum(scene.seconds for scene in request.scenes)
        script = " ".join(scene.voiceover for scene in request.scenes)
        arguments = {"prompt": f"{request.prompt}\nVoiceover: {script}", "aspect_ratio": request.aspect,
                     "duration": f"{round(seconds)}s", "generate_audio": True}  # fmt: skip
        request_id = self.queue.request(self.model, arguments, job)
        with charged(video_cost(self.model, seconds)):
            result = self.queue.wait(self.model, request_id)
            video = result.get("video") or {}
            if not video.get("url"):
                raise RenderRefused(f"{self.model} returned no video (request {request_id})")
            path, content_type, size = self.queue.download(video["url"], request.out_path)
        return RenderResult(
            artifact=Artifact(
                kind="video", path=str(path), url=video["url"], content_type=content_type, size_bytes=size
            ),
            cost_usd=video_cost(self.model, seconds),
            detail=f"request {request_id}, {seconds:g}s",
        )
