"""Fusing the lifted 3D with a 2D detector's own 3D estimate.

Some detectors also return a 3D pose of the person they find: BlazePose (MediaPipe) gives
``pose_world_landmarks``, metric and root-relative at the mid-hips, in camera-aligned axes,
read from the image itself. Its errors and the temporal lifter's come from different
evidence (image appearance against 2D keypoints over time), so their mean is better than
either on real video (``benchmarks/realvideo.py``). The weight is the plain mean, 0.5, fixed
before any measurement and not tuned.

Joints the two layouts share (hips, knees, ankles, shoulders, elbows, wrists) are averaged
in every frame where the detector gave its 3D; the pelvis is the root of both; the spine,
thorax, neck and head of the lift move with the averaged shoulders (the thorax, neck and
head by the shoulders' mean shift, the spine by half of it), so the trunk stays attached.
Frames without the detector's 3D keep the lift.
"""

from __future__ import annotations

import numpy as np

from .errors import PoseliftError
from .skeleton import COCO_FROM_H36M

WEIGHT = 0.5
_FACE = (0,)  # COCO nose: not the Human3.6M neck/nose joint, left out


def fuse_detector_3d(pose: np.ndarray, world: np.ndarray, layout: str, weight: float = WEIGHT) -> np.ndarray:
    """Human3.6M-17 root-relative ``pose`` (T, 17, 3) and the detector's ``world`` (T, J, 3)
    in ``layout`` (root-relative at the mid-hips) → the fused pose (T, 17, 3)."""
    if layout != "coco17":
        raise PoseliftError(f"fusing a detector's 3D is implemented for COCO-17 detectors, not {layout}")
    P = np.asarray(pose, dtype=np.float64)
    W = np.asarray(world, dtype=np.float64)
    if P.shape[:1] != W.shape[:1] or P.shape[1:] != (17, 3) or W.shape[1:] != (17, 3):
        raise PoseliftError(f"cannot fuse poses of shapes {P.shape} and {W.shape}")
    W = W - (W[:, 11:12] + W[:, 12:13]) / 2  # root-relative at the mid-hips
    have = np.isfinite(W).all((-1, -2))
    out = P.copy()
    pairs = [(c, h) for c, h in COCO_FROM_H36M.items() if c not in _FACE]
    coco = [c for c, _ in pairs]
    h36m = [h for _, h in pairs]
    fused = P[have][:, h36m] * (1 - weight) + W[have][:, coco] * weight
    sub = out[have]
    sub[:, h36m] = fused
    shift = (sub[:, [11, 14]].mean(1) - P[have][:, [11, 14]].mean(1))[:, None]  # the shoulders' mean shift
    sub[:, [8, 9, 10]] += shift
    sub[:, [7]] += shift / 2
    out[have] = sub
    return out


# limbs the two layouts share, (Human3.6M-17 child, parent): thighs, shins, upper arms, forearms
_LIMBS = ((2, 1), (3, 2), (5, 4), (6, 5), (12, 11), (13, 12), (15, 14), (16, 15))


def detector_size_ratio(pose: np.ndarray, world: np.ndarray, layout: str) -> float | None:
    """How much smaller (< 1) or bigger the detector's own 3D body is than ``pose``'s: the
    median over the shared limbs (thighs, shins, upper arms, forearms) of the ratio of their
    median lengths over the clip; None when the detector gave no 3D or the layout has no
    mapping. The lifter's sizes come from its training subjects; the detector's (BlazePose's
    metric world landmarks) are read from the image, and on real video they are the closer
    of the two to the person's true size (``benchmarks/realvideo.py``: best-fit scale 0.99
    against 0.84 for the lift alone)."""
    if layout != "coco17" or world is None:
        return None
    from .bones import lengths_over_time
    from .skeleton import H36M17

    W = np.asarray(world, dtype=np.float64)
    have = np.isfinite(W).all((-1, -2))
    if have.sum() < 3:
        return None
    coco_of = {h: c for c, h in COCO_FROM_H36M.items()}
    lift = np.median(lengths_over_time(np.asarray(pose, dtype=np.float64), H36M17.parents), axis=0)
    ratios = [np.median(np.linalg.norm(W[have][:, coco_of[c]] - W[have][:, coco_of[p]], axis=-1)) / lift[c]
              for c, p in _LIMBS if lift[c] > 0]
    ratio = float(np.median(ratios)) if ratios else None
    return ratio if ratio is not None and 0.5 < ratio < 2.0 else None
