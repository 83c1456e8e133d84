"""CMU-17: real motion capture mapped to the Human3.6M-17 skeleton (shared/data/cmu).

* training files ``train/cmu_SS.npz``: world-frame 3D only (``positions`` (F, 17, 3), metres);
* benchmark files ``val/bench_SS.npz``: 3D in world and in four cameras, exact and detected
  2D per camera, the cameras themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import frame_rate
from ..errors import PoseliftError
from .bench import BenchSubject, check_metres, check_offsets, parse_block
from .formats import load_npz

__all__ = ["BENCH_KEYS", "TRAIN_KEYS", "BenchSubject", "MocapClip", "load_bench_dir", "load_bench_file",
           "load_train_dir", "load_train_file"]

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


def load_train_file(path) -> list[MocapClip]:
    d = load_npz(path, TRAIN_KEYS)
    pos = d["positions"]
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise PoseliftError(f"positions must be (frames, joints, 3), got {pos.shape}", path)
    if pos.shape[1] != 17:
        raise PoseliftError(f"positions have {pos.shape[1]} joints; CMU-17 training files hold the 17 "
                            "Human3.6M joints (frames, 17, 3)", path)
    if not np.isfinite(pos).all():
        raise PoseliftError("positions contain NaN or inf", path)
    check_metres(pos, path)
    off = d["offsets"].astype(np.int64)
    names = [str(n) for n in d["clip_names"]]
    check_offsets(off, len(pos), len(names), path)
    desc = [str(s) for s in d["descriptions"]] if "descriptions" in d else [""] * len(names)
    fps = frame_rate("fps", d["fps"], path) if "fps" in d else 50.0
    subject = str(d["subject"])
    return [
        MocapClip(subject, names[i], desc[i], pos[off[i] : off[i + 1]].astype(np.float32), fps)
        for i in range(len(names))
    ]


def load_train_dir(folder) -> list[MocapClip]:
    """All clips of every ``cmu_*.npz`` in ``folder``, sorted by subject. Several folders may
    be given comma-separated (e.g. ``train,train_extra``); a subject may appear in one only."""
    clips, seen = [], {}
    folders = [f for f in str(folder).split(",") if f.strip()] if isinstance(folder, str) else [folder]
    for one in folders:
        for f in _files(one.strip() if isinstance(one, str) else one, "cmu_*.npz"):
            part = load_train_file(f)
            for subj in {c.subject for c in part}:
                if subj in seen and seen[subj] != f:
                    raise PoseliftError(f"subject {subj} is also in {seen[subj]}", f)
                seen[subj] = f
            clips.extend(part)
    return sorted(clips, key=lambda c: c.subject) if len(folders) > 1 else clips


def load_bench_file(path) -> BenchSubject:
    """One benchmark file (the block layout of :mod:`poselift.data.bench`, no key prefix).

    ``positions_2d`` holds ``gt``, ``det`` and any further ``positions_2d_<source>``.
    """
    d = load_npz(path, BENCH_KEYS)
    return parse_block(d, path, fps=frame_rate("fps", d["fps"], path) if "fps" in d else 50.0)


def load_bench_dir(folder) -> list[BenchSubject]:
    return [load_bench_file(f) for f in _files(folder, "bench_*.npz")]
