"""amio's own Python API: the whole engine, beside the original AMIO's
compatibility layer (``amio.create_io_interface`` and friends).

- ``Clip``: immutable engine clips, to and from numpy, from and to files
  (WAV, FLAC, AU), with the clip tools (``silence``, ``sine``, ``concat``,
  ``stereo``, ``overwrite``, ``resize``, ``channel``, ``resample``) and
  offline meters (``Clip.meter``).
- ``Entry`` and ``Playspec``: SPEC.md's entries — per-channel gains,
  ranges, repeats and fades — validated when the playspec is made.
- ``Stream``: a stream on any backend (``backends()``, ``devices()``),
  commands at optional target stream frames, typed events (``events``),
  tagged input chunks, ``async for``; ``render`` renders offline to numpy.
- ``fader_gains``, ``db_to_amplitude``, ``amplitude_to_db``: the fader.
"""

from __future__ import annotations

from typing import Tuple

from amio import _native
from amio._errors import *  # noqa: F401,F403
from amio._errors import __all__ as _errors_all
from amio.events import (
    DataMissing,
    Event,
    EventsLost,
    Fatal,
    InputChunk,
    InputLost,
    Latency,
    Level,
    Meter,
    Notice,
    Outcome,
    Position,
    Xrun,
)
from amio.stream import BackendInfo, DeviceInfo, Stream, StreamInfo, backends, devices, render

Clip = _native.Clip
Entry = _native.Entry
Playspec = _native.Playspec


def fader_gains(volume_db: float, pan: float, law: str = "linear") -> Tuple[float, float]:
    """The ``(left, right)`` gains of a fader at ``volume_db`` and ``pan``
    (-1..1) with the pan law ``"linear"`` (the original AMIO's: ``v·(1 −
    pan)``, ``v·(1 + pan)``) or ``"equal_power"``."""
    return _native.fader_gains(volume_db, pan, law)


def db_to_amplitude(db: float) -> float:
    """The amplitude factor of ``db`` decibels: ``10 ** (db / 20)``."""
    return _native.db_to_amplitude_factor(db)


def amplitude_to_db(amplitude: float) -> float:
    """The decibels of an amplitude factor: ``20 · log10(|a|)``, -inf for 0."""
    return _native.amplitude_factor_to_db(amplitude)


__all__ = [
    "Clip",
    "Entry",
    "Playspec",
    "Stream",
    "StreamInfo",
    "BackendInfo",
    "DeviceInfo",
    "backends",
    "devices",
    "render",
    "Event",
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
    "InputChunk",
    "fader_gains",
    "db_to_amplitude",
    "amplitude_to_db",
    *_errors_all,
]
