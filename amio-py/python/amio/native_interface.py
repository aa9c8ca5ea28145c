"""The original AMIO's interface on a real backend: ``"jack"`` (as the
original) and amio's others (``"alsa"``, ``"cpal"``, or ``"null"`` paced by
the clock when asked for by name with options).

``init`` opens and starts a stream of two input and two output channels;
the engine runs on its own real-time thread, and the interface's callbacks
run on the asyncio event loop that ran ``init``, woken by the stream's own
wake-up descriptor (``loop.add_reader``), never by polling on a timer.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from amio import _native
from amio._errors import BackendUnavailable
from amio._link import EngineLink
from amio.interface import CLOSED_MESSAGE, Interface, PlayspecChangeCallback

__all__ = ["NativeInterface"]

logger = logging.getLogger("amio")

# Keyword options of create_io_interface that are the stream's, not the
# backend's.
_STREAM_KEYS = ("device", "frame_rate", "period")
_CONFIG_KEYS = ("extra_latency", "clamp", "max_latency", "input_buffer_frames")


def options_text(options: Dict[str, Any]) -> str:
    """Backend options as the ``key=value`` lines amio's backends read."""
    lines = []
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ";".join(str(v) for v in value)
        text = str(value)
        if "\n" in text or "\n" in key or "=" in key:
            raise ValueError(
                f"backend option {key!r}: {text!r} (the rule is: no line breaks, no '=' in the name)"
            )
        lines.append(f"{key}={text}")
    return "\n".join(lines)


class NativeInterface(Interface):
    """An interface on one of amio's real backends (``"jack"`` by default).
    Closed until ``init``."""

    def __init__(self, driver: str = "jack", **kwargs: Any):
        super().__init__()
        self._backend = driver
        self._stream_args = {k: kwargs.pop(k) for k in _STREAM_KEYS if k in kwargs}
        self._config_args = {k: kwargs.pop(k) for k in _CONFIG_KEYS if k in kwargs}
        self._options = kwargs
        self._stream: Optional[_native.Stream] = None
        self._link: Optional[EngineLink] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[int] = None
        self._fd: Optional[int] = None
        self._closed = False
        self._frame_rate = 0
        self.xrun_count = 0
        """Xruns (over- and underruns) the driver reported so far; the
        timeline stays true across them."""
        self.fatal_error: Optional[str] = None
        """The driver's fatal error (a JACK server that went away, a
        device that vanished), once one happened; the stream no longer
        plays. Also logged on the ``amio`` logger."""

    async def init(self, client_name: str) -> None:
        """Opens and starts the stream; ``client_name`` names the JACK client
        (unless a ``client_name`` option was given)."""
        if self._stream is not None or self._closed:
            raise ValueError("Attempt to initialize an already initialized AMIO interface")
        loop = asyncio.get_running_loop()
        options = dict(self._options)
        if self._backend == "jack":
            options.setdefault("client_name", client_name)
        text = options_text(options)

        def open_stream() -> _native.Stream:
            stream = _native.Stream.open(
                self._backend,
                text,
                in_channels=2,
                out_channels=2,
                **self._stream_args,
                **self._config_args,
            )
            stream.start()
            return stream

        # Opening a device may take a while: off the loop's thread.
        stream = await loop.run_in_executor(None, open_stream)
        if self._stream is not None:
            stream.close()
            raise ValueError("Attempt to initialize an already initialized AMIO interface")
        self._stream = stream
        self._frame_rate = stream.info[2]
        self._link = EngineLink(stream, self._frame_rate)
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._fd = stream.wake_fd()
        loop.add_reader(self._fd, self._on_wake)
        # Anything that arrived before the reader was watching.
        self._on_wake()

    def _on_wake(self) -> None:
        """On the loop's thread: the stream has sent something."""
        stream, link = self._stream, self._link
        if stream is None or link is None:
            return
        events, chunks = stream.drain()
        link.flush()
        self._dispatch(events, chunks)

    def _dispatch(self, events: List[Tuple[Any, ...]], chunks: List[Tuple[Any, ...]]) -> None:
        link = self._link
        if link is None:
            return
        for event in events:
            if event[0] == "fatal":
                self.fatal_error = event[2]
                logger.error("amio: the %s stream failed (%s): %s", self._backend, event[1], event[2])
            elif event[0] == "xrun":
                self.xrun_count = event[3]
            elif event[0] == "input_lost":
                logger.warning("amio: %d frames of input were lost (read too slowly)", event[2])
        for callback, applied in link.take_outcomes(events):
            self._call(callback, applied)
        if chunks:
            report = self._stream.position() if self._stream is not None else (0, 0, 0, False)
            now = datetime.datetime.now(datetime.timezone.utc)

            def wall_time(stream_frame: int) -> datetime.datetime:
                return now - datetime.timedelta(seconds=(report[0] - stream_frame) / self._frame_rate)

            for chunk in chunks:
                lost = chunk[4]
                if lost:
                    logger.warning("amio: %d frames of input were lost before stream frame %d", lost, chunk[0])
                callback = self._input_chunk_callback
                if callback is not None:
                    self._call(callback, link.chunk(chunk, wall_time))

    def _call(self, callback: Callable[..., Any], *args: Any) -> None:
        """Calls a user's callback; an exception goes to the loop's exception
        handler and does not stop the stream."""
        try:
            callback(*args)
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            if self._loop is not None:
                self._loop.call_exception_handler(
                    {"message": f"exception in an amio callback {callback!r}", "exception": exc}
                )
            else:
                logger.exception("exception in an amio callback %r", callback)

    def _notify_later(self, calls: List[Tuple[Callable[[bool], None], bool]]) -> None:
        """Schedules calls of playspec callbacks on the loop's thread."""
        loop = self._loop
        if not calls or loop is None:
            return

        def run() -> None:
            for callback, applied in calls:
                self._call(callback, applied)

        loop.call_soon_threadsafe(run)

    def get_frame_rate(self) -> float:
        self._check_open()
        return self._frame_rate

    def get_position(self) -> int:
        stream = self._open_stream()
        return stream.position()[2]

    def set_position(self, position: int) -> None:
        self._open_stream()
        assert self._link is not None
        self._link.locate(position)

    def is_transport_rolling(self) -> bool:
        stream = self._open_stream()
        return stream.position()[3]

    def set_transport_rolling(self, rolling: bool) -> None:
        self._open_stream()
        assert self._link is not None
        self._link.roll(rolling)

    def _schedule(self, playspec: Any, insert_at: int, start_from: int, callback: Optional[PlayspecChangeCallback]) -> None:
        link = self._link
        if link is None:
            raise ValueError(CLOSED_MESSAGE)
        link.schedule(playspec, insert_at, start_from, callback)
        # A change superseded while held back gets its callback on the
        # loop's thread, like every other.
        self._notify_later(link.take_outcomes(()))

    def _open_stream(self) -> _native.Stream:
        stream = self._stream
        if stream is None or self._closed:
            raise ValueError(CLOSED_MESSAGE)
        return stream

    async def close(self) -> None:
        """Stops the stream and closes the interface. Changes still pending
        get ``callback(False)``; input captured before the close is
        delivered."""
        stream = self._open_stream()
        self._closed = True
        loop = self._loop
        if loop is not None and self._fd is not None:
            loop.remove_reader(self._fd)
        # Stopping the driver joins its thread: off the loop's thread.
        await asyncio.get_running_loop().run_in_executor(None, stream.close)
        events, chunks = stream.drain()
        assert self._link is not None
        for callback, applied in self._link.drop_held_back():
            self._call(callback, applied)
        self._dispatch(events, chunks)
        self._link = None

    def is_closed(self) -> bool:
        return self._stream is None or self._closed

    @property
    def stream(self) -> Optional[_native.Stream]:
        """The native stream underneath (None before ``init``)."""
        return self._stream


def check_backend(name: str) -> None:
    """Raises ``BackendUnavailable`` (saying what to install) if backend
    ``name`` cannot be used on this machine; quiet otherwise."""
    for backend, _path, loads, problem in _native.backends():
        if backend != name:
            continue
        if not loads:
            raise BackendUnavailable(_explain(name, problem or "its plugin does not load"))
        break
    else:
        names = ", ".join(repr(b[0]) for b in _native.backends())
        if name in ("alsa", "cpal"):
            raise BackendUnavailable(
                f"this amio was built without the {name!r} backend: ALSA's library libasound "
                "was missing when it was built; install it (Debian/Ubuntu: apt install libasound2) "
                f"and reinstall amio (the backends here are: {names})"
            )
        raise BackendUnavailable(
            f"no amio backend {name!r} on this machine; the backends are: {names}, "
            "and 'dummy' (create_io_interface only)"
        )
    if name == "jack":
        _check_library("libjack.so.0", "JACK's client library libjack.so.0",
                       "install JACK (Debian/Ubuntu: apt install libjack-jackd2-0, or jackd2 "
                       "for the server too; Fedora: dnf install jack-audio-connection-kit)")


def _explain(name: str, problem: str) -> str:
    if "libasound" in problem:
        return (
            f"the {name!r} backend needs ALSA's library libasound.so.2, which is not installed "
            f"(install it: Debian/Ubuntu apt install libasound2, Fedora dnf install alsa-lib): {problem}"
        )
    return f"the {name!r} backend cannot be loaded: {problem}"


def _check_library(soname: str, what: str, advice: str) -> None:
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError as e:
        raise BackendUnavailable(f"{what} is not installed: {advice} ({e})") from None
