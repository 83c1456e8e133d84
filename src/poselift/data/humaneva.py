"""HumanEva-I (Sigal et al., IJCV 2010) → a prepared dataset, and its evaluation layout.

Input: the VideoPose3D files. ``data_3d_humaneva15.npz`` holds ``positions_3d[subject][sequence]``
→ (F, 15, 3) metres, world frame, 60 Hz, subjects ``Train/S1..S3`` and ``Validate/S1..S3``
(the original training sequences split into a training and a validation part), sequences
``"Walking 1 chunk0"``, ``"Jog 1 chunk1"``, ... : each recording is cut into chunks at its
corrupted motion-capture frames, and the corrupted chunks are left out (so chunk numbers
can skip). 2D files ``data_2d_humaneva15_<source>.npz`` (``gt``; ``detectron_pt_coco``, whose
keypoints are in the COCO-17 layout) hold ``positions_2d[subject][sequence]`` → three
cameras C1..C3 (F, J2, 2) pixels (640 × 480), None where a video is missing. All pickled:
read only with ``allow_pickle=True``. Subjects of the 2D files that are not in the 3D file
(``Unlabeled/...``) are ignored.

Camera extrinsics come from ``assets/humaneva_cameras.json`` (as in the VideoPose3D
release); the 3D is converted to each camera's frame with them.

Not supported, and why:

* **The original HumanEva-I release** (``S1/Mocap_Data/*.c3d`` + ``*.mp``, ``Image_Data``
  videos, ``Calibration_Data/*.cal``): its joint positions are computed from the motion
  capture markers by the HumanEva MATLAB toolkit (marker-to-joint body model, C3D reading,
  per-video synchronisation); re-implementing that is out of scope. Convert it with the
  toolkit (or VideoPose3D's ``prepare_data_humaneva.py``) and prepare the resulting npz files.
* **Camera intrinsics**: the calibration at hand has only the extrinsics and image sizes;
  focal length and centre are stored as NaN, so ground-truth 2D cannot be projected here and
  comes from ``data_2d_humaneva15_gt.npz`` (required: at least one 2D file must be given).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from ..assets_path import asset_path
from ..camera import Camera, load_calibration_json
from ..errors import PoseliftError
from .bench import BenchSubject, keep_clips
from .prepared import Sequence, assemble_subject, check_output, save_prepared
from .videopose3d import read_positions_2d, read_positions_3d, source_name

TRAIN_SUBJECTS = ("Train/S1", "Train/S2", "Train/S3")
TEST_SUBJECTS = ("Validate/S1", "Validate/S2", "Validate/S3")
ACTIONS = ("Walk", "Jog", "Box")  # the evaluation actions (VideoPose3D Table 4)
ALL_ACTIONS = ("Walk", "Jog", "Box", "Gestures", "ThrowCatch")
FPS = 60.0
SKELETON = "humaneva15"
CAMERAS_ASSET = "humaneva_cameras.json"  # bundled calibration (a copy of shared/data/humaneva/cameras.json)
_ALIASES = {"Walking": "Walk", "Jogging": "Jog", "Boxing": "Box"}


def action_of(name: str) -> str:
    """The action of a sequence or clip: "Walking 1 chunk0" → "Walk", "Box 1 chunk2" → "Box"."""
    head = name.strip().split(" ")[0].split("_")[0]
    return _ALIASES.get(head, head)


def calibration_subject(subject: str) -> str:
    """The calibration entry of a subject: "Train/S1" → "S1"."""
    return subject.rsplit("/", 1)[-1]


def load_cameras(path=None) -> dict[str, list[Camera]]:
    """Cameras per subject (S1..S3). Intrinsics the file lacks (focal, centre) are NaN."""
    path = asset_path(CAMERAS_ASSET) if path is None else Path(path)
    cams = load_calibration_json(path)
    intr = json.loads(Path(path).read_text())["intrinsics"]  # valid: load_calibration_json has read it
    nan2 = (math.nan, math.nan)
    for subject, lst in cams.items():
        cams[subject] = [replace(c, focal=c.focal if "focal_length" in i else nan2,
                                 center=c.center if "center" in i else nan2) for c, i in zip(lst, intr)]
    return cams


def _check_source(source: Path) -> None:
    if source.is_dir():
        if any(source.glob("S*/Mocap_Data")) or any(source.glob("S*/Image_Data")):
            raise PoseliftError("the original HumanEva-I release is not supported (its joints need the HumanEva "
                                "MATLAB toolkit); convert it to data_3d_humaneva15.npz first", source)
        raise PoseliftError("expected VideoPose3D's data_3d_humaneva15.npz, got a folder", source)


def prepare_humaneva(source, out, *, detections=(), cameras=None, subjects=None, allow_pickle: bool = False,
                     overwrite: bool = False, progress: bool = True) -> Path:
    """Convert the VideoPose3D HumanEva-I files to one prepared file. Returns the path written.

    ``source``: ``data_3d_humaneva15.npz``; ``detections``: ``data_2d_humaneva15_<source>.npz``
    files (at least one; ``gt`` for ground-truth 2D). ``subjects``: a subset (default: all
    in the 3D file). ``progress`` shows a progress bar over the subjects.
    """
    out = check_output(out, overwrite)
    source = Path(source)
    _check_source(source)
    if not detections:
        raise PoseliftError("HumanEva-I needs at least one 2D file (data_2d_humaneva15_gt.npz for ground truth): "
                            "its camera intrinsics are not available to project the 3D", source)
    two_d = {}
    for f in detections:
        src = source_name(f, SKELETON)
        if src in two_d:
            raise PoseliftError(f"2D source {src!r} given twice", f)
        two_d[src] = read_positions_2d(f, allow_pickle)
    table = read_positions_3d(source, allow_pickle)
    wanted = sorted(table) if subjects is None else [str(s) for s in subjects]
    unknown = [s for s in wanted if s not in table]
    if unknown:
        raise PoseliftError(f"no subject(s) {', '.join(unknown)} in positions_3d (has {', '.join(sorted(table))})",
                            source)
    calib = load_cameras(cameras)
    sources = list(two_d)
    layouts = {src: layout for src, (_, layout) in two_d.items()}
    blocks = []
    for subject in tqdm(wanted, desc="prepare HumanEva-I", unit="subject", disable=not progress):
        cal = calibration_subject(subject)
        if cal not in calib:
            raise PoseliftError(f"no camera calibration for subject {cal}", cameras or asset_path(CAMERAS_ASSET))
        seqs = []
        for name in sorted(table[subject]):
            p2 = {src: t.get(subject, {}).get(name) for src, (t, _) in two_d.items()}
            seqs.append(Sequence(name, action_of(name), table[subject][name],
                                 {src: v for src, v in p2.items() if v is not None}))
        block = assemble_subject(subject, seqs, calib[cal], sources, skeleton=SKELETON, layouts_2d=layouts, fps=FPS,
                                 project_gt=False, origin=str(source))
        if block is not None:
            blocks.append(block)
    return save_prepared(out, blocks, dataset="humaneva", skeleton=SKELETON, fps=FPS, overwrite=overwrite)


# ------------------------------------------------------------------------- training selection


def select_actions(subjects: list[BenchSubject], actions=ACTIONS) -> list[BenchSubject]:
    """The clips of ``subjects`` whose action is one of ``actions`` (subjects left empty are dropped)."""
    actions = set(actions)
    return keep_clips(subjects, lambda name, _: action_of(name) in actions)


def training_sets(subjects: list[BenchSubject], mode: str = "multi", actions=ACTIONS) -> dict[str, list[BenchSubject]]:
    """The training data of the two HumanEva-I settings of VideoPose3D's Table 4.

    ``mode="multi"`` (MA): one model for all ``actions`` → ``{"all": subjects}``;
    ``mode="single"`` (SA): one model per action → ``{action: subjects}``.
    """
    if mode == "multi":
        return {"all": select_actions(subjects, actions)}
    if mode == "single":
        return {a: select_actions(subjects, (a,)) for a in actions}
    raise PoseliftError(f"unknown training mode {mode!r} (expected 'single' or 'multi')")


# ------------------------------------------------------------------------------ evaluation


def table4(records, actions=ACTIONS) -> dict[str, dict[str, float]]:
    """Frame-weighted error per action and subject: ``{action: {"S1": mm, ...}}``.

    ``records``: iterable of (subject, clip name or description, frames, error) — e.g. the
    per-clip P-MPJPE of an evaluation. Subjects are reduced to their name ("Validate/S1" → "S1").
    """
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for subject, clip, frames, error in records:
        key = (action_of(str(clip)), calibration_subject(str(subject)))
        if key[0] in actions and frames > 0:
            sums[key][0] += float(error) * frames
            sums[key][1] += frames
    out: dict[str, dict[str, float]] = {}
    for (action, subject), (total, frames) in sorted(sums.items()):
        out.setdefault(action, {})[subject] = total / frames
    return {a: out[a] for a in actions if a in out}


def table4_average(t: dict[str, dict[str, float]], actions=ACTIONS, subjects=("S1", "S2", "S3")) -> float | None:
    """The "Avg" column of Table 4: the mean of the cells of :func:`table4`'s ``t`` that are
    there (each action x subject counts once, whatever its frames); None without cells."""
    present = [t[a][s] for a in actions for s in subjects if s in t.get(a, {})]
    return sum(present) / len(present) if present else None


def format_table4(records, actions=ACTIONS, subjects=("S1", "S2", "S3"), label: str = "P-MPJPE (mm)") -> str:
    """VideoPose3D's Table 4 as Markdown: one column per action and subject, then the average of
    the cells (a missing cell shows "–" and is left out of the average)."""
    t = table4(records, actions)
    head = [label] + [f"{a} {s}" for a in actions for s in subjects] + ["Avg"]
    cells = [t.get(a, {}).get(s) for a in actions for s in subjects]
    avg = table4_average(t, actions, subjects)
    row = ["ours"] + ["–" if c is None else f"{c:.1f}" for c in cells] + ["–" if avg is None else f"{avg:.1f}"]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(row) + " |"])
