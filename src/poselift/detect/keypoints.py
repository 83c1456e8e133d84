"""The one in-memory form of a 2D keypoint track, whatever produced it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import PoseliftError
from ..skeleton import get_skeleton

NO_PERSON = "no frames with a person"


@dataclass
class KeypointSequence:
    """One person's 2D keypoints over time.

    ``keypoints`` (T, J, 2) float32 pixels, NaN where a joint is missing; ``scores`` (T, J)
    float32 confidences in [0, 1], 0 where missing; ``layout`` a registered skeleton name
    (``coco17``, ``h36m17``, ...); image size and frame rate when known. ``world``: the
    detector's own 3D of the same joints where it gives one ((T, J, 3) metres, root-relative
    at the mid-hips, camera-aligned axes x right, y down, z away; NaN in frames without),
    e.g. BlazePose's world landmarks; None otherwise. ``times``: (T,) seconds of each frame from
    the first, as the video's container stamps them (variable-frame-rate video keeps its real
    timing), non-decreasing; None where only the frame rate is known (frame / fps).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    layout: str = "coco17"
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)
    world: np.ndarray | None = None
    person_id: int | None = None  # the tracker's identity when several people were tracked
    times: np.ndarray | None = None

    def __post_init__(self):
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        k, s = self.keypoints, self.scores
        if k.ndim != 3 or k.shape[-1] != 2:
            raise PoseliftError(f"keypoints must be (frames, joints, 2), got shape {k.shape}", self.source or None)
        if s.shape != k.shape[:2]:
            raise PoseliftError(f"scores must be (frames, joints) = {k.shape[:2]}, got {s.shape}", self.source or None)
        if self.world is not None:
            self.world = np.asarray(self.world, dtype=np.float32)
            if self.world.shape != k.shape[:2] + (3,):
                raise PoseliftError(f"detector 3D must be (frames, joints, 3) = {k.shape[:2] + (3,)}, got "
                                    f"{self.world.shape}", self.source or None)
        if self.times is not None:
            self.times = np.asarray(self.times, dtype=np.float64)
            if self.times.shape != (len(k),):
                raise PoseliftError(f"times must hold one time per frame ({len(k)}), got shape {self.times.shape}",
                                    self.source or None)
            if not np.isfinite(self.times).all() or (np.diff(self.times) < 0).any():
                raise PoseliftError("frame times must be finite and non-decreasing", self.source or None)
        n = get_skeleton(self.layout).num_joints
        if k.shape[1] != n:
            raise PoseliftError(f"layout {self.layout} has {n} joints but the keypoints have {k.shape[1]}",
                                self.source or None)

    def __len__(self) -> int:
        return len(self.keypoints)

    @property
    def num_joints(self) -> int:
        return self.keypoints.shape[1]

    @property
    def missing(self) -> np.ndarray:
        """(T, J) bool: joints without a usable position."""
        return ~np.isfinite(self.keypoints).all(-1)
