"""Root placement by reprojection (poselift.root.root_by_reprojection)."""

import numpy as np
import pytest

from poselift.camera import look_at_camera
from poselift.encode import InputEncoder
from poselift.root import root_by_reprojection
from poselift.skeleton import COCO_FROM_H36M, coco17_from_h36m17

from helpers import random_motion


@pytest.fixture(scope="module")
def scene():
    """A camera 5 m from a moving person: camera-frame joints (T, 17, 3) and their
    intrinsics-normalised projections (pinhole: x / z, y / z)."""
    cam = look_at_camera((0.5, -5, 1.4), (0, 0, 1.0), res=(1000, 800), fov_deg=55)
    X = cam.world_to_camera(random_motion(25, seed=3).astype(np.float64))
    uv = InputEncoder.for_camera("intrinsic", cam).encode(cam.project(X, distortion=False), dtype=None)
    return X, uv


def test_recovers_a_known_root(scene):
    X, uv = scene
    np.testing.assert_allclose(uv, X[..., :2] / X[..., 2:], atol=1e-12)
    root = root_by_reprojection(X - X[:, :1], uv, np.ones(uv.shape[:2]), "h36m17")
    assert root.shape == (len(X), 1, 3) and root.dtype == np.float32
    np.testing.assert_allclose(root, X[:, :1], atol=1e-4)
    assert (root[:, 0, 2] > 4).all()  # metres in front of the camera


def test_coco17_uses_the_shared_joints(scene):
    X, _ = scene
    coco = coco17_from_h36m17(X)
    uv = coco[..., :2] / coco[..., 2:]
    uv[:, [1, 2, 3, 4]] += 5.0  # the face joints are not in the lifted pose: never used
    root = root_by_reprojection(X - X[:, :1], uv, np.ones(uv.shape[:2]), "coco17")
    np.testing.assert_allclose(root, X[:, :1], atol=1e-4)
    assert 0 in COCO_FROM_H36M and 1 not in COCO_FROM_H36M


def test_scores_weigh_the_joints(scene):
    X, uv = scene
    bad = uv.copy()
    bad[:, 3] += 0.2  # the right ankle far off
    scores = np.ones(uv.shape[:2])
    trusted = root_by_reprojection(X - X[:, :1], bad, scores, "h36m17")
    scores[:, 3] = 0.0  # weight 0.05 (scores are clipped to [0.05, 1])
    doubted = root_by_reprojection(X - X[:, :1], bad, scores, "h36m17")
    err = (lambda r: np.linalg.norm(r[:, 0] - X[:, 0], axis=-1).mean())
    assert err(doubted) < err(trusted) / 5 and err(trusted) > 0.05
    # a missing joint (NaN) is left out entirely: the root is exact again
    bad[:, 3] = np.nan
    np.testing.assert_allclose(root_by_reprojection(X - X[:, :1], bad, np.ones(uv.shape[:2]), "h36m17"), X[:, :1],
                               atol=1e-4)


def test_scale_follows_depth(scene):
    """A pose twice the size seen at the same 2D is twice as far (the pinhole's ambiguity)."""
    X, uv = scene
    root = root_by_reprojection(2 * (X - X[:, :1]), uv, np.ones(uv.shape[:2]), "h36m17")
    np.testing.assert_allclose(root, 2 * X[:, :1], rtol=1e-4)
