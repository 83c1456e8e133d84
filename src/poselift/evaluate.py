"""Evaluation on benchmark files: whole sequences through the dilated model.

Each clip of each camera is one sequence, replicate-padded at its ends and run through
the dilated model at once (no clip loop), with test-time flip averaging. Errors are in
millimetres: frame-weighted over all frames, per subject, per clip description (action),
per camera and per clip. The figure each benchmark publishes is the ``headline``:

* Human3.6M: the mean of the per-action errors (each action frame-weighted over the test
  subjects, cameras and sub-takes), protocol #1 = MPJPE, #2 = P-MPJPE (#3 = N-MPJPE), as
  the papers and the reference release report them (:func:`action_mean`); the frame-weighted
  figure differs from it (by about a millimetre on S9/S11) and stays a secondary line;
* HumanEva-I: P-MPJPE per action (Walk, Jog, Box) and subject and their average, the
  layout of VideoPose3D's Table 4 (:func:`poselift.data.humaneva.table4`);
* CMU-17 and MPI-INF-3DHP: the frame-weighted figures.

With ``map_joints`` a model of another joint layout is scored on the joints it shares with
the data (a cross-dataset figure): its 2D input made with
:func:`poselift.skeleton.convert_2d`, its 3D compared on :func:`poselift.skeleton.shared_joints`.
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
from .skeleton import (H36M17, Skeleton, coco17_from_h36m17, convert_2d, flip_pose, get_skeleton, same_slots,
                       shared_joints)

METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
SCALE = {"pck": 100.0, "auc": 100.0}  # percentages; every other figure metres → mm


from .predict import CHUNK, load_model, predict_sequence, resolve_device  # noqa: E402, F401  (the inference core)


def bench_inputs(subj: BenchSubject, c: int, sl: slice, input_kind: str, layout: str = "h36m17",
                 norm: str = "screen", map_joints: bool = False) -> np.ndarray:
    """The model input for one clip of one benchmark camera, normalised as ``norm`` says (the
    checkpoint's ``input_norm``, :class:`~poselift.encode.InputEncoder` of the camera).

    The file's own 2D of source ``input_kind`` when it is in the model's ``layout`` (CMU-17:
    ``gt`` exact, ``det`` synthetic detections). COCO-17 inputs for Human3.6M-17 data are
    derived from the 3D as the training pipeline does (face joints synthesised, projected
    with the camera's distortion), with seeded synthetic detector noise for ``det``. 2D of
    another layout is mapped to ``layout`` only with ``map_joints``
    (:func:`poselift.skeleton.convert_2d`).
    """
    from .data.noise import add_detector_noise
    from .encode import InputEncoder

    cam = subj.cameras[c]
    if input_kind in subj.positions_2d and same_slots(subj.layout_2d(input_kind), layout):
        px = subj.positions_2d[input_kind][c, sl].astype(np.float64)
    elif layout == "coco17" and subj.skeleton == "h36m17" and input_kind in ("gt", "det"):
        px = cam.project(coco17_from_h36m17(subj.positions_3d_camera[c, sl].astype(np.float64)))
        if input_kind == "det":
            rng = np.random.default_rng([int(subj.subject) if subj.subject.isdigit() else 0, c, sl.start, 2024])
            px = add_detector_noise(px, rng, cam.res_w)
    elif input_kind not in subj.positions_2d:
        raise PoseliftError(f"subject {subj.subject} has no 2D source {input_kind!r} "
                            f"(has {', '.join(subj.positions_2d)})")
    elif map_joints:
        px = convert_2d(subj.positions_2d[input_kind][c, sl].astype(np.float64), subj.layout_2d(input_kind), layout)
    else:
        raise PoseliftError(f"2D source {input_kind!r} is in layout {subj.layout_2d(input_kind)}; the model takes "
                            f"{layout}: add --map-joints to map it (a cross-dataset figure), or use a model trained "
                            f"on this source")
    return InputEncoder.for_camera(norm, cam).encode(px)


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
                   extra_metrics: tuple[str, ...] = (), layout_out: str = "h36m17", map_joints: bool = False,
                   norm: str = "screen", device="cpu") -> dict:
    """Evaluate ``model`` on benchmark subjects with the 2D source ``input_kind``; returns
    overall, per-subject, per-description, per-camera and per-clip tables (mm; ``pck`` and
    ``auc`` among ``extra_metrics`` in %). ``layout`` and ``layout_out`` are the model's
    input and output layouts. ``map_joints``: 2D of another layout is mapped to ``layout``
    and a model predicting other joints than the data's is scored on the joints both share
    (``scored_joints`` in the result). ``norm``: the model's input normalisation (its
    checkpoint's ``input_norm``). ``device``: where ``model`` is (the inputs go there)."""
    _check_source(subjects, input_kind)
    skel_in, skel_out = get_skeleton(layout), get_skeleton(layout_out)
    data_skel = subjects[0].skeleton
    pick_pred = pick_target = None
    if layout_out != data_skel:
        if not map_joints:
            raise PoseliftError(f"the model predicts {layout_out} joints; this data has {data_skel}: "
                                "add --map-joints to score the joints both share")
        pick_pred, pick_target = (list(i) for i in shared_joints(layout_out, data_skel))
    tables = _Tables()
    jobs = _jobs(subjects)
    for subj, c, (ci, name, desc, sl) in tqdm(jobs, desc=f"evaluate ({input_kind})", disable=not progress,
                                             dynamic_ncols=True):
        x2d = bench_inputs(subj, c, sl, input_kind, layout, norm=norm, map_joints=map_joints)
        if x2d.shape[1] != model.cfg.joints_in:
            raise PoseliftError(f"benchmark has {x2d.shape[1]} joints but the model takes {model.cfg.joints_in}")
        target = root_relative(subj.positions_3d_camera[c, sl].astype(np.float64))
        pred = predict_sequence(model, x2d, flip_test, skeleton_in=skel_in, skeleton_out=skel_out,
                                device=device).astype(np.float64)
        if pick_pred is not None:  # both root-relative about joint 0, which shared_joints keeps first
            pred, target = pred[:, pick_pred], target[:, pick_target]
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
    out = {"input": input_kind, "flip_test": flip_test, **tables.result()}
    if map_joints:
        src = subjects[0].layout_2d(input_kind) if input_kind in subjects[0].positions_2d else data_skel
        names = get_skeleton(data_skel).joint_names
        out["map_joints"] = {"input": layout if same_slots(src, layout) else f"{src} → {layout}",
                             "output": data_skel if pick_pred is None else f"{layout_out} → {data_skel}",
                             "scored_joints": [names[j] for j in (pick_target or range(len(names)))]}
    return out


TRAJECTORY_METRICS = ("root", "depth", "abs_mpjpe")


def evaluate_trajectory(model: TemporalModel, subjects: list[BenchSubject], input_kind: str = "gt",
                        pose_model: TemporalModel | None = None, flip_test: bool = True, progress: bool = True,
                        layout: str = "h36m17", pose_layout: str = "h36m17", norm: str = "intrinsic",
                        pose_norm: str = "screen", device="cpu") -> dict:
    """Root placement on benchmark subjects (mm): ``root`` (distance of the predicted root
    from the true one, camera frame), ``depth`` (its |z| part) and, given a pose model,
    ``abs_mpjpe`` (joints of pose + root against the true camera-frame joints) and the same
    three figures for root placement by reprojection of that pose (``reproj_*``). The
    trajectory model sees its 2D normalised as ``norm`` says (intrinsics-normalised with the
    true intrinsics), the pose model as ``pose_norm`` says (the checkpoints' ``input_norm``);
    reprojection works in intrinsics-normalised coordinates. ``device``: where the models are."""
    from .root import root_by_reprojection
    from .skeleton import ROOT1

    _check_source(subjects, input_kind)
    tables = _Tables()
    for subj, c, (ci, name, desc, sl) in tqdm(_jobs(subjects), desc=f"trajectory ({input_kind})",
                                             disable=not progress, dynamic_ncols=True):
        truth = subj.positions_3d_camera[c, sl].astype(np.float64)
        uv = bench_inputs(subj, c, sl, input_kind, layout, norm=norm)
        root = predict_sequence(model, uv, flip_test, get_skeleton(layout), ROOT1, device=device).astype(np.float64)
        values = {"root": np.linalg.norm(root[:, 0] - truth[:, 0], axis=-1).sum(),
                  "depth": np.abs(root[:, 0, 2] - truth[:, 0, 2]).sum()}
        if pose_model is not None:
            pose = predict_sequence(pose_model, bench_inputs(subj, c, sl, input_kind, pose_layout, norm=pose_norm),
                                    flip_test, get_skeleton(pose_layout), device=device).astype(np.float64)
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


def _layout_advice(data: str, model_out: str, data_skel: str) -> str:
    """What to do when a model predicts other joints than the data has (one clause)."""
    n_model, n_data = get_skeleton(model_out).num_joints, get_skeleton(data_skel).num_joints
    train = {"humaneva": "train a HumanEva-I model (poselift train --data humaneva --dataset FILE -k gt "
                         "--actions Walk,Jog,Box ..., docs/datasets.md)",
             "h36m": "train a Human3.6M model (poselift train --data h36m --dataset FILE ..., docs/datasets.md)"}.get(
        data, "use a model trained on this data")
    try:
        shared = len(shared_joints(model_out, data_skel)[0])
        mapped = f", or add --map-joints to score the {shared} joints both share (a cross-dataset figure)"
    except PoseliftError:
        mapped = ""
    return (f"the model predicts {n_model} {model_out} joints; this data has {n_data} ({data_skel}): "
            f"{train}{mapped}")


def evaluate_checkpoint(checkpoint, bench_dir=None, input_kind: str = "gt", flip_test: bool = True,
                        progress: bool = True, threads: int = 0, pose_checkpoint=None, *, data: str = "cmu",
                        dataset=None, subjects=None, actions=None, precision: str = "fp32",
                        map_joints: bool = False, device: str = "cpu") -> dict:
    """Evaluate a pose model, or a trajectory model (with ``pose_checkpoint``: also the
    absolute error of pose + root and the reprojection baseline), on CMU-17 benchmark files
    (``bench_dir``) or a prepared ``dataset`` of kind ``data`` (see :func:`load_eval_subjects`).
    ``precision``: how the model runs (see :func:`~poselift.models.folded.inference_model`).
    ``map_joints``: score a model of another joint layout (see :func:`evaluate_bench`).
    ``device``: cpu, cuda, cuda:N or auto (:func:`~poselift.predict.resolve_device`).
    The result's ``headline`` is the figure the benchmark publishes (see the module's notes)."""
    from .data.protocols import protocol
    from .encode import input_norm
    from .models.folded import inference_model

    if threads > 0:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    model, meta = load_model(checkpoint, dev)
    layout = meta.get("skeleton_in", "h36m17")
    found = load_eval_subjects(data, bench_dir, dataset, input_kind, subjects, actions)
    model_out = meta.get("skeleton_out", "h36m17")
    if model_out not in ("root1", found[0].skeleton) and not (map_joints and meta.get("target", "pose") == "pose"):
        raise PoseliftError(_layout_advice(data, model_out, found[0].skeleton), checkpoint)
    if map_joints and model_out != "root1" and model_out != found[0].skeleton:
        try:
            shared_joints(model_out, found[0].skeleton)
        except PoseliftError as e:
            raise PoseliftError(e.message, checkpoint) from None
    if meta.get("target", "pose") == "trajectory":
        pose_model, pose_layout, pose_norm = None, "h36m17", "screen"
        if pose_checkpoint is not None:
            pose_model, pose_meta = load_model(pose_checkpoint, dev)
            if pose_meta.get("target", "pose") != "pose":
                raise PoseliftError("not a pose model", pose_checkpoint)
            pose_layout, pose_norm = pose_meta.get("skeleton_in", "h36m17"), input_norm(pose_meta)
        if pose_model is not None:
            pose_model = inference_model(pose_model, precision)
        result = evaluate_trajectory(inference_model(model, precision), found, input_kind, pose_model, flip_test,
                                     progress, layout, pose_layout, input_norm(meta), pose_norm, device=dev)
        result["pose_checkpoint"] = str(pose_checkpoint) if pose_checkpoint else None
    else:
        result = evaluate_bench(inference_model(model, precision), found, input_kind, flip_test, progress, layout=layout,
                                extra_metrics=protocol(data).extra_metrics, layout_out=model_out,
                                map_joints=map_joints, norm=input_norm(meta), device=dev)
    result["data"] = data
    result["input_layout"] = layout
    result["checkpoint"] = str(checkpoint)
    result["model"] = meta["model"]
    result["precision"] = precision
    result["device"] = str(dev)
    result["subjects"] = [s.subject for s in found]
    add_headline(result)
    return result


PROTOCOL_NAMES = {"mpjpe": "Protocol #1 (MPJPE)", "p_mpjpe": "Protocol #2 (P-MPJPE)",
                  "n_mpjpe": "Protocol #3 (N-MPJPE)", "mpjve": "Velocity (MPJVE)"}


def action_mean(result: dict) -> dict:
    """The mean over actions of the per-action errors of ``result`` (its ``per_description``
    table: each action frame-weighted over subjects, cameras and sub-takes): how the
    Human3.6M papers and the reference release average. Also per subject
    (``per_subject``: the mean over that subject's actions), as the reference release's
    ``--by-subject``. ``actions`` lists the actions averaged."""
    per = result["per_description"]
    metrics = [k for k in COLUMNS if k in result]
    out: dict = {m: float(np.mean([v[m] for v in per.values()])) for m in metrics}
    out["actions"] = list(per)
    out["frames"] = int(sum(v["frames"] for v in per.values()))
    by_subject: dict[str, list[dict]] = defaultdict(list)
    for key, v in result.get("per_subject_description", {}).items():
        by_subject[key.rsplit("/", 1)[0]].append(v)
    out["per_subject"] = {s: {**{m: float(np.mean([v[m] for v in rows])) for m in metrics}, "actions": len(rows),
                              "frames": int(sum(v["frames"] for v in rows))} for s, rows in by_subject.items()}
    return out


def add_headline(result: dict) -> dict:
    """Add the benchmark's published figure to an evaluation ``result``: ``action_mean`` and
    ``headline`` (Human3.6M), ``table4`` and ``headline`` (HumanEva-I, pose models),
    ``headline`` (the frame-weighted figures) otherwise. Returns ``result``."""
    data = result.get("data", "cmu")
    metrics = [k for k in COLUMNS if k in result]
    if data == "h36m" and result.get("per_description"):
        from .data.h36m import ACTIONS

        result["action_mean"] = am = action_mean(result)
        result["headline"] = {"averaging": "mean over actions", **{m: am[m] for m in metrics},
                              "actions": len(am["actions"]),
                              "all_actions": all(a in am["actions"] for a in ACTIONS)}
    elif data == "humaneva" and "p_mpjpe" in result:
        from .data.humaneva import table4, table4_average

        result["table4"] = t4 = {}
        for m in ("p_mpjpe", "mpjpe"):
            records = [(k.rsplit("/", 1)[0], k.rsplit("/", 1)[1], v["frames"], v[m])
                       for k, v in result["per_subject_description"].items()]
            t4[m] = table4(records)
            t4[f"{m}_avg"] = table4_average(t4[m])
        result["headline"] = {"averaging": "Table 4: mean of the action x subject cells", "p_mpjpe": t4["p_mpjpe_avg"],
                              "mpjpe": t4["mpjpe_avg"]}
    else:
        result["headline"] = {"averaging": "frame-weighted", **{m: result[m] for m in metrics}}
    return result


COLUMNS = {"pck": ("PCK", 1), "auc": ("AUC", 1), "mpjpe": ("MPJPE", 1), "p_mpjpe": ("P-MPJPE", 1), "n_mpjpe": ("N-MPJPE", 1), "mpjve": ("MPJVE", 2),
           "root": ("root", 0), "depth": ("depth", 0), "abs_mpjpe": ("abs MPJPE", 0),
           "reproj_root": ("reproj root", 0), "reproj_depth": ("reproj depth", 0),
           "reproj_abs_mpjpe": ("reproj abs", 0)}


def format_table(result: dict, by: str = "per_subject", title: str | None = None, extra_rows=(),
                 all_label: str = "all") -> str:
    """A plain-text table of one breakdown (rows) by the result's metrics (mm); ``extra_rows``
    ((label, {metric: value, "frames": n}), ...) go before the frame-weighted ``all_label`` row."""
    metrics = [k for k in COLUMNS if k in result]
    rows = ([(k, v) for k, v in result[by].items()] + list(extra_rows)
            + [(all_label, {k: result[k] for k in (*metrics, "frames")})])
    width = max(12, max(len(k) for k, _ in rows) + 2)
    cols = {k: max(9, len(COLUMNS[k][0]) + 2) for k in metrics}
    lines = [title] if title else []
    lines.append(f"{'':<{width}}{'frames':>8}" + "".join(f"{COLUMNS[k][0]:>{cols[k]}}" for k in metrics))
    for k, v in rows:
        lines.append(f"{k:<{width}}{v['frames']:>8}" + "".join(f"{v[m]:>{cols[m]}.{COLUMNS[m][1]}f}" for m in metrics))
    return "\n".join(lines)


def _mm(v) -> str:
    return "–" if v is None else f"{v:.1f} mm"


def format_report(result: dict, title: str | None = None, by_description: bool = False) -> str:
    """What ``poselift evaluate`` prints: the per-subject table; for Human3.6M and HumanEva-I
    (or ``by_description``) the per-action table; then the benchmark's headline - Human3.6M:
    the action mean per protocol, labelled as the papers label it, the frame-weighted mean
    beside it; HumanEva-I: the Table 4 layout."""
    data = result.get("data", "cmu")
    parts = [format_table(result, "per_subject", title=title)]
    am = result.get("action_mean")
    if am is not None:
        parts.append(format_table(result, "per_description", title="per action (mm)",
                                  extra_rows=[("action mean", am)], all_label="all frames"))
    elif by_description or data in ("h36m", "humaneva"):
        parts.append(format_table(result, "per_description", title="per action (mm)"))
    mapped = result.get("map_joints")
    note = None
    if mapped:
        n = len(mapped["scored_joints"])
        scored = f"scored on {n} shared joints" if "→" in mapped["output"] else f"all {n} joints scored"
        note = f"cross-dataset: input {mapped['input']}, {scored} (not directly comparable with published figures)"
    if am is not None and "mpjpe" in result:
        from .data.h36m import ACTIONS

        subjects = ", ".join(result.get("subjects", [])) or "the test subjects"
        lines = [f"Human3.6M ({subjects}; input {result['input']}): mean of the {len(am['actions'])} per-action "
                 "errors, as the papers report them"]
        missing = [a for a in ACTIONS if a not in am["actions"]]
        if missing:
            which = ", ".join(missing) if len(missing) <= 4 else f"{len(missing)}"
            lines.append(f"  only {len(am['actions'])} of the 15 actions ({which} missing): not comparable with "
                         "published figures")
        if note:
            lines.append(f"  {note}")
        width = max(len(v) for v in PROTOCOL_NAMES.values()) + 2
        lines += [f"  {PROTOCOL_NAMES[m]:<{width}}{am[m]:>7.{2 if m == 'mpjve' else 1}f} mm"
                  for m in PROTOCOL_NAMES if m in am]
        lines.append(f"  frame-weighted over all {result['frames']:,} frames (a secondary figure): MPJPE "
                     f"{result['mpjpe']:.1f} mm, P-MPJPE {result['p_mpjpe']:.1f} mm")
        parts.append("\n".join(lines))
    elif data == "humaneva" and "table4" in result:
        from .data.humaneva import format_table4

        records = [(k.rsplit("/", 1)[0], k.rsplit("/", 1)[1], v["frames"], v["p_mpjpe"])
                   for k, v in result["per_subject_description"].items()]
        head = ("HumanEva-I, Table 4 layout: P-MPJPE (protocol #2) per action and subject, and Avg, the mean of "
                f"the cells (the same average of MPJPE: {_mm(result['table4']['mpjpe_avg'])})")
        parts.append("\n".join([head] + ([note] if note else []) + [format_table4(records)]))
    elif note:
        parts.append(note)
    return "\n\n".join(parts)
