"""Prepared datasets: the one file format every dataset preparer writes.

A prepared dataset is ONE safe ``.npz`` (no pickle) holding several subject blocks. Each
block has the layout of a CMU-17 benchmark file (:mod:`poselift.data.bench`) with every key
prefixed by ``<subject>/`` (``S9/positions_3d_camera``, ``Validate/S1/offsets``, ...):

* ``<s>/positions_3d_camera`` (C, F, J, 3) metres; ``<s>/positions_3d_world`` (F, J, 3)
  metres when the dataset has a world frame;
* ``<s>/positions_2d_<source>`` (C, F, J2, 2) pixels for every source in ``sources``
  (``gt`` always; detections such as ``cpn_ft_h36m_dbb``); frames a source lacks (a
  sequence missing from its file) are NaN; ``<s>/scores_<source>`` (C, F, J2) when known;
* ``<s>/offsets``, ``<s>/clip_names``, ``<s>/descriptions`` (the action, sub-take numbers
  merged: "Walking 1" → "Walking"), ``<s>/subject``;
* ``<s>/camera_ids``, ``camera_res``, ``camera_focal``, ``camera_center``, ``camera_radial``,
  ``camera_tangential``, ``camera_R_c2w``, ``camera_t``; ``<s>/fps`` only where a subject's
  frame rate differs from the file's;

plus the top-level keys ``format``, ``dataset``, ``skeleton`` (registered 3D skeleton, e.g.
``h36m17``), ``fps``, ``subjects``, ``sources`` and ``source_layouts`` (the skeleton of each
source's 2D joints: detectors may use another layout, e.g. COCO-17 for HumanEva-I).

:func:`assemble_subject` builds a block from per-sequence arrays with the rules shared by
all preparers: 2D and 3D of different lengths are trimmed to the shorter (the VideoPose3D
quirk: some videos have extra frames), a sequence missing from a 2D file is kept with NaN
for that source and a warning, and :func:`load_prepared` with ``source=`` drops such clips.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import PoseliftError
from ..skeleton import get_skeleton
from .bench import BenchSubject, block_arrays, parse_block
from .formats import load_npz, save_npz

FORMAT = "poselift-prepared-1"
TOP_KEYS = ("format", "dataset", "skeleton", "fps", "subjects", "sources", "source_layouts")


# ------------------------------------------------------------------------------ writing


def check_output(out, overwrite: bool) -> Path:
    """``out`` as a Path; refused early (before any work) if it exists and ``overwrite`` is off."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", out)
    return out


def save_prepared(path, subjects: list[BenchSubject], dataset: str, skeleton: str, fps: float,
                  overwrite: bool = False) -> Path:
    """Write ``subjects`` as one prepared dataset (atomically). Returns the path written.

    Every subject must hold the same 2D sources, with the same 2D layout each, and 3D
    joints of ``skeleton``.
    """
    path = Path(path)
    if not subjects:
        raise PoseliftError("no subjects to write", path)
    names = [s.subject for s in subjects]
    if len(set(names)) != len(names):
        raise PoseliftError(f"subject names repeat: {', '.join(names)}", path)
    skel = get_skeleton(skeleton)
    sources = list(subjects[0].positions_2d)
    layouts = [subjects[0].layout_2d(src) for src in sources]
    arrays: dict[str, np.ndarray] = {}
    for s in subjects:
        if not s.subject or s.subject.startswith("/") or s.subject.endswith("/") or "//" in s.subject:
            raise PoseliftError(f"invalid subject name {s.subject!r}", path)
        if list(s.positions_2d) != sources or [s.layout_2d(src) for src in sources] != layouts:
            raise PoseliftError(f"subject {s.subject} has 2D sources {list(s.positions_2d)}, expected {sources} "
                                "with the same layouts", path)
        if s.positions_3d_camera.shape[2] != skel.num_joints:
            raise PoseliftError(f"subject {s.subject} has {s.positions_3d_camera.shape[2]} 3D joints; skeleton "
                                f"{skeleton} has {skel.num_joints}", path)
        arrays.update(block_arrays(s, f"{s.subject}/"))
        if float(s.fps) != float(fps):
            arrays[f"{s.subject}/fps"] = np.float64(s.fps)
    arrays.update({
        "format": np.str_(FORMAT),
        "dataset": np.str_(dataset),
        "skeleton": np.str_(skeleton),
        "fps": np.float64(fps),
        "subjects": np.array(names, dtype=str),
        "sources": np.array(sources, dtype=str),
        "source_layouts": np.array(layouts, dtype=str),
    })
    save_npz(path, arrays, overwrite=overwrite)
    return path


# ------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class PreparedInfo:
    dataset: str
    skeleton: str
    fps: float
    subjects: tuple[str, ...]
    sources: tuple[str, ...]
    source_layouts: dict[str, str]


def prepared_info(path) -> PreparedInfo:
    """The top-level description of a prepared file (reads no subject data)."""
    d = load_npz(path, TOP_KEYS, select=lambda k: "/" not in k)
    if str(d["format"]) != FORMAT:
        raise PoseliftError(f"unknown prepared format {str(d['format'])!r} (expected {FORMAT})", path)
    sources = tuple(str(s) for s in d["sources"])
    layouts = [str(s) for s in d["source_layouts"]]
    if len(layouts) != len(sources):
        raise PoseliftError(f"source_layouts has {len(layouts)} entries for {len(sources)} sources", path)
    info = PreparedInfo(str(d["dataset"]), str(d["skeleton"]), float(d["fps"]),
                        tuple(str(s) for s in d["subjects"]), sources, dict(zip(sources, layouts)))
    for name in (info.skeleton, *layouts):
        try:
            get_skeleton(name)
        except PoseliftError as e:
            raise PoseliftError(e.message, path) from None
    return info


def load_prepared(path, subjects=None, source: str | None = None) -> list[BenchSubject]:
    """Read a prepared dataset: one :class:`BenchSubject` per subject (``subjects`` picks some).

    ``source`` keeps one 2D source (``positions_2d`` / ``scores`` hold only it) and drops,
    with a warning, the clips that source lacks. Only the arrays needed are read.
    """
    info = prepared_info(path)
    wanted = list(info.subjects) if subjects is None else [str(s) for s in subjects]
    unknown = [s for s in wanted if s not in info.subjects]
    if unknown:
        raise PoseliftError(f"no subject(s) {', '.join(unknown)} (has {', '.join(info.subjects)})", path)
    if source is not None and source not in info.sources:
        raise PoseliftError(f"no 2D source {source!r} (has {', '.join(info.sources)})", path)
    sources = list(info.sources) if source is None else [source]
    prefixes = tuple(f"{s}/" for s in wanted)

    def select(key: str) -> bool:
        subj, _, name = key.rpartition("/")
        if subj + "/" not in prefixes:
            return False
        for head in ("positions_2d_", "scores_"):
            if name.startswith(head):
                return name[len(head):] in sources
        return True

    d = load_npz(path, select=select)
    skel = get_skeleton(info.skeleton)
    layouts = {s: info.source_layouts[s] for s in sources}
    joints_2d = {s: get_skeleton(layout).num_joints for s, layout in layouts.items()}
    out = []
    for s in wanted:
        prefix = f"{s}/"
        fps = float(d[prefix + "fps"]) if prefix + "fps" in d else info.fps
        b = parse_block(d, path, prefix, sources=sources, skeleton=info.skeleton, layouts_2d=layouts,
                        joints_2d=joints_2d, fps=fps)
        if b.positions_3d_camera.shape[2] != skel.num_joints:
            raise PoseliftError(f"{prefix}positions_3d_camera has {b.positions_3d_camera.shape[2]} joints; "
                                f"skeleton {info.skeleton} has {skel.num_joints}", path)
        if source is not None:
            missing = b.missing_clips(source)
            if missing:
                warnings.warn(f"{path}: {source} has no 2D for {s} " + ", ".join(b.clip_names[i] for i in missing)
                              + "; dropped", stacklevel=2)
                if len(missing) == len(b.clip_names):
                    continue
                b = b.select_clips(i for i in range(len(b.clip_names)) if i not in set(missing))
        out.append(b)
    return out


# ----------------------------------------------------------------------------- assembling


@dataclass
class Sequence:
    """One recorded sequence of a subject, before assembly into a block.

    ``positions_3d``: (F, J, 3) metres in the world frame, or (C, F, J, 3) already in each
    camera's frame. ``positions_2d``: source → one (F, J2, 2) pixel array per camera (None
    where a camera's video is missing). ``scores`` likewise (F, J2).
    """

    name: str
    description: str
    positions_3d: np.ndarray
    positions_2d: dict[str, list] = field(default_factory=dict)
    scores: dict[str, list] = field(default_factory=dict)


def _per_camera(arrays, n_cam: int, what: str) -> list:
    arrays = list(arrays) if arrays is not None else []
    if len(arrays) > n_cam:
        raise PoseliftError(f"{what}: {len(arrays)} cameras, the calibration has {n_cam}")
    return arrays + [None] * (n_cam - len(arrays))


def assemble_subject(subject: str, sequences: list[Sequence], cameras: list[Camera], sources: list[str], *,
                     skeleton: str, layouts_2d: dict[str, str] | None = None, fps: float, project_gt: bool = True,
                     origin: str = "") -> BenchSubject | None:
    """One block from ``sequences``: world → camera frames, ``gt`` 2D projected (with
    distortion) where no ``gt`` 2D is given and ``project_gt``, lengths trimmed to the
    shortest of 3D and 2D, missing 2D NaN-filled with a warning. None if nothing is left.

    ``origin`` (a file or folder) prefixes error messages.
    """
    layouts_2d = layouts_2d or {}
    n_cam = len(cameras)
    j2 = {src: get_skeleton(layouts_2d.get(src, skeleton)).num_joints for src in sources}
    where = f"{origin}: " if origin else ""
    clips, worlds, cams3d = [], [], []
    p2 = {src: [] for src in sources}
    sc: dict[str, list] = {}
    missing: dict[str, list[str]] = {}
    trimmed: list[str] = []
    for seq in sequences:
        what = f"{where}{subject} {seq.name!r}"
        p3 = np.asarray(seq.positions_3d, dtype=np.float64)
        if p3.ndim == 3 and p3.shape[-1] == 3:
            world = p3
            cam3d = np.stack([c.world_to_camera(world) for c in cameras])
        elif p3.ndim == 4 and p3.shape[0] == n_cam and p3.shape[-1] == 3:
            world, cam3d = None, p3
        else:
            raise PoseliftError(f"{what}: 3D positions have shape {p3.shape}, expected (frames, joints, 3)")
        given = {src: _per_camera(seq.positions_2d.get(src), n_cam, f"{what} {src}") for src in sources}
        n = cam3d.shape[1]
        for src, arrays in given.items():
            for a in arrays:
                if a is not None:
                    n = min(n, len(a))
        if n < cam3d.shape[1]:
            trimmed.append(f"{seq.name} ({cam3d.shape[1]} → {n})")
        if n == 0:
            continue
        for src in sources:
            arrays = given[src]
            if src == "gt" and project_gt and all(a is None for a in arrays):
                arrays = [c.project(cam3d[i, :n]) for i, c in enumerate(cameras)]
            if any(a is None for a in arrays):
                missing.setdefault(src, []).append(seq.name)
            block = np.full((n_cam, n, j2[src], 2), np.nan, dtype=np.float32)
            for i, a in enumerate(arrays):
                if a is None:
                    continue
                a = np.asarray(a, dtype=np.float32)
                if a.ndim != 3 or a.shape[1:] != (j2[src], 2):
                    raise PoseliftError(f"{what}: {src} 2D of camera {i} has shape {a.shape}, expected "
                                        f"(frames, {j2[src]}, 2)")
                block[i] = a[:n]
            p2[src].append(block)
            if src in seq.scores:
                s_arrays = _per_camera(seq.scores[src], n_cam, f"{what} {src} scores")
                s_block = np.full((n_cam, n, j2[src]), np.nan, dtype=np.float32)
                for i, a in enumerate(s_arrays):
                    if a is not None:
                        s_block[i] = np.asarray(a, dtype=np.float32)[:n]
                sc.setdefault(src, []).append((len(clips), s_block))
        clips.append((seq.name, seq.description, n))
        cams3d.append(cam3d[:, :n])
        worlds.append(None if world is None else world[:n])
    if trimmed:
        warnings.warn(f"{where}{subject}: 2D shorter than 3D, trimmed: {', '.join(trimmed)}", stacklevel=2)
    for src, names in missing.items():
        warnings.warn(f"{where}{subject}: no {src} 2D for {', '.join(names)}; dropped for that source "
                      "(NaN in the prepared file)", stacklevel=2)
    if not clips:
        return None
    scores = {}
    for src, parts in sc.items():  # sequences without scores for a source get NaN scores
        full = [np.full((n_cam, n, j2[src]), np.nan, np.float32) for _, _, n in clips]
        for k, s_block in parts:
            full[k] = s_block
        scores[src] = np.concatenate(full, axis=1)
    return BenchSubject(
        subject=subject,
        clip_names=[c[0] for c in clips],
        descriptions=[c[1] for c in clips],
        offsets=np.cumsum([0] + [c[2] for c in clips]).astype(np.int64),
        cameras=list(cameras),
        positions_3d_camera=np.concatenate(cams3d, axis=1).astype(np.float32),
        positions_2d={src: np.concatenate(p2[src], axis=1) for src in sources},
        scores=scores,
        positions_3d_world=None if any(w is None for w in worlds) else np.concatenate(worlds).astype(np.float32),
        skeleton=skeleton,
        layouts_2d={src: layouts_2d[src] for src in sources if layouts_2d.get(src, skeleton) != skeleton},
        fps=float(fps),
    )
