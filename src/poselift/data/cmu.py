"""CMU-17: real motion capture mapped to the Human3.6M-17 skeleton (shared/data/cmu).

* training files ``train/cmu_SS.npz``: world-frame 3D only (``positions`` (F, 17, 3), metres);
* benchmark files ``val/bench_SS.npz``: 3D in world and in four cameras, exact and detected
  2D per camera, the cameras themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import PoseliftError
from .formats import load_npz

TRAIN_KEYS = ("positions", "offsets", "clip_names", "subject")
BENCH_KEYS = (
    "positions_3d_camera", "positions_2d_gt", "positions_2d_det", "offsets", "clip_names", "descriptions",
    "camera_ids", "camera_res", "camera_focal", "camera_center", "camera_radial", "camera_tangential",
    "camera_R_c2w", "camera_t", "subject",
)


@dataclass
class MocapClip:
    """One clip of world-frame motion: (F, J, 3) metres."""

    subject: str
    name: str
    description: str
    positions: np.ndarray
    fps: float


def _files(folder, pattern: str) -> list[Path]:
    folder = Path(folder)
    if not folder.exists():
        raise PoseliftError("folder not found", folder)
    if not folder.is_dir():
        raise PoseliftError("expected a folder", folder)
    files = sorted(folder.glob(pattern))
    if not files:
        raise PoseliftError(f"no {pattern} files in this folder", folder)
    return files


def _check_offsets(offsets: np.ndarray, n_frames: int, n_clips: int, path) -> None:
    if offsets.ndim != 1 or len(offsets) != n_clips + 1 or offsets[0] != 0 or offsets[-1] != n_frames:
        raise PoseliftError(f"clip offsets do not match {n_frames} frames in {n_clips} clips", path)
    if np.any(np.diff(offsets) <= 0):
        raise PoseliftError("clip offsets are not increasing", path)


def load_train_file(path) -> list[MocapClip]:
    d = load_npz(path, TRAIN_KEYS)
    pos = d["positions"]
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise PoseliftError(f"positions must be (frames, joints, 3), got {pos.shape}", path)
    if not np.isfinite(pos).all():
        raise PoseliftError("positions contain NaN or inf", path)
    off = d["offsets"].astype(np.int64)
    names = [str(n) for n in d["clip_names"]]
    _check_offsets(off, len(pos), len(names), path)
    desc = [str(s) for s in d["descriptions"]] if "descriptions" in d else [""] * len(names)
    fps = float(d["fps"]) if "fps" in d else 50.0
    subject = str(d["subject"])
    return [
        MocapClip(subject, names[i], desc[i], pos[off[i] : off[i + 1]].astype(np.float32), fps)
        for i in range(len(names))
    ]


def load_train_dir(folder) -> list[MocapClip]:
    """All clips of every ``cmu_*.npz`` in ``folder``, sorted by subject."""
    clips = []
    for f in _files(folder, "cmu_*.npz"):
        clips.extend(load_train_file(f))
    return clips


@dataclass
class BenchSubject:
    """One benchmark file: a subject seen by C cameras."""

    subject: str
    clip_names: list[str]
    descriptions: list[str]
    offsets: np.ndarray
    cameras: list[Camera]
    positions_3d_camera: np.ndarray  # (C, F, J, 3) metres
    positions_2d: dict[str, np.ndarray]  # 'gt' / 'det' → (C, F, J, 2) pixels
    scores_det: np.ndarray | None

    def clip_slices(self):
        for i, name in enumerate(self.clip_names):
            yield i, name, self.descriptions[i], slice(int(self.offsets[i]), int(self.offsets[i + 1]))


def load_bench_file(path) -> BenchSubject:
    d = load_npz(path, BENCH_KEYS)
    p3 = d["positions_3d_camera"]
    if p3.ndim != 4 or p3.shape[-1] != 3:
        raise PoseliftError(f"positions_3d_camera must be (cameras, frames, joints, 3), got {p3.shape}", path)
    n_cam, n_frames, n_joints = p3.shape[:3]
    p2 = {}
    for kind in ("gt", "det"):
        a = d[f"positions_2d_{kind}"]
        if a.shape != (n_cam, n_frames, n_joints, 2):
            raise PoseliftError(f"positions_2d_{kind} has shape {a.shape}, expected {(n_cam, n_frames, n_joints, 2)}", path)
        p2[kind] = a
    for key in ("camera_ids", "camera_res", "camera_focal", "camera_center", "camera_R_c2w", "camera_t"):
        if len(d[key]) != n_cam:
            raise PoseliftError(f"{key} describes {len(d[key])} cameras but the data has {n_cam}", path)
    cams = [
        Camera(
            id=str(d["camera_ids"][c]),
            res_w=int(d["camera_res"][c][0]),
            res_h=int(d["camera_res"][c][1]),
            focal=tuple(float(v) for v in d["camera_focal"][c]),
            center=tuple(float(v) for v in d["camera_center"][c]),
            radial=tuple(float(v) for v in d["camera_radial"][c]),
            tangential=tuple(float(v) for v in d["camera_tangential"][c]),
            R_c2w=d["camera_R_c2w"][c].astype(np.float64),
            t=tuple(float(v) for v in d["camera_t"][c]),
        )
        for c in range(n_cam)
    ]
    names = [str(n) for n in d["clip_names"]]
    off = d["offsets"].astype(np.int64)
    _check_offsets(off, n_frames, len(names), path)
    return BenchSubject(
        subject=str(d["subject"]),
        clip_names=names,
        descriptions=[str(s) for s in d["descriptions"]],
        offsets=off,
        cameras=cams,
        positions_3d_camera=p3,
        positions_2d=p2,
        scores_det=d.get("scores_det"),
    )


def load_bench_dir(folder) -> list[BenchSubject]:
    return [load_bench_file(f) for f in _files(folder, "bench_*.npz")]
