"""MPI-INF-3DHP test set (Mehta et al., 3DV 2017) → a prepared dataset.

Input: the folder ``mpi_inf_3dhp_test_set`` with ``TS1`` … ``TS6``, each holding
``annot_data.mat``, a MATLAB v7.3 file (HDF5; read with ``h5py``:
``pip install 'poselift[h36m]'``). HDF5 stores MATLAB arrays with their dimensions reversed,
so h5py reads them as:

* ``annot3`` (F, 1, 17, 3): 3D joints, millimetres, camera frame;
* ``univ_annot3`` (F, 1, 17, 3): the same rescaled to a universal skeleton height (the 3D
  ground truth of the benchmark's PCK / AUC), millimetres;
* ``annot2`` (F, 1, 17, 2): 2D joints, pixels;
* ``valid_frame`` (F, 1): 1 where the annotation is valid;
* ``activity_annotation`` (F, 1), optional: activity 1..7 (:data:`ACTIVITIES`).

Only valid frames are kept: each run of valid frames (cut again where the activity changes)
becomes a clip ``"TS1 chunk0"``, ``"TS1 chunk1"``, ... whose description is the activity
name (or the sequence name without activity annotation). The 17 test joints
(:data:`TEST_JOINTS`) are reordered to the Human3.6M-17 layout (:data:`TO_H36M17`). There is
one camera per sequence: the published test-set intrinsics (:func:`sequence_camera`), no
distortion, identity extrinsics (the 3D is in that camera's frame; no world frame). The 2D
source ``gt`` is ``annot2``. Frame rates: TS1–TS4 25 Hz, TS5–TS6 50 Hz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..camera import Camera
from ..errors import PoseliftError
from .prepared import Sequence, assemble_subject, check_output, save_prepared

SEQUENCES = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
TEST_JOINTS = ("head_top", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
               "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "pelvis", "spine", "head")
# test-set joint index of each Human3.6M-17 joint (pelvis, r_hip, ..., neck/nose = "head", head = "head_top")
TO_H36M17 = (14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4)
ACTIVITIES = {1: "Stand/Walk", 2: "Exercise", 3: "Sit on Chair", 4: "Reach/Crouch", 5: "On Floor", 6: "Sports",
              7: "Misc."}
FPS = {"TS1": 25.0, "TS2": 25.0, "TS3": 25.0, "TS4": 25.0, "TS5": 50.0, "TS6": 50.0}
TARGETS = ("univ_annot3", "annot3")
# published test cameras (mm): image size px, sensor size, focal length, principal point offset from the centre
_STUDIO = dict(res=(2048, 2048), sensor=(10.0, 10.0), focal=7.32506, offset=(-0.0322884, 0.0929296))
_OUTDOOR = dict(res=(1920, 1080), sensor=(10.0, 5.625), focal=8.770747185, offset=(-0.104908645, 0.104899704))
_CAMERAS = {"TS1": _STUDIO, "TS2": _STUDIO, "TS3": _STUDIO, "TS4": _STUDIO, "TS5": _OUTDOOR, "TS6": _OUTDOOR}


def sequence_camera(sequence: str) -> Camera:
    """The camera of a test sequence in pixels: focal = f_mm · res / sensor, centre = res / 2 +
    offset_mm · res / sensor (TS1–4: 2048 × 2048 studio, TS5–6: 1920 × 1080 outdoor)."""
    if sequence not in _CAMERAS:
        raise PoseliftError(f"unknown MPI-INF-3DHP test sequence {sequence!r} (expected TS1..TS6)")
    spec = _CAMERAS[sequence]
    px_per_mm = np.array(spec["res"]) / np.array(spec["sensor"])
    focal = spec["focal"] * px_per_mm
    center = np.array(spec["res"]) / 2 + np.array(spec["offset"]) * px_per_mm
    return Camera(id=sequence, res_w=spec["res"][0], res_h=spec["res"][1], focal=tuple(float(v) for v in focal),
                  center=tuple(float(v) for v in center))


def _h5py():
    try:
        import h5py
    except ImportError:
        raise PoseliftError("reading MATLAB v7.3 files needs h5py: pip install 'poselift[h36m]'") from None
    return h5py


def _joints(a: np.ndarray, dims: int, key: str, path) -> np.ndarray:
    """(F, 1, 17, dims) or (F, 17, dims) → (F, 17, dims) float64."""
    a = np.asarray(a, dtype=np.float64)
    b = a[:, 0] if a.ndim == 4 and a.shape[1] == 1 else a
    if b.ndim != 3 or b.shape[1:] != (len(TEST_JOINTS), dims):
        raise PoseliftError(f"{key} has shape {a.shape}, expected (frames, 1, 17, {dims})", path)
    return b


def _per_frame(a: np.ndarray, n: int, key: str, path) -> np.ndarray:
    a = np.asarray(a)
    if a.size != n or (a.ndim == 2 and 1 not in a.shape) or a.ndim > 2:
        raise PoseliftError(f"{key} has shape {a.shape}, expected ({n}, 1)", path)
    return a.reshape(n)


def read_annot(path) -> dict[str, np.ndarray]:
    """The arrays of one ``annot_data.mat``, in the test-set joint order: ``annot3``,
    ``univ_annot3`` (F, 17, 3) mm, ``annot2`` (F, 17, 2) px, ``valid`` (F,) bool and
    ``activity`` (F,) int (0 where not annotated)."""
    h5py = _h5py()
    path = Path(path)
    if not path.is_file():
        raise PoseliftError("file not found", path)
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("annot3", "univ_annot3", "annot2", "valid_frame") if k not in f]
            if missing:
                raise PoseliftError(f"missing variable(s) {', '.join(missing)} (has {', '.join(sorted(f))})", path)
            raw = {k: f[k][()] for k in ("annot3", "univ_annot3", "annot2", "valid_frame", "activity_annotation")
                   if k in f}
    except OSError as e:
        raise PoseliftError(f"not a MATLAB v7.3 (HDF5) file ({e})", path) from None
    out = {"annot3": _joints(raw["annot3"], 3, "annot3", path)}
    n = len(out["annot3"])
    out["univ_annot3"] = _joints(raw["univ_annot3"], 3, "univ_annot3", path)
    out["annot2"] = _joints(raw["annot2"], 2, "annot2", path)
    for key in ("univ_annot3", "annot2"):
        if len(out[key]) != n:
            raise PoseliftError(f"{key} has {len(out[key])} frames, annot3 {n}", path)
    out["valid"] = _per_frame(raw["valid_frame"], n, "valid_frame", path) > 0
    act = raw.get("activity_annotation")
    out["activity"] = (np.zeros(n, np.int64) if act is None
                       else _per_frame(act, n, "activity_annotation", path).astype(np.int64))
    return out


def valid_chunks(valid: np.ndarray, activity: np.ndarray | None = None) -> list[tuple[int, int]]:
    """[start, end) runs of valid frames, cut again wherever ``activity`` changes."""
    valid = np.asarray(valid, dtype=bool)
    cut = np.zeros(len(valid) + 1, dtype=bool)
    cut[0] = cut[-1] = True
    cut[1:-1] = valid[1:] != valid[:-1]
    if activity is not None:
        cut[1:-1] |= np.asarray(activity)[1:] != np.asarray(activity)[:-1]
    edges = np.flatnonzero(cut)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if valid[a]]


def _sequence_clips(name: str, annot: dict, target: str) -> list[Sequence]:
    has_activity = bool(annot["activity"].any())
    clips = []
    for k, (a, b) in enumerate(valid_chunks(annot["valid"], annot["activity"] if has_activity else None)):
        desc = ACTIVITIES.get(int(annot["activity"][a]), "unknown") if has_activity else name
        p3 = annot[target][a:b, list(TO_H36M17)] / 1000.0
        p2 = annot["annot2"][a:b, list(TO_H36M17)]
        clips.append(Sequence(f"{name} chunk{k}", desc, p3[None], {"gt": [p2]}))
    return clips


def prepare_mpi3dhp(source, out, *, sequences=None, target: str = "univ_annot3", allow_pickle: bool = False,
                    overwrite: bool = False, progress: bool = True) -> Path:
    """Convert the MPI-INF-3DHP test set to one prepared file (subjects TS1..TS6). Returns the path.

    ``source``: the ``mpi_inf_3dhp_test_set`` folder. ``sequences``: a subset of TS1..TS6
    (default: those present). ``target``: the 3D stored as ``positions_3d_camera``:
    ``univ_annot3`` (default, the benchmark's ground truth) or ``annot3`` (metric, whose
    projection is ``annot2``). ``allow_pickle`` is accepted for a uniform interface: nothing
    here is pickled.
    """
    out = check_output(out, overwrite)
    source = Path(source)
    if target not in TARGETS:
        raise PoseliftError(f"unknown 3D target {target!r} (expected one of {', '.join(TARGETS)})")
    if not source.is_dir():
        raise PoseliftError("expected the mpi_inf_3dhp_test_set folder (TS1..TS6/annot_data.mat)", source)
    if sequences is None:
        names = [s for s in SEQUENCES if (source / s / "annot_data.mat").is_file()]
    else:
        names = list(sequences)
    if not names:
        raise PoseliftError("no TS*/annot_data.mat here", source)
    blocks = []
    for name in tqdm(names, desc="read MPI-INF-3DHP", unit="sequence", disable=not progress):
        cam = sequence_camera(name)
        annot = read_annot(source / name / "annot_data.mat")
        block = assemble_subject(name, _sequence_clips(name, annot, target), [cam], ["gt"], skeleton="h36m17",
                                 fps=FPS[name], project_gt=False, origin=str(source / name / "annot_data.mat"))
        if block is not None:
            blocks.append(block)
    if not blocks:
        raise PoseliftError("no valid frames in any sequence", source)
    return save_prepared(out, blocks, dataset="mpi3dhp", skeleton="h36m17", fps=FPS["TS1"], overwrite=overwrite)
