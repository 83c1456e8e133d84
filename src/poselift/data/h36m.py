"""Human3.6M (Ionescu et al., TPAMI 2014) → a prepared dataset (:mod:`poselift.data.prepared`).

Two inputs are understood:

* **the original release**: a folder holding ``S1/MyPoseFeatures/D3_Positions/*.cdf`` (from
  ``Poses_D3_Positions_S*.tgz``), one file per sequence (``Walking 1.cdf``,
  ``Directions.cdf``, ...), variable ``Pose`` of shape (1, F, 96): 32 joints, millimetres,
  world frame, 50 Hz. Read with ``cdflib`` (``pip install 'poselift[h36m]'``). Camera-specific
  files (``Walking.54138969.cdf``, as in ``D2_Positions``) are skipped: only world positions
  are read, and the cameras come from the calibration.
* **the VideoPose3D files**: ``data_3d_h36m.npz`` (``positions_3d[subject][sequence]`` →
  (F, 32, 3) metres, world frame) - pickled, so read only with ``allow_pickle=True``.

2D sources are VideoPose3D files ``data_2d_h36m_<source>.npz`` (``gt``, ``cpn_ft_h36m_dbb``,
``detectron_ft_h36m``, ``sh_pt_mpii``, ``sh_ft_h36m``, ...; the source name comes from the file
name), pickled too. Without a ``gt`` file, ground-truth 2D is the projection (with distortion)
of the 3D through the calibrated cameras - how the VideoPose3D ``gt`` file was made.

The Stacked-Hourglass files (``sh_pt_mpii``: the detector trained on MPII; ``sh_ft_h36m``:
fine-tuned on Human3.6M) hold 16 joints in the MPII order (:data:`poselift.skeleton.MPII16`),
kept as they are: a model trained on them takes 16 joints and predicts the 17, as in the
reference release. Slots 7-9 are MPII's thorax, upper neck and head top; 3d-pose-baseline,
which made these files, calls them the Human3.6M spine, thorax and head (and a detector
fine-tuned with that naming outputs those). Which reading a file needs is decided here on the
data: slot 7 is compared with the projected Human3.6M thorax and spine
(:func:`sixteen_joint_reading`), and the source is stored as ``mpii16`` or ``mpii16_h36m``.
The reading matters only when such 2D is mapped to the 17 joints of another model
(``poselift evaluate --map-joints``, :func:`poselift.skeleton.convert_2d`).

The 32 joints are reduced to the standard 17 (:data:`KEEP_17`, the Human3.6M-17 order of
:data:`poselift.skeleton.H36M17`); sequence names follow VideoPose3D ("TakingPhoto" → "Photo",
"WalkingDog" → "WalkDog"), descriptions merge the sub-takes ("Walking 1" → "Walking").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..camera import Camera, load_calibration_json
from ..errors import PoseliftError
from ..skeleton import H36M17
from .virtual import default_calibration_path
from .prepared import Sequence, assemble_subject, check_output, save_prepared
from .videopose3d import read_positions_2d, read_positions_3d, source_name

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
SUBJECTS = TRAIN_SUBJECTS + TEST_SUBJECTS
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases", "Sitting",
           "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether")
FPS = 50.0
NUM_JOINTS_FULL = 32
# indices of the 17 kept joints among the 32 of the release, in Human3.6M-17 order:
# pelvis, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, spine, thorax, neck/nose, head,
# l_shoulder, l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist
KEEP_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}
_CAMERA_SUFFIX = re.compile(r"\.\d{8}$")  # "Walking 1.54138969": a per-camera file


def canonical_sequence(name: str) -> str:
    """VideoPose3D's name of a sequence: "TakingPhoto 1" → "Photo 1", "WalkingDog" → "WalkDog"."""
    head, sep, rest = name.partition(" ")
    return _ALIASES.get(head, head) + sep + rest


def action_of(name: str) -> str:
    """The action of a sequence, sub-take merged: "Walking 1" → "Walking", "TakingPhoto" → "Photo"."""
    return re.sub(r"\s+\d+$", "", canonical_sequence(name).strip())


def reduce_to_17(positions: np.ndarray) -> np.ndarray:
    """(..., 32, 3) → (..., 17, 3) in the Human3.6M-17 order; 17-joint input is returned as is."""
    p = np.asarray(positions)
    if p.shape[-2] == len(KEEP_17):
        return p
    if p.shape[-2] != NUM_JOINTS_FULL:
        raise PoseliftError(f"expected 32 (or 17) Human3.6M joints, got {p.shape[-2]}")
    return p[..., list(KEEP_17), :]


def load_cameras(path=None) -> dict[str, list[Camera]]:
    """The calibrated cameras per subject (default: the bundled Human3.6M calibration)."""
    return load_calibration_json(default_calibration_path() if path is None else path)


# ------------------------------------------------------------------------------ the release


def _cdflib():
    try:
        import cdflib
    except ImportError:
        raise PoseliftError("reading Human3.6M .cdf files needs cdflib: pip install 'poselift[h36m]'") from None
    return cdflib


def read_cdf_positions(path) -> np.ndarray:
    """The ``Pose`` variable of a D3_Positions ``.cdf``: (F, 32, 3) float64, millimetres."""
    from .filetype import check_input_file

    cdflib = _cdflib()
    path = Path(path)
    check_input_file(path, "a .cdf file")
    try:
        pose = np.asarray(cdflib.CDF(str(path)).varget("Pose"), dtype=np.float64)
    except FileNotFoundError:
        raise PoseliftError("file not found", path) from None
    except Exception as e:  # cdflib fails in many ways on damaged or foreign files
        raise PoseliftError(f"cannot read the Pose variable of this CDF file ({e.__class__.__name__}: {e})",
                            path) from None
    if pose.size == 0 or pose.size % (NUM_JOINTS_FULL * 3) or pose.shape[-1] != NUM_JOINTS_FULL * 3:
        raise PoseliftError(f"Pose has shape {pose.shape}, expected (1, frames, 96): 32 joints × 3", path)
    return pose.reshape(-1, NUM_JOINTS_FULL, 3)


def find_cdf_files(root, subjects=None) -> dict[str, dict[str, Path]]:
    """``{subject: {sequence: path}}`` of ``<root>/S*/MyPoseFeatures/D3_Positions/*.cdf``."""
    root = Path(root)
    out: dict[str, dict[str, Path]] = {}
    for folder in sorted(root.glob("S*/MyPoseFeatures/D3_Positions")):
        subject = folder.parents[1].name
        if subjects is not None and subject not in subjects:
            continue
        for f in sorted(folder.glob("*.cdf")):
            if _CAMERA_SUFFIX.search(f.stem) or "_ALL" in f.stem:
                continue
            name = canonical_sequence(f.stem)
            if name in out.setdefault(subject, {}):
                raise PoseliftError(f"sequence {name!r} found twice (also {out[subject][name].name})", f)
            out[subject][name] = f
    if not out:
        raise PoseliftError("no S*/MyPoseFeatures/D3_Positions/*.cdf files here"
                            + (f" for subjects {', '.join(subjects)}" if subjects else ""), root)
    return out


# ------------------------------------------------------------------------------ preparation


def _read_3d(source, subjects, allow_pickle: bool, progress: bool) -> dict[str, dict[str, np.ndarray]]:
    """World-frame 17-joint 3D in metres per subject and sequence, from either input."""
    source = Path(source)
    if source.is_dir():
        files = find_cdf_files(source, subjects)
        jobs = [(s, a, f) for s, seqs in files.items() for a, f in seqs.items()]
        out: dict[str, dict[str, np.ndarray]] = {}
        for s, a, f in tqdm(jobs, desc="read Human3.6M CDF", unit="file", disable=not progress):
            out.setdefault(s, {})[a] = reduce_to_17(read_cdf_positions(f)) / 1000.0
        return out
    table = read_positions_3d(source, allow_pickle)
    out = {}
    for s, seqs in table.items():
        if subjects is None or s in subjects:
            try:
                out[s] = {canonical_sequence(a): reduce_to_17(p).astype(np.float64) for a, p in seqs.items()}
            except PoseliftError as e:
                raise PoseliftError(f"subject {s}: {e.message}", source) from None
    if not out:
        raise PoseliftError(f"no subjects {', '.join(subjects)} in positions_3d", source)
    return out


def sixteen_joint_reading(table: dict, world: dict, calib: dict, frames_per_video: int = 50) -> str:
    """``mpii16`` or ``mpii16_h36m``: how to read slots 7-9 of 16-joint MPII-order keypoints
    ``table`` (``{subject: {sequence: [per-camera (F, 16, 2)]}}``) of the Human3.6M 3D
    ``world`` (``{subject: {sequence: (F, 17, 3)}}``, metres) seen by the cameras ``calib``.

    Slot 7 is MPII's thorax (at the shoulders) in the one reading and the Human3.6M spine (at
    mid-back) in the other: over up to ``frames_per_video`` frames of each video, the median
    pixel distance of slot 7 to the projected Human3.6M thorax and to the projected spine
    decides. ``mpii16`` when nothing can be compared."""
    thorax, spine = H36M17.index("thorax"), H36M17.index("spine")
    d_thorax, d_spine = [], []
    for subject, seqs in table.items():
        if subject not in world or subject not in calib:
            continue
        for name, cams in seqs.items():
            w = world[subject].get(canonical_sequence(name))
            if w is None:
                continue
            for cam, kp in zip(calib[subject], cams):
                if kp is None:
                    continue
                n = min(len(kp), len(w))
                idx = np.arange(0, n, max(1, n // frames_per_video))
                px = cam.project(cam.world_to_camera(np.asarray(w[idx], dtype=np.float64)))
                slot = np.asarray(kp[idx, 7], dtype=np.float64)
                ok = np.isfinite(slot).all(-1) & np.isfinite(px[:, thorax]).all(-1)
                d_thorax.append(np.linalg.norm(slot - px[:, thorax], axis=-1)[ok])
                d_spine.append(np.linalg.norm(slot - px[:, spine], axis=-1)[ok])
    if not d_thorax or not np.concatenate(d_thorax).size:
        return "mpii16"
    return "mpii16_h36m" if np.median(np.concatenate(d_spine)) < np.median(np.concatenate(d_thorax)) else "mpii16"


def prepare_h36m(source, out, *, detections=(), cameras=None, subjects=None, allow_pickle: bool = False,
                 overwrite: bool = False, progress: bool = True) -> Path:
    """Convert Human3.6M to one prepared file. Returns the path written.

    ``source``: the folder of the original release, or VideoPose3D's ``data_3d_h36m.npz``.
    ``detections``: VideoPose3D 2D files ``data_2d_h36m_<source>.npz`` (their own ``gt``
    included). ``cameras``: a calibration JSON (default: bundled). ``subjects``: a subset
    (default: all found). Sequences a 2D file lacks are kept NaN for that source (warning);
    2D longer or shorter than the 3D is trimmed to the shorter.
    """
    out = check_output(out, overwrite)
    subjects = None if subjects is None else [str(s) for s in subjects]
    two_d = {}  # read the pickled 2D first: a refusal must come before any long work
    for f in detections:
        src = source_name(f, "h36m")
        if src in two_d:
            raise PoseliftError(f"2D source {src!r} given twice", f)
        table, layout = read_positions_2d(f, allow_pickle)
        table = {s: {canonical_sequence(a): cams for a, cams in seqs.items()} for s, seqs in table.items()}
        two_d[src] = (Path(f), table, layout)
    world = _read_3d(source, subjects, allow_pickle, progress)
    calib = load_cameras(cameras)
    for src, (f, table, layout) in two_d.items():  # which joints slots 7-9 of 16-joint 2D hold
        if layout == "mpii16":
            two_d[src] = (f, table, sixteen_joint_reading(table, world, calib))
    sources = ["gt"] + [s for s in two_d if s != "gt"]
    layouts = {src: layout for src, (_, _, layout) in two_d.items()}
    blocks = []
    for subject in tqdm(sorted(world, key=lambda s: (len(s), s)), desc="prepare Human3.6M", unit="subject",
                        disable=not progress):
        if subject not in calib:
            raise PoseliftError(f"no camera calibration for subject {subject}", cameras or default_calibration_path())
        seqs = []
        for name in sorted(world[subject]):
            p2 = {src: table.get(subject, {}).get(name) for src, (_, table, _) in two_d.items()}
            seqs.append(Sequence(name, action_of(name), world[subject][name],
                                 {src: v for src, v in p2.items() if v is not None}))
        block = assemble_subject(subject, seqs, calib[subject], sources, skeleton="h36m17", layouts_2d=layouts,
                                 fps=FPS, origin=str(source))
        if block is not None:
            blocks.append(block)
    return save_prepared(out, blocks, dataset="h36m", skeleton="h36m17", fps=FPS, overwrite=overwrite)
