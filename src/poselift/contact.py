"""Foot contacts on world-frame poses: detection, the floor plane they span, pinning, foot skate.

Input poses are world-frame (T, J, 3) metres, Z up, floor at z = 0 (``camera_to_floor`` in
``poselift.render.export``); whole-NaN frames mean nobody was detected. Contacts are (T, 2) bool,
columns (left, right) for the skeleton's ``l_ankle`` and ``r_ankle`` joints. The ankle joint sits
``ANKLE_HEIGHT`` above the sole, so a planted foot has its ankle near z = ``ANKLE_HEIGHT``.

Detection (:func:`foot_contacts`) is the usual height-and-speed rule: an ankle is in contact
when it is low and (nearly) still. Defaults and why:

* ``height_tol = 0.05`` m above ``ANKLE_HEIGHT`` (ankle z <= 0.13 m; Sports2D also takes the
  ankle to be ~0.13 m above the floor): leaves room for a few cm of depth error and for the
  heel starting to lift, and rules out a raised foot (early swing, stairs, jumps, kicks). It
  does not rule out mid-swing in walking, where the foot passes level just above the floor
  with the ankle barely higher than in stance: the speed test does that. There is no lower
  bound: an ankle below the floor (lifting error) counts as low.
* ``speed_tol = 0.3`` m/s (3-D ankle speed, central differences): a planted ankle is still;
  a swinging one moves at ~2-3x walking speed on average and fastest at mid-swing (> 1 m/s
  even for slow walking). This is stricter than Sports2D's 1 m/s toe-speed rule, which only
  has to pick points for its floor line. Per-frame jitter in raw monocular estimates alone can
  exceed it (1 cm of independent noise per frame is ~0.3 m/s at 30 fps), so smooth first
  (``poselift.smooth``). ``speed_tol=None`` uses height alone, which only suits motions
  without swinging feet (standing, squats).
* ``min_contact_s = 0.1`` s (3 frames at 30 fps): within each run of tracked frames, gaps in
  contact shorter than this are filled, then contacts shorter than this are dropped; real
  stances last > 0.2 s even when sprinting, and swings > 0.25 s.

:func:`pin_feet` holds each ankle still during each contact and moves only the ankle joint:
the knee and everything else stay as estimated, so the shin length changes by the pinning
offset (the sliding distance within a contact, usually a few cm). :func:`foot_skate` gives the
sliding figures for a run report.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import PoseliftError
from .skeleton import H36M17, Skeleton

ANKLE_HEIGHT = 0.08  # the ankle joint's height above the sole (poselift.render.export uses this one)
HEIGHT_TOL = 0.05
SPEED_TOL = 0.3
MIN_CONTACT_S = 0.1
SIDES = ("left", "right")


def _runs(mask) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True in a 1-D boolean mask."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _ankles(skeleton: Skeleton) -> tuple[int, int]:
    return skeleton.index("l_ankle"), skeleton.index("r_ankle")


def _world(world, skeleton: Skeleton) -> np.ndarray:
    W = np.asarray(world, dtype=np.float64)
    if W.ndim != 3 or W.shape[1:] != (skeleton.num_joints, 3):
        raise PoseliftError(f"expected world poses of shape (frames, {skeleton.num_joints}, 3), got {W.shape}")
    return W


def _contacts(contacts, frames: int) -> np.ndarray:
    C = np.asarray(contacts)
    if C.shape != (frames, 2):
        raise PoseliftError(f"expected contacts of shape ({frames}, 2) (left, right), got {C.shape}")
    return C.astype(bool)


def _fps(fps) -> float:
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise PoseliftError(f"fps must be a positive number, got {fps}")
    return fps


def foot_contacts(world, fps: float, skeleton: Skeleton = H36M17, height_tol: float = HEIGHT_TOL,
                  speed_tol: float | None = SPEED_TOL, min_contact_s: float = MIN_CONTACT_S,
                  ankle_height: float = ANKLE_HEIGHT) -> np.ndarray:
    """(T, 2) bool, (left, right): the ankle is within ``height_tol`` m above ``ankle_height``
    and moves slower than ``speed_tol`` m/s (3-D, central differences within each run of tracked
    frames). Runs shorter than ``min_contact_s`` are cleaned up (module docstring). Untracked
    frames, and with a speed test the lone tracked frames, are never in contact."""
    W = _world(world, skeleton)
    fps = _fps(fps)
    if not height_tol >= 0 or (speed_tol is not None and not speed_tol > 0) or not min_contact_s >= 0:
        raise PoseliftError(f"foot_contacts needs height_tol >= 0, speed_tol > 0 (or None) and "
                            f"min_contact_s >= 0; got {height_tol}, {speed_tol}, {min_contact_s}")
    min_frames = max(1, round(min_contact_s * fps))
    out = np.zeros((len(W), 2), dtype=bool)
    for k, j in enumerate(_ankles(skeleton)):
        p = W[:, j]
        tracked = np.isfinite(p).all(axis=1)
        low = np.zeros(len(W), dtype=bool)
        low[tracked] = p[tracked, 2] - ankle_height <= height_tol
        for a, b in _runs(tracked):
            if speed_tol is None:
                c = low[a:b]
            elif b - a < 2:
                continue
            else:
                speed = np.linalg.norm(np.gradient(p[a:b], 1.0 / fps, axis=0), axis=1)
                c = low[a:b] & (speed < speed_tol)
            for s, e in _runs(~c):  # fill short gaps between two contacts
                if s > 0 and e < len(c) and e - s < min_frames:
                    c[s:e] = True
            for s, e in _runs(c):  # drop short contacts
                if e - s < min_frames:
                    c[s:e] = False
            out[a:b, k] = c
    return out


def floor_from_contacts(world, contacts, skeleton: Skeleton = H36M17, ankle_height: float = ANKLE_HEIGHT,
                        min_points: int = 10, min_spread: float = 0.05):
    """The floor plane fitted to the ankles in contact: ``(normal, offset)`` with ``normal``
    (3,) a unit vector with z >= 0 and the floor the points ``p`` where ``normal @ p == offset``;
    ``None`` when it is not determined.

    A total-least-squares (SVD) plane through the contact ankle positions, lowered by
    ``ankle_height`` along its normal. ``None`` with fewer than ``min_points`` contact positions,
    or when they do not spread over an area: an RMS spread below ``min_spread`` m along the
    second in-plane direction (points along one line, e.g. standing still: the tilt about that
    line is then unknown). A straight walk spreads the feet by about half the step width
    (~5-8 cm RMS), which passes the default; ``poselift.render.export`` asks for 0.15 m from its
    per-frame lowest ankles, which are noisier than contact frames.
    """
    W = _world(world, skeleton)
    C = _contacts(contacts, len(W))
    points = np.concatenate([W[C[:, k], j] for k, j in enumerate(_ankles(skeleton))])
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < max(3, min_points):
        return None
    centre = points.mean(axis=0)
    _, s, vt = np.linalg.svd(points - centre, full_matrices=False)
    if s[1] / math.sqrt(len(points)) < min_spread:
        return None
    normal = vt[2] if vt[2, 2] >= 0 else -vt[2]
    return normal, float(normal @ centre - ankle_height)


def pin_feet(world, contacts, skeleton: Skeleton = H36M17, blend_frames: int = 2) -> np.ndarray:
    """A copy of ``world`` with each ankle held still during each of its contacts.

    Within a contact run the ankle is moved to the run's mean horizontal position and median
    height. Only the ankle joint moves (see the module docstring). To avoid a jump at the run
    edges, the ``blend_frames`` tracked non-contact frames on each side get the edge frame's
    offset scaled down linearly (2/3, 1/3 for 2 frames); frames further from any contact, and
    untracked frames, are unchanged. Contact flags on untracked frames are ignored.
    """
    W = _world(world, skeleton)
    C = _contacts(contacts, len(W))
    out = W.copy()
    for k, j in enumerate(_ankles(skeleton)):
        p = W[:, j]
        tracked = np.isfinite(p).all(axis=1)
        c = C[:, k] & tracked
        offset = np.zeros_like(p)
        runs = _runs(c)
        for a, b in runs:
            target = np.array([*p[a:b, :2].mean(axis=0), np.median(p[a:b, 2])])
            offset[a:b] = target - p[a:b]
        for a, b in runs:
            for edge, step in ((a, -1), (b - 1, 1)):
                for i in range(1, blend_frames + 1):
                    f = edge + step * i
                    if not (0 <= f < len(W)) or c[f] or not tracked[f]:
                        break
                    offset[f] += (1 - i / (blend_frames + 1)) * offset[edge]
        out[:, j] = p + offset
    return out


def foot_skate(world, contacts, fps: float, skeleton: Skeleton = H36M17) -> dict[str, float | None]:
    """Foot-skate figures: how much the ankles slide horizontally while in contact.

    Per foot (``left_``/``right_`` prefixes): ``contact_fraction`` (contact frames / tracked
    frames), ``skate_mean_mps`` and ``skate_max_mps`` (horizontal ankle speed over each pair of
    consecutive frames both in contact, m/s) and ``slide_m`` (the sum of those displacements, m);
    unprefixed ``skate_mean_mps``, ``skate_max_mps`` and ``slide_m`` pool both feet. Speeds are
    ``None`` when there is no such pair, and ``contact_fraction`` when no frame is tracked.
    Contacts found by :func:`foot_contacts` cap these speeds at its ``speed_tol``: the figures
    then measure the slide that the threshold lets through (and are ~0 after :func:`pin_feet`),
    plus how much of the run has a foot planted.
    """
    W = _world(world, skeleton)
    C = _contacts(contacts, len(W))
    fps = _fps(fps)
    figures: dict[str, float | None] = {}
    pooled = []
    for k, j in enumerate(_ankles(skeleton)):
        p = W[:, j]
        tracked = np.isfinite(p).all(axis=1)
        c = C[:, k] & tracked
        pair = c[1:] & c[:-1]
        step = np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1)[pair]
        pooled.append(step)
        side = SIDES[k]
        figures[f"{side}_contact_fraction"] = float(c.sum() / tracked.sum()) if tracked.any() else None
        figures[f"{side}_skate_mean_mps"] = float(step.mean() * fps) if len(step) else None
        figures[f"{side}_skate_max_mps"] = float(step.max() * fps) if len(step) else None
        figures[f"{side}_slide_m"] = float(step.sum())
    step = np.concatenate(pooled)
    figures["skate_mean_mps"] = float(step.mean() * fps) if len(step) else None
    figures["skate_max_mps"] = float(step.max() * fps) if len(step) else None
    figures["slide_m"] = float(step.sum())
    return figures
