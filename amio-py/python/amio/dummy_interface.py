"""The original AMIO's ``"dummy"`` interface: no audio at all, only the
conversions between seconds and frames (for tests of programs)."""

from __future__ import annotations

from amio.interface import Interface

__all__ = ["DummyInterface"]


class DummyInterface(Interface):
    """An interface that plays and captures nothing; ``get_frame_rate``,
    ``secs_to_frame`` and ``frame_to_secs`` work. Needs no audio library."""

    def __init__(self, frame_rate: float = 48000):
        super().__init__()
        self._frame_rate = frame_rate
        self._closed = False

    def get_frame_rate(self) -> float:
        self._check_open()
        return self._frame_rate

    async def init(self, client_name: str) -> None:
        """Nothing to open: the dummy interface has no audio."""
        self._check_open()

    async def close(self) -> None:
        self._check_open()
        self._closed = True

    def is_closed(self) -> bool:
        return self._closed
