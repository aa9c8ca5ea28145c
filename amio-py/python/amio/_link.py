"""The original API's bridge to amio's engine, shared by the interfaces
that play (``"null"`` and the real backends).

It translates the original's playspecs into the engine's, keeps the
callback of every scheduled change until its outcome arrives, and holds
back the commands the engine's bounded queues have no room for yet, so
that scheduling never fails because earlier changes are still pending (a
change held back is superseded, without reaching the engine, by a newer
one). Every method may be called from any thread; none calls a user's
callback: the interfaces call them, on their own thread, from what
``take_outcomes`` returns.
"""

from __future__ import annotations

import datetime
import operator
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

import numpy as np

from amio import _native
from amio._errors import EntryError, QueueFullError
from amio.audio_clip import AudioClip, InputAudioChunk
from amio.playspec import PlayspecEntry

Callback = Optional[Callable[[bool], None]]

_ENTRY_FIELDS = PlayspecEntry._fields


def _integer(value: Any, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{what}: {value!r} is a {type(value).__name__} (the rule is: an integer)"
        ) from None


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what}: {value!r} is a {type(value).__name__} (the rule is: a number)"
        ) from None


def translate(playspec: Iterable[Any], frame_rate: int) -> _native.Playspec:
    """The engine's playspec for an original one (a list of
    ``PlayspecEntry``, or of anything with their seven fields in order).

    Ranges are cut to the clip, moving the position by what was cut from
    the front, as the original's mixer did; an entry that plays nothing is
    left out. Errors name the entry by its index in ``playspec``.
    """
    try:
        items = list(playspec)
    except TypeError:
        raise TypeError(
            f"playspec: a {type(playspec).__name__} is not a list of PlayspecEntry"
        ) from None
    entries: List[_native.Entry] = []
    origin: List[int] = []
    for n, item in enumerate(items):
        where = f"playspec entry {n}"
        try:
            clip, frame_a, frame_b, play_at, repeat, gain_l, gain_r = item
        except (TypeError, ValueError):
            raise TypeError(
                f"{where}: {item!r} is not a PlayspecEntry (the rule is: seven fields, "
                f"{', '.join(_ENTRY_FIELDS)})"
            ) from None
        frame_a = _integer(frame_a, f"{where}: frame_a")
        frame_b = _integer(frame_b, f"{where}: frame_b")
        play_at = _integer(play_at, f"{where}: play_at_frame")
        repeat = _integer(repeat, f"{where}: repeat_interval")
        gains = [_number(gain_l, f"{where}: gain_l"), _number(gain_r, f"{where}: gain_r")]
        if repeat < 0:
            raise EntryError(
                f"{where}: repeat_interval {repeat} is negative (the rule is: 0 for once, "
                "else the frames between repeats)"
            )
        if isinstance(clip, AudioClip):
            if clip.frame_rate != frame_rate:
                raise EntryError(
                    f"{where}: the clip's frame rate is {clip.frame_rate} Hz, the interface's "
                    f"{frame_rate} Hz (the rule is: the same; use resampled_if_needed)"
                )
            try:
                engine_clip = clip._engine_clip(frame_rate)
            except ValueError as e:
                raise EntryError(f"{where}: {e}") from None
        elif isinstance(clip, _native.Clip):
            engine_clip = clip
        else:
            raise TypeError(
                f"{where}: clip is a {type(clip).__name__} (the rule is: an AudioClip)"
            )
        # What the original mixer played: clip frames a..b at play_at, minus
        # what lies outside the clip.
        a = max(frame_a, 0)
        b = min(frame_b, engine_clip.frames)
        if b <= a:
            continue
        entries.append(
            _native.Entry(
                engine_clip,
                gains,
                range=(a, b),
                play_at=play_at + (a - frame_a),
                repeat=repeat,
            )
        )
        origin.append(n)
    try:
        return _native.Playspec(entries)
    except EntryError as e:
        n = origin[e.entry] if e.entry is not None and e.entry < len(origin) else e.entry
        error = EntryError(f"playspec entry {n}: {e.rule}")
        error.entry, error.rule = n, e.rule
        raise error from None


class EngineLink:
    """One interface's link to its native stream (see the module's docs)."""

    def __init__(self, stream: _native.Stream, frame_rate: int):
        self.stream = stream
        self.frame_rate = frame_rate
        self._lock = threading.Lock()
        self._callbacks: Dict[int, Callback] = {}
        # Commands the engine had no room for yet, in issue order.
        self._outbox: Deque[Tuple[Any, ...]] = deque()
        # Callbacks of changes superseded while held back.
        self._superseded: List[Callback] = []

    def schedule(self, playspec: Iterable[Any], insert_at: int, start_from: int, callback: Callback) -> None:
        """Schedules a change; its callback is kept for its outcome."""
        insert_at = _integer(insert_at, "schedule_playspec_change: insert_at")
        start_from = _integer(start_from, "schedule_playspec_change: start_from")
        native = translate(playspec, self.frame_rate)
        with self._lock:
            for item in list(self._outbox):
                if item[0] == "schedule":
                    self._outbox.remove(item)
                    self._superseded.append(item[4])
            self._outbox.append(("schedule", native, insert_at, start_from, callback))
            self._flush()

    def locate(self, position: int) -> None:
        """Moves the transport at the next period."""
        position = _integer(position, "set_position: position")
        with self._lock:
            self._outbox.append(("locate", position))
            self._flush()

    def roll(self, rolling: bool) -> None:
        """Starts or stops the transport at the next period."""
        with self._lock:
            self._outbox.append(("roll", bool(rolling)))
            self._flush()

    def flush(self) -> None:
        """Sends what was held back, as far as there is room."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        while self._outbox:
            item = self._outbox[0]
            try:
                if item[0] == "schedule":
                    _, native, insert_at, start_from, callback = item
                    change = self.stream.schedule(native, insert_at, start_from)
                    self._callbacks[change] = callback
                elif item[0] == "locate":
                    self.stream.locate(item[1])
                elif item[1]:
                    self.stream.roll()
                else:
                    self.stream.stop()
            except QueueFullError:
                return
            self._outbox.popleft()

    def held_back(self) -> List[Tuple[Any, ...]]:
        """The commands not sent yet (a copy)."""
        with self._lock:
            return list(self._outbox)

    def take_outcomes(self, events: Iterable[Tuple[Any, ...]]) -> List[Tuple[Callable[[bool], None], bool]]:
        """The callbacks to call for these events' outcomes, and for changes
        superseded while held back: ``(callback, applied)`` pairs."""
        calls: List[Tuple[Callable[[bool], None], bool]] = []
        with self._lock:
            for callback in self._superseded:
                if callback is not None:
                    calls.append((callback, False))
            self._superseded.clear()
            for event in events:
                if event[0] != "outcome":
                    continue
                callback = self._callbacks.pop(event[1], None)
                if callback is not None:
                    calls.append((callback, event[2] == "applied"))
        return calls

    def drop_held_back(self) -> List[Tuple[Callable[[bool], None], bool]]:
        """At close: the callbacks of changes never sent, with False."""
        with self._lock:
            calls = [
                (item[4], False) for item in self._outbox if item[0] == "schedule" and item[4] is not None
            ]
            self._outbox.clear()
            return calls

    def chunk(
        self,
        chunk: Tuple[int, int, int, bool, int, np.ndarray],
        wall_time: Callable[[int], datetime.datetime],
    ) -> InputAudioChunk:
        """The original's input chunk for one of the engine's."""
        stream_frame, playspec_id, position, rolling, _lost, samples = chunk
        return InputAudioChunk(samples, self.frame_rate, playspec_id, position, rolling, wall_time(stream_frame))

    def pending_callbacks(self) -> int:
        """How many scheduled changes still await their outcome."""
        with self._lock:
            return len(self._callbacks) + sum(1 for i in self._outbox if i[0] == "schedule")
