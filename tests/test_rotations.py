"""poselift.rotations: conventions checked against scipy.spatial.transform.Rotation, round trips,
orthonormality, gimbal lock, numpy and torch."""

import itertools

import numpy as np
import pytest

from poselift.errors import PoseliftError
from poselift.rotations import (
    AXES,
    axis_quaternion,
    axis_rotation,
    euler_to_matrix,
    euler_to_quaternion,
    kabsch,
    matrix_to_euler,
    quaternion_conjugate,
    quaternion_multiply,
    quaternion_rotate,
    quaternion_to_matrix,
    rotate,
    smallest_rotation,
)

Rotation = pytest.importorskip("scipy.spatial.transform").Rotation

TAIT_BRYAN = ["".join(p) for p in itertools.permutations("XYZ")]
PROPER = ["XYX", "XZX", "YXY", "YZY", "ZXZ", "ZYZ"]


def _unit_quats(n, seed=0):
    q = np.random.default_rng(seed).normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _scipy(q):
    """(w, x, y, z) → scipy Rotation (scalar last)."""
    return Rotation.from_quat(np.roll(q, -1, axis=-1))


def _as_wxyz(r):
    return np.roll(r.as_quat(), 1, axis=-1)


def _same_rotation(q1, q2, atol=1e-12):
    """Quaternions equal up to sign."""
    d = np.minimum(np.abs(q1 - q2).max(-1), np.abs(q1 + q2).max(-1))
    assert d.max() < atol


def _assert_rotations(R):
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)


def test_quaternion_to_matrix_matches_scipy_and_normalises():
    q = _unit_quats(50)
    R = quaternion_to_matrix(q)
    np.testing.assert_allclose(R, _scipy(q).as_matrix(), atol=1e-12)
    _assert_rotations(R)
    np.testing.assert_allclose(quaternion_to_matrix(3.5 * q), R, atol=1e-12)  # any length
    assert quaternion_to_matrix(q.reshape(5, 10, 4)).shape == (5, 10, 3, 3)
    # active, right-handed: a quarter turn about z takes x to y
    np.testing.assert_allclose(quaternion_to_matrix(axis_quaternion("z", np.pi / 2)) @ [1, 0, 0], [0, 1, 0],
                               atol=1e-15)


def test_multiply_conjugate_rotate_match_scipy():
    a, b = _unit_quats(40, 1), _unit_quats(40, 2)
    ab = quaternion_multiply(a, b)
    _same_rotation(ab, _as_wxyz(_scipy(a) * _scipy(b)))  # b first, then a
    np.testing.assert_allclose(quaternion_to_matrix(ab), quaternion_to_matrix(a) @ quaternion_to_matrix(b),
                               atol=1e-12)
    inv = quaternion_conjugate(a)
    _same_rotation(inv, _as_wxyz(_scipy(a).inv()))
    np.testing.assert_allclose(quaternion_multiply(a, inv), np.tile([1.0, 0, 0, 0], (40, 1)), atol=1e-12)
    v = np.random.default_rng(3).normal(size=(40, 3))
    np.testing.assert_allclose(quaternion_rotate(a, v), _scipy(a).apply(v), atol=1e-12)
    # one quaternion, many vectors
    np.testing.assert_allclose(quaternion_rotate(a[0], v), _scipy(a[0]).apply(v), atol=1e-12)


def test_rotate_quaternion_or_matrix_and_inverse():
    q = _unit_quats(1, 4)[0]
    R = quaternion_to_matrix(q)
    v = np.random.default_rng(5).normal(size=(7, 3))
    for rot in (q, R):
        np.testing.assert_allclose(rotate(rot, v), v @ R.T, atol=1e-12)
        np.testing.assert_allclose(rotate(rot, rotate(rot, v), inverse=True), v, atol=1e-12)
    with pytest.raises(PoseliftError, match="quaternion"):
        rotate(np.eye(2), v)


def test_torch_and_numpy_agree():
    torch = pytest.importorskip("torch")
    a, b = _unit_quats(6, 6), _unit_quats(6, 7)
    v = np.random.default_rng(8).normal(size=(6, 3))
    ta, tb, tv = (torch.tensor(x) for x in (a, b, v))
    for f, args, targs in [
        (quaternion_multiply, (a, b), (ta, tb)),
        (quaternion_conjugate, (a,), (ta,)),
        (quaternion_rotate, (a, v), (ta, tv)),
        (rotate, (a[0], v), (a[0], tv)),
    ]:
        out = f(*targs)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), f(*args), atol=1e-12)
    # float32 tensors stay float32; broadcasting of one quaternion over a batch of vectors
    out = quaternion_rotate(ta[:1].float(), tv.float())
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), _scipy(a[0]).apply(v), atol=1e-5)


@pytest.mark.parametrize("axis", ["x", "y", "z", "X", 1])
def test_elementary_rotations(axis):
    angle = np.linspace(-3, 3, 13)
    name = "xyz"[AXES[axis]] if isinstance(axis, str) else "xyz"[axis]
    ref = Rotation.from_euler(name, angle[:, None])
    np.testing.assert_allclose(axis_rotation(axis, angle), ref.as_matrix(), atol=1e-12)
    _same_rotation(axis_quaternion(axis, angle), _as_wxyz(ref))
    np.testing.assert_allclose(quaternion_to_matrix(axis_quaternion(axis, angle)), axis_rotation(axis, angle),
                               atol=1e-12)
    assert axis_rotation(axis, 0.3).shape == (3, 3) and axis_quaternion(axis, [[0.1, 0.2]]).shape == (1, 2, 4)


@pytest.mark.parametrize("order", TAIT_BRYAN + PROPER + [o.lower() for o in TAIT_BRYAN + PROPER])
def test_euler_composition_matches_scipy(order):
    angles = np.random.default_rng(9).uniform(-3, 3, size=(25, 3))
    ref = Rotation.from_euler(order, angles)
    R = euler_to_matrix(angles, order)
    np.testing.assert_allclose(R, ref.as_matrix(), atol=1e-12)
    _assert_rotations(R)
    _same_rotation(euler_to_quaternion(angles, order), _as_wxyz(ref))
    # written order: upper case multiplies in written order, lower case in reverse
    parts = [axis_rotation(a, angles[:, k]) for k, a in enumerate(order)]
    product = parts[0] @ parts[1] @ parts[2] if order.isupper() else parts[2] @ parts[1] @ parts[0]
    np.testing.assert_allclose(R, product, atol=1e-12)


def test_extrinsic_is_reversed_intrinsic_and_fewer_axes():
    angles = np.random.default_rng(10).uniform(-3, 3, size=(5, 3))
    np.testing.assert_allclose(euler_to_matrix(angles, "xyz"), euler_to_matrix(angles[:, ::-1], "ZYX"), atol=1e-12)
    # one or two axes (a BVH joint with fewer rotation channels), repeated axes add up
    np.testing.assert_allclose(euler_to_matrix(angles[:, :2], "ZX"), Rotation.from_euler("ZX", angles[:, :2])
                               .as_matrix(), atol=1e-12)
    np.testing.assert_allclose(euler_to_matrix(angles[:, :2], "XX"), axis_rotation("x", angles[:, 0] + angles[:, 1]),
                               atol=1e-12)
    for bad in ("", "XyZ", "XWZ"):
        with pytest.raises(PoseliftError, match="Euler order"):
            euler_to_matrix(np.zeros(3), bad)


@pytest.mark.parametrize("order", TAIT_BRYAN)
def test_matrix_to_euler_matches_scipy_and_round_trips(order):
    R = Rotation.random(200, random_state=11).as_matrix()
    e = matrix_to_euler(R, order)
    np.testing.assert_allclose(e, Rotation.from_matrix(R).as_euler(order), atol=1e-9)
    assert np.abs(e[:, 1]).max() <= np.pi / 2 + 1e-12
    np.testing.assert_allclose(euler_to_matrix(e, order), R, atol=1e-12)
    with pytest.raises(PoseliftError, match="permutation"):
        matrix_to_euler(R, order.lower())


@pytest.mark.parametrize("order", TAIT_BRYAN)
def test_gimbal_lock(order):
    """Middle angle at ±90 degrees: the first and last axes line up; the rotation still comes back
    exactly, with all of their combined angle in the first."""
    first = np.array([0.4, -2.0, 1.3, 0.0])
    last = np.array([0.7, 0.2, -1.1, 0.5])
    middle = np.array([1, -1, 1, -1]) * np.pi / 2
    R = euler_to_matrix(np.stack([first, middle, last], -1), order)
    e = matrix_to_euler(R, order)
    np.testing.assert_allclose(e[:, 2], 0.0)
    np.testing.assert_allclose(np.abs(e[:, 1]), np.pi / 2, atol=1e-6)
    np.testing.assert_allclose(euler_to_matrix(e, order), R, atol=1e-9)
    # a matrix just off the lock still round-trips
    near = euler_to_matrix(np.stack([first, middle * (1 - 1e-4), last], -1), order)
    np.testing.assert_allclose(euler_to_matrix(matrix_to_euler(near, order), order), near, atol=1e-9)


def test_smallest_rotation():
    rng = np.random.default_rng(12)
    a = np.array([0.0, 0.6, 0.8])
    b = rng.normal(size=(30, 3))
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    b = np.concatenate([b, [a, -a]])  # identity and a half turn
    R = smallest_rotation(a, b)
    _assert_rotations(R)
    np.testing.assert_allclose(R @ a, b, atol=1e-12)
    axis = np.cross(a, b[:30])
    np.testing.assert_allclose(np.einsum("nij,nj->ni", R[:30], axis), axis, atol=1e-12)  # no twist
    # the angle is the angle between the vectors: the smallest one that does it
    angle = np.linalg.norm(Rotation.from_matrix(R[:30]).as_rotvec(), axis=-1)
    np.testing.assert_allclose(angle, np.arccos(np.clip(b[:30] @ a, -1, 1)), atol=1e-9)
    np.testing.assert_allclose(R[30], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(Rotation.from_matrix(R[31]).as_rotvec()), np.pi, atol=1e-9)
    # the half turn also for a vector along x (the first perpendicular tried fails)
    x = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(smallest_rotation(x, -x[None]) @ x, -x[None], atol=1e-12)


def test_kabsch_recovers_rotations_without_reflection():
    rng = np.random.default_rng(13)
    src = rng.normal(size=(6, 3))
    true = Rotation.random(10, random_state=14).as_matrix()
    dst = np.einsum("nij,kj->nki", true, src)
    np.testing.assert_allclose(kabsch(src, dst), true, atol=1e-10)
    np.testing.assert_allclose(kabsch(np.broadcast_to(src, dst.shape), dst), true, atol=1e-10)
    mirrored = dst * [1.0, 1.0, -1.0]  # no rotation does this: still a proper rotation back
    _assert_rotations(kabsch(src, mirrored))


def test_mocap_and_camera_use_these_conventions():
    """The ASF reader's axis angles are extrinsic (``XYZ`` = x first: Rz·Ry·Rx, scipy "xyz");
    camera.py's quaternion names are these functions."""
    from poselift import camera
    from poselift.data.asf import _euler_quat

    angles = np.radians([10.0, 20.0, 30.0])
    q = _euler_quat(dict(zip("xyz", angles)), "XYZ")
    _same_rotation(q, _as_wxyz(Rotation.from_euler("xyz", angles)))
    q = _euler_quat({"y": angles[1]}, "ZXY", (3,))  # missing axes are 0, broadcast to the shape
    assert q.shape == (3, 4)
    _same_rotation(q, np.tile(axis_quaternion("y", angles[1]), (3, 1)))
    assert camera.qrot is quaternion_rotate and camera.qinverse is quaternion_conjugate
    assert camera.quaternion_to_matrix is quaternion_to_matrix
