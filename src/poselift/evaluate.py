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
from .data.windows import pad_sequence_torch
from .errors import PoseliftError
from .metrics import mpjpe_frames, mpjve, n_mpjpe_frames, p_mpjpe_frames
from .models.temporal import ModelConfig, TemporalModel
from .skeleton import H36M17, Skeleton, coco17_from_h36m17, flip_pose, get_skeleton
from .train.checkpoint import load_checkpoint, read_meta

METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")


def load_model(path, device: str = "cpu") -> tuple[TemporalModel, dict]:
    """The dilated model of a checkpoint, in eval mode."""
    meta = read_meta(path)
    model = TemporalModel(ModelConfig.from_dict(meta["model"]))
    load_checkpoint(path, model)
    return model.to(device).eval(), meta


@torch.no_grad()
def predict_sequence(
    model: TemporalModel, inputs_2d: np.ndarray, flip_test: bool = True, skeleton_in: Skeleton = H36M17,
    skeleton_out: Skeleton = H36M17, device: str = "cpu",
) -> np.ndarray:
    """Normalised 2D (T, J_in, 2) → 3D (T, J_out, 3), one output per input frame."""
    x = torch.as_tensor(np.asarray(inputs_2d, dtype=np.float32), device=device)
    if x.ndim != 3 or x.shape[0] == 0:
        raise PoseliftError(f"expected a sequence (frames, joints, 2) with at least one frame, got {tuple(x.shape)}")
    x = pad_sequence_torch(x, model.receptive_field, model.total_causal_shift, dim=0)[None]
    if flip_test:
        x = torch.cat([x, flip_pose(x, skeleton_in)])
    y = model(x)
    if flip_test:
        y = (y[0] + flip_pose(y[1], skeleton_out)) / 2
    else:
        y = y[0]
    return y.cpu().numpy()


def bench_inputs(subj: BenchSubject, c: int, sl: slice, input_kind: str, layout: str = "h36m17",
                 norm: str = "screen") -> np.ndarray:
    """The model input for one clip of one benchmark camera, normalised.

    Human3.6M-17 inputs are the file's own 2D (``gt`` exact, ``det`` synthetic detections).
    COCO-17 inputs are derived from the 3D as the training pipeline does (face joints
    synthesised, projected with the camera's distortion), with seeded synthetic detector
    noise for ``det``.
    """
    from .data.dataset import intrinsic_normalize
    from .data.noise import add_detector_noise

    cam = subj.cameras[c]
    if layout == "h36m17":
        px = subj.positions_2d[input_kind][c, sl].astype(np.float64)
    elif layout == "coco17":
        px = cam.project(coco17_from_h36m17(subj.positions_3d_camera[c, sl].astype(np.float64)))
        if input_kind == "det":
            rng = np.random.default_rng([int(subj.subject) if subj.subject.isdigit() else 0, c, sl.start, 2024])
            px = add_detector_noise(px, rng, cam.res_w)
    else:
        raise PoseliftError(f"no benchmark inputs for layout {layout!r}")
    if norm == "intrinsic":
        return intrinsic_normalize(px, cam)
    return cam.normalize(px).astype(np.float32)


@dataclass
class _Acc:
    frames: int = 0
    sums: dict | None = None

    def add(self, n: int, values: dict):
        if self.sums is None:
            self.sums = defaultdict(float)
        self.frames += n
        for k, v in values.items():
            self.sums[k] += v

    def result(self) -> dict:
        out = {k: 1000.0 * self.sums[k] / self.frames for k in METRICS}
        out["frames"] = self.frames
        return out


def evaluate_bench(model: TemporalModel, subjects: list[BenchSubject], input_kind: str = "gt",
                   flip_test: bool = True, progress: bool = True, layout: str = "h36m17") -> dict:
    """Evaluate ``model`` on benchmark subjects; returns overall, per-subject, per-description,
    per-camera and per-clip tables (mm). ``layout`` is the model's input layout."""
    if input_kind not in ("gt", "det"):
        raise PoseliftError(f"input must be 'gt' or 'det', got {input_kind!r}")
    skel_in = get_skeleton(layout)
    overall, per_subject, per_desc, per_cam = _Acc(), defaultdict(_Acc), defaultdict(_Acc), defaultdict(_Acc)
    per_clip = {}
    jobs = [(s, c, clip) for s in subjects for c in range(len(s.cameras)) for clip in s.clip_slices()]
    for subj, c, (ci, name, desc, sl) in tqdm(jobs, desc=f"evaluate ({input_kind})", disable=not progress,
                                             dynamic_ncols=True):
        cam = subj.cameras[c]
        x2d = bench_inputs(subj, c, sl, input_kind, layout)
        if x2d.shape[1] != model.cfg.joints_in:
            raise PoseliftError(f"benchmark has {x2d.shape[1]} joints but the model takes {model.cfg.joints_in}")
        target = root_relative(subj.positions_3d_camera[c, sl].astype(np.float64))
        pred = predict_sequence(model, x2d, flip_test, skeleton_in=skel_in).astype(np.float64)
        n = len(target)
        values = {
            "mpjpe": mpjpe_frames(pred, target).sum(),
            "p_mpjpe": p_mpjpe_frames(pred, target).sum(),
            "n_mpjpe": n_mpjpe_frames(pred, target).sum(),
            "mpjve": mpjve(pred, target) * n if n > 1 else 0.0,
        }
        for acc in (overall, per_subject[subj.subject], per_desc[desc], per_cam[cam.id]):
            acc.add(n, values)
        clip_acc = per_clip.setdefault(name, _Acc())
        clip_acc.add(n, values)
    return {
        "input": input_kind,
        "flip_test": flip_test,
        **overall.result(),
        "per_subject": {k: v.result() for k, v in sorted(per_subject.items())},
        "per_camera": {k: v.result() for k, v in per_cam.items()},
        "per_description": {k: v.result() for k, v in sorted(per_desc.items())},
        "per_clip": {k: v.result() for k, v in sorted(per_clip.items())},
    }


def evaluate_checkpoint(checkpoint, bench_dir, input_kind: str = "gt", flip_test: bool = True,
                        progress: bool = True, threads: int = 0) -> dict:
    if threads > 0:
        torch.set_num_threads(threads)
    model, meta = load_model(checkpoint)
    if meta.get("target", "pose") != "pose":
        raise PoseliftError("this is a trajectory model; evaluate a pose model", checkpoint)
    layout = meta.get("skeleton_in", "h36m17")
    result = evaluate_bench(model, load_bench_dir(bench_dir), input_kind, flip_test, progress, layout=layout)
    result["input_layout"] = layout
    result["checkpoint"] = str(checkpoint)
    result["model"] = meta["model"]
    return result


def format_table(result: dict, by: str = "per_subject", title: str | None = None) -> str:
    """A plain-text table of one breakdown (rows) by the four metrics (mm)."""
    rows = [(k, v) for k, v in result[by].items()] + [("all", {k: result[k] for k in (*METRICS, "frames")})]
    width = max(12, max(len(k) for k, _ in rows) + 2)
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{'':<{width}}{'frames':>8}{'MPJPE':>9}{'P-MPJPE':>9}{'N-MPJPE':>9}{'MPJVE':>8}")
    for k, v in rows:
        lines.append(f"{k:<{width}}{v['frames']:>8}{v['mpjpe']:>9.1f}{v['p_mpjpe']:>9.1f}{v['n_mpjpe']:>9.1f}{v['mpjve']:>8.2f}")
    return "\n".join(lines)
