"""Pose error metrics. Inputs (..., J, 3) in any unit; outputs in the same unit.

Each ``*_frames`` function returns one value per pose (the leading dimensions); the plain
functions return the mean over everything. numpy arrays and torch tensors alike
(P-MPJPE is numpy only: it is an evaluation metric, not a loss).
"""

from __future__ import annotations

import numpy as np

from . import _array as A


def mpjpe_frames(pred, target):
    """Mean per-joint position error of each pose: (..., J, 3) → (...)."""
    return A.norm(pred - target, axis=-1).mean(-1)


def mpjpe(pred, target):
    """Protocol 1: mean Euclidean distance per joint."""
    return A.norm(pred - target, axis=-1).mean()


def weighted_mpjpe(pred, target, weights):
    """MPJPE with a weight per pose or per joint; ``weights`` broadcasts to (..., J)."""
    err = A.norm(pred - target, axis=-1)
    w = weights if A.is_torch(weights) or not A.is_torch(err) else A.as_like(weights, err)
    if A.is_torch(err):
        import torch

        w = torch.broadcast_to(w, err.shape)
    else:
        w = np.broadcast_to(w, err.shape)
    return (w * err).mean()


def n_mpjpe_frames(pred, target):
    """Protocol 3 per pose: MPJPE after the optimal scale of ``pred`` (least squares)."""
    norm_pred = A.mean_keep(A.sum_keep(pred * pred, -1), -2)
    norm_tgt = A.mean_keep(A.sum_keep(target * pred, -1), -2)
    scale = norm_tgt / norm_pred
    return mpjpe_frames(scale * pred, target)


def n_mpjpe(pred, target):
    """Protocol 3: MPJPE after scale alignment only."""
    return n_mpjpe_frames(pred, target).mean()


def procrustes_align(pred, target):
    """Similarity-align ``pred`` to ``target`` per pose (rotation, translation, scale).

    numpy, (..., J, 3) → (..., J, 3). Reflections are excluded.
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    mu_x = target.mean(-2, keepdims=True)
    mu_y = pred.mean(-2, keepdims=True)
    x0, y0 = target - mu_x, pred - mu_y
    nx = np.sqrt((x0**2).sum(axis=(-2, -1), keepdims=True))
    ny = np.sqrt((y0**2).sum(axis=(-2, -1), keepdims=True))
    nx = np.where(nx == 0, 1.0, nx)
    ny = np.where(ny == 0, 1.0, ny)
    x0, y0 = x0 / nx, y0 / ny
    H = np.swapaxes(x0, -1, -2) @ y0
    U, s, Vt = np.linalg.svd(H)
    V = np.swapaxes(Vt, -1, -2)
    R = V @ np.swapaxes(U, -1, -2)
    # no reflections: flip the last singular vector where det(R) < 0
    sign = np.sign(np.linalg.det(R))[..., None]
    V = V.copy()
    V[..., -1] *= sign
    s = s.copy()
    s[..., -1] *= sign[..., 0]
    R = V @ np.swapaxes(U, -1, -2)
    tr = s.sum(-1, keepdims=True)[..., None]
    a = tr * nx / ny
    t = mu_x - a * (mu_y @ R)
    return a * (pred @ R) + t


def p_mpjpe_frames(pred, target):
    """Protocol 2 per pose: MPJPE after Procrustes alignment with scale."""
    return mpjpe_frames(procrustes_align(pred, target), np.asarray(target, dtype=np.float64))


def p_mpjpe(pred, target):
    """Protocol 2: MPJPE after rigid alignment (rotation, translation, scale)."""
    return p_mpjpe_frames(pred, target).mean()


def mpjve_frames(pred, target):
    """Velocity error per frame transition: sequences (T, ..., J, 3) → (T-1, ...)."""
    return mpjpe_frames(pred[1:] - pred[:-1], target[1:] - target[:-1])


def mpjve(pred, target):
    """Mean per-joint velocity error: MPJPE of the first temporal derivative (axis 0 is time)."""
    return mpjve_frames(pred, target).mean()


def bone_lengths(positions, parents):
    """Bone lengths (..., J-1) of poses (..., J, 3) for a parent list (root parent -1)."""
    child = [j for j, p in enumerate(parents) if p >= 0]
    par = [p for p in parents if p >= 0]
    return A.norm(positions[..., child, :] - positions[..., par, :], axis=-1)


def _aligned_distances(pred, target, root):
    """Per-joint distances (..., J) after making both poses relative to joint ``root``."""
    if root is not None:
        pred = pred - pred[..., root : root + 1, :]
        target = target - target[..., root : root + 1, :]
    return A.norm(pred - target, axis=-1)


def _fraction_below(dist, threshold):
    hit = dist < threshold
    return hit.to(dist.dtype).mean() if A.is_torch(dist) else hit.mean()


def pck(pred, target, threshold: float = 0.15, root: int | None = 0):
    """Percentage of correct keypoints (MPI-INF-3DHP), as a fraction in [0, 1]: the share of
    joints closer than ``threshold`` (same unit as the poses: 0.15 = 150 mm in metres) to the
    target after both poses are made relative to joint ``root`` (None: no alignment)."""
    return _fraction_below(_aligned_distances(pred, target, root), threshold)


AUC_THRESHOLDS = np.linspace(0.0, 0.15, 31)  # 0, 5, ..., 150 mm, in metres


def auc(pred, target, thresholds=AUC_THRESHOLDS, root: int | None = 0):
    """Area under the PCK curve (MPI-INF-3DHP): mean :func:`pck` over ``thresholds``
    (default 0 to 150 mm in 31 steps, metres), a fraction in [0, 1]."""
    dist = _aligned_distances(pred, target, root)
    return sum(_fraction_below(dist, float(t)) for t in thresholds) / len(thresholds)
