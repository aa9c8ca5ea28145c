"""The original AMIO's numpy-backed clips: ``AudioClip`` and
``InputAudioChunk``.

An ``AudioClip`` is a numpy array shaped ``(frames, channels)`` (a 1-D array
is mono) of any floating dtype, nominal range -1..1, and a frame rate. When
it is played, amio copies it into its engine form (``amio.Clip``); while
``writeable`` is False that engine form is cached, as the original AMIO did,
so a clip that does not change is copied once however often it is
scheduled.
"""

from __future__ import annotations

import datetime
import operator
import os
from typing import Iterable, Optional, Tuple

import numpy as np

from amio import _native
from amio._errors import InvalidArgument
from amio.fader import factor_to_dB

__all__ = ["AudioClip", "InputAudioChunk"]


def _index(value: object, what: str) -> int:
    """``value`` as an int (numpy integers too), or a TypeError naming it."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{what}: {value!r} is a {type(value).__name__}; the rule is: an integer"
        ) from None


class AudioClip:
    """Audio data as a numpy array shaped ``(frames, channels)`` with its
    frame rate. The array's dtype is floating and its nominal range -1..1."""

    def __init__(self, array: np.ndarray, frame_rate: float):
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"AudioClip: array is a {type(array).__name__}; the rule is: a numpy array"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"AudioClip: array has dtype {array.dtype}; the rule is: a floating dtype "
                "(float32, float64, ...)"
            )
        if array.ndim == 1:
            # Mono audio
            self._array = np.reshape(array, (array.shape[0], 1))
        elif array.ndim == 2:
            # Multichannel audio (mono, stereo, or more)
            self._array = array
        else:
            raise ValueError("Incorrect array shape (must be 1D or 2D)")
        self._frame_rate = frame_rate
        # The engine form, cached while the array is not writeable:
        # (frame rate it was made for, amio.Clip).
        self._engine: Optional[Tuple[int, _native.Clip]] = None

    def __len__(self) -> int:
        return self._array.shape[0]

    def __str__(self) -> str:
        return (
            f"{(len(self) / self.frame_rate):.1f} s,"
            f" {self.calculate_rms_power():.1f} dB AudioClip"
        )

    def __repr__(self) -> str:
        return (
            f"<AudioClip {len(self)} frames, {self.channels} channels, "
            f"{self.frame_rate} Hz, {self._array.dtype}>"
        )

    @property
    def frame_rate(self) -> float:
        """Frames per second (settable)."""
        return self._frame_rate

    @frame_rate.setter
    def frame_rate(self, value: float) -> None:
        self._frame_rate = value
        self._engine = None

    @property
    def channels(self) -> int:
        """Channels per frame."""
        return self._array.shape[1]

    @property
    def writeable(self) -> bool:
        """Whether the underlying array may be changed. While False, the clip
        caches its engine form; set it True before changing the data (never
        set ``array.flags.writeable`` directly)."""
        return bool(self._array.flags.writeable)

    @writeable.setter
    def writeable(self, value: bool) -> None:
        self._array.flags.writeable = value
        if value:
            self._engine = None  # invalidate the cached engine form

    @property
    def array(self) -> np.ndarray:
        """The underlying numpy array (replaced by a new one by ``resize``).
        Do not change it while ``writeable`` is False."""
        return self._array

    @property
    def memory_usage_mb(self) -> float:
        """The array's size in MiB."""
        return self._array.nbytes / 1024 / 1024

    def calculate_rms_power(self) -> float:
        """The total signal power over the whole clip, in dB."""
        if self._array.size == 0:
            return float("-inf")
        # The original's arithmetic (in the array's own dtype), so the same
        # data gives the same figure.
        return factor_to_dB(np.sqrt(np.mean(self._array**2)))

    def channel(self, channel_number: int) -> AudioClip:
        """One channel, as a mono clip viewing the same data."""
        channel_number = _index(channel_number, "AudioClip.channel")
        if not -self.channels <= channel_number < self.channels:
            raise IndexError(
                f"AudioClip.channel: channel {channel_number} of a clip of "
                f"{self.channels} channels"
            )
        return AudioClip(self._array[:, channel_number], self.frame_rate)

    def overwrite(
        self,
        patch_clip: AudioClip,
        position: int,
        clip_a: int = 0,
        clip_b: int = -1,
        extend_to_fit: bool = False,
    ) -> None:
        """Overwrites part of this clip, in place, with ``patch_clip[clip_a:
        clip_b]`` (``clip_b == -1``: to its end) from frame ``position``.
        A negative position drops the patch's front; what falls past the end
        is dropped unless ``extend_to_fit``, which resizes this clip."""
        if not isinstance(patch_clip, AudioClip):
            raise TypeError(
                f"AudioClip.overwrite: patch_clip is a {type(patch_clip).__name__}; "
                "the rule is: an AudioClip"
            )
        if patch_clip.channels != self.channels:
            raise ValueError(
                f"AudioClip.overwrite: the patch has {patch_clip.channels} channels, "
                f"this clip {self.channels} (the rule is: the same channels)"
            )
        position = _index(position, "AudioClip.overwrite position")
        clip_a = _index(clip_a, "AudioClip.overwrite clip_a")
        clip_b = _index(clip_b, "AudioClip.overwrite clip_b")
        if clip_b == -1:
            clip_b = len(patch_clip)
        if position < 0:
            clip_a += -position
            position = 0
        inserted_length = clip_b - clip_a
        if inserted_length < 0:
            return
        if position > len(self) and not extend_to_fit:
            return
        if position + inserted_length > len(self):
            if extend_to_fit:
                self.resize(position + inserted_length)
            else:
                to_cut = position + inserted_length - len(self)
                inserted_length -= to_cut
                clip_b -= to_cut
        self._array[position : position + inserted_length, :] = patch_clip._array[
            clip_a:clip_b, :
        ]
        self._engine = None

    def resampled_if_needed(self, required_frame_rate: float, epsilon: float = 0.1) -> AudioClip:
        """This clip if its frame rate is within ``epsilon`` of
        ``required_frame_rate``, else a resampled copy (amio's resampler,
        any number of channels) at that rate."""
        if abs(self.frame_rate - required_frame_rate) <= epsilon:
            return self
        source = _whole_rate(self.frame_rate, "AudioClip.resampled_if_needed: the clip's frame rate")
        target = _whole_rate(required_frame_rate, "AudioClip.resampled_if_needed: required_frame_rate")
        resampled = _native.Clip(self._array, source).resample(target)
        return AudioClip(resampled.to_numpy(), required_frame_rate)

    @staticmethod
    def from_soundfile(filename: "os.PathLike[str] | str") -> Optional[AudioClip]:
        """Reads a sound file (WAV, FLAC, AU/SND; the format by extension, or
        by its first bytes). None for an empty (zero-byte) file."""
        if os.path.getsize(filename) == 0:
            return None
        clip = _native.Clip.from_file(os.fspath(filename))
        return AudioClip(clip.to_numpy(), clip.frame_rate)

    def to_soundfile(self, filename: "os.PathLike[str] | str") -> None:
        """Writes the clip to a sound file, the format by extension: ``.wav``
        (32-bit float) or ``.flac`` (24-bit; samples beyond full scale are
        clamped). An existing file is replaced only once the new one is
        complete."""
        rate = _whole_rate(self.frame_rate, "AudioClip.to_soundfile: the clip's frame rate")
        _native.Clip(self._array, rate).write(os.fspath(filename))

    def create_metering_data(self, metering_fps: float = 24) -> Tuple[int, np.ndarray, np.ndarray]:
        """Meters the clip in ``metering_fps`` windows a second, as the
        original did (``numpy.array_split`` into ``len // window`` parts):
        ``(count, rms, peak)``, the levels in whole dB clamped to -127..127
        (int8 arrays)."""
        metering_window = self.frame_rate / metering_fps
        num_fragments = int(self._array.shape[0] // metering_window)
        if num_fragments < 1:
            num_fragments = 1
        fragments = np.array_split(self._array, num_fragments)

        def clamp(value: float) -> float:
            return min(max(-127, value), 127)

        def level(values: np.ndarray, rms: bool) -> float:
            if values.size == 0:
                return float("-inf")
            # The original's arithmetic, so the same data meters the same.
            if rms:
                return factor_to_dB(np.sqrt(np.mean(values**2)))
            return factor_to_dB(np.max(np.abs(values)))

        rms = np.array([clamp(level(f, True)) for f in fragments], np.int8)
        peak = np.array([clamp(level(f, False)) for f in fragments], np.int8)
        return num_fragments, rms, peak

    def resize(self, new_length: int) -> None:
        """Resizes the clip in place (the array becomes a new one): cut, or
        padded with silence."""
        if not self.writeable:
            raise ValueError("AudioClip.resize: the clip is not writeable (set writeable = True first)")
        new_length = _index(new_length, "AudioClip.resize")
        if new_length < 0:
            raise ValueError(f"AudioClip.resize: length {new_length} (the rule is: >= 0)")
        current_length = len(self)
        if new_length < current_length:
            self._array = self._array[:new_length]
        elif new_length > current_length:
            self._array = np.concatenate(
                (
                    self._array,
                    np.zeros((new_length - current_length, self.channels), self._array.dtype),
                )
            )
        self._engine = None

    def open_in_audacity(self) -> None:
        """Writes the clip to a temporary WAV file and opens it in Audacity;
        the file is removed when Audacity exits."""
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "clip.wav")
            self.to_soundfile(path)
            subprocess.run(["audacity", path], check=False)

    def plot(self) -> None:
        """Plots the waveform (needs matplotlib)."""
        import matplotlib.pyplot as plt  # type: ignore[import-not-found]

        plt.figure(figsize=(len(self) / self.frame_rate, 10))
        plt.gca().set_ylim([-1, 1])
        plt.plot(self._array)
        plt.show()

    @staticmethod
    def zeros(length: int, channels: int, frame_rate: float) -> AudioClip:
        """``length`` frames of silence (float32)."""
        return AudioClip(np.zeros((length, channels), np.float32), frame_rate)

    @staticmethod
    def sine(frequency: float, amplitude: float, length: int, channels: int, frame_rate: float) -> AudioClip:
        """A sine as the original made it: ``amplitude * sin(linspace(0, 2π
        · periods, length))`` with ``periods = length / frame_rate ·
        frequency``, the same in every channel (float64)."""
        length_seconds = length / frame_rate
        periods = length_seconds * frequency
        sine = amplitude * np.sin(np.linspace(0, 2 * np.pi * periods, length))
        sine = np.reshape(sine, (length, 1))
        return AudioClip(np.hstack(channels * (sine,)), frame_rate)

    @staticmethod
    def from_au_file(filename: "os.PathLike[str] | str") -> AudioClip:
        """Reads an AU/SND file of 32-bit float samples (big-endian ``.snd``
        or Audacity's little-endian ``dns.`` block files)."""
        clip = _native.Clip.from_au(os.fspath(filename))
        return AudioClip(clip.to_numpy(), clip.frame_rate)

    @staticmethod
    def stereo_clip_from_mono_clips(left: AudioClip, right: AudioClip) -> AudioClip:
        """A stereo clip from two mono clips of the same rate and length."""
        if left.frame_rate != right.frame_rate:
            raise ValueError("Sample rates must match")
        if left.channels != 1 or right.channels != 1:
            raise ValueError("Both clips must be mono")
        if len(left) != len(right):
            raise ValueError(
                f"stereo_clip_from_mono_clips: left has {len(left)} frames, right "
                f"{len(right)} (the rule is: the same length)"
            )
        return AudioClip(np.hstack((left._array, right._array)), left.frame_rate)

    @staticmethod
    def concatenate(sequence_of_clips: Iterable[AudioClip]) -> Optional[AudioClip]:
        """The clips one after another; None for no clips."""
        clips = list(sequence_of_clips)
        if len(clips) < 1:
            return None
        if not all(clip.channels == clips[0].channels for clip in clips):
            raise ValueError("All clips must have the same channel number")
        if not all(clip.frame_rate == clips[0].frame_rate for clip in clips):
            raise ValueError("All clips must have the same sample rate")
        return AudioClip(np.vstack([clip._array for clip in clips]), clips[0].frame_rate)

    def _engine_clip(self, frame_rate: int) -> _native.Clip:
        """The clip in amio's engine form at ``frame_rate`` (which must be
        its own), cached while the clip is not writeable."""
        cached = self._engine
        if cached is not None and cached[0] == frame_rate and not self._array.flags.writeable:
            return cached[1]
        clip = _native.Clip(self._array, frame_rate)
        if not self._array.flags.writeable:
            self._engine = (frame_rate, clip)
        return clip


class InputAudioChunk(AudioClip):
    """A chunk of captured input, tagged with what was audible when its
    first frame was captured: the playspec's id, the position
    (``starting_frame``), whether the transport rolled, and the wall-clock
    time (timezone-aware UTC)."""

    def __init__(
        self,
        array: np.ndarray,
        frame_rate: float,
        playspec_id: int,
        starting_frame: int,
        was_transport_rolling: bool,
        wall_time: datetime.datetime,
    ):
        super().__init__(array, frame_rate)
        self.playspec_id = playspec_id
        self.starting_frame = starting_frame
        self.was_transport_rolling = was_transport_rolling
        self.wall_time = wall_time


def _whole_rate(rate: float, what: str) -> int:
    """A frame rate as the whole number of frames a second amio's engine
    needs, or an error naming ``what``."""
    try:
        whole = int(rate)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgument(f"{what}: {rate!r} (the rule is: a whole number of frames a second)") from None
    if whole != rate or whole <= 0:
        raise InvalidArgument(f"{what}: {rate!r} (the rule is: a whole number of frames a second, above 0)")
    return whole
