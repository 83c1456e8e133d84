"""Bone lengths of a skeleton over time: measure them, fix them, scale them.

Pure functions on joint positions (T, J, 3) (any unit) and a parent list whose parents
come before their children (true of every registered layout). Rebuilding a pose with other
bone lengths keeps the root where it is and every bone's direction, and walks out from the
root: each joint = its parent's new position + the bone's direction × the new length.
"""

from __future__ import annotations

import numpy as np

from .errors import PoseliftError
from .skeleton import H36M17, Skeleton

# standing height of a Human3.6M-17 skeleton, approximately: shin + thigh + pelvis -> spine
# -> thorax -> neck/nose -> head (top), plus the ankle's height above the floor, 0.039 of
# stature (Winter, Biomechanics and Motor Control of Human Movement, Fig. 4.1), ≈ 0.07 m
ANKLE_HEIGHT_FRACTION = 0.039
_HEIGHT_CHAIN = ((2, 3), (5, 6), (1, 2), (4, 5), (7,), (8,), (9,), (10,))


def _check(positions, parents) -> np.ndarray:
    P = np.asarray(positions, dtype=np.float64)
    if P.ndim != 3 or P.shape[-1] != 3 or P.shape[1] != len(parents):
        raise PoseliftError(f"expected positions (frames, {len(parents)}, 3), got shape {P.shape}")
    if any(not (p < j) for j, p in enumerate(parents) if j > 0) or parents[0] != -1:
        raise PoseliftError("bone functions need the root first and parents before their children")
    return P


def lengths_over_time(positions, parents) -> np.ndarray:
    """Length of each joint's bone per frame (T, J); the root's entry is 0."""
    P = _check(positions, parents)
    out = np.zeros(P.shape[:2])
    for j in range(1, P.shape[1]):
        out[:, j] = np.linalg.norm(P[:, j] - P[:, parents[j]], axis=-1)
    return out


def rebuild(positions, parents, factors) -> np.ndarray:
    """Each bone's length multiplied by ``factors`` ((J,) or (T, J); the root's entry ignored),
    directions and the root kept."""
    P = _check(positions, parents)
    f = np.broadcast_to(np.asarray(factors, dtype=np.float64), P.shape[:2])
    out = np.empty_like(P)
    out[:, 0] = P[:, 0]
    for j in range(1, P.shape[1]):
        p = parents[j]
        out[:, j] = out[:, p] + (P[:, j] - P[:, p]) * f[:, j:j + 1]
    return out


def sequence_lengths(positions, skeleton: Skeleton = H36M17, symmetric: bool = True) -> np.ndarray:
    """One length per bone for a whole sequence (J,): the median over frames (robust to the
    frames where a lift is off), left and right averaged when ``symmetric``. Frames with
    missing (non-finite) joints are ignored."""
    P = _check(positions, skeleton.parents)
    ok = np.isfinite(P).all((-1, -2))
    if not ok.any():
        raise PoseliftError("no frame with every joint: cannot measure the bones")
    L = np.median(lengths_over_time(P[ok], skeleton.parents), axis=0)
    if symmetric:
        for a, b in zip(skeleton.joints_left, skeleton.joints_right):
            L[a] = L[b] = (L[a] + L[b]) / 2
    return L


def standing_height(lengths: np.ndarray, skeleton: Skeleton = H36M17) -> float:
    """Approximate standing height (same unit as ``lengths``) of a Human3.6M-17 skeleton with
    these bone lengths (J,): legs (mean of the two) + pelvis-to-head chain + ankle height."""
    if skeleton.name != H36M17.name:
        raise PoseliftError(f"standing height is defined for Human3.6M-17 skeletons, not {skeleton.name}")
    L = np.asarray(lengths, dtype=np.float64)
    legs = (L[2] + L[3] + L[5] + L[6]) / 2
    trunk_head = L[7] + L[8] + L[9] + L[10]
    return float((legs + trunk_head) / (1 - ANKLE_HEIGHT_FRACTION))


def body_axes(positions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body's own frame in each Human3.6M-17 pose (..., 17, 3): unit vectors (..., 3)
    ``right`` (left hip → right hip, made perpendicular to up), ``up`` (pelvis → thorax) and
    ``forward`` (up × right, the way the body faces)."""
    P = np.asarray(positions, dtype=np.float64)
    up = _unit(P[..., 8, :] - P[..., 0, :])
    right = P[..., 1, :] - P[..., 4, :]
    right = _unit(right - (right * up).sum(-1, keepdims=True) * up)
    return right, up, np.cross(up, right)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _branch_templates(P: np.ndarray, skeleton: Skeleton) -> dict[int, np.ndarray]:
    """For each branching joint (pelvis: hips and spine; thorax: neck and shoulders), one
    arrangement of its children's directions (K, 3) for the whole sequence: the mean of the
    observed ones, each turned onto the current estimate (Kabsch), three rounds."""
    from .rotations import kabsch

    out = {}
    for j in range(skeleton.num_joints):
        kids = list(skeleton.children(j))
        if len(kids) < 2:
            continue
        obs = _unit(P[:, kids] - P[:, j:j + 1])  # (T, K, 3)
        template = obs[len(obs) // 2]
        for _ in range(3):
            R = kabsch(template, obs)  # template -> frame
            template = _unit(np.einsum("tdk,tcd->ck", R, obs) / len(obs))
        out[j] = template
    return out


def fix_bone_lengths(positions, skeleton: Skeleton = H36M17, lengths: np.ndarray | None = None,
                     height: float | None = None, rigid_branches: bool = True) -> np.ndarray:
    """A rigid articulated body: every frame rebuilt with one length per bone (default
    :func:`sequence_lengths` of the input), scaled to the standing ``height`` (metres) when
    given, and, with ``rigid_branches``, one arrangement of the bones leaving each branching
    joint (the pelvis and thorax triangles). Bone directions otherwise and the root are kept.
    Needs every joint in every frame (fill gaps first)."""
    P = _check(positions, skeleton.parents)
    if not np.isfinite(P).all():
        raise PoseliftError("positions contain NaN or infinite values: fill them before fixing the bones")
    L = sequence_lengths(P, skeleton) if lengths is None else np.asarray(lengths, dtype=np.float64)
    if height is not None:
        if not (np.isfinite(height) and 0.3 < height < 3.0):
            raise PoseliftError(f"height must be a person's height in metres (0.3-3), got {height!r}")
        L = L * (height / standing_height(L, skeleton))
    from .rotations import kabsch

    templates = _branch_templates(P, skeleton) if rigid_branches else {}
    out = np.empty_like(P)
    out[:, 0] = P[:, 0]
    # parents first; every bone keeps the direction it has in the input (the lift's angles),
    # only its length changes
    for j in range(P.shape[1]):
        kids = list(skeleton.children(j))
        if not kids:
            continue
        obs = _unit(P[:, kids] - P[:, j:j + 1])
        if j in templates:
            obs = np.einsum("tde,ke->tkd", kabsch(templates[j], obs), templates[j])
        out[:, kids] = out[:, j:j + 1] + obs * L[kids][None, :, None]
    return out
