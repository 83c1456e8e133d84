"""Joint trees of motion-capture files: local rotations and translations per frame,
resampling, forward kinematics, the files' Y-up frame turned Z-up.

Both importers (:mod:`poselift.data.asf` for ASF/AMC, :mod:`poselift.data.bvh` for BVH) turn
their files into a :class:`Chain`; :func:`forward` walks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..rotations import quaternion_to_matrix


@dataclass
class Chain:
    """A joint tree in BVH semantics, Y-up, in file length units, parents before children.

    ``point_j = point_parent + G_parent · (offsets_j + trans_j)``, ``G_j = G_parent · R_j``,
    ``R_j`` the quaternion ``rot[:, j]`` (w, x, y, z).
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (N, 3)
    rot: np.ndarray  # (F, N, 4) local rotations (quaternions)
    trans: np.ndarray  # (F, N, 3) local translations (channels), zero where none
    fps: float
    scale_m: float  # metres per length unit

    def index(self, name: str) -> int:
        return self.names.index(name)


def resample_chain(chain: Chain, fps: float) -> Chain:
    """Sample at ``t_k = k / fps``: nlerp of local rotations (signs aligned), linear translations."""
    n = chain.rot.shape[0]
    if n == 1 or abs(chain.fps - fps) < 1e-9:
        return chain
    count = int(math.floor((n - 1) * fps / chain.fps + 1e-9)) + 1
    t = np.arange(count) * (chain.fps / fps)
    i = np.minimum(np.floor(t + 1e-9).astype(np.int64), n - 2)
    w = np.clip(t - i, 0.0, 1.0)
    q0, q1 = chain.rot[i], chain.rot[i + 1]
    sign = np.where(np.sum(q0 * q1, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    q = (1 - w)[:, None, None] * q0 + w[:, None, None] * sign * q1
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    tr = (1 - w)[:, None, None] * chain.trans[i] + w[:, None, None] * chain.trans[i + 1]
    return Chain(chain.names, chain.parents, chain.offsets, q, tr, fps, chain.scale_m)


def forward(chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """Global positions (F, N, 3) and rotations (F, N, 3, 3) of every node (file units and frame)."""
    local = quaternion_to_matrix(chain.rot)
    n_frames, n = chain.rot.shape[:2]
    pos = np.zeros((n_frames, n, 3))
    glob = np.zeros((n_frames, n, 3, 3))
    for j, p in enumerate(chain.parents):
        off = chain.offsets[j] + chain.trans[:, j]
        if p < 0:
            pos[:, j] = off
            glob[:, j] = local[:, j]
        else:
            pos[:, j] = pos[:, p] + np.einsum("fab,fb->fa", glob[:, p], off)
            glob[:, j] = glob[:, p] @ local[:, j]
    return pos, glob


def to_zup(p: np.ndarray, scale: float) -> np.ndarray:
    """Y-up file coordinates → Z-up metres: (x, y, z) → (x, -z, y), times ``scale``."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1) * scale
