"""Export lifted poses: a floor-aligned world frame and NPZ / JSON / CSV / BVH / HTML files.

Frames of reference (metres):

* **camera**: the lifter's output, x right, y down, z forward (away from the camera).
* **world** (:func:`camera_to_floor`): right-handed, Z up, floor at z = 0, origin on the floor
  below the first frame's pelvis; X is the camera's x (right) laid flat on the floor and
  Y = Z x X points away from the camera along the floor.

The floor: the up direction is the normal of a plane fitted to the lowest ankle of each frame when
those points spread over the floor in two directions (>= ``MIN_SPREAD`` standard deviation
each); when they spread along one line only (walking straight), the mean spine direction with
its component along that line removed; otherwise (standing in place) the mean spine (pelvis →
thorax) direction. A fitted normal more than ``MAX_TILT_DEG`` from the spine is not trusted
either. The floor lies ``ANKLE_HEIGHT`` (the height of the ankle joint above the sole) below the
lowest ankle over the whole sequence, so the lowest ankle ends at z = ``ANKLE_HEIGHT``. Skeletons
without ankles use their lowest joint and no offset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.formats import atomic_path
from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton

ANKLE_HEIGHT = 0.08
MIN_SPREAD = 0.15
MAX_TILT_DEG = 35.0
CAMERA_FRAME = "camera: x right, y down, z forward (metres)"
WORLD_FRAME = ("world: Z up, floor at z=0, origin on the floor below the first frame's pelvis, "
               "X = camera right laid on the floor, Y = away from the camera (metres)")


def _check(positions, skeleton: Skeleton, name: str = "positions", dims: int = 3) -> np.ndarray:
    P = np.asarray(positions, dtype=np.float64)
    shape = (skeleton.num_joints, dims) if dims else (skeleton.num_joints,)
    if P.ndim != 1 + len(shape) or P.shape[1:] != shape or len(P) == 0:
        raise PoseliftError(f"expected {name} of shape (frames, {', '.join(map(str, shape))}), got {P.shape}")
    return P


def _normalised(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def floor_transform(positions_cam, skeleton: Skeleton = H36M17) -> tuple[np.ndarray, np.ndarray]:
    """The world frame of :func:`camera_to_floor` as ``(R, origin)``: world = R @ (camera - origin).

    ``R`` (3, 3) has the world X, Y, Z axes in camera coordinates as rows; ``origin`` (3,) is the
    world origin in camera coordinates. See the module docstring for how the floor is found.
    """
    P = _check(positions_cam, skeleton, "positions_cam")
    if not np.isfinite(P).all():
        raise PoseliftError("positions_cam contain NaN or infinite values")
    names = skeleton.joint_names
    pelvis = skeleton.parents.index(-1) if "pelvis" not in names else names.index("pelvis")
    thorax = names.index("thorax") if "thorax" in names else int(np.argmin(P.mean(0)[:, 1]))  # else: highest
    spine = _normalised(P[:, thorax] - P[:, pelvis])
    up = _normalised(spine.mean(0))
    feet = [j for j, n in enumerate(names) if "ankle" in n] or list(range(skeleton.num_joints))
    offset = ANKLE_HEIGHT if len(feet) < skeleton.num_joints else 0.0

    spine_up = up
    for _ in range(3):  # which foot is lowest depends on the up estimate: refine a few times
        lowest = P[np.arange(len(P)), np.array(feet)[(P[:, feet] @ up).argmin(1)]]  # (T, 3)
        _, s, vt = np.linalg.svd(lowest - lowest.mean(0), full_matrices=False)
        spread = s / np.sqrt(len(P))
        up = spine_up
        if len(spread) == 3 and spread[1] > MIN_SPREAD:  # the points cover an area: fit a plane
            normal = vt[2] * np.sign(vt[2] @ spine_up)
            if normal @ spine_up > np.cos(np.radians(MAX_TILT_DEG)):
                up = normal
        elif len(spread) >= 2 and spread[0] > MIN_SPREAD:  # a line on the floor: up is perpendicular to it
            flat = spine_up - (spine_up @ vt[0]) * vt[0]
            if np.linalg.norm(flat) > np.cos(np.radians(MAX_TILT_DEG)):
                up = _normalised(flat)

    x = np.array([1.0, 0.0, 0.0]) - up[0] * up  # the camera's right, laid on the floor
    if np.linalg.norm(x) < 0.1:  # camera right points (almost) up: use its forward axis
        x = np.array([0.0, 0.0, 1.0]) - up[2] * up
    x = _normalised(x)
    R = np.stack([x, np.cross(up, x), up])
    floor = (P[:, feet] @ up).min() - offset
    origin = P[0, pelvis] - (P[0, pelvis] @ up - floor) * up
    return R, origin


def camera_to_floor(positions_cam, skeleton: Skeleton = H36M17) -> np.ndarray:
    """Camera-frame poses (T, J, 3) → the floor-aligned world frame (T, J, 3), metres, Z up."""
    R, origin = floor_transform(positions_cam, skeleton)
    return (np.asarray(positions_cam, dtype=np.float64) - origin) @ R.T


def _inputs(positions_cam, keypoints_2d, scores, fps, skeleton):
    P = _check(positions_cam, skeleton, "positions_cam")
    if not fps > 0:
        raise PoseliftError(f"fps must be positive, got {fps}")
    out = {"positions_cam": P}
    for name, value, dims in (("keypoints_2d", keypoints_2d, 2), ("scores", scores, 0)):
        if value is not None:
            out[name] = _check(value, skeleton, name, dims)
            if len(out[name]) != len(P):
                raise PoseliftError(f"{name} has {len(out[name])} frames, positions_cam has {len(P)}")
    R, origin = floor_transform(P, skeleton)
    out["positions_world"] = (P - origin) @ R.T
    out["world_rotation"], out["world_origin"] = R, origin
    return out


def write_npz(path, positions_cam, keypoints_2d=None, scores=None, fps: float = 50.0,
              skeleton: Skeleton = H36M17, overwrite: bool = False) -> Path:
    """Write an ``.npz`` (no pickles) with float32 arrays ``positions_cam`` (T, J, 3),
    ``positions_world`` (T, J, 3), ``keypoints_2d`` (T, J, 2) pixels and ``scores`` (T, J) (these
    two only when given), ``world_rotation`` (3, 3) and ``world_origin`` (3,) (world = R @ (cam -
    origin)), ``time_s`` (T,), and ``joint_names``, ``parents``, ``skeleton``, ``fps``.
    """
    d = _inputs(positions_cam, keypoints_2d, scores, fps, skeleton)
    arrays = {k: v.astype(np.float32) for k, v in d.items()}
    arrays.update(time_s=np.arange(len(d["positions_cam"])) / float(fps), fps=np.float64(fps),
                  joint_names=np.array(skeleton.joint_names), parents=np.array(skeleton.parents),
                  skeleton=np.str_(skeleton.name))
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return Path(path)


def _rounded(a: np.ndarray, decimals: int) -> list:
    """Nested lists of rounded floats, ``None`` for NaN/inf (JSON has no NaN)."""
    return np.where(np.isfinite(a), np.round(a, decimals), None).tolist()


def write_json(path, positions_cam, keypoints_2d=None, scores=None, fps: float = 50.0,
               skeleton: Skeleton = H36M17, overwrite: bool = False) -> Path:
    """Write a JSON document: metadata (skeleton, ``joint_names``, ``parents``, ``fps``, frames of
    reference, ``world_from_camera``) and ``frames``: one object per frame with ``frame``,
    ``time_s``, ``camera`` and ``world`` ([J][3] metres, 0.01 mm), ``keypoints_2d`` ([J][2] pixels)
    and ``scores`` ([J]) when given. Non-finite numbers are written as null.
    """
    import json

    d = _inputs(positions_cam, keypoints_2d, scores, fps, skeleton)
    n = len(d["positions_cam"])
    doc = {
        "format": "poselift.poses3d", "version": 1, "skeleton": skeleton.name,
        "joint_names": list(skeleton.joint_names), "parents": list(skeleton.parents),
        "fps": float(fps), "num_frames": n,
        "units": {"camera": "metres", "world": "metres", "keypoints_2d": "pixels"},
        "camera_frame": CAMERA_FRAME, "world_frame": WORLD_FRAME,
        "world_from_camera": {"rotation": _rounded(d["world_rotation"], 8), "origin": _rounded(d["world_origin"], 6),
                              "formula": "world = rotation @ (camera - origin)"},
        "frames": [],
    }
    fields = [("camera", "positions_cam", 5), ("world", "positions_world", 5), ("keypoints_2d", "keypoints_2d", 2),
              ("scores", "scores", 4)]
    fields = [f for f in fields if f[1] in d]
    head = json.dumps(doc, separators=(",", ":"))
    assert head.endswith('"frames":[]}')
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:  # frame by frame: memory does not grow with length
            fh.write(head[:-2])
            for start in range(0, n, 2048):
                part = {name: _rounded(d[key][start:start + 2048], decimals) for name, key, decimals in fields}
                for i in range(len(part["camera"])):
                    t = start + i
                    frame = {"frame": t, "time_s": round(t / fps, 6), **{k: v[i] for k, v in part.items()}}
                    fh.write(("," if t else "") + json.dumps(frame, separators=(",", ":")))
            fh.write("]}\n")
    return Path(path)


def write_csv(path, positions, fps: float = 50.0, skeleton: Skeleton = H36M17, overwrite: bool = False) -> Path:
    """Write one frame of reference as CSV: a header ``frame,time_s,<joint>_x,<joint>_y,<joint>_z,...``
    and one row per frame (metres, 0.01 mm; NaN as ``nan``). :func:`export_all` writes the camera
    and the world frame to two files.
    """
    P = _check(positions, skeleton)
    if not fps > 0:
        raise PoseliftError(f"fps must be positive, got {fps}")
    header = ",".join(["frame", "time_s"] + [f"{n}_{a}" for n in skeleton.joint_names for a in "xyz"])
    T = len(P)
    table = np.concatenate([np.arange(T)[:, None], np.arange(T)[:, None] / fps, P.reshape(T, -1)], axis=1)
    table[np.abs(table) < 5e-6] = 0.0  # no "-0.00000"
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "w", encoding="ascii", newline="") as fh:
            np.savetxt(fh, table, fmt=["%d", "%.6f"] + ["%.5f"] * P[0].size, delimiter=",",
                       header=header, comments="")
    return Path(path)


def export_all(out_dir, stem: str, positions_cam, keypoints_2d=None, scores=None, fps: float = 50.0,
               skeleton: Skeleton = H36M17, overwrite: bool = False) -> dict[str, Path]:
    """Write every export of one sequence into ``out_dir``; returns ``{kind: path}``.

    Kinds and files: ``npz`` ``<stem>.npz``, ``json`` ``<stem>.json``, ``csv_camera``
    ``<stem>_camera.csv``, ``csv_world`` ``<stem>_world.csv``, ``bvh`` ``<stem>.bvh`` (world
    frame) and ``html`` ``<stem>.html`` (interactive 3D view of the world frame). Without
    ``overwrite`` nothing is written if any of these files exists already.
    """
    from .bvh import write_bvh
    from .html import write_html

    out_dir = Path(out_dir)
    paths = {"npz": f"{stem}.npz", "json": f"{stem}.json", "csv_camera": f"{stem}_camera.csv",
             "csv_world": f"{stem}_world.csv", "bvh": f"{stem}.bvh", "html": f"{stem}.html"}
    paths = {k: out_dir / v for k, v in paths.items()}
    if not overwrite:
        for p in paths.values():
            if p.exists():
                raise PoseliftError("exists already (use --overwrite to replace it)", p)
    world = _inputs(positions_cam, keypoints_2d, scores, fps, skeleton)["positions_world"]
    write_npz(paths["npz"], positions_cam, keypoints_2d, scores, fps, skeleton, overwrite)
    write_json(paths["json"], positions_cam, keypoints_2d, scores, fps, skeleton, overwrite)
    write_csv(paths["csv_camera"], positions_cam, fps, skeleton, overwrite)
    write_csv(paths["csv_world"], world, fps, skeleton, overwrite)
    write_bvh(paths["bvh"], world, skeleton, fps, overwrite)
    write_html(paths["html"], world, skeleton, fps, title=stem, overwrite=overwrite)
    return paths
