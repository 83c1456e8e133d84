"""Camera geometry: screen normalisation, world<->camera transforms, projection.

Pure functions with arbitrary leading dimensions, numpy arrays or torch tensors alike.
Conventions (those of Human3.6M and the VideoPose3D release):

* rotations are camera-to-world, given as a quaternion (w, x, y, z) or a 3x3 matrix
  (:mod:`poselift.rotations`);
  ``X_cam = R^T (X_world - t)``, ``X_world = R X_cam + t``, ``t`` the camera centre in world;
* projection with distortion: ``x_n = clip(X/Z, Y/Z; -1, 1)``, ``r2 = |x_n|^2``,
  ``x_d = x_n (1 + k1 r2 + k2 r2^2 + k3 r2^3 + p . x_n) + p r2``, ``pixel = f x_d + c``;
* normalised screen coordinates map the image width to [-1, 1], aspect preserved.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import _array as A
from .errors import PoseliftError
from .rotations import quaternion_conjugate, quaternion_rotate, quaternion_to_matrix, rotate

# --------------------------------------------------------------------------- screen


def normalize_screen_coordinates(x, w, h):
    """Pixels (..., 2) → normalised coordinates: x in [-1, 1], y scaled by the same factor."""
    return x / w * 2 - A.as_like([1.0, h / w], x)


def image_coordinates(x, w, h):
    """Inverse of :func:`normalize_screen_coordinates`."""
    return (x + A.as_like([1.0, h / w], x)) * w / 2


# ------------------------------------------------------------------------ rotations
# one implementation in poselift.rotations; the names this module has always had:

qrot = quaternion_rotate
qinverse = quaternion_conjugate
_rotate = rotate


def world_to_camera(X, R, t):
    """World points (..., 3) → camera frame; ``R`` camera-to-world, ``t`` camera centre."""
    return _rotate(R, X - A.as_like(t, X), inverse=True)


def camera_to_world(X, R, t):
    """Camera-frame points (..., 3) → world; inverse of :func:`world_to_camera`."""
    return _rotate(R, X) + A.as_like(t, X)


# ----------------------------------------------------------------------- projection


def project_to_2d(X, focal, center, radial=(0.0, 0.0, 0.0), tangential=(0.0, 0.0)):
    """Camera-frame points (..., 3) → image coordinates (..., 2) with lens distortion.

    Intrinsics broadcast against the leading dimensions of ``X`` (e.g. ``focal`` of
    shape (2,) or (N, 1, 2) for ``X`` (N, J, 3)). With pixel intrinsics the result is
    in pixels; with normalised intrinsics it is in normalised coordinates.
    """
    focal, center = A.as_like(focal, X), A.as_like(center, X)
    k, p = A.as_like(radial, X), A.as_like(tangential, X)
    xn = A.clip(X[..., :2] / X[..., 2:3], -1.0, 1.0)
    r2 = A.sum_keep(xn * xn)
    radial_term = 1 + k[..., 0:1] * r2 + k[..., 1:2] * r2**2 + k[..., 2:3] * r2**3
    tan_term = A.sum_keep(p * xn)
    xd = xn * (radial_term + tan_term) + p * r2
    return focal * xd + center


def project_to_2d_linear(X, focal, center):
    """Pinhole projection without distortion (and without clipping)."""
    focal, center = A.as_like(focal, X), A.as_like(center, X)
    return focal * X[..., :2] / X[..., 2:3] + center


# Packed intrinsics, the layout of the VideoPose3D release: focal (2), centre (2),
# radial k1..k3 (3), tangential p1, p2 (2); here in normalised screen units.
INTRINSICS_SIZE = 9


def project_with_intrinsics(X, intrinsics, distortion: bool = True):
    """Camera-frame points (..., J, 3) → 2D (..., J, 2) through packed ``intrinsics`` (..., 9).

    The projection layer of semi-supervised training: ``intrinsics`` has the leading
    dimensions of ``X`` without the joint axis (one camera per pose). With normalised
    intrinsics (:meth:`Camera.normalized_intrinsics`) the result is in normalised screen
    coordinates, the model's input space. ``distortion=False`` is the linear (pinhole)
    projection, no clipping.
    """
    K = intrinsics[..., None, :]  # broadcast over joints
    if distortion:
        return project_to_2d(X, K[..., 0:2], K[..., 2:4], K[..., 4:7], K[..., 7:9])
    return project_to_2d_linear(X, K[..., 0:2], K[..., 2:4])


def flip_intrinsics(intrinsics):
    """Packed intrinsics (..., 9) of the horizontally mirrored image (x → -x in normalised units).

    Mirroring negates the principal point's x and the first tangential coefficient p1, so
    that projecting the mirrored 3D gives the mirrored 2D (see :func:`project_to_2d`).
    """
    out = intrinsics.clone() if A.is_torch(intrinsics) else np.array(intrinsics, copy=True)
    out[..., 2] = -out[..., 2]
    out[..., 7] = -out[..., 7]
    return out


def intrinsic_from_screen(xy, intrinsics):
    """Normalised screen coordinates (..., J, 2) → (px - c) / f, given packed intrinsics (..., 9).

    The trajectory model's input space; equal to :func:`~poselift.data.dataset.intrinsic_normalize`
    of the same pixels.
    """
    K = intrinsics[..., None, :]
    return (xy - K[..., 2:4]) / K[..., 0:2]


# ---------------------------------------------------------------------- camera type


@dataclass(frozen=True)
class Camera:
    """A calibrated camera. Units: pixels for intrinsics, metres for ``t``."""

    id: str
    res_w: int
    res_h: int
    focal: tuple[float, float]
    center: tuple[float, float]
    radial: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tangential: tuple[float, float] = (0.0, 0.0)
    R_c2w: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def world_to_camera(self, X):
        return world_to_camera(X, self.R_c2w, self.t)

    def camera_to_world(self, X):
        return camera_to_world(X, self.R_c2w, self.t)

    def project(self, X_cam, distortion: bool = True):
        """Camera-frame points (..., 3) in metres → pixels (..., 2)."""
        if distortion:
            return project_to_2d(X_cam, self.focal, self.center, self.radial, self.tangential)
        return project_to_2d_linear(X_cam, self.focal, self.center)

    def normalize(self, px):
        return normalize_screen_coordinates(px, self.res_w, self.res_h)

    def unnormalize(self, xy):
        return image_coordinates(xy, self.res_w, self.res_h)

    def normalized_intrinsics(self) -> np.ndarray:
        """(9,) focal(2), centre(2), k(3), p(2) in normalised screen units, as VideoPose3D."""
        f = np.asarray(self.focal) / self.res_w * 2
        c = normalize_screen_coordinates(np.asarray(self.center, dtype=np.float64), self.res_w, self.res_h)
        return np.concatenate([f, c, self.radial, self.tangential]).astype(np.float32)

    def with_extrinsics(self, R_c2w, t) -> "Camera":
        return replace(self, R_c2w=np.asarray(R_c2w, dtype=np.float64), t=tuple(float(v) for v in t))


def load_calibration_json(path, subject: str | None = None) -> dict[str, list[Camera]]:
    """Read a ``cameras.json`` in the layout of ``shared/data/h36m/cameras.json``.

    Returns ``{subject: [Camera, ...]}`` (translation converted from mm to metres).
    """
    from .data.filetype import check_input_file

    path = Path(path)
    check_input_file(path, "a camera calibration JSON file", max_bytes=64 << 20, missing="camera file not found")
    try:
        spec = json.loads(path.read_text())
        intr = spec["intrinsics"]
        extr = spec["extrinsics"]
    except FileNotFoundError:
        raise PoseliftError("camera file not found", path) from None
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise PoseliftError(f"not a valid camera calibration file ({e.__class__.__name__}: {e})", path) from None
    out = {}
    for subj, cams in extr.items():
        if subject is not None and subj != subject:
            continue
        if all(not c for c in cams):  # subjects without a calibration (e.g. Human3.6M S2-S4)
            continue
        if len(cams) != len(intr):
            raise PoseliftError(f"subject {subj}: {len(cams)} extrinsics for {len(intr)} cameras", path)
        lst = []
        for ci, ce in zip(intr, cams):
            lst.append(
                Camera(
                    id=str(ci["id"]),
                    res_w=int(ci["res_w"]),
                    res_h=int(ci["res_h"]),
                    focal=tuple(ci.get("focal_length", (ci["res_w"], ci["res_w"]))),
                    center=tuple(ci.get("center", (ci["res_w"] / 2, ci["res_h"] / 2))),
                    radial=tuple(ci.get("radial_distortion", (0.0, 0.0, 0.0))),
                    tangential=tuple(ci.get("tangential_distortion", (0.0, 0.0))),
                    R_c2w=quaternion_to_matrix(ce["orientation"]),
                    t=tuple(float(v) / 1000.0 for v in ce["translation"]),
                )
            )
        out[subj] = lst
    if subject is not None and subject not in out:
        raise PoseliftError(f"no subject {subject!r} in calibration (have {', '.join(extr)})", path)
    return out


def look_at_camera(
    eye, target, res=(1000, 1000), fov_deg: float = 47.0, cam_id: str = "virtual", up=(0.0, 0.0, 1.0)
) -> Camera:
    """A distortion-free camera at ``eye`` looking at ``target`` (world Z up), x right, y down."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        raise PoseliftError("camera looks along the up axis")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=1)  # columns = camera axes in world: camera-to-world
    w, h = res
    f = w / 2 / math.tan(math.radians(fov_deg) / 2)
    return Camera(id=cam_id, res_w=int(w), res_h=int(h), focal=(f, f), center=(w / 2, h / 2), R_c2w=R, t=tuple(eye))


def solve_root_translation(pose_rel: np.ndarray, keypoints: np.ndarray, weights: np.ndarray | None = None,
                           min_depth: float = 0.5) -> np.ndarray:
    """Camera-frame root position per frame from a root-relative pose and its 2D keypoints.

    ``pose_rel`` (T, J, 3) metres, ``keypoints`` (T, J, 2) in intrinsics-normalised image
    coordinates ((px - c) / f, undistorted). Minimises, per frame, the linearised
    reprojection error ``(P + t)_xy - u (P + t)_z`` over the joints (weighted least squares
    in t, 2J equations for 3 unknowns). Returns (T, 3); depths are clamped to ``min_depth``.
    """
    P = np.asarray(pose_rel, dtype=np.float64)
    u = np.asarray(keypoints, dtype=np.float64)
    w = np.ones(P.shape[:2]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = np.where(np.isfinite(u).all(-1), w, 0.0)
    u = np.nan_to_num(u)
    T, J = P.shape[:2]
    A = np.zeros((T, J, 2, 3))
    A[..., 0, 0] = 1.0
    A[..., 1, 1] = 1.0
    A[..., 0, 2] = -u[..., 0]
    A[..., 1, 2] = -u[..., 1]
    b = u * P[..., 2:3] - P[..., :2]  # (T, J, 2)
    sw = np.sqrt(w)[..., None]
    A = (A * sw[..., None]).reshape(T, 2 * J, 3)
    b = (b * sw).reshape(T, 2 * J)
    AtA = A.transpose(0, 2, 1) @ A + 1e-9 * np.eye(3)
    t = np.linalg.solve(AtA, (A.transpose(0, 2, 1) @ b[..., None]))[..., 0]
    t[:, 2] = np.maximum(t[:, 2], min_depth)
    return t
