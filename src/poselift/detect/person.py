"""Which person to follow: a person choice (a rank or a box) and its checks.

Below both the detector interface (:mod:`poselift.detect.base`) and the back-ends that follow
one person themselves (:mod:`poselift.detect.mediapipe_pose`), which both use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np

from ..errors import PoseliftError

__all__ = ["PersonChoice", "parse_person", "box_from_xywh"]

PersonChoice = Union[int, tuple[float, float, float, float]]
"""Which person to follow: ``k`` = the k-th most visible (0: the most visible), or a box
``(x, y, w, h)`` in pixels = the person whose keypoint box overlaps it most, in the first
frame in which anyone overlaps it."""


def parse_person(value) -> PersonChoice:
    """Check a person choice: a whole number >= 0, or a box ``(x, y, w, h)`` / ``"x,y,w,h"``."""
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", ",").split(",") if p]
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise PoseliftError(f"--person takes an id (a whole number >= 0) or a box x,y,w,h in pixels; "
                                f"got {value!r}") from None
        if len(numbers) == 1 and numbers[0].is_integer():
            value = int(numbers[0])
        else:
            value = tuple(numbers)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise PoseliftError(f"person must be a whole number >= 0, got {value}")
        return int(value)
    if isinstance(value, (tuple, list, np.ndarray)) and len(value) == 4:
        try:
            x, y, w, h = (float(v) for v in value)
        except (TypeError, ValueError):
            raise PoseliftError(f"person box must be four numbers x,y,w,h; got {value!r}") from None
        if not all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
            raise PoseliftError(f"person box x,y,w,h needs finite numbers and w, h > 0; got {value!r}")
        return (x, y, w, h)
    raise PoseliftError(f"person must be a whole number >= 0 or a box x,y,w,h; got {value!r}")


def box_from_xywh(box: Sequence[float]) -> np.ndarray:
    x, y, w, h = box
    return np.array([x, y, x + w, y + h], dtype=np.float64)
