"""A small closed-loop HTTP/1.1 load generator on asyncio streams, for loopback targets only.

Why not aiohttp/httpx or ``wrk``: the client shares the machine's two cores with gunicorn and
PostgreSQL, so it must cost little per request, and it must build each request from a counter
(unique ``userName`` per POST) without a Lua toolchain. Raw streams cost tens of microseconds
a request; the runner reports the client's CPU share so a saturated client shows in the output.

Gunicorn's sync workers close the connection after every response, so each request is one
connection: connect, send with ``Connection: close``, read to EOF. Every loop is bounded: by
the deadline, by a per-request timeout and by :data:`MAX_REQUESTS`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

#: Hard cap on requests in one measurement, whatever the duration (a bound, not a target).
MAX_REQUESTS = 5_000_000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class HttpRequest:
    """One request of a scenario; ``path`` includes the (already encoded) query string."""

    method: str
    path: str
    body: bytes | None = None


#: Builds request number ``i`` (a counter unique within the run).
RequestFactory = Callable[[int], HttpRequest]


@dataclass
class LoadResult:
    """Measurements of one load phase."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def percentile(self, q: float) -> float:
        """Latency at quantile ``q`` (nearest rank), in seconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[rank - 1]


def merge_results(parts: Iterable[LoadResult]) -> LoadResult:
    """One result for several load phases of the same requests, as if measured in one window.

    Counts, seconds and client CPU add up and latencies pool, so ``rps`` is all requests over all
    measured seconds (not a mean of the phases' rates) and the percentiles are over every request.
    """
    merged = LoadResult()
    for part in parts:
        merged.requests += part.requests
        merged.errors += part.errors
        merged.seconds += part.seconds
        merged.client_cpu_seconds += part.client_cpu_seconds
        merged.latencies.extend(part.latencies)
        for key, count in part.statuses.items():
            merged.statuses[key] = merged.statuses.get(key, 0) + count
    return merged


class LoadGenerator:
    """Closed-loop load: ``concurrency`` workers each send one request at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        headers: dict[str, str],
        counter: itertools.count[int],
        request_timeout: float = 60.0,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            # The benchmark never targets anything but its own server on this machine.
            raise ValueError(f"load generator targets loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.counter = counter
        self.request_timeout = request_timeout
        self._head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

    def _encode(self, request: HttpRequest) -> bytes:
        body = request.body or b""
        head = (
            f"{request.method} {request.path} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n{self._head}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode("latin-1") + body

    async def _one(self, payload: bytes) -> int:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(payload)
            await writer.drain()
            data = await reader.read()  # To EOF: the server closes after the response.
        finally:
            writer.close()
        if not data.startswith(b"HTTP/1."):
            raise ConnectionError("no HTTP response")
        return int(data[9:12])

    async def _worker(
        self, factory: RequestFactory, deadline: float, ok: Collection[int], out: LoadResult
    ) -> None:
        while time.monotonic() < deadline and out.requests < MAX_REQUESTS:
            payload = self._encode(factory(next(self.counter)))
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(self._one(payload), self.request_timeout)
                key = str(status)
                failed = status not in ok
            except (OSError, TimeoutError, ConnectionError, ValueError) as exc:
                key = type(exc).__name__
                failed = True
            out.latencies.append(time.perf_counter() - started)
            out.requests += 1
            out.errors += failed
            out.statuses[key] = out.statuses.get(key, 0) + 1

    async def _phase(
        self, factory: RequestFactory, seconds: float, concurrency: int, ok: Collection[int]
    ) -> LoadResult:
        result = LoadResult()
        cpu = time.process_time()
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(self._worker(factory, deadline, ok, result) for _ in range(concurrency)))
        result.seconds = time.monotonic() - started
        result.client_cpu_seconds = time.process_time() - cpu
        return result

    def run(
        self,
        factory: RequestFactory,
        *,
        duration: float,
        warmup: float,
        concurrency: int,
        ok: Collection[int] = (200,),
    ) -> LoadResult:
        """Warm up for ``warmup`` seconds (discarded), then measure for ``duration`` seconds."""

        async def both() -> LoadResult:
            if warmup > 0:
                await self._phase(factory, warmup, concurrency, ok)
            return await self._phase(factory, duration, concurrency, ok)

        return asyncio.run(both())
