"""Joint trees of motion-capture files: forward kinematics, resampling, the Z-up turn."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from poselift.data.kinematics import Chain, forward, resample_chain, to_zup


def quat(rotation: Rotation) -> np.ndarray:
    """scipy's (x, y, z, w) → the chain's (w, x, y, z)."""
    return np.roll(rotation.as_quat(), 1, axis=-1)


def arm(rot: np.ndarray, trans: np.ndarray | None = None, fps: float = 10.0) -> Chain:
    """root → shoulder (1 unit up) → hand (2 units along x), ``rot`` (F, 3, 4)."""
    frames = len(rot)
    return Chain(["root", "shoulder", "hand"], [-1, 0, 1], np.array([[0, 0, 0], [0, 1, 0], [2, 0, 0]], float),
                 rot, np.zeros((frames, 3, 3)) if trans is None else trans, fps, 0.01)


def test_forward_composes_rotations_down_the_tree():
    rng = np.random.default_rng(0)
    rots = Rotation.random(3 * 4, random_state=1)
    rot = quat(rots).reshape(4, 3, 4)
    trans = np.zeros((4, 3, 3))
    trans[:, 0] = rng.normal(size=(4, 3))  # the root moves
    pos, glob = forward(arm(rot, trans))
    m = rots.as_matrix().reshape(4, 3, 3, 3)
    for f in range(4):
        g_root, g_shoulder = m[f, 0], m[f, 0] @ m[f, 1]
        np.testing.assert_allclose(pos[f, 0], trans[f, 0], atol=1e-12)
        np.testing.assert_allclose(pos[f, 1], trans[f, 0] + g_root @ [0, 1, 0], atol=1e-12)
        np.testing.assert_allclose(pos[f, 2], pos[f, 1] + g_shoulder @ [2, 0, 0], atol=1e-12)
        np.testing.assert_allclose(glob[f, 2], g_shoulder @ m[f, 2], atol=1e-12)
    # a quarter turn of the shoulder about z points the hand up, whatever the hand's own rotation
    rot = np.tile(quat(Rotation.identity()), (1, 3, 1))
    rot[0, 1] = quat(Rotation.from_euler("z", 90, degrees=True))
    pos, _ = forward(arm(rot))
    np.testing.assert_allclose(pos[0, 2], [0, 3, 0], atol=1e-12)


def test_translation_channels_add_to_the_offsets():
    rot = np.tile(quat(Rotation.identity()), (1, 3, 1))
    trans = np.zeros((1, 3, 3))
    trans[0, 2] = [0, 0, 0.5]  # the hand's own channel
    pos, _ = forward(arm(rot, trans))
    np.testing.assert_allclose(pos[0, 2], [2, 1, 0.5])


def test_resampling_interpolates_rotations_and_translations():
    a, b = Rotation.from_euler("y", 0, degrees=True), Rotation.from_euler("y", 60, degrees=True)
    rot = np.stack([np.tile(quat(a), (3, 1)), np.tile(-quat(b), (3, 1))])  # b with its sign flipped
    trans = np.zeros((2, 3, 3))
    trans[1, 0] = [4, 0, 0]
    chain = arm(rot, trans, fps=10)
    assert resample_chain(chain, 10.0) is chain  # already at that rate
    up = resample_chain(chain, 20.0)
    assert up.fps == 20 and up.rot.shape == (3, 3, 4)
    np.testing.assert_allclose(up.trans[:, 0, 0], [0, 2, 4])
    # halfway: nlerp of aligned signs is the 30° rotation about y (not a zero quaternion)
    half = Rotation.from_quat(np.roll(up.rot[1, 1], -1))
    assert half.approx_equal(Rotation.from_euler("y", 30, degrees=True), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(up.rot, axis=-1), 1.0)
    # 11 frames at 10 fps are one second: 31 frames at 30 fps, 4 at 3 fps (0, 1/3, 2/3, 1 s)
    long = arm(np.tile(quat(a), (11, 3, 1)), fps=10)
    assert resample_chain(long, 30.0).rot.shape[0] == 31
    assert resample_chain(long, 3.0).rot.shape[0] == 4


def test_zup_is_a_proper_rotation_and_a_scale():
    p = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(to_zup(p, 0.5), [[0.5, -1.5, 1.0], [0, 0, 0.5]])  # Y up becomes Z up
    turn = to_zup(np.eye(3), 1.0)
    assert np.isclose(np.linalg.det(turn), 1.0)  # not a mirror: left stays left
