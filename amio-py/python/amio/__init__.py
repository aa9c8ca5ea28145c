"""amio — Audio Mixing and Input/Output, on amio's real-time engine.

Programs written for the original AMIO package run unchanged::

    import amio
    interface = amio.create_io_interface("jack")
    await interface.init("recorder")
    interface.input_chunk_callback = on_input
    interface.schedule_playspec_change(playspec, 0, 0, on_applied)

and the whole engine is in ``amio.core`` (``Stream``, ``Clip``, ``Entry``,
``Playspec``, typed events, meters, the fader), whose names that do not clash
with the original's are here too (``amio.Stream``, ``amio.Clip``,
``amio.backends()``, ``amio.devices()``, ``amio.render()``).
"""

from __future__ import annotations

from typing import Any

from amio import _native
from amio._errors import (
    AmioError,
    AmioOSError,
    BackendError,
    BackendUnavailable,
    ConfigError,
    DriverError,
    EntryError,
    FormatError,
    InvalidArgument,
    QueueFullError,
    StreamStateError,
)
from amio.audio_clip import AudioClip, InputAudioChunk
from amio.dummy_interface import DummyInterface
from amio.fader import Fader, dB_to_factor, factor_to_dB
from amio.interface import Interface
from amio.native_interface import NativeInterface, check_backend
from amio.null_interface import NullInterface
from amio.playspec import Playspec, PlayspecEntry
from amio.stream import Stream, backends, devices, render

Clip = _native.Clip
Entry = _native.Entry

__version__: str = _native.engine_version()


def create_io_interface(driver: str = "jack", **kwargs: Any) -> Interface:
    """Makes an interface on ``driver``:

    - ``"jack"`` (the default): a JACK client of JACK's default server
      (``JACK_DEFAULT_SERVER`` is honoured), connected to the physical ports;
      keyword options are the backend's (``server=``, ``connect=``,
      ``connect_inputs=``, ``connect_outputs=``, …) plus ``frame_rate=``,
      ``period=``, ``device=``, ``extra_latency=``. It never starts a server.
    - ``"null"``: ``create_io_interface("null", frame_rate=48000,
      starting_time=None)``, synchronous and stepped by hand with
      ``advance_single_chunk_length()``; amio's engine mixes underneath.
    - ``"dummy"``: ``create_io_interface("dummy", frame_rate=48000)``, no
      audio at all; conversions only.
    - ``"alsa"``, ``"cpal"`` or any other backend amio has, by name.

    An unknown name raises ``BackendUnavailable`` listing the backends;
    a backend whose system library is missing raises it saying what to
    install.
    """
    if not isinstance(driver, str):
        raise TypeError(f"create_io_interface: driver is a {type(driver).__name__} (the rule is: a backend name)")
    if driver == "dummy":
        return DummyInterface(**kwargs)
    if driver == "null" and set(kwargs) <= {"frame_rate", "starting_time"}:
        return NullInterface(**kwargs)
    check_backend(driver)
    return NativeInterface(driver, **kwargs)


__all__ = [
    "create_io_interface",
    "Interface",
    "AudioClip",
    "InputAudioChunk",
    "Playspec",
    "PlayspecEntry",
    "Fader",
    "factor_to_dB",
    "dB_to_factor",
    "__version__",
    "DummyInterface",
    "NullInterface",
    "NativeInterface",
    "Stream",
    "Clip",
    "Entry",
    "backends",
    "devices",
    "render",
    "AmioError",
    "AmioOSError",
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "DriverError",
    "EntryError",
    "FormatError",
    "InvalidArgument",
    "QueueFullError",
    "StreamStateError",
]
