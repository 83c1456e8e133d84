"""Rotations: quaternions, matrices, elementary-axis and Euler rotations, best fits.

One implementation of each, for the whole package (camera transforms, motion-capture import,
BVH writing and reading, rigid bodies). Conventions:

* **Active rotations** of column vectors: a matrix ``R`` turns ``v`` into ``R @ v``; with the
  row vectors of an (..., 3) array that is ``v @ R.T``.
* **Quaternions** are ``(w, x, y, z)``, scalar first (scipy's ``as_quat`` is scalar last).
  ``q`` and ``-q`` are the same rotation. :func:`quaternion_multiply` ``(a, b)`` is the rotation
  ``b`` first, then ``a`` (as matrices: ``R(a) @ R(b)``).
* **Elementary rotations** :func:`axis_quaternion` / :func:`axis_rotation` turn by ``angle``
  radians about the x, y or z axis, counter-clockwise looking down the axis (right hand):
  ``axis_rotation("z", pi / 2) @ (1, 0, 0) = (0, 1, 0)``.
* **Euler angles** (:func:`euler_to_quaternion`, :func:`euler_to_matrix`,
  :func:`matrix_to_euler`) follow scipy's ``Rotation.from_euler``: ``angles[..., k]`` belongs
  to axis ``order[k]``; an **upper-case** order is *intrinsic* (moving axes), the rotation is
  the product in written order, ``"ZYX"`` = ``Rz @ Ry @ Rx`` (BVH channels, outermost first);
  a **lower-case** order is *extrinsic* (fixed axes), the first axis is applied first,
  ``"xyz"`` = ``Rz @ Ry @ Rx`` (the ASF ``axis ... XYZ`` and ``order`` fields read this way).
  ``"xyz"`` and ``"ZYX"`` are the same rotation.

Quaternion products, conjugates and :func:`quaternion_rotate` / :func:`rotate` work on numpy
arrays and torch tensors alike (arbitrary leading dimensions); the matrix and Euler functions
and the best fits are numpy (float64).
"""

from __future__ import annotations

import numpy as np

from . import _array as A
from .errors import PoseliftError

#: axis name (upper or lower case) → index
AXES = {"X": 0, "Y": 1, "Z": 2, "x": 0, "y": 1, "z": 2}


def _axis_index(axis) -> int:
    return AXES[axis] if isinstance(axis, str) else int(axis)


def _stack(parts, ref, axis=-1):
    if A.is_torch(ref):
        import torch

        return torch.stack(parts, dim=axis)
    return np.stack(parts, axis=axis)


# --------------------------------------------------------------------------- quaternions


def quaternion_multiply(a, b):
    """Hamilton product ``a ⊗ b`` of quaternions (..., 4), (w, x, y, z): the rotation ``b``
    first, then ``a``. Broadcasts; numpy or torch."""
    aw, ax, ay, az = (a[..., k] for k in range(4))
    bw, bx, by, bz = (b[..., k] for k in range(4))
    return _stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], aw)


def quaternion_conjugate(q):
    """Conjugate (w, -x, -y, -z) of quaternions (..., 4): the inverse rotation of a unit
    quaternion. numpy or torch."""
    return q * A.as_like([1.0, -1.0, -1.0, -1.0], q)


def quaternion_rotate(q, v):
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4), (w, x, y, z); the two
    broadcast against each other's leading dimensions the way ``v`` is shaped. numpy or torch."""
    qvec = q[..., 1:]
    if A.is_torch(v):
        import torch

        qvec = qvec.expand(v.shape)
        w = q[..., :1].expand(v.shape[:-1] + (1,))
        uv = torch.cross(qvec, v, dim=-1)
        uuv = torch.cross(qvec, uv, dim=-1)
    else:
        qvec = np.broadcast_to(qvec, v.shape)
        w = np.broadcast_to(q[..., :1], v.shape[:-1] + (1,))
        uv = np.cross(qvec, v)
        uuv = np.cross(qvec, uv)
    return v + 2 * (w * uv + uuv)


def quaternion_to_matrix(q) -> np.ndarray:
    """Quaternions (..., 4), (w, x, y, z), normalised first → rotation matrices (..., 3, 3),
    float64 numpy."""
    q = np.asarray(q, dtype=np.float64)
    w, x, y, z = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    m = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def rotate(R, v, inverse: bool = False):
    """Apply the rotation ``R`` (a quaternion (..., 4) or a matrix (..., 3, 3)) to vectors ``v``
    (..., 3); ``inverse=True`` applies its inverse. ``R`` takes the kind (numpy or torch),
    dtype and device of ``v``."""
    R = A.as_like(R, v)
    if R.shape[-1] == 4:
        return quaternion_rotate(quaternion_conjugate(R) if inverse else R, v)
    if R.shape[-2:] != (3, 3):
        raise PoseliftError(f"rotation must be a quaternion (4,) or a matrix (3, 3), got shape {tuple(R.shape)}")
    # row vectors: v R^T applies R; v R applies R^T
    return v @ (R if inverse else A.swap_last2(R))


# --------------------------------------------------------------------- elementary and Euler


def axis_quaternion(axis, angle) -> np.ndarray:
    """Quaternions (..., 4) of rotations by ``angle`` (radians, any shape) about the x, y or z
    axis (``axis``: "x"/"y"/"z", either case, or 0/1/2)."""
    angle = np.asarray(angle, dtype=np.float64)
    q = np.zeros(angle.shape + (4,))
    q[..., 0] = np.cos(angle / 2)
    q[..., 1 + _axis_index(axis)] = np.sin(angle / 2)
    return q


def axis_rotation(axis, angle) -> np.ndarray:
    """Matrices (..., 3, 3) of rotations by ``angle`` (radians, any shape) about the x, y or z
    axis (``axis``: "x"/"y"/"z", either case, or 0/1/2)."""
    axis = _axis_index(axis)
    angle = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros(angle.shape + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    R[..., axis, axis] = 1.0
    R[..., i, i], R[..., j, j] = c, c
    R[..., i, j], R[..., j, i] = -s, s
    return R


def _check_order(order: str) -> None:
    if not order or not (order.isupper() or order.islower()) or any(a not in AXES for a in order):
        raise PoseliftError(f"Euler order {order!r} must be axes x/y/z, all upper case (intrinsic) or all lower "
                            "case (extrinsic)")


def euler_to_quaternion(angles, order: str) -> np.ndarray:
    """Quaternions (..., 4) of Euler ``angles`` (..., len(order)) radians; ``angles[..., k]`` is
    about axis ``order[k]``; upper case = intrinsic (``"ZYX"`` = Rz·Ry·Rx), lower case =
    extrinsic (``"xyz"`` = Rz·Ry·Rx, the first axis applied first). See the module notes."""
    _check_order(order)
    angles = np.asarray(angles, dtype=np.float64)
    q = axis_quaternion(order[0], angles[..., 0])
    for k in range(1, len(order)):
        step = axis_quaternion(order[k], angles[..., k])
        q = quaternion_multiply(q, step) if order.isupper() else quaternion_multiply(step, q)
    return q


def euler_to_matrix(angles, order: str) -> np.ndarray:
    """Matrices (..., 3, 3) of Euler ``angles`` (..., len(order)) radians; same conventions as
    :func:`euler_to_quaternion` (upper case ``"ZXY"`` = Rz @ Rx @ Ry)."""
    _check_order(order)
    angles = np.asarray(angles, dtype=np.float64)
    R = axis_rotation(order[0], angles[..., 0])
    for k in range(1, len(order)):
        step = axis_rotation(order[k], angles[..., k])
        R = R @ step if order.isupper() else step @ R
    return R


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (..., 3) radians of rotation matrices (..., 3, 3) for a three-axis
    upper-case ``order`` of distinct axes: ``R = R_order[0] @ R_order[1] @ R_order[2]``
    (:func:`euler_to_matrix` undoes it). The middle angle is in [-pi/2, pi/2]. At gimbal lock
    (middle angle ±pi/2) only the first and last angles' sum (or difference) is defined: it all
    goes into the first angle and the last is 0."""
    if len(order) != 3 or not order.isupper() or sorted(order) != ["X", "Y", "Z"]:
        raise PoseliftError(f"Euler order {order!r} must be a permutation of XYZ (intrinsic, upper case)")
    R = np.asarray(R, dtype=np.float64)
    i, j, k = (AXES[a] for a in order)
    s = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders (XYZ, YZX, ZXY)
    sb = np.clip(s * R[..., i, k], -1.0, 1.0)
    b = np.arcsin(sb)
    a = np.arctan2(-s * R[..., j, k], R[..., k, k])
    c = np.arctan2(-s * R[..., i, j], R[..., i, i])
    lock = np.abs(sb) > 1 - 1e-12  # gimbal lock: only the first + last angle is defined; put it in a
    a = np.where(lock, np.arctan2(s * R[..., k, j], R[..., j, j]), a)
    c = np.where(lock, 0.0, c)
    return np.stack([a, b, c], axis=-1)


# ------------------------------------------------------------------------------ best fits


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def smallest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) turning unit vector ``a`` (3,) onto unit vectors ``b`` (N, 3) about
    the axis ``a × b`` (no twist about either vector); opposite vectors get a half turn about an
    axis perpendicular to ``a``."""
    a = np.broadcast_to(a, b.shape)
    v = np.cross(a, b)
    c = np.einsum("nd,nd->n", a, b)
    K = np.zeros(b.shape[:1] + (3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    K -= K.transpose(0, 2, 1)
    opposite = c < -1 + 1e-9
    R = np.eye(3) + K + K @ K / np.where(opposite, 1.0, 1.0 + c)[:, None, None]
    if opposite.any():  # half turn about any axis perpendicular to a
        n = np.cross(a[opposite], (1.0, 0.0, 0.0))
        n = np.where(np.linalg.norm(n, axis=-1, keepdims=True) < 1e-6, np.cross(a[opposite], (0.0, 1.0, 0.0)), n)
        n = _unit(n)
        R[opposite] = 2 * n[:, :, None] * n[:, None, :] - np.eye(3)
    return R


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) R minimising sum_k |R src_k - dst_k|^2 (proper rotations, no
    reflection); ``src`` (K, 3) or (N, K, 3), ``dst`` (N, K, 3)."""
    H = np.einsum("nkd,nke->nde" if np.ndim(src) == 3 else "kd,nke->nde", src, dst)
    U, _, Vt = np.linalg.svd(H)
    V = Vt.transpose(0, 2, 1)
    d = np.sign(np.linalg.det(V @ U.transpose(0, 2, 1)))
    V[:, :, 2] *= np.where(d == 0, 1.0, d)[:, None]
    return V @ U.transpose(0, 2, 1)
