"""The original AMIO's fader and decibel conversions (double precision).

amplitude factor | power factor | power gain
              1x |      1x      |  0 dB
           1.41x |      2x      | +3 dB
              2x |      4x      | +6 dB
             10x |     100x     | +20 dB
"""

from __future__ import annotations

import math
import sys

__all__ = ["factor_to_dB", "dB_to_factor", "Fader"]


def factor_to_dB(factor: float) -> float:
    """Converts an amplitude factor to a power gain in decibels:
    ``20 * log10(factor)``; ``-inf`` for 0 (and for factors too small to
    matter)."""
    factor = float(factor)
    return 20.0 * math.log10(factor) if factor > sys.float_info.min else float("-inf")


def dB_to_factor(dB: float) -> float:
    """Converts a gain in decibels to an amplitude factor: ``10 ** (dB / 20)``."""
    return 10 ** (float(dB) / 20.0)


class Fader:
    """A stereo fader: a volume (in dB, or as an amplitude factor) and a pan
    position from -1 (left) to 1 (right), with the original AMIO's linear
    pan law: ``left = v * (1 - pan)``, ``right = v * (1 + pan)``."""

    def __init__(self, vol_dB: float = 0.0, pan: float = 0.0):
        self._vol_factor = dB_to_factor(vol_dB)
        self._pan = 0.0
        self.pan = pan

    @property
    def vol_dB(self) -> float:
        """The volume in decibels."""
        return factor_to_dB(self._vol_factor)

    @vol_dB.setter
    def vol_dB(self, value_dB: float) -> None:
        self._vol_factor = dB_to_factor(value_dB)

    @property
    def vol_factor(self) -> float:
        """The volume as an amplitude factor."""
        return self._vol_factor

    @vol_factor.setter
    def vol_factor(self, value_factor: float) -> None:
        self._vol_factor = float(value_factor)

    @property
    def pan(self) -> float:
        """The pan position, -1 (left) to 1 (right)."""
        return self._pan

    @pan.setter
    def pan(self, value: float) -> None:
        value = float(value)
        if not -1 <= value <= 1:
            raise ValueError(f"Fader.pan: {value} (the rule is: -1 <= pan <= 1)")
        self._pan = value

    @property
    def left_gain_factor(self) -> float:
        """The left channel's gain: ``vol_factor * (1 - pan)``."""
        return self._vol_factor * (1.0 - self._pan)

    @property
    def right_gain_factor(self) -> float:
        """The right channel's gain: ``vol_factor * (1 + pan)``."""
        return self._vol_factor * (1.0 + self._pan)

    def __repr__(self) -> str:
        return f"Fader(vol_dB={self.vol_dB!r}, pan={self._pan!r})"
