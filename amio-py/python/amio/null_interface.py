"""The original AMIO's ``"null"`` interface — hand-stepped, synchronous —
with amio's real engine underneath: the playspec really is mixed, and the
output can be read.

``advance_single_chunk_length()`` processes one chunk of ``chunk_length``
(4800) frames: it applies the commands issued since the last chunk, mixes
the current playspec into ``last_output``, captures one chunk of input
(silence unless input is given), calls the playspec callbacks and the
input-chunk callback inline, and advances a virtual wall clock by the
chunk's duration.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any, Optional

import numpy as np

from amio import _native
from amio._link import EngineLink
from amio.audio_clip import AudioClip, InputAudioChunk, _whole_rate
from amio.interface import Interface, PlayspecChangeCallback

__all__ = ["NullInterface"]


class NullInterface(Interface):
    """A synchronous interface driven by hand, usable without ``init``:
    two input and two output channels, no latency, commands taking effect
    at the start of the next chunk (``set_position`` and
    ``set_transport_rolling`` are reflected by ``get_position`` and
    ``is_transport_rolling`` at once)."""

    chunk_length = 4800  # 0.1 s at 48 kHz

    def __init__(self, frame_rate: float = 48000, starting_time: Optional[datetime.datetime] = None):
        super().__init__()
        self._frame_rate = frame_rate
        rate = _whole_rate(frame_rate, "create_io_interface('null'): frame_rate")
        self._stream = _native.Stream.open(
            "null",
            "mode=stepped",
            frame_rate=rate,
            period=self.chunk_length,
            in_channels=2,
            out_channels=2,
        )
        self._stream.start()
        self._link = EngineLink(self._stream, rate)
        if starting_time is None:
            starting_time = datetime.datetime.now(datetime.timezone.utc)
        self._starting_time = starting_time
        self._frames = 0
        self._closed = False
        self._initialized = False
        # What set_position/set_transport_rolling asked for since the last
        # chunk (the engine applies it at the next chunk's first frame).
        self._requested_position: Optional[int] = None
        self._requested_rolling: Optional[bool] = None
        self._state_lock = threading.Lock()
        self.last_output: np.ndarray = np.zeros((0, 2), np.float32)
        """The output of the last chunk, float32 ``(chunk_length, 2)``."""

    async def init(self, client_name: str) -> None:
        """Nothing to open (the null interface works without ``init``);
        calling it twice is an error."""
        self._check_open()
        if self._initialized:
            raise ValueError("Attempt to initialize an already initialized AMIO interface")
        self._initialized = True

    def advance_single_chunk_length(self, input: Optional[Any] = None) -> None:
        """Processes one chunk of ``chunk_length`` frames, with ``input``
        (``(chunk_length, 2)`` samples; silence if None) as what the
        interface captures, and calls the callbacks inline."""
        self._check_open()
        frames = int(self.chunk_length)
        if input is not None:
            if isinstance(input, AudioClip):
                input = input.array
            input = np.asarray(input, dtype=np.float32)
            if input.ndim == 1:
                input = input.reshape(-1, 1)
            if input.shape[1] == 1:
                input = np.hstack((input, input))
        self._link.flush()
        output = self._stream.step(frames, input)
        with self._state_lock:
            self._requested_position = None
            self._requested_rolling = None
        self._frames += frames
        self.last_output = output
        events, chunks = self._stream.drain()
        for callback, applied in self._link.take_outcomes(events):
            callback(applied)
        for chunk in chunks:
            self._notify_input_chunk(self._link.chunk(chunk, self._time_of))

    def _time_of(self, stream_frame: int) -> datetime.datetime:
        return self._starting_time + datetime.timedelta(seconds=stream_frame / self._link.frame_rate)

    def get_current_virtual_time(self) -> datetime.datetime:
        """The virtual wall clock: the starting time plus the duration of
        every chunk processed."""
        return self._time_of(self._frames)

    def get_frame_rate(self) -> float:
        self._check_open()
        return self._frame_rate

    def get_position(self) -> int:
        self._check_open()
        with self._state_lock:
            if self._requested_position is not None:
                return self._requested_position
        return self._stream.position()[2]

    def set_position(self, position: int) -> None:
        self._check_open()
        self._link.locate(position)
        with self._state_lock:
            self._requested_position = int(position)

    def is_transport_rolling(self) -> bool:
        self._check_open()
        with self._state_lock:
            if self._requested_rolling is not None:
                return self._requested_rolling
        return self._stream.position()[3]

    def set_transport_rolling(self, rolling: bool) -> None:
        self._check_open()
        self._link.roll(rolling)
        with self._state_lock:
            self._requested_rolling = bool(rolling)

    def _schedule(self, playspec: Any, insert_at: int, start_from: int, callback: Optional[PlayspecChangeCallback]) -> None:
        self._link.schedule(playspec, insert_at, start_from, callback)

    async def close(self) -> None:
        """Closes the interface; changes still pending get
        ``callback(False)`` and input not yet delivered is delivered."""
        self._check_open()
        self._closed = True
        self._stream.close()
        events, chunks = self._stream.drain()
        calls = self._link.drop_held_back() + self._link.take_outcomes(events)
        for callback, applied in calls:
            callback(applied)
        for chunk in chunks:
            self._notify_input_chunk(self._link.chunk(chunk, self._time_of))

    def is_closed(self) -> bool:
        return self._closed

