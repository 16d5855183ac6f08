"""Every request to an address that came from outside (a source URL, a redirect, a channel's API) goes through
here: its answer streamed and capped in decoded bytes, the whole exchange within one deadline, and no
connection to an internal address unless BEATDESK_ALLOW_PRIVATE_URLS=1.

The address check sits in the network backend, where httpcore opens a TCP connection: the host is resolved
once, every address it resolves to is checked, and the socket is opened to a checked address, so a name
that answers differently a moment later (DNS rebinding) cannot slip past; TLS still verifies the name.
Redirects are followed here, one by one, and each new connection is checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from beatdesk.errors import BeatdeskError
from beatdesk.models import is_loopback_host

ACCEPT_ENCODING = "gzip, deflate"
"""Only encodings decoded here, in bounded steps: zlib's output can be capped per call, brotli's and zstd's
decoders in httpx cannot, and a few kilobytes of either can unpack to gigabytes."""
DECODE_STEP = 1 << 16
"""The most one decompression call may produce, so a bomb is caught within one step of the cap."""
API_ANSWER_MAX_BYTES = 8_000_000
"""A channel's or metrics API's answer: JSON of a few kilobytes; more is not an answer worth holding."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(BeatdeskError):
    """A fetch stopped by one of its bounds; nothing it read is kept."""


class AddressRefused(FetchError):
    """The URL's host is (or resolves to) an internal address, or the URL is not http(s)."""


class AnswerTooLarge(FetchError):
    pass


class PastDeadline(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


# --- where a connection may go ---------------------------------------------------------------------


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, resolved once per connection (tests replace this to play a rebinding name)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_internal(ip: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, unspecified, reserved or otherwise not global (IPv4 inside
    IPv6 judged as the IPv4 address it carries)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_internal(embedded)
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or not ip.is_global
    )


def private_allowed() -> bool:
    from beatdesk.settings import get_settings  # read per connection: tests and intranets set it per process

    return get_settings().allow_private_urls


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to for `host`; refused when any of them is internal (unless allowed)."""
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as err:
            raise httpcore.ConnectError(f"cannot resolve {host}: {err}") from None
    if not private_allowed():
        for address in addresses:
            if is_internal(ipaddress.ip_address(address)):
                shown = host if address == host else f"{host} ({address})"
                raise AddressRefused(
                    f"{shown} is an internal address; requests there are refused "
                    "(set BEATDESK_ALLOW_PRIVATE_URLS=1 to allow an intranet)"
                )
    return addresses


def plain_http_to_elsewhere(url: str) -> bool:
    """A URL that would carry credentials in the clear over the network: http to anything but this machine."""
    parsed = httpx.URL(url)
    return parsed.scheme != "https" and not is_loopback_host(parsed.host)


# --- one deadline for a whole exchange -------------------------------------------------------------

_deadline: ContextVar[float | None] = ContextVar("beatdesk_net_deadline", default=None)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """The socket timeout for the next operation: the client's own, never past the current deadline."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("past the deadline")
    return left if timeout is None else min(timeout, left)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Inside, every connect, TLS handshake, read and write on this thread ends by `seconds` from now."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses, and bounds every socket operation by the current deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in checked_addresses(host, port):
            left = _left(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._inner.connect_tcp(address, port, left, local_address, socket_options)
            except httpcore.ConnectError as err:  # the next address of the name may answer
                failure = err
                continue
            return _BoundedStream(stream)
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise httpcore.ConnectError("unix sockets are not for untrusted URLs")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def client(**options: Any) -> httpx.Client:
    """An httpx client whose every connection goes through the guard.

    trust_env is off: a proxy from the environment would make the proxy's address the one checked, and
    httpx would route around this transport."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx exposes no network-backend option (encode/httpx#3749): its pool is replaced by an equal one with ours.
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=_GuardedBackend())
    return httpx.Client(transport=transport, trust_env=False, follow_redirects=False, **options)


# --- one request, bounded ---------------------------------------------------------------------------


def request(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    max_bytes: int,
    deadline_s: float,
    redirects: int = 0,
    **options: Any,
) -> httpx.Response:
    """One request and its whole answer, read within `deadline_s` and at most `max_bytes` decoded.

    Up to `redirects` redirects are followed, each to a checked address; past that a redirect is an error
    (with `redirects=0` the 3xx itself is the answer). Raises a FetchError subclass when a bound is hit,
    httpx.HTTPError when the exchange fails."""
    with streamed(http, method, url, max_bytes=max_bytes, deadline_s=deadline_s, redirects=redirects,
                  **options) as (response, body):  # fmt: skip
        content = b"".join(body)
    dropped = ("content-encoding", "content-length")  # they described the bytes on the wire, not these
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
    phrase = {"reason_phrase": response.extensions["reason_phrase"]} if "reason_phrase" in response.extensions else {}
    return httpx.Response(response.status_code, headers=kept, content=content, request=response.request,
                          extensions=phrase)  # fmt: skip


@contextmanager
def streamed(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    max_bytes: int,
    deadline_s: float,
    redirects: int = 0,
    **options: Any,
) -> Iterator[tuple[httpx.Response, Iterator[bytes]]]:
    """`request`, with the answer's body given as it arrives (decoded, capped, within the deadline) rather than
    held: for files too large to keep in memory. The body must be read inside the block."""
    with deadline(deadline_s):
        try:
            outgoing = http.build_request(method, url, **options)
            for hop in range(redirects + 1):
                if outgoing.url.scheme not in ("http", "https"):
                    raise AddressRefused(f"{outgoing.url}: not an http(s) address")
                outgoing.headers["Accept-Encoding"] = ACCEPT_ENCODING
                response = http.send(outgoing, stream=True)
                try:
                    following = response.next_request
                    if following is None or redirects == 0:
                        yield response, _body(response, max_bytes)
                        return
                    if hop == redirects:
                        raise TooManyRedirects(f"{url}: more than {redirects} redirects")
                finally:
                    response.close()
                outgoing = following
        except httpx.TimeoutException:
            raise PastDeadline(f"{url}: no complete answer within {deadline_s:g} s") from None
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _body(response: httpx.Response, max_bytes: int) -> Iterator[bytes]:
    """The answer's body decoded, raising AnswerTooLarge as soon as it passes `max_bytes`."""
    url = response.request.url
    declared = response.headers.get("content-length", "")
    too_large = f"{url}: the answer is over the {max_bytes:,}-byte limit"
    if declared.isdigit() and int(declared) > max_bytes:
        raise AnswerTooLarge(f"{too_large} ({int(declared):,} bytes announced)")
    size = 0
    for part in _decoded(_capped(response.iter_raw(), max_bytes, too_large), response.headers, url):
        size += len(part)
        if size > max_bytes:
            raise AnswerTooLarge(too_large)
        yield part


def _capped(chunks: Iterable[bytes], max_bytes: int, message: str) -> Iterator[bytes]:
    """Raw bytes, capped too: a stream of empty deflate blocks decodes to nothing and could run forever."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise AnswerTooLarge(message)
        yield chunk


def _decoded(chunks: Iterable[bytes], headers: httpx.Headers, url: httpx.URL) -> Iterator[bytes]:
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        yield from chunks
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"{url}: the answer is {encoding}-encoded, which was not asked for; refused unread")
    # gzip: the gzip wrapper; deflate: the zlib wrapper, or (as some servers send it) raw deflate.
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    inflater, started = zlib.decompressobj(wbits), False
    try:
        for chunk in chunks:
            data = chunk
            while data and not inflater.eof:
                try:
                    out = inflater.decompress(data, DECODE_STEP)
                except zlib.error:
                    if encoding != "deflate" or started or wbits < 0:
                        raise
                    wbits = -zlib.MAX_WBITS
                    inflater = zlib.decompressobj(wbits)
                    continue
                started = True
                yield out
                data = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as err:
        raise httpx.DecodingError(f"{url}: the {encoding} answer does not decode ({err})") from None
