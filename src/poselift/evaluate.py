"""Evaluation on benchmark files: whole sequences through the dilated model.

Each clip of each camera is one sequence, replicate-padded at its ends and run through
the dilated model at once (no clip loop), with test-time flip averaging. Errors are
frame-weighted over all frames, in millimetres, with tables per subject and per clip
description.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .data.cmu import BenchSubject, load_bench_dir
from .data.dataset import root_relative
from .errors import PoseliftError
from .metrics import auc, mpjpe_frames, mpjve, n_mpjpe_frames, p_mpjpe_frames, pck
from .models.temporal import TemporalModel
from .skeleton import H36M17, Skeleton, coco17_from_h36m17, flip_pose, get_skeleton

METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
SCALE = {"pck": 100.0, "auc": 100.0}  # percentages; every other figure metres → mm


from .predict import CHUNK, load_model, predict_sequence  # noqa: E402, F401  (the inference core)


def bench_inputs(subj: BenchSubject, c: int, sl: slice, input_kind: str, layout: str = "h36m17",
                 norm: str = "screen") -> np.ndarray:
    """The model input for one clip of one benchmark camera, normalised.

    The file's own 2D of source ``input_kind`` when it is in the model's ``layout`` (CMU-17:
    ``gt`` exact, ``det`` synthetic detections). COCO-17 inputs for Human3.6M-17 data are
    derived from the 3D as the training pipeline does (face joints synthesised, projected
    with the camera's distortion), with seeded synthetic detector noise for ``det``.
    """
    from .data.dataset import intrinsic_normalize
    from .data.noise import add_detector_noise

    cam = subj.cameras[c]
    if input_kind in subj.positions_2d and subj.layout_2d(input_kind) == layout:
        px = subj.positions_2d[input_kind][c, sl].astype(np.float64)
    elif layout == "coco17" and subj.skeleton == "h36m17" and input_kind in ("gt", "det"):
        px = cam.project(coco17_from_h36m17(subj.positions_3d_camera[c, sl].astype(np.float64)))
        if input_kind == "det":
            rng = np.random.default_rng([int(subj.subject) if subj.subject.isdigit() else 0, c, sl.start, 2024])
            px = add_detector_noise(px, rng, cam.res_w)
    elif input_kind not in subj.positions_2d:
        raise PoseliftError(f"subject {subj.subject} has no 2D source {input_kind!r} "
                            f"(has {', '.join(subj.positions_2d)})")
    else:
        raise PoseliftError(f"2D source {input_kind!r} is in layout {subj.layout_2d(input_kind)}; "
                            f"the model takes {layout}")
    if norm == "intrinsic":
        return intrinsic_normalize(px, cam)
    return cam.normalize(px).astype(np.float32)


@dataclass
class _Acc:
    """Frame-weighted sums of per-frame errors (metres) → means in mm."""

    frames: int = 0
    sums: dict | None = None

    def add(self, n: int, values: dict):
        if self.sums is None:
            self.sums = defaultdict(float)
        self.frames += n
        for k, v in values.items():
            self.sums[k] += v

    def result(self) -> dict:
        out = {k: SCALE.get(k, 1000.0) * v / self.frames for k, v in self.sums.items()}
        out["frames"] = self.frames
        return out


class _Tables:
    """Overall, per-subject, per-description, per-camera and per-clip accumulators."""

    def __init__(self):
        self.overall, self.subject, self.desc, self.camera, self.clip, self.subject_desc = (
            _Acc(), defaultdict(_Acc), defaultdict(_Acc), defaultdict(_Acc), defaultdict(_Acc), defaultdict(_Acc))

    def add(self, subject, desc, camera, clip, n, values):
        for acc in (self.overall, self.subject[subject], self.desc[desc], self.camera[camera],
                    self.clip[f"{subject}/{clip}"], self.subject_desc[f"{subject}/{desc}"]):
            acc.add(n, values)

    def result(self) -> dict:
        return {
            **self.overall.result(),
            "per_subject": {k: v.result() for k, v in sorted(self.subject.items())},
            "per_camera": {k: v.result() for k, v in self.camera.items()},
            "per_description": {k: v.result() for k, v in sorted(self.desc.items())},
            "per_subject_description": {k: v.result() for k, v in sorted(self.subject_desc.items())},
            "per_clip": {k: v.result() for k, v in sorted(self.clip.items())},
        }


def _check_source(subjects: list[BenchSubject], source: str) -> None:
    if not subjects:
        raise PoseliftError("no subjects to evaluate")
    known = set().union(*(s.positions_2d for s in subjects)) | {"gt", "det"}
    if source not in known:
        raise PoseliftError(f"input must be one of {', '.join(sorted(known))}, got {source!r}")


def _jobs(subjects: list[BenchSubject]):
    return [(s, c, clip) for s in subjects for c in range(len(s.cameras)) for clip in s.clip_slices()]


def evaluate_bench(model: TemporalModel, subjects: list[BenchSubject], input_kind: str = "gt",
                   flip_test: bool = True, progress: bool = True, layout: str = "h36m17",
                   extra_metrics: tuple[str, ...] = (), layout_out: str = "h36m17") -> dict:
    """Evaluate ``model`` on benchmark subjects with the 2D source ``input_kind``; returns
    overall, per-subject, per-description, per-camera and per-clip tables (mm; ``pck`` and
    ``auc`` among ``extra_metrics`` in %). ``layout`` and ``layout_out`` are the model's
    input and output layouts."""
    _check_source(subjects, input_kind)
    skel_in, skel_out = get_skeleton(layout), get_skeleton(layout_out)
    tables = _Tables()
    jobs = _jobs(subjects)
    for subj, c, (ci, name, desc, sl) in tqdm(jobs, desc=f"evaluate ({input_kind})", disable=not progress,
                                             dynamic_ncols=True):
        x2d = bench_inputs(subj, c, sl, input_kind, layout)
        if x2d.shape[1] != model.cfg.joints_in:
            raise PoseliftError(f"benchmark has {x2d.shape[1]} joints but the model takes {model.cfg.joints_in}")
        target = root_relative(subj.positions_3d_camera[c, sl].astype(np.float64))
        pred = predict_sequence(model, x2d, flip_test, skeleton_in=skel_in, skeleton_out=skel_out).astype(np.float64)
        n = len(target)
        values = {
            "mpjpe": mpjpe_frames(pred, target).sum(),
            "p_mpjpe": p_mpjpe_frames(pred, target).sum(),
            "n_mpjpe": n_mpjpe_frames(pred, target).sum(),
            "mpjve": mpjve(pred, target) * n if n > 1 else 0.0,
        }
        if "pck" in extra_metrics:
            values["pck"] = float(pck(pred, target, threshold=0.15)) * n
        if "auc" in extra_metrics:
            values["auc"] = float(auc(pred, target)) * n
        tables.add(subj.subject, desc, subj.cameras[c].id, name, n, values)
    return {"input": input_kind, "flip_test": flip_test, **tables.result()}


TRAJECTORY_METRICS = ("root", "depth", "abs_mpjpe")


def evaluate_trajectory(model: TemporalModel, subjects: list[BenchSubject], input_kind: str = "gt",
                        pose_model: TemporalModel | None = None, flip_test: bool = True, progress: bool = True,
                        layout: str = "h36m17", pose_layout: str = "h36m17") -> dict:
    """Root placement on benchmark subjects (mm): ``root`` (distance of the predicted root
    from the true one, camera frame), ``depth`` (its |z| part) and, given a pose model,
    ``abs_mpjpe`` (joints of pose + root against the true camera-frame joints) and the same
    three figures for root placement by reprojection of that pose (``reproj_*``). The
    trajectory model sees intrinsics-normalised 2D with the true intrinsics."""
    from .root import root_by_reprojection
    from .skeleton import ROOT1

    _check_source(subjects, input_kind)
    tables = _Tables()
    for subj, c, (ci, name, desc, sl) in tqdm(_jobs(subjects), desc=f"trajectory ({input_kind})",
                                             disable=not progress, dynamic_ncols=True):
        truth = subj.positions_3d_camera[c, sl].astype(np.float64)
        uv = bench_inputs(subj, c, sl, input_kind, layout, norm="intrinsic")
        root = predict_sequence(model, uv, flip_test, get_skeleton(layout), ROOT1).astype(np.float64)
        values = {"root": np.linalg.norm(root[:, 0] - truth[:, 0], axis=-1).sum(),
                  "depth": np.abs(root[:, 0, 2] - truth[:, 0, 2]).sum()}
        if pose_model is not None:
            pose = predict_sequence(pose_model, bench_inputs(subj, c, sl, input_kind, pose_layout), flip_test,
                                    get_skeleton(pose_layout)).astype(np.float64)
            pose -= pose[:, :1]
            values["abs_mpjpe"] = mpjpe_frames(pose + root, truth).sum()
            uv_pose = bench_inputs(subj, c, sl, input_kind, pose_layout, norm="intrinsic")
            rr = root_by_reprojection(pose, uv_pose, np.ones(uv_pose.shape[:2]), pose_layout).astype(np.float64)
            values["reproj_root"] = np.linalg.norm(rr[:, 0] - truth[:, 0], axis=-1).sum()
            values["reproj_depth"] = np.abs(rr[:, 0, 2] - truth[:, 0, 2]).sum()
            values["reproj_abs_mpjpe"] = mpjpe_frames(pose + rr, truth).sum()
        tables.add(subj.subject, desc, subj.cameras[c].id, name, len(truth), values)
    return {"input": input_kind, "flip_test": flip_test, "kind": "trajectory", **tables.result()}


def load_eval_subjects(data: str = "cmu", bench_dir=None, dataset=None, source: str = "gt", subjects=None,
                       actions=None) -> list[BenchSubject]:
    """The subjects to evaluate on: CMU-17 benchmark files in ``bench_dir``, or the test
    subjects (protocol default, or ``subjects``) of a prepared ``dataset`` file with 2D
    ``source``, only ``actions`` if given (protocol default for HumanEva: Walk, Jog, Box)."""
    from .data.protocols import protocol

    proto = protocol(data)
    if data == "cmu":
        if bench_dir is None:
            raise PoseliftError("give the benchmark folder: --bench DIR")
        found = load_bench_dir(bench_dir)
        if subjects:
            found = [s for s in found if s.subject in set(subjects)]
    else:
        from .data.prepared import load_prepared
        from .data.protocols import pick_subjects

        if dataset is None:
            raise PoseliftError(f"give the prepared {data} file: --dataset FILE (made by poselift prepare)")
        found = load_prepared(dataset, subjects=pick_subjects(subjects, proto.test, dataset, "test"), source=source)
    actions = list(actions or proto.actions_test)
    if actions:
        from .data.bench import keep_clips

        found = keep_clips(found, lambda _, desc: desc in actions)
    if not found:
        raise PoseliftError("nothing to evaluate: no subject has clips of the chosen actions",
                            dataset if data != "cmu" else bench_dir)
    return found


def evaluate_checkpoint(checkpoint, bench_dir=None, input_kind: str = "gt", flip_test: bool = True,
                        progress: bool = True, threads: int = 0, pose_checkpoint=None, *, data: str = "cmu",
                        dataset=None, subjects=None, actions=None, precision: str = "fp32") -> dict:
    """Evaluate a pose model, or a trajectory model (with ``pose_checkpoint``: also the
    absolute error of pose + root and the reprojection baseline), on CMU-17 benchmark files
    (``bench_dir``) or a prepared ``dataset`` of kind ``data`` (see :func:`load_eval_subjects`).
    ``precision``: how the model runs (see :func:`~poselift.models.folded.inference_model`)."""
    from .data.protocols import protocol
    from .models.folded import inference_model

    if threads > 0:
        torch.set_num_threads(threads)
    model, meta = load_model(checkpoint)
    layout = meta.get("skeleton_in", "h36m17")
    found = load_eval_subjects(data, bench_dir, dataset, input_kind, subjects, actions)
    if meta.get("skeleton_out", "h36m17") not in ("root1", found[0].skeleton):
        raise PoseliftError(f"the model predicts {meta.get('skeleton_out')} joints; this data has "
                            f"{found[0].skeleton}", checkpoint)
    if meta.get("target", "pose") == "trajectory":
        pose_model, pose_layout = None, "h36m17"
        if pose_checkpoint is not None:
            pose_model, pose_meta = load_model(pose_checkpoint)
            if pose_meta.get("target", "pose") != "pose":
                raise PoseliftError("not a pose model", pose_checkpoint)
            pose_layout = pose_meta.get("skeleton_in", "h36m17")
        if pose_model is not None:
            pose_model = inference_model(pose_model, precision)
        result = evaluate_trajectory(inference_model(model, precision), found, input_kind, pose_model, flip_test,
                                     progress, layout, pose_layout)
        result["pose_checkpoint"] = str(pose_checkpoint) if pose_checkpoint else None
    else:
        result = evaluate_bench(inference_model(model, precision), found, input_kind, flip_test, progress, layout=layout,
                                extra_metrics=protocol(data).extra_metrics,
                                layout_out=meta.get("skeleton_out", "h36m17"))
    result["data"] = data
    result["input_layout"] = layout
    result["checkpoint"] = str(checkpoint)
    result["model"] = meta["model"]
    result["precision"] = precision
    return result


COLUMNS = {"pck": ("PCK", 1), "auc": ("AUC", 1), "mpjpe": ("MPJPE", 1), "p_mpjpe": ("P-MPJPE", 1), "n_mpjpe": ("N-MPJPE", 1), "mpjve": ("MPJVE", 2),
           "root": ("root", 0), "depth": ("depth", 0), "abs_mpjpe": ("abs MPJPE", 0),
           "reproj_root": ("reproj root", 0), "reproj_depth": ("reproj depth", 0),
           "reproj_abs_mpjpe": ("reproj abs", 0)}


def format_table(result: dict, by: str = "per_subject", title: str | None = None) -> str:
    """A plain-text table of one breakdown (rows) by the result's metrics (mm)."""
    metrics = [k for k in COLUMNS if k in result]
    rows = [(k, v) for k, v in result[by].items()] + [("all", {k: result[k] for k in (*metrics, "frames")})]
    width = max(12, max(len(k) for k, _ in rows) + 2)
    cols = {k: max(9, len(COLUMNS[k][0]) + 2) for k in metrics}
    lines = [title] if title else []
    lines.append(f"{'':<{width}}{'frames':>8}" + "".join(f"{COLUMNS[k][0]:>{cols[k]}}" for k in metrics))
    for k, v in rows:
        lines.append(f"{k:<{width}}{v['frames']:>8}" + "".join(f"{v[m]:>{cols[m]}.{COLUMNS[m][1]}f}" for m in metrics))
    return "\n".join(lines)
