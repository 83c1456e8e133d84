"""The benchmark block: one subject seen by C calibrated cameras, in memory and as arrays.

A block is the layout of the CMU-17 benchmark files (``shared/data/cmu/val/bench_SS.npz``)
and of every subject of a prepared dataset (:mod:`poselift.data.prepared`):

* ``positions_3d_camera`` (C, F, J, 3) metres, optional ``positions_3d_world`` (F, J, 3);
* ``positions_2d_<source>`` (C, F, J2, 2) pixels for each 2D source (``gt``, ``det``,
  ``cpn_ft_h36m_dbb``, ...), optional ``scores_<source>`` (C, F, J2); frames a source lacks
  are NaN;
* ``offsets`` (clips + 1,) clip boundaries into F, ``clip_names``, ``descriptions``;
* the cameras: ``camera_ids``, ``camera_res`` (C, 2), ``camera_focal`` (C, 2),
  ``camera_center`` (C, 2) pixels, ``camera_radial`` (C, 3), ``camera_tangential`` (C, 2),
  ``camera_R_c2w`` (C, 3, 3), ``camera_t`` (C, 3) metres; and ``subject``.

:func:`parse_block` reads one (with a key prefix such as ``"S9/"``), :func:`block_arrays`
writes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..camera import Camera
from ..errors import PoseliftError

CAMERA_KEYS = ("camera_ids", "camera_res", "camera_focal", "camera_center", "camera_radial", "camera_tangential",
               "camera_R_c2w", "camera_t")
BLOCK_KEYS = ("positions_3d_camera", "offsets", "clip_names", "descriptions", *CAMERA_KEYS, "subject")
POSITIONS_2D = "positions_2d_"
SCORES = "scores_"


@dataclass
class BenchSubject:
    """One subject seen by C cameras: clips concatenated along the frame axis."""

    subject: str
    clip_names: list[str]
    descriptions: list[str]
    offsets: np.ndarray
    cameras: list[Camera]
    positions_3d_camera: np.ndarray  # (C, F, J, 3) metres
    positions_2d: dict[str, np.ndarray]  # source ('gt', 'det', 'cpn_ft_h36m_dbb', ...) → (C, F, J2, 2) pixels
    scores_det: np.ndarray | None = None  # (C, F, J2) of source 'det' (kept for older callers; = scores['det'])
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # source → (C, F, J2)
    positions_3d_world: np.ndarray | None = None  # (F, J, 3) metres
    skeleton: str = "h36m17"  # registered skeleton of the 3D joints
    layouts_2d: dict[str, str] = field(default_factory=dict)  # source → its 2D skeleton, if not ``skeleton``
    fps: float = 50.0

    def __post_init__(self):
        if self.scores_det is not None:
            self.scores.setdefault("det", self.scores_det)
        elif "det" in self.scores:
            self.scores_det = self.scores["det"]

    @property
    def num_frames(self) -> int:
        return int(self.positions_3d_camera.shape[1])

    def layout_2d(self, source: str) -> str:
        return self.layouts_2d.get(source, self.skeleton)

    def clip_slices(self):
        for i, name in enumerate(self.clip_names):
            yield i, name, self.descriptions[i], slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def select_clips(self, keep) -> "BenchSubject":
        """A copy holding only the clips whose indices are in ``keep`` (in their original order)."""
        keep = sorted(set(int(i) for i in keep))
        frames = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in keep] or [np.zeros(0, int)])
        lengths = [int(self.offsets[i + 1] - self.offsets[i]) for i in keep]
        return replace(
            self,
            clip_names=[self.clip_names[i] for i in keep],
            descriptions=[self.descriptions[i] for i in keep],
            offsets=np.cumsum([0, *lengths]).astype(np.int64),
            positions_3d_camera=self.positions_3d_camera[:, frames],
            positions_2d={k: v[:, frames] for k, v in self.positions_2d.items()},
            scores_det=None,
            scores={k: v[:, frames] for k, v in self.scores.items()},
            positions_3d_world=None if self.positions_3d_world is None else self.positions_3d_world[frames],
            layouts_2d=dict(self.layouts_2d),
        )

    def missing_clips(self, source: str) -> list[int]:
        """Indices of the clips for which ``source`` has no 2D (NaN) in some camera."""
        p2 = self.positions_2d[source]
        return [i for i, _, _, sl in self.clip_slices() if np.isnan(p2[:, sl]).all(axis=(1, 2, 3)).any()]


def check_metres(positions: np.ndarray, path, what: str = "positions") -> None:
    """Refuse 3D positions that look like millimetres (poselift works in metres)."""
    if positions.size:
        typical = float(np.median(np.abs(positions)))
        if typical > 50:
            raise PoseliftError(f"{what} look like millimetres (median |coordinate| {typical:.0f}); "
                                "poselift expects metres: divide by 1000", path)


def check_offsets(offsets: np.ndarray, n_frames: int, n_clips: int, path) -> None:
    if offsets.ndim != 1 or len(offsets) != n_clips + 1 or offsets[0] != 0 or offsets[-1] != n_frames:
        raise PoseliftError(f"clip offsets do not match {n_frames} frames in {n_clips} clips", path)
    if np.any(np.diff(offsets) <= 0):
        raise PoseliftError("clip offsets are not increasing", path)


def block_sources(d: dict, prefix: str = "") -> list[str]:
    """The 2D sources present in arrays ``d`` under ``prefix``, in key order."""
    head = prefix + POSITIONS_2D
    return [k[len(head):] for k in d if k.startswith(head)]


def _cameras(d: dict, prefix: str, n_cam: int, path) -> list[Camera]:
    for key in CAMERA_KEYS:
        a = d[prefix + key]
        if len(a) != n_cam:
            raise PoseliftError(f"{prefix}{key} describes {len(a)} cameras but the data has {n_cam}", path)
    g = {k: d[prefix + k] for k in CAMERA_KEYS}
    return [
        Camera(
            id=str(g["camera_ids"][c]),
            res_w=int(g["camera_res"][c][0]),
            res_h=int(g["camera_res"][c][1]),
            focal=tuple(float(v) for v in g["camera_focal"][c]),
            center=tuple(float(v) for v in g["camera_center"][c]),
            radial=tuple(float(v) for v in g["camera_radial"][c]),
            tangential=tuple(float(v) for v in g["camera_tangential"][c]),
            R_c2w=np.asarray(g["camera_R_c2w"][c], dtype=np.float64),
            t=tuple(float(v) for v in g["camera_t"][c]),
        )
        for c in range(n_cam)
    ]


def keep_clips(subjects: list[BenchSubject], keep) -> list[BenchSubject]:
    """The clips for which ``keep(name, description)`` holds; subjects left empty are dropped."""
    out = []
    for s in subjects:
        idx = [i for i, (n, d) in enumerate(zip(s.clip_names, s.descriptions)) if keep(n, d)]
        if idx:
            out.append(s.select_clips(idx))
    return out


def parse_block(d: dict, path, prefix: str = "", sources: list[str] | None = None, skeleton: str = "h36m17",
                layouts_2d: dict[str, str] | None = None, joints_2d: dict[str, int] | None = None,
                fps: float = 50.0) -> BenchSubject:
    """Read the block stored under ``prefix`` in the arrays ``d`` (read from ``path``).

    ``sources`` picks the 2D sources (default: every ``positions_2d_*`` present);
    ``joints_2d`` gives the joint count of a source whose layout differs from the 3D one.
    Every shape is checked; errors are one line naming ``path`` and the key.
    """
    missing = [prefix + k for k in BLOCK_KEYS if prefix + k not in d]
    if missing:
        raise PoseliftError(f"missing key(s) {', '.join(missing)}", path)
    p3 = d[prefix + "positions_3d_camera"]
    if p3.ndim != 4 or p3.shape[-1] != 3:
        raise PoseliftError(f"{prefix}positions_3d_camera must be (cameras, frames, joints, 3), got {p3.shape}", path)
    check_metres(p3, path, f"{prefix}positions_3d_camera")
    n_cam, n_frames, n_joints = p3.shape[:3]
    joints_2d = joints_2d or {}
    p2, scores = {}, {}
    for src in block_sources(d, prefix) if sources is None else sources:
        key = f"{prefix}{POSITIONS_2D}{src}"
        if key not in d:
            raise PoseliftError(f"missing key {key}", path)
        want = (n_cam, n_frames, joints_2d.get(src, n_joints), 2)
        if d[key].shape != want:
            raise PoseliftError(f"{key} has shape {d[key].shape}, expected {want}", path)
        p2[src] = d[key]
        skey = f"{prefix}{SCORES}{src}"
        if skey in d:
            if d[skey].shape != want[:3]:
                raise PoseliftError(f"{skey} has shape {d[skey].shape}, expected {want[:3]}", path)
            scores[src] = d[skey]
    world = d.get(prefix + "positions_3d_world")
    if world is not None and world.shape != (n_frames, n_joints, 3):
        raise PoseliftError(f"{prefix}positions_3d_world has shape {world.shape}, expected {(n_frames, n_joints, 3)}",
                            path)
    cams = _cameras(d, prefix, n_cam, path)
    names = [str(n) for n in d[prefix + "clip_names"]]
    descriptions = [str(s) for s in d[prefix + "descriptions"]]
    if len(descriptions) != len(names):
        raise PoseliftError(f"{prefix}descriptions has {len(descriptions)} entries for {len(names)} clips", path)
    off = d[prefix + "offsets"].astype(np.int64)
    check_offsets(off, n_frames, len(names), path)
    return BenchSubject(
        subject=str(d[prefix + "subject"]),
        clip_names=names,
        descriptions=descriptions,
        offsets=off,
        cameras=cams,
        positions_3d_camera=p3,
        positions_2d=p2,
        scores=scores,
        positions_3d_world=world,
        skeleton=skeleton,
        layouts_2d={s: l for s, l in (layouts_2d or {}).items() if s in p2 and l != skeleton},
        fps=float(fps),
    )


def block_arrays(subject: BenchSubject, prefix: str = "") -> dict[str, np.ndarray]:
    """The arrays of ``subject`` in the block layout, keys prefixed by ``prefix``."""
    cams = subject.cameras
    out = {
        "positions_3d_camera": np.asarray(subject.positions_3d_camera, dtype=np.float32),
        "offsets": np.asarray(subject.offsets, dtype=np.int64),
        "clip_names": np.array(subject.clip_names, dtype=str),
        "descriptions": np.array(subject.descriptions, dtype=str),
        "camera_ids": np.array([c.id for c in cams], dtype=str),
        "camera_res": np.array([[c.res_w, c.res_h] for c in cams], dtype=np.int64).reshape(-1, 2),
        "camera_focal": np.array([c.focal for c in cams], dtype=np.float64).reshape(-1, 2),
        "camera_center": np.array([c.center for c in cams], dtype=np.float64).reshape(-1, 2),
        "camera_radial": np.array([c.radial for c in cams], dtype=np.float64).reshape(-1, 3),
        "camera_tangential": np.array([c.tangential for c in cams], dtype=np.float64).reshape(-1, 2),
        "camera_R_c2w": np.array([c.R_c2w for c in cams], dtype=np.float64).reshape(-1, 3, 3),
        "camera_t": np.array([c.t for c in cams], dtype=np.float64).reshape(-1, 3),
        "subject": np.str_(subject.subject),
    }
    if subject.positions_3d_world is not None:
        out["positions_3d_world"] = np.asarray(subject.positions_3d_world, dtype=np.float32)
    for src, a in subject.positions_2d.items():
        out[POSITIONS_2D + src] = np.asarray(a, dtype=np.float32)
    for src, a in subject.scores.items():
        out[SCORES + src] = np.asarray(a, dtype=np.float32)
    return {prefix + k: v for k, v in out.items()}
