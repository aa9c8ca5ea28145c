"""amio's own Python API for streams: a stream on any backend, commands at
optional target stream frames, typed events (also as ``async for``), tagged
input chunks, and offline rendering to numpy."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any, AsyncIterator, Deque, Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np

from amio import _native
from amio._errors import InvalidArgument
from amio.events import Event, InputChunk, Position, chunk_from_tuple, event_from_tuple
from amio.native_interface import options_text

__all__ = [
    "Stream",
    "StreamInfo",
    "BackendInfo",
    "DeviceInfo",
    "backends",
    "devices",
    "render",
]

Options = Union[None, str, Dict[str, Any]]
Metering = Union[None, str, int, Tuple[str, int]]


class StreamInfo(NamedTuple):
    """What a driver opened."""

    backend: str
    device: str
    frame_rate: int
    period: int
    max_period: int
    in_channels: int
    out_channels: int
    capture_latency: int
    playback_latency: int


class BackendInfo(NamedTuple):
    """A backend on this machine: built in (``path`` None) or a plugin, and
    whether it loads (``problem`` says why not)."""

    name: str
    path: Optional[str]
    loads: bool
    problem: Optional[str]


class DeviceInfo(NamedTuple):
    """A device a backend can open (pass ``name`` as ``device``)."""

    name: str
    description: str
    in_channels: int
    out_channels: int


def _options(options: Options) -> str:
    if options is None:
        return ""
    if isinstance(options, str):
        return options
    if isinstance(options, dict):
        return options_text(options)
    raise TypeError(
        f"options: a {type(options).__name__} (the rule is: a dict of backend options, "
        "key=value lines, or None)"
    )


def _metering(metering: Metering) -> Tuple[str, int]:
    if metering is None or metering == "off":
        return ("off", 0)
    if metering == "period":
        return ("period", 0)
    if isinstance(metering, bool):
        raise TypeError("metering: a bool (the rule is: None, 'period', a window in frames, or ('per_second', n))")
    if isinstance(metering, int):
        return ("frames", metering)
    if isinstance(metering, tuple) and len(metering) == 2 and metering[0] in ("frames", "per_second"):
        return (metering[0], int(metering[1]))
    raise InvalidArgument(
        f"metering: {metering!r} (the rule is: None, 'period', a window in frames, "
        "or ('per_second', n))"
    )


def backends() -> List[BackendInfo]:
    """The backends on this machine: ``null`` (built in), then every plugin
    found (jack, alsa, cpal, …) with whether it loads."""
    return [BackendInfo(*b) for b in _native.backends()]


def devices(backend: str, options: Options = None) -> List[DeviceInfo]:
    """The devices ``backend`` can open, as it lists them."""
    return [DeviceInfo(*d) for d in _native.devices(backend, _options(options))]


class Stream:
    """A stream on any backend, running amio's engine: schedule playspecs,
    roll, stop and locate — each optionally at a target stream frame — and
    read typed events and tagged input chunks, synchronously or with
    ``async for``. Every method may be called from any thread."""

    def __init__(self, native: _native.Stream):
        self._native = native
        self._lock = threading.Lock()
        self._events: Deque[Event] = deque()
        self._chunks: Deque[InputChunk] = deque()
        self._waiter: Optional["asyncio.Future[None]"] = None
        self._waiter_fd: Optional[int] = None
        self._waiter_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def open(
        cls,
        backend: str = "null",
        *,
        options: Options = None,
        device: Optional[str] = None,
        frame_rate: Optional[int] = None,
        period: Optional[int] = None,
        in_channels: int = 2,
        out_channels: int = 2,
        clamp: bool = True,
        extra_latency: int = 0,
        metering: Metering = None,
        max_latency: Optional[int] = None,
        command_capacity: Optional[int] = None,
        outcome_capacity: Optional[int] = None,
        event_capacity: Optional[int] = None,
        input_buffer_frames: Optional[int] = None,
        stream_read_ahead_ms: Optional[int] = None,
        stream_cache_bytes: Optional[int] = None,
        start: bool = False,
    ) -> "Stream":
        """Opens a stream on ``backend`` (``backends()`` lists them) with the
        backend's ``options`` (a dict, e.g. ``{"server": "x"}`` for jack or
        ``{"mode": "stepped"}`` for null). ``metering`` turns on live meters:
        ``"period"``, a window in frames, or ``("per_second", n)``. The
        stream runs once started (``start=True`` or ``start()``); commands
        issued before wait for their target frames. ``stream_read_ahead_ms``
        (default 2000) and ``stream_cache_bytes`` (default 64 MiB) set how
        far ahead streamed clips (``Clip.open_streamed``) are read and the
        memory for them."""
        native = _native.Stream.open(
            backend,
            _options(options),
            device=device,
            frame_rate=frame_rate,
            period=period,
            in_channels=in_channels,
            out_channels=out_channels,
            clamp=clamp,
            extra_latency=extra_latency,
            max_latency=max_latency,
            command_capacity=command_capacity,
            outcome_capacity=outcome_capacity,
            event_capacity=event_capacity,
            input_buffer_frames=input_buffer_frames,
            metering=_metering(metering),
            stream_read_ahead_ms=stream_read_ahead_ms,
            stream_cache_bytes=stream_cache_bytes,
        )
        stream = cls(native)
        if start:
            stream.start()
        return stream

    # -- lifecycle ---------------------------------------------------------

    @property
    def info(self) -> StreamInfo:
        """What the driver opened: frame rate, period, channels, latencies."""
        return StreamInfo(*self._native.info)

    @property
    def frame_rate(self) -> int:
        """Frames per second."""
        return int(self._native.info[2])

    def start(self) -> None:
        """Starts (or restarts) the driver."""
        self._native.start()

    def pause(self) -> None:
        """Stops the driver; ``start()`` resumes where it was."""
        self._native.pause()

    def close(self) -> None:
        """Stops the driver and closes the stream: pending changes are
        reported dropped. Events and input stay readable."""
        self._native.close()
        self._wake_waiters()

    @property
    def running(self) -> bool:
        """Whether the driver runs the engine."""
        return bool(self._native.running)

    @property
    def closed(self) -> bool:
        """Whether the stream is closed."""
        return bool(self._native.closed)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "Stream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._native.close)
        self._wake_waiters()

    def __repr__(self) -> str:
        i = self.info
        return (
            f"<amio.Stream {i.backend}:{i.device} {i.frame_rate} Hz, period {i.period}, "
            f"{i.in_channels} in, {i.out_channels} out{', closed' if self.closed else ''}>"
        )

    # -- commands ----------------------------------------------------------

    def schedule(self, playspec: _native.Playspec, insert_at: int = 0, start_from: int = 0, at: Optional[int] = None) -> int:
        """Schedules a playspec change: once the position reaches
        ``insert_at`` the playspec becomes current and the position
        continues from ``start_from``. Takes effect at stream frame ``at``
        (None: the next period). Returns its id (1, 2, 3, …)."""
        if not isinstance(playspec, _native.Playspec):
            raise TypeError(
                f"schedule: playspec is a {type(playspec).__name__} (the rule is: an amio.core.Playspec)"
            )
        return int(self._native.schedule(playspec, insert_at, start_from, at))

    def roll(self, at: Optional[int] = None) -> None:
        """Starts the transport at stream frame ``at`` (None: the next period)."""
        self._native.roll(at)

    def stop(self, at: Optional[int] = None) -> None:
        """Stops the transport at stream frame ``at`` (None: the next
        period). The driver keeps running (see ``pause``/``close``)."""
        self._native.stop(at)

    def locate(self, position: int, at: Optional[int] = None) -> None:
        """Sets the position at stream frame ``at`` (None: the next period)."""
        self._native.locate(position, at)

    def set_extra_latency(self, frames: int) -> None:
        """Frames added to the driver's round-trip latency for input tags
        (negative to subtract)."""
        self._native.set_extra_latency(frames)

    def position(self) -> Position:
        """The latest position report (updated every period; no lock)."""
        return Position(*self._native.position())

    def unresolved(self) -> List[int]:
        """Ids scheduled that have no outcome yet."""
        return list(self._native.unresolved())

    # -- events and input ----------------------------------------------------

    def _take(self) -> bool:
        """Moves everything the engine sent into the buffers; whether
        anything came."""
        events, chunks = self._native.drain()
        if not events and not chunks:
            return False
        with self._lock:
            self._events.extend(event_from_tuple(e) for e in events)
            self._chunks.extend(chunk_from_tuple(c) for c in chunks)
        return True

    def events(self) -> List[Event]:
        """Every event available now, in order."""
        self._take()
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return out

    def poll_event(self) -> Optional[Event]:
        """The next event, or None."""
        with self._lock:
            if self._events:
                return self._events.popleft()
        self._take()
        with self._lock:
            return self._events.popleft() if self._events else None

    def read_input(self) -> Optional[InputChunk]:
        """The next captured chunk, or None."""
        with self._lock:
            if self._chunks:
                return self._chunks.popleft()
        self._take()
        with self._lock:
            return self._chunks.popleft() if self._chunks else None

    def wake_fd(self) -> int:
        """A file descriptor that becomes readable when events or input
        arrive (for a host's own event loop; ``async for`` uses it)."""
        return int(self._native.wake_fd())

    async def _readable(self) -> None:
        """Waits until the stream has sent something (or closes)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter
        if waiter is None or waiter.done() or self._waiter_loop is not loop:
            waiter = loop.create_future()
            fd = self._native.wake_fd()

            def ready() -> None:
                loop.remove_reader(fd)
                if not waiter.done():
                    waiter.set_result(None)

            loop.add_reader(fd, ready)
            self._waiter, self._waiter_fd, self._waiter_loop = waiter, fd, loop
        await asyncio.shield(waiter)

    def _wake_waiters(self) -> None:
        waiter, loop, fd = self._waiter, self._waiter_loop, self._waiter_fd
        if waiter is None or loop is None or waiter.done():
            return

        def finish() -> None:
            if fd is not None:
                loop.remove_reader(fd)
            if not waiter.done():
                waiter.set_result(None)

        if loop.is_closed():
            return
        loop.call_soon_threadsafe(finish)

    async def next_event(self) -> Optional[Event]:
        """The next event, waiting for it; None once the stream is closed
        and every event has been read."""
        while True:
            event = self.poll_event()
            if event is not None:
                return event
            if self.closed:
                return None
            await self._readable()

    async def next_input(self) -> Optional[InputChunk]:
        """The next captured chunk, waiting for it; None once the stream is
        closed and all input has been read."""
        while True:
            chunk = self.read_input()
            if chunk is not None:
                return chunk
            if self.closed:
                return None
            await self._readable()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._event_iterator()

    async def _event_iterator(self) -> AsyncIterator[Event]:
        while True:
            event = await self.next_event()
            if event is None:
                return
            yield event

    async def input_chunks(self) -> AsyncIterator[InputChunk]:
        """``async for chunk in stream.input_chunks()``: captured input as it
        arrives, until the stream is closed."""
        while True:
            chunk = await self.next_input()
            if chunk is None:
                return
            yield chunk

    # -- the null backend ------------------------------------------------------

    def step(self, frames: int, input: Optional[Any] = None) -> np.ndarray:
        """Null backend, stepped mode: processes ``frames`` frames as a sound
        card would, with ``input`` (``(frames, in_channels)``; silence if
        None), and returns the output: float32 ``(frames, out_channels)``."""
        return self._native.step(frames, input)

    def wait(self, timeout: float) -> bool:
        """Null backend, offline mode: waits until every frame is rendered or
        ``timeout`` seconds pass; whether it finished."""
        return bool(self._native.wait(timeout))

    def inject_xrun(self) -> None:
        """Null backend: an xrun, as a sound card would report it."""
        self._native.inject_xrun()

    def inject_fault(self, kind: str, message: str) -> None:
        """Null backend: a fatal error (``"server_gone"``, ``"device_gone"``,
        ``"stream_failed"``, ``"thread_failed"``), as a failing device would
        report it."""
        self._native.inject_fault(kind, message)


def render(
    playspec: _native.Playspec,
    frames: int,
    *,
    frame_rate: Optional[int] = None,
    channels: Optional[int] = None,
    insert_at: int = 0,
    start_from: int = 0,
    clamp: bool = True,
    block: int = 1024,
) -> np.ndarray:
    """Renders ``frames`` frames of ``playspec`` offline (the null backend,
    stepped): scheduled at stream frame 0 with ``insert_at``/``start_from``
    and rolling from frame 0. ``frame_rate`` and ``channels`` default to the
    first entry's clip rate and gain count. Returns float32 ``(frames,
    channels)``; the result does not depend on ``block``."""
    entries = playspec.entries
    if frame_rate is None:
        if not entries:
            raise InvalidArgument("render: an empty playspec needs frame_rate=")
        frame_rate = entries[0].clip.frame_rate
    if channels is None:
        if not entries:
            raise InvalidArgument("render: an empty playspec needs channels=")
        channels = len(entries[0].gains)
    with Stream.open(
        "null",
        options={"mode": "stepped"},
        frame_rate=frame_rate,
        period=block,
        in_channels=0,
        out_channels=channels,
        clamp=clamp,
    ) as stream:
        stream.schedule(playspec, insert_at, start_from, at=0)
        stream.roll(at=0)
        stream.start()
        return stream.step(frames)
