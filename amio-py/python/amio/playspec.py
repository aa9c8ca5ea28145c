"""The original AMIO's playspec: a list of ``PlayspecEntry`` named tuples,
each a (possibly cropped) clip at a position with a gain for the left and
right channels.

amio plays them with its engine (SPEC.md): ``frame_a``/``frame_b`` become
the entry's range, ``play_at_frame`` its position, ``repeat_interval`` its
repeat, and ``gain_l``/``gain_r`` the gains of output channels 0 and 1 (a
mono clip feeds both). As in the original, an entry whose ``frame_b <
frame_a`` plays nothing, and the part of a range outside the clip is
silence.
"""

from __future__ import annotations

from collections import namedtuple
from typing import List

__all__ = ["PlayspecEntry", "Playspec"]


class PlayspecEntry(
    namedtuple(
        "PlayspecEntry",
        "clip frame_a frame_b play_at_frame repeat_interval gain_l gain_r",
    )
):
    """One entry: ``clip`` (an ``AudioClip``) played from ``frame_a`` to
    ``frame_b`` at ``play_at_frame``, again every ``repeat_interval`` frames
    (0: once), with gains ``gain_l`` and ``gain_r``."""

    @property
    def start(self) -> int:
        """The position of the first frame played: ``play_at_frame``."""
        return self.play_at_frame

    @property
    def end(self) -> int:
        """The position after the last frame played: ``play_at_frame + len``."""
        return self.play_at_frame + len(self)

    def __len__(self) -> int:
        return self.frame_b - self.frame_a


Playspec = List[PlayspecEntry]
"""A playspec: a list of ``PlayspecEntry``."""
