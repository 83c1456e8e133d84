"""Synthetic rigid-bone motion for the render tests."""

from __future__ import annotations

import numpy as np
import pytest

from poselift.skeleton import H36M17

# Bone offsets from the parent (metres, world frame: X = subject's left, Y forward-away, Z up),
# a relaxed standing pose that is not the BVH writer's T-pose.
REST_OFFSETS = np.array([
    [0, 0, 0], [-.13, 0, -.03], [0, .02, -.44], [0, -.02, -.43], [.13, 0, -.03], [0, .02, -.44],
    [0, -.02, -.43], [0, .02, .23], [0, 0, .25], [0, -.06, .12], [0, .01, .11], [.15, 0, -.02],
    [.03, 0, -.28], [0, -.02, -.25], [-.15, 0, -.02], [-.03, 0, -.28], [0, -.02, -.25],
])
ANKLE = 0.08


def _rodrigues(rotvec: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    k = rotvec / np.maximum(theta, 1e-12)
    K = np.zeros(rotvec.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K -= np.swapaxes(K, -1, -2)
    s, c = np.sin(theta)[..., None], np.cos(theta)[..., None]
    return np.eye(3) + s * K + (1 - c) * K @ K


def rigid_motion(frames: int = 120, path: str = "circle", seed: int = 0, amplitude: float = 0.6) -> np.ndarray:
    """World-frame motion (frames, 17, 3) with exactly rigid bones: forward kinematics of smooth
    random joint rotations (sums of sinusoids) plus a root trajectory, the lowest ankle of every
    frame ANKLE above the floor z = 0. ``path``: "circle", "line" or "still"."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / frames
    freq, phase = rng.uniform(0.5, 3, (1, 17, 3)), rng.uniform(0, 2 * np.pi, (1, 17, 3))
    rotvec = amplitude * rng.uniform(0.3, 1, (1, 17, 3)) * np.sin(2 * np.pi * freq * t + phase)
    yaw = {"circle": 2 * np.pi * t[:, 0, 0], "line": 0.3 * np.sin(4 * t[:, 0, 0]), "still": 0 * t[:, 0, 0]}[path]
    rotvec[:, 0] = 0.15 * rotvec[:, 0] / amplitude + np.stack([0 * yaw, 0 * yaw, yaw], -1)
    local = _rodrigues(rotvec)
    glob = np.empty_like(local)
    pos = np.zeros((frames, 17, 3))
    for j, p in enumerate(H36M17.parents):
        if p < 0:
            glob[:, j] = local[:, j]
        else:
            glob[:, j] = glob[:, p] @ local[:, j]
            pos[:, j] = pos[:, p] + glob[:, p] @ REST_OFFSETS[j]
    s = t[:, 0, 0]
    root = {"circle": np.stack([1.5 * np.cos(2 * np.pi * s), 1.5 * np.sin(2 * np.pi * s)], -1),
            "line": np.stack([3 * s - 1.5, 0.05 * np.sin(6 * s)], -1), "still": np.zeros((frames, 2))}[path]
    pos[..., :2] += root[:, None]
    pos[..., 2] += ANKLE - pos[:, [3, 6], 2].min(1)[:, None]
    return pos


@pytest.fixture
def motion() -> np.ndarray:
    return rigid_motion()
