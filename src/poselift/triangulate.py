"""Multi-view triangulation of 2D keypoints: weighted linear solution, robust re-weighting,
left/right swap repair.

Pure functions on arrays with leading dimensions. Cameras follow :mod:`poselift.camera`
(``R_c2w`` camera-to-world, ``t`` camera centre in world, metres). 2D points enter as
intrinsics-normalised image coordinates ``u = (px - c) / f`` (pinhole, undistorted; use
:func:`undistorted_rays` for pixels of a camera with lens distortion).

Linear solution: each view gives two equations in the world point X,
``(u r3 - r1) . (X - t) = 0`` and ``(v r3 - r2) . (X - t) = 0`` with ``r_i`` the camera
axes (columns of ``R_c2w``), solved by weighted least squares per point.
Robust solution (:func:`triangulate_robust`): iteratively re-weighted least squares, each
view's weight being its confidence times a Cauchy weight of its reprojection error in pixels
(``scale_px``), so that one wrong view (a swapped limb, a missed joint) stops pulling.
"""

from __future__ import annotations

import warnings

import numpy as np

from .camera import Camera
from .errors import PoseliftError


def undistorted_rays(px: np.ndarray, camera: Camera, iterations: int = 10) -> np.ndarray:
    """Pixels (..., 2) of ``camera`` → normalised pinhole coordinates (..., 2), lens
    distortion removed by fixed-point iteration (exact to ~1e-9 for the mild distortion of
    real lenses)."""
    px = np.asarray(px, dtype=np.float64)
    xd = (px - np.asarray(camera.center)) / np.asarray(camera.focal)
    k, p = np.asarray(camera.radial, dtype=np.float64), np.asarray(camera.tangential, dtype=np.float64)
    if not (k.any() or p.any()):
        return xd
    xn = xd.copy()
    for _ in range(iterations):
        r2 = (xn * xn).sum(-1, keepdims=True)
        radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3 + (p * xn).sum(-1, keepdims=True)
        xn = (xd - p * r2) / radial
    return xn


def _stack_cameras(cameras) -> tuple[np.ndarray, np.ndarray]:
    R = np.stack([np.asarray(c.R_c2w, dtype=np.float64) for c in cameras])  # (V, 3, 3)
    t = np.stack([np.asarray(c.t, dtype=np.float64) for c in cameras])  # (V, 3)
    return R, t


def triangulate_linear(uv: np.ndarray, cameras, weights: np.ndarray | None = None) -> np.ndarray:
    """Normalised 2D points ``uv`` (V, ..., 2) seen by ``cameras`` (V of them) → world points
    (..., 3). ``weights`` (V, ...) ≥ 0 per view and point (NaN points get weight 0); points
    with fewer than two weighted views come out NaN."""
    uv = np.asarray(uv, dtype=np.float64)
    V = len(cameras)
    if uv.shape[0] != V or uv.shape[-1] != 2:
        raise PoseliftError(f"expected 2D points (views={V}, ..., 2), got shape {uv.shape}")
    w = np.ones(uv.shape[:-1]) if weights is None else np.broadcast_to(np.asarray(weights, dtype=np.float64),
                                                                         uv.shape[:-1]).copy()
    ok = np.isfinite(uv).all(-1) & np.isfinite(w) & (w > 0)
    w = np.where(ok, w, 0.0)
    uv = np.where(ok[..., None], uv, 0.0)
    R, t = _stack_cameras(cameras)
    lead = uv.shape[1:-1]
    extra = (1,) * len(lead)
    r1 = R[:, :, 0].reshape(V, *extra, 3)
    r2 = R[:, :, 1].reshape(V, *extra, 3)
    r3 = R[:, :, 2].reshape(V, *extra, 3)
    tt = t.reshape(V, *extra, 3)
    rows = np.stack([uv[..., 0:1] * r3 - r1, uv[..., 1:2] * r3 - r2], axis=-2)  # (V, ..., 2, 3)
    rhs = (rows * tt[..., None, :]).sum(-1)  # (V, ..., 2)
    sw = np.sqrt(w)[..., None]
    A = rows * sw[..., None]
    b = rhs * sw
    AtA = np.einsum("v...ki,v...kj->...ij", A, A)
    Atb = np.einsum("v...ki,v...k->...i", A, b)
    views = (w > 0).sum(0)
    good = views >= 2
    AtA = np.where(good[..., None, None], AtA, np.eye(3))
    X = np.linalg.solve(AtA + 1e-12 * np.eye(3), Atb[..., None])[..., 0]
    return np.where(good[..., None], X, np.nan)


def project_points(X: np.ndarray, cameras) -> np.ndarray:
    """World points (..., 3) → normalised pinhole coordinates in each camera (V, ..., 2)."""
    X = np.asarray(X, dtype=np.float64)
    out = []
    for c in cameras:
        Xc = c.world_to_camera(X)
        out.append(Xc[..., :2] / Xc[..., 2:3])
    return np.stack(out)


def reprojection_px(X: np.ndarray, uv: np.ndarray, cameras) -> np.ndarray:
    """Reprojection error in pixels (V, ...) of world points ``X`` (..., 3) against the
    normalised observations ``uv`` (V, ..., 2) (NaN where either is missing)."""
    f = np.array([np.mean(c.focal) for c in cameras]).reshape(-1, *(1,) * (np.ndim(uv) - 2))
    return np.linalg.norm(project_points(X, cameras) - uv, axis=-1) * f


def triangulate_robust(uv: np.ndarray, cameras, confidence: np.ndarray | None = None, scale_px: float = 20.0,
                       iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Robust triangulation: (world points (..., 3), final view weights (V, ...)).

    Iteratively re-weighted least squares: weight = confidence × 1 / (1 + (e / scale_px)²),
    ``e`` the view's reprojection error in pixels under the current estimate (a Cauchy
    M-estimator). Starts from the confidence-weighted linear solution."""
    uv = np.asarray(uv, dtype=np.float64)
    conf = np.ones(uv.shape[:-1]) if confidence is None else np.nan_to_num(np.asarray(confidence, dtype=np.float64))
    X = triangulate_linear(uv, cameras, conf)
    w = conf
    for _ in range(iterations):
        e = reprojection_px(np.nan_to_num(X), uv, cameras)
        w = conf / (1 + (np.nan_to_num(e, nan=np.inf) / scale_px) ** 2)
        X_new = triangulate_linear(uv, cameras, w)
        X = np.where(np.isfinite(X_new), X_new, X)
    return X, w


def repair_left_right(uv: np.ndarray, cameras, flip_permutation, confidence: np.ndarray | None = None,
                      scale_px: float = 20.0, margin: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Undo whole-body left/right swaps of a 2D detector, view by view and frame by frame.

    ``uv`` (V, T, J, 2) normalised keypoints; ``flip_permutation`` the layout's left/right
    index swap. For each view and frame the points are triangulated from the *other* views
    and the view's keypoints are compared, as given and with left and right exchanged, by
    median reprojection error; the exchanged ones are kept where their error is below
    ``margin`` × the given ones'. Returns (repaired uv, swapped (V, T) bool)."""
    uv = np.array(uv, dtype=np.float64)
    V = uv.shape[0]
    conf = np.ones(uv.shape[:-1]) if confidence is None else np.array(confidence, dtype=np.float64)
    perm = list(flip_permutation)
    swapped = np.zeros(uv.shape[:2], dtype=bool)
    if V < 3:  # with two views there is no independent reference
        return uv, swapped
    for v in range(V):
        others = [o for o in range(V) if o != v]
        X, _ = triangulate_robust(uv[others], [cameras[o] for o in others], conf[others], scale_px)
        with warnings.catch_warnings():  # frames without the person in this view: NaN, never swapped
            warnings.simplefilter("ignore", RuntimeWarning)
            e_as = np.nanmedian(reprojection_px(X, uv[v:v + 1], [cameras[v]])[0], axis=-1)
            e_sw = np.nanmedian(reprojection_px(X, uv[v:v + 1, :, perm], [cameras[v]])[0], axis=-1)
        swapped[v] = np.isfinite(e_sw) & np.isfinite(e_as) & (e_sw < margin * e_as)
    uv[swapped] = uv[swapped][:, perm]
    conf[swapped] = conf[swapped][:, perm]
    return uv, swapped


def estimate_frame_offsets(uv: np.ndarray, cameras, confidence: np.ndarray | None = None, max_shift: int = 6,
                           scale_px: float = 20.0) -> np.ndarray:
    """Integer frame offset of each view (V,) for unsynchronised cameras: view ``v``'s frame
    ``i + s_v`` shows instant ``i``.

    Greedy: each round, every view's shift in [-max_shift, max_shift] is scored by the median
    reprojection error of the view against the robust triangulation of the others (as
    currently aligned); the view whose best shift lowers its error most is moved, and rounds
    go on until no view gains. One late camera thus cannot drag the others."""
    uv = np.asarray(uv, dtype=np.float64)
    V, T = uv.shape[:2]
    conf = np.ones(uv.shape[:-1]) if confidence is None else np.nan_to_num(np.asarray(confidence, dtype=np.float64))
    shifts = np.zeros(V, dtype=int)
    for _ in range(2 * V):
        cur = np.stack([shift_frames(uv[v], shifts[v]) for v in range(V)])
        cur_conf = np.nan_to_num(np.stack([shift_frames(conf[v], shifts[v]) for v in range(V)]))
        best = (0.0, None, 0)
        for v in range(V):
            others = [o for o in range(V) if o != v]
            X, _ = triangulate_robust(cur[others], [cameras[o] for o in others], cur_conf[others], scale_px)
            errors = {}
            for s in range(-max_shift, max_shift + 1):
                a, b = max(0, -s), min(T, T - s)  # frames i with i + s inside view v
                if b - a < T // 2:
                    continue
                moved = shift_frames(uv[v], shifts[v] + s)[a:b]
                errors[s] = np.nanmedian(reprojection_px(X[a:b], moved[None], [cameras[v]]))
            s_best = min(errors, key=errors.get)
            gain = errors[0] - errors[s_best]
            if s_best != 0 and gain > best[0]:
                best = (gain, v, s_best)
        if best[1] is None:
            break
        shifts[best[1]] += best[2]
    return shifts - int(np.round(np.median(shifts)))


def shift_frames(a: np.ndarray, shift: int, axis: int = 0) -> np.ndarray:
    """``out[i] = a[i + shift]`` along ``axis``, NaN (or 0 for non-float) where out of range."""
    a = np.asarray(a)
    out = np.full_like(a, np.nan if np.issubdtype(a.dtype, np.floating) else 0)
    T = a.shape[axis]
    src = slice(max(0, shift), min(T, T + shift))
    dst = slice(max(0, -shift), min(T, T - shift))
    idx_out = [slice(None)] * a.ndim
    idx_in = [slice(None)] * a.ndim
    idx_out[axis], idx_in[axis] = dst, src
    out[tuple(idx_out)] = a[tuple(idx_in)]
    return out

