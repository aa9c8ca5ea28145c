"""The original AMIO's ``Interface``: the base class of every interface
``create_io_interface`` makes (``"jack"`` and amio's other backends, the
hand-stepped ``"null"`` and the conversion-only ``"dummy"``)."""

from __future__ import annotations

from typing import Callable, Optional

from amio.audio_clip import InputAudioChunk
from amio.playspec import Playspec

__all__ = ["Interface", "InputChunkCallback", "PlayspecChangeCallback"]

InputChunkCallback = Callable[[InputAudioChunk], None]
"""Called with each captured ``InputAudioChunk``."""

PlayspecChangeCallback = Callable[[bool], None]
"""Called with True when a scheduled playspec is applied, False when it is
superseded by a later one (or dropped when the interface closes)."""

CLOSED_MESSAGE = "Operation on a closed AMIO interface"


class Interface:
    """An audio interface: schedules playspec changes, runs the transport
    and delivers captured input. Every method may be called from any thread
    and from inside a callback; callbacks run on the thread of the asyncio
    event loop that ran ``init`` (for ``"null"``, inline in
    ``advance_single_chunk_length``)."""

    def __init__(self) -> None:
        self._input_chunk_callback: Optional[InputChunkCallback] = None

    @property
    def input_chunk_callback(self) -> Optional[InputChunkCallback]:
        """Called with each captured ``InputAudioChunk`` (None: none)."""
        return self._input_chunk_callback

    @input_chunk_callback.setter
    def input_chunk_callback(self, callback: Optional[InputChunkCallback]) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(
                f"input_chunk_callback: a {type(callback).__name__} is not callable "
                "(the rule is: a callable taking an InputAudioChunk, or None)"
            )
        self._input_chunk_callback = callback

    def schedule_playspec_change(
        self,
        playspec: Playspec,
        insert_at: int,
        start_from: int,
        callback: Optional[PlayspecChangeCallback],
    ) -> None:
        """Schedules ``playspec`` to become current once the position reaches
        ``insert_at``; the position then continues from ``start_from``
        (plus however far past ``insert_at`` it was). ``callback(True)`` is
        called when it is applied, ``callback(False)`` when a later change
        supersedes it (or the interface closes first). Never fails because
        an earlier change is still pending."""
        self._check_open()
        if callback is not None and not callable(callback):
            raise TypeError(
                f"schedule_playspec_change: callback is a {type(callback).__name__} "
                "(the rule is: a callable taking a bool, or None)"
            )
        self._schedule(playspec, insert_at, start_from, callback)

    def secs_to_frame(self, seconds: float) -> int:
        """``int(frame_rate * seconds)`` (truncated)."""
        return int(self.get_frame_rate() * seconds)

    def frame_to_secs(self, frame: int) -> float:
        """``frame / frame_rate``."""
        return frame / self.get_frame_rate()

    async def init(self, client_name: str) -> None:
        """Opens and starts the interface (``client_name`` names the JACK
        client). Calling it twice is an error."""
        raise NotImplementedError

    def get_frame_rate(self) -> float:
        """Frames per second."""
        raise NotImplementedError

    def get_position(self) -> int:
        """The transport's position, in frames."""
        raise NotImplementedError

    def set_position(self, position: int) -> None:
        """Moves the transport to ``position``."""
        raise NotImplementedError

    def is_transport_rolling(self) -> bool:
        """Whether the transport rolls."""
        raise NotImplementedError

    def set_transport_rolling(self, rolling: bool) -> None:
        """Starts or stops the transport."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stops and closes the interface; changes still pending get
        ``callback(False)``."""
        raise NotImplementedError

    def is_closed(self) -> bool:
        """Whether the interface is closed (or, for a real backend, not
        initialised yet)."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Whether the interface is closed."""
        return self.is_closed()

    def _check_open(self) -> None:
        if self.is_closed():
            raise ValueError(CLOSED_MESSAGE)

    def _schedule(
        self,
        playspec: Playspec,
        insert_at: int,
        start_from: int,
        callback: Optional[PlayspecChangeCallback],
    ) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not play playspecs")

    def _notify_input_chunk(self, chunk: InputAudioChunk) -> None:
        callback = self._input_chunk_callback
        if callback is not None:
            callback(chunk)
