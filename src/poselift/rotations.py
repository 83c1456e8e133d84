"""Rotations between point sets (pure numpy)."""

from __future__ import annotations

import numpy as np


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) R minimising sum_k |R src_k - dst_k|^2 (proper rotations, no
    reflection); ``src`` (K, 3) or (N, K, 3), ``dst`` (N, K, 3)."""
    H = np.einsum("...kd,nke->nde", src, dst)
    U, _, Vt = np.linalg.svd(H)
    V = Vt.transpose(0, 2, 1)
    d = np.sign(np.linalg.det(V @ U.transpose(0, 2, 1)))
    V[:, :, 2] *= np.where(d == 0, 1.0, d)[:, None]
    return V @ U.transpose(0, 2, 1)
