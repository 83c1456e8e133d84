"""Export lifted poses: a floor-aligned world frame and NPZ / JSON / CSV / BVH / HTML files.

Frames of reference (metres):

* **camera**: the lifter's output, x right, y down, z forward (away from the camera).
* **world** (:func:`camera_to_floor`): right-handed, Z up, floor at z = 0, origin on the floor
  below the first frame's pelvis; X is the camera's x (right) laid flat on the floor and
  Y = Z x X points away from the camera along the floor.

The floor: the up direction is the normal of the plane that most of the lowest ankles (one per
frame) stand on (RANSAC with ``FLOOR_INLIER``, then least squares: a person on a step or a box
stands on two levels) when those points spread over the floor in two directions (>=
``MIN_SPREAD`` standard deviation each); when they spread along one line only (walking straight), the mean spine direction with
its component along that line removed; otherwise (standing in place) the mean spine (pelvis →
thorax) direction. A fitted normal more than ``MAX_TILT_DEG`` from the spine is not trusted
either. The floor lies ``ANKLE_HEIGHT`` (the height of the ankle joint above the sole) below the
lowest ankle over the whole sequence, so the lowest ankle ends at z = ``ANKLE_HEIGHT``. Skeletons
without ankles use their lowest joint and no offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contact import ANKLE_HEIGHT  # the ankle joint's height above the sole
from ..data.formats import atomic_path
from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton

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
            normal = _floor_normal(lowest, spine_up)
            if normal is not None:
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


FLOOR_INLIER = 0.05  # metres: a lowest ankle this close to a plane stands on it


def _floor_normal(points: np.ndarray, spine_up: np.ndarray, tries: int = 300) -> np.ndarray | None:
    """The normal of the plane most of the lowest-ankle ``points`` (N, 3) stand on, within
    ``MAX_TILT_DEG`` of ``spine_up``; None when there is none. RANSAC (a fixed seed: the same
    input gives the same frame) then a least-squares fit to the inliers: a person who climbs a
    step or a box stands on two levels, and one plane through both would tilt the world."""
    rng = np.random.default_rng(0)
    cos_max = np.cos(np.radians(MAX_TILT_DEG))
    best, best_count = None, 0
    for _ in range(tries):
        a, b, c = points[rng.choice(len(points), 3, replace=False)]
        n = np.cross(b - a, c - a)
        if np.linalg.norm(n) < 1e-9:
            continue
        n = n / np.linalg.norm(n) * np.sign(n @ spine_up or 1.0)
        if n @ spine_up < cos_max:
            continue
        inliers = np.abs((points - a) @ n) < FLOOR_INLIER
        if inliers.sum() > best_count:
            best, best_count = inliers, int(inliers.sum())
    if best is None or best_count < max(3, len(points) // 4):
        return None
    q = points[best]
    _, s, vt = np.linalg.svd(q - q.mean(0), full_matrices=False)
    if s[1] / np.sqrt(len(q)) <= MIN_SPREAD:  # the inliers lie along a line: the plane's tilt is unknown
        return None
    normal = vt[2] * np.sign(vt[2] @ spine_up)
    return normal if normal @ spine_up > cos_max else None


def camera_to_floor(positions_cam, skeleton: Skeleton = H36M17) -> np.ndarray:
    """Camera-frame poses (T, J, 3) → the floor-aligned world frame (T, J, 3), metres, Z up."""
    R, origin = floor_transform(positions_cam, skeleton)
    return (np.asarray(positions_cam, dtype=np.float64) - origin) @ R.T


def _world_transform(P: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """:func:`floor_transform` of the frames where every joint is known."""
    whole = np.isfinite(P).all((-1, -2))
    if not whole.any():
        raise PoseliftError("no frame has every joint: cannot find the floor")
    return floor_transform(P[whole], skeleton)


@dataclass
class Motion:
    """One person's lifted motion with everything the exports describe.

    ``positions_cam`` (T, J, 3) metres in the camera frame, joints of ``skeleton``, NaN where
    a frame or a joint was left out (nobody seen, or a gap too long to invent). ``keypoints_2d``
    (T, K, 2) pixels and ``scores`` (T, K) the 2D input in ``layout_2d`` (default: ``skeleton``),
    gap-filled. ``filled`` (T, J) and ``filled_2d`` (T, K): positions invented by interpolation
    over a short gap rather than resting on a detection (3D joints are filled when any 2D joint
    they are computed from is). ``frames`` (T,) the video frame number of each row (default
    0, 1, ...; not contiguous after ``--trim``). ``world_rotation``/``world_origin``: world =
    R @ (camera - origin) (default: :func:`floor_transform` of the complete frames). ``info``:
    JSON-able facts about the run (source, focal length, model...).
    """

    positions_cam: np.ndarray
    fps: float = 50.0
    skeleton: Skeleton = H36M17
    keypoints_2d: np.ndarray | None = None
    scores: np.ndarray | None = None
    layout_2d: Skeleton | None = None
    filled: np.ndarray | None = None
    filled_2d: np.ndarray | None = None
    frames: np.ndarray | None = None
    world_rotation: np.ndarray | None = None
    world_origin: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    times: np.ndarray | None = None  # (T,) seconds of each row from the video's own frame times (else frame / fps)

    def __post_init__(self):
        sk = self.skeleton
        self.positions_cam = _check(self.positions_cam, sk, "positions_cam")
        T = len(self.positions_cam)
        from ..checks import frame_rate

        self.fps = frame_rate("fps", self.fps)  # finite and positive: never Infinity in JSON, never a 0 frame time
        self.fps = float(self.fps)
        if self.keypoints_2d is not None:
            layout = self.layout_2d or sk
            self.layout_2d = layout
            self.keypoints_2d = _check(self.keypoints_2d, layout, "keypoints_2d", 2)
        for name, layout, dims, dtype in (("scores", self.layout_2d or sk, 0, np.float64),
                                          ("filled", sk, 0, bool), ("filled_2d", self.layout_2d or sk, 0, bool)):
            value = getattr(self, name)
            if value is None:
                continue
            arr = _check(value, layout, name, dims).astype(dtype)
            if len(arr) != T:
                raise PoseliftError(f"{name} has {len(arr)} frames, positions_cam has {T}")
            setattr(self, name, arr)
        if self.keypoints_2d is not None and len(self.keypoints_2d) != T:
            raise PoseliftError(f"keypoints_2d has {len(self.keypoints_2d)} frames, positions_cam has {T}")
        self.frames = np.arange(T) if self.frames is None else np.asarray(self.frames, dtype=np.int64)
        if self.frames.shape != (T,):
            raise PoseliftError(f"frames must hold one frame number per row ({T}), got shape {self.frames.shape}")
        if self.times is not None:
            self.times = np.asarray(self.times, dtype=np.float64)
            if self.times.shape != (T,) or not np.isfinite(self.times).all():
                raise PoseliftError(f"times must hold one finite time per row ({T}), got shape {self.times.shape}")
        if self.world_rotation is None or self.world_origin is None:
            self.world_rotation, self.world_origin = _world_transform(self.positions_cam, sk)
        self.world_rotation = np.asarray(self.world_rotation, dtype=np.float64).reshape(3, 3)
        self.world_origin = np.asarray(self.world_origin, dtype=np.float64).reshape(3)

    def __len__(self) -> int:
        return len(self.positions_cam)

    @property
    def positions_world(self) -> np.ndarray:
        """(T, J, 3) the floor-aligned world frame (see the module docstring), NaN kept."""
        return (self.positions_cam - self.world_origin) @ self.world_rotation.T

    @property
    def time_s(self) -> np.ndarray:
        """(T,) seconds from the start of the video: the frames' own times where the video gave
        them (variable frame rate), else frame / fps."""
        return self.frames / self.fps if self.times is None else self.times

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: rows with a 3D pose (not left out)."""
        return np.isfinite(self.positions_cam).all(-1).any(-1)

    @property
    def filled_frame(self) -> np.ndarray:
        """(T,) bool: rows whose whole 2D input was invented (nobody detected in the frame)."""
        flags = self.filled_2d if self.filled_2d is not None else self.filled
        return np.zeros(len(self), bool) if flags is None else flags.all(-1)


def camera_to_floor_nan(positions_cam, skeleton: Skeleton = H36M17) -> np.ndarray:
    """:func:`camera_to_floor` of poses with left-out (NaN) frames or joints: the floor is
    found from the complete frames; NaN stays NaN."""
    return Motion(positions_cam, skeleton=skeleton).positions_world


def _as_motion(motion, **kwargs) -> Motion:
    return motion if isinstance(motion, Motion) else Motion(motion, **kwargs)


def metadata(m: Motion) -> dict:
    """The metadata every export carries (JSON-able)."""
    out = {
        "format": "poselift.motion", "version": 2, "fps": m.fps, "num_frames": len(m),
        "skeleton": m.skeleton.name, "joint_names": list(m.skeleton.joint_names), "parents": list(m.skeleton.parents),
        "units": {"camera": "metres", "world": "metres", "keypoints_2d": "pixels", "time_s": "seconds",
                  "scores": "detector confidence in [0, 1]"},
        "camera_frame": CAMERA_FRAME, "world_frame": WORLD_FRAME,
        "world_from_camera": {"rotation": _rounded(m.world_rotation, 8), "origin": _rounded(m.world_origin, 6),
                              "formula": "world = rotation @ (camera - origin)"},
        "missing": "NaN (null in JSON): frame or joint left out (nobody seen, or a gap longer than the limit)",
        "filled": "true where a position was invented by interpolation over a short gap, not detected",
    }
    if m.layout_2d is not None:
        out["keypoints_2d_layout"] = {"skeleton": m.layout_2d.name, "joint_names": list(m.layout_2d.joint_names),
                                      "parents": list(m.layout_2d.parents)}
    if m.info:
        out["run"] = m.info
    return out


def write_npz(path, motion, overwrite: bool = False, **kwargs) -> Path:
    """Write an ``.npz`` (no pickles) of a :class:`Motion` (or of camera-frame positions, with
    the other fields of :class:`Motion` as keywords): float32 ``positions_cam`` and
    ``positions_world`` (T, J, 3) NaN where left out, ``filled`` (T, J) and ``filled_frame``
    (T,) bool, ``frame`` (T,) video frame numbers, ``time_s`` (T,), ``fps``, ``joint_names``,
    ``parents``, ``skeleton``, ``world_rotation`` (3, 3) and ``world_origin`` (3,); with 2D input
    also ``keypoints_2d`` (T, K, 2) pixels, ``scores`` (T, K), ``filled_2d`` (T, K) and
    ``keypoints_2d_joint_names``, ``keypoints_2d_parents``, ``keypoints_2d_skeleton``; ``info``
    the metadata as a JSON string (see docs/formats.md).
    """
    import json

    m = _as_motion(motion, **kwargs)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    arrays = dict(positions_cam=f32(m.positions_cam), positions_world=f32(m.positions_world),
                  world_rotation=f32(m.world_rotation), world_origin=f32(m.world_origin),
                  filled=m.filled if m.filled is not None else np.zeros(m.positions_cam.shape[:2], bool),
                  filled_frame=m.filled_frame, frame=m.frames, time_s=m.time_s, fps=np.float64(m.fps),
                  joint_names=np.array(m.skeleton.joint_names), parents=np.array(m.skeleton.parents),
                  skeleton=np.str_(m.skeleton.name), info=np.str_(json.dumps(metadata(m))))
    if m.keypoints_2d is not None:
        arrays.update(keypoints_2d=f32(m.keypoints_2d), keypoints_2d_joint_names=np.array(m.layout_2d.joint_names),
                      keypoints_2d_parents=np.array(m.layout_2d.parents),
                      keypoints_2d_skeleton=np.str_(m.layout_2d.name))
        if m.scores is not None:
            arrays["scores"] = f32(m.scores)
        arrays["filled_2d"] = m.filled_2d if m.filled_2d is not None else np.zeros(m.keypoints_2d.shape[:2], bool)
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return Path(path)


def _rounded(a: np.ndarray, decimals: int) -> list:
    """Nested lists of rounded floats, ``None`` for NaN/inf (JSON has no NaN)."""
    return np.where(np.isfinite(a), np.round(a, decimals), None).tolist()


def frame_records(m: Motion, start: int = 0, stop: int | None = None):
    """One JSON-able dict per row of ``m`` (the ``frames`` of the JSON export, the lines of
    the JSONL stream): ``frame``, ``time_s``, ``filled_frame``, ``camera`` and ``world``
    ([J][3] metres, 0.01 mm, null where left out), ``filled`` (names of filled 3D joints) and,
    with 2D input, ``keypoints_2d`` ([K][2] pixels), ``scores`` ([K]) and ``filled_2d`` (names)."""
    stop = len(m) if stop is None else stop
    if stop - start > 2048:  # in chunks: memory does not grow with the length
        for a in range(start, stop, 2048):
            yield from frame_records(m, a, min(stop, a + 2048))
        return
    sl = slice(start, stop)
    parts = {"camera": _rounded(m.positions_cam[sl], 5), "world": _rounded(m.positions_world[sl], 5)}
    if m.keypoints_2d is not None:
        parts["keypoints_2d"] = _rounded(m.keypoints_2d[sl], 2)
        if m.scores is not None:
            parts["scores"] = _rounded(m.scores[sl], 4)
    names, names_2d = m.skeleton.joint_names, (m.layout_2d or m.skeleton).joint_names
    times, whole = m.time_s[sl], m.filled_frame[sl]  # once per chunk: each is computed over every row
    for i, t in enumerate(range(start, stop)):
        rec = {"frame": int(m.frames[t]), "time_s": round(float(times[i]), 6), "filled_frame": bool(whole[i])}
        rec.update({k: v[i] for k, v in parts.items() if k in ("camera", "world")})
        rec["filled"] = [] if m.filled is None else [names[j] for j in np.flatnonzero(m.filled[t])]
        if m.keypoints_2d is not None:
            rec.update({k: v[i] for k, v in parts.items() if k in ("keypoints_2d", "scores")})
            rec["filled_2d"] = [] if m.filled_2d is None else [names_2d[j] for j in np.flatnonzero(m.filled_2d[t])]
        yield rec


def write_json(path, motion, overwrite: bool = False, **kwargs) -> Path:
    """Write a JSON document: the metadata of docs/formats.md (skeleton, ``joint_names``,
    ``parents``, ``keypoints_2d_layout``, ``fps``, units, frames of reference,
    ``world_from_camera``, ``run``) and ``frames``: one :func:`frame_records` object per row.
    Non-finite numbers are written as null."""
    import json

    m = _as_motion(motion, **kwargs)
    doc = dict(metadata(m), frames=[])
    head = json.dumps(doc, separators=(",", ":"))
    assert head.endswith('"frames":[]}')
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:  # in chunks: memory does not grow with length
            fh.write(head[:-2])
            for i, rec in enumerate(frame_records(m)):
                fh.write(("," if i else "") + json.dumps(rec, separators=(",", ":")))
            fh.write("]}\n")
    return Path(path)


CSV_KINDS = ("camera", "world", "2d")


def write_csv(path, motion, kind: str = "camera", overwrite: bool = False, **kwargs) -> Path:
    """Write one table as CSV, one row per frame, a header naming every column with its unit:
    ``frame``, ``time_s``, ``filled_frame`` (0/1), then for ``kind`` "camera" or "world"
    ``<joint>_x_m,<joint>_y_m,<joint>_z_m`` (metres, 0.01 mm) per 3D joint and
    ``<joint>_filled`` (0/1) per joint; for "2d" ``<joint>_x_px,<joint>_y_px,<joint>_score,
    <joint>_filled`` per joint of the 2D layout. Missing values are empty cells."""
    import csv

    m = _as_motion(motion, **kwargs)
    if kind not in CSV_KINDS:
        raise PoseliftError(f"CSV kind must be one of {', '.join(CSV_KINDS)}, got {kind!r}")
    T = len(m)
    if kind == "2d":
        if m.keypoints_2d is None:
            raise PoseliftError("this motion has no 2D keypoints to write")
        names = m.layout_2d.joint_names
        values = m.keypoints_2d
        scores = m.scores if m.scores is not None else np.full(values.shape[:2], np.nan)
        flags = m.filled_2d if m.filled_2d is not None else np.zeros(values.shape[:2], bool)
        cols = [f"{n}_{c}" for n in names for c in ("x_px", "y_px", "score")]
        data = np.concatenate([values, scores[..., None]], -1).reshape(T, -1)
        fmt = ["%.2f", "%.2f", "%.4f"] * len(names)
    else:
        names = m.skeleton.joint_names
        values = m.positions_cam if kind == "camera" else m.positions_world
        flags = m.filled if m.filled is not None else np.zeros(values.shape[:2], bool)
        cols = [f"{n}_{a}_m" for n in names for a in "xyz"]
        data = values.reshape(T, -1)
        fmt = ["%.5f"] * data.shape[1]
    header = ["frame", "time_s", "filled_frame"] + cols + [f"{n}_filled" for n in names]
    data = np.where(np.abs(data) < 5e-6, 0.0, data)  # no "-0.00000"
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "w", encoding="ascii", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            times, whole = m.time_s, m.filled_frame  # once: each is computed over every row
            for t in range(T):
                cells = ["" if not np.isfinite(v) else f % v for f, v in zip(fmt, data[t])]
                w.writerow([int(m.frames[t]), f"{times[t]:.6f}", int(whole[t])] + cells + [int(v) for v in flags[t]])
    return Path(path)


def export_paths(out_dir, stem: str, with_2d: bool = True) -> dict[str, Path]:
    """``{kind: path}`` of every file :func:`export_all` writes."""
    names = {"npz": f"{stem}.npz", "json": f"{stem}.json", "csv_camera": f"{stem}_camera.csv",
             "csv_world": f"{stem}_world.csv", "csv_2d": f"{stem}_2d.csv", "bvh": f"{stem}.bvh",
             "html": f"{stem}.html"}
    if not with_2d:
        del names["csv_2d"]
    return {k: Path(out_dir) / v for k, v in names.items()}


def export_all(out_dir, stem: str, motion, overwrite: bool = False, **kwargs) -> dict[str, Path]:
    """Write every export of one :class:`Motion` into ``out_dir``; returns ``{kind: path}``.

    Kinds and files: ``npz`` ``<stem>.npz``, ``json`` ``<stem>.json``, ``csv_camera``
    ``<stem>_camera.csv``, ``csv_world`` ``<stem>_world.csv``, ``csv_2d`` ``<stem>_2d.csv``
    (with 2D input), ``bvh`` ``<stem>.bvh`` (world frame; a BVH has no missing values, so
    left-out frames and joints are interpolated there, held at the ends) and ``html``
    ``<stem>.html`` (interactive 3D view of the world frame). See docs/formats.md. Without
    ``overwrite`` nothing is written if any of these files exists already. The files are one
    transaction (:mod:`poselift.transaction`): all of them appear, or none (that of the caller
    when one is open on ``out_dir``).
    """
    from ..transaction import transaction
    from .bvh import write_bvh
    from .html import write_html

    m = _as_motion(motion, **kwargs)
    paths = export_paths(out_dir, stem, m.keypoints_2d is not None)
    with transaction(out_dir, [p.name for p in paths.values()], overwrite=overwrite) as tx:
        staged = {k: tx.path(p.name) for k, p in paths.items()}
        world = m.positions_world
        write_npz(staged["npz"], m)
        write_json(staged["json"], m)
        write_csv(staged["csv_camera"], m, "camera")
        write_csv(staged["csv_world"], m, "world")
        if "csv_2d" in staged:
            write_csv(staged["csv_2d"], m, "2d")
        write_bvh(staged["bvh"], interpolate_missing(world), m.skeleton, m.fps)
        write_html(staged["html"], world, m.skeleton, m.fps, title=stem, frames=m.frames, filled=m.filled)
    return paths


def interpolate_missing(positions: np.ndarray) -> np.ndarray:
    """Each joint coordinate's NaN interpolated linearly over time, held before the first and
    after the last known value (for formats without missing values, e.g. BVH)."""
    P = np.array(positions, dtype=np.float64)
    t = np.arange(len(P))
    flat = P.reshape(len(P), -1)
    for k in range(flat.shape[1]):
        ok = np.isfinite(flat[:, k])
        if ok.any() and not ok.all():
            flat[:, k] = np.interp(t, t[ok], flat[ok, k])
    return flat.reshape(P.shape)


def read_motion(path) -> Motion:
    """Read a poselift ``.npz`` or ``.json`` export back into a :class:`Motion` (no pickles)."""
    import json

    from ..data.formats import load_npz
    from ..skeleton import Skeleton as _Sk

    path = Path(path)
    if not path.is_file():
        raise PoseliftError("file not found", path)

    def skeleton(name, names, parents):
        from ..skeleton import get_skeleton

        try:
            sk = get_skeleton(str(name))
            if tuple(sk.joint_names) == tuple(names):
                return sk
        except PoseliftError:
            pass
        return _Sk(str(name), tuple(str(n) for n in names), tuple(int(p) for p in parents), (), ())

    try:
        if path.suffix.lower() == ".npz":
            d = load_npz(path)
            info = json.loads(str(d["info"])) if "info" in d else {}
            sk = skeleton(d["skeleton"], d["joint_names"], d["parents"])
            has2d = "keypoints_2d" in d
            return Motion(d["positions_cam"].astype(np.float64), float(d["fps"]), sk,
                          d["keypoints_2d"].astype(np.float64) if has2d else None,
                          d["scores"] if "scores" in d else None,
                          skeleton(d["keypoints_2d_skeleton"], d["keypoints_2d_joint_names"],
                                   d["keypoints_2d_parents"]) if "keypoints_2d_skeleton" in d else None,
                          d.get("filled"), d.get("filled_2d") if has2d else None,
                          d["frame"] if "frame" in d else None, d["world_rotation"], d["world_origin"],
                          info.get("run", {}), times=d["time_s"] if "time_s" in d else None)
        if path.suffix.lower() == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            frames = doc["frames"]
            num = lambda key: np.array([[np.nan if v is None else v for v in _flat(f[key])] for f in frames],  # noqa
                                       dtype=np.float64)
            sk = skeleton(doc["skeleton"], doc["joint_names"], doc["parents"])
            J = sk.num_joints
            cam = num("camera").reshape(len(frames), J, 3)
            lay = doc.get("keypoints_2d_layout")
            sk2 = skeleton(lay["skeleton"], lay["joint_names"], lay["parents"]) if lay else None
            kp = sc = f2 = None
            if frames and "keypoints_2d" in frames[0]:
                sk2 = sk2 or sk
                kp = num("keypoints_2d").reshape(len(frames), sk2.num_joints, 2)
                sc = num("scores") if "scores" in frames[0] else None
                f2 = np.array([[n in set(f.get("filled_2d", [])) for n in sk2.joint_names] for f in frames], bool)
            filled = np.array([[n in set(f.get("filled", [])) for n in sk.joint_names] for f in frames], bool)
            w = doc["world_from_camera"]
            return Motion(cam, doc["fps"], sk, kp, sc, sk2, filled, f2, [f["frame"] for f in frames],
                          np.array(w["rotation"], dtype=np.float64), np.array(w["origin"], dtype=np.float64),
                          doc.get("run", {}),
                          times=[f["time_s"] for f in frames] if frames and "time_s" in frames[0] else None)
    except (KeyError, ValueError, TypeError) as e:
        raise PoseliftError(f"not a poselift export ({type(e).__name__}: {e})", path) from None
    raise PoseliftError("expected a poselift .npz or .json export", path)


def _flat(x) -> list:
    """A nested list flattened."""
    out = []
    for v in x:
        out.extend(_flat(v) if isinstance(v, list) else [v])
    return out
