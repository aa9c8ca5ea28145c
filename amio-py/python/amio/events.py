"""The engine's events to the control side (SPEC.md, "Events to the control
side"), as typed, immutable objects, and tagged input chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Tuple, Union

import numpy as np

__all__ = [
    "Outcome",
    "Position",
    "Xrun",
    "InputLost",
    "Latency",
    "EventsLost",
    "Notice",
    "Fatal",
    "Level",
    "Meter",
    "DataMissing",
    "Event",
    "InputChunk",
    "event_from_tuple",
    "chunk_from_tuple",
]


@dataclass(frozen=True)
class Outcome:
    """What became of a scheduled change: ``kind`` is ``"applied"``,
    ``"superseded"`` or ``"dropped"``. Applied: ``stream_frame`` is where the
    playspec became current and ``position`` the new position; superseded:
    where the newer change took effect; dropped: where the stream closed."""

    id: int
    kind: str
    stream_frame: int
    position: int

    @property
    def applied(self) -> bool:
        """Whether the change was applied."""
        return self.kind == "applied"


@dataclass(frozen=True)
class Position:
    """Where the engine is: after every stream frame before
    ``stream_frame``, the next frame plays playspec ``id`` at ``position``."""

    stream_frame: int
    id: int
    position: int
    rolling: bool


@dataclass(frozen=True)
class Xrun:
    """The driver reported ``new`` xruns (``count`` so far) before stream
    frame ``stream_frame``. The timeline stays true."""

    stream_frame: int
    new: int
    count: int


@dataclass(frozen=True)
class InputLost:
    """``frames`` captured frames of the period starting at
    ``stream_frame`` were dropped because input was read too slowly."""

    stream_frame: int
    frames: int


@dataclass(frozen=True)
class Latency:
    """The round-trip latency ``frames`` used for input tags from
    ``stream_frame`` on (``requested`` is what the driver and extra latency
    add up to, above ``frames`` only when that exceeds the maximum)."""

    stream_frame: int
    frames: int
    requested: int


@dataclass(frozen=True)
class EventsLost:
    """``count`` events (not outcomes) were dropped: events were read too
    slowly."""

    count: int


@dataclass(frozen=True)
class Notice:
    """Something about how the driver runs: ``notice`` is
    ``"no_realtime_priority"`` or ``"paced_by_clock"``."""

    stream_frame: int
    notice: str
    description: str


@dataclass(frozen=True)
class Fatal:
    """The driver failed and the stream no longer plays: ``kind`` is
    ``"server_gone"``, ``"device_gone"``, ``"stream_failed"`` or
    ``"thread_failed"``."""

    kind: str
    message: str


@dataclass(frozen=True)
class Level:
    """One channel's level over a window, in dB (-inf for silence)."""

    peak_db: float
    rms_db: float


@dataclass(frozen=True)
class Meter:
    """Live levels of the captured input and of the output over the stream
    frames ``stream_frame .. stream_frame + frames``, one per channel."""

    stream_frame: int
    frames: int
    input: Tuple[Level, ...]
    output: Tuple[Level, ...]


@dataclass(frozen=True)
class DataMissing:
    """Frames of a streamed clip whose data was not ready in time: they
    played as silence from ``stream_frame`` (at ``position``) for
    ``frames`` frames; ``file`` is the clip's ``stream_id``. Nothing else
    in the mix changed."""

    stream_frame: int
    file: int
    position: int
    frames: int


Event = Union[Outcome, Position, Xrun, InputLost, Latency, EventsLost, Notice, Fatal, Meter, DataMissing]
"""Any event."""


@dataclass(frozen=True, eq=False)
class InputChunk:
    """Captured input: consecutive frames whose tags run on. The first
    frame was captured at ``stream_frame`` while playspec ``id`` sounded at
    ``position`` (rolling or not), latency compensated; ``lost_before``
    frames were dropped just before it. ``samples`` is a float32 array
    ``(frames, channels)`` of its own."""

    stream_frame: int
    id: int
    position: int
    rolling: bool
    lost_before: int
    samples: np.ndarray = field(repr=False)

    @property
    def frames(self) -> int:
        """The chunk's length in frames."""
        return int(self.samples.shape[0])

    def __len__(self) -> int:
        return self.frames


def _levels(levels: Any) -> Tuple[Level, ...]:
    return tuple(Level(float(p), float(r)) for p, r in levels)


def event_from_tuple(t: Tuple[Any, ...]) -> Event:
    """The typed event for one of the native module's event tuples."""
    kind = t[0]
    if kind == "outcome":
        return Outcome(t[1], t[2], t[3], t[4])
    if kind == "position":
        return Position(t[1], t[2], t[3], t[4])
    if kind == "xrun":
        return Xrun(t[1], t[2], t[3])
    if kind == "input_lost":
        return InputLost(t[1], t[2])
    if kind == "latency":
        return Latency(t[1], t[2], t[3])
    if kind == "events_lost":
        return EventsLost(t[1])
    if kind == "notice":
        return Notice(t[1], t[2], t[3])
    if kind == "fatal":
        return Fatal(t[1], t[2])
    if kind == "meter":
        return Meter(t[1], t[2], _levels(t[3]), _levels(t[4]))
    if kind == "data_missing":
        return DataMissing(t[1], t[2], t[3], t[4])
    raise ValueError(f"an event of unknown kind {kind!r}: {t!r}")


def chunk_from_tuple(t: Tuple[Any, ...]) -> InputChunk:
    """The input chunk for one of the native module's chunk tuples."""
    return InputChunk(t[0], t[1], t[2], t[3], t[4], t[5])
