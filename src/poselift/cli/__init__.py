"""The ``poselift`` command: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .checks import LIMITS, MAX_FPS, MAX_IMAGE_SIDE, MAX_LAYERS, MAX_RECEPTIVE_FIELD, Limit, dumps, json_safe
from .errors import PoseliftError

# every numeric flag is checked as it is read (poselift.checks): a bad one fails before any work, naming it
_COUNT = Limit(int, 0, 10**6)
_THREADS = LIMITS["threads"]


def _arc(text: str) -> list[int]:
    bad = PoseliftError(f"-arc/--architecture must be comma-separated odd filter widths, e.g. 3,3,3, at most "
                        f"{MAX_LAYERS} of them and a receptive field of at most {MAX_RECEPTIVE_FIELD} frames, "
                        f"got {text!r}")
    try:
        widths = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise bad from None
    if not widths or len(widths) > MAX_LAYERS or any(w < 1 or w % 2 == 0 for w in widths):
        raise bad
    from math import prod

    if 1 + sum((w - 1) * prod(widths[:i]) for i, w in enumerate(widths)) > MAX_RECEPTIVE_FIELD:
        raise bad
    return widths


def _add_model_args(p, defaults: bool = True) -> None:
    d = (lambda v: v) if defaults else (lambda v: None)
    p.add_argument("-arc", "--architecture", type=_arc, default=d([3, 3, 3]), metavar="W,W,...",
                   help="filter widths of the temporal convolutions, e.g. 3,3,3 (receptive field 27 frames)")
    p.add_argument("-ch", "--channels", type=LIMITS["channels"].flag("-ch/--channels"), default=d(1024),
                   help="channels of each convolution layer")
    p.add_argument("-drop", "--dropout", type=LIMITS["dropout"].flag("-drop/--dropout"), default=d(0.25),
                   help="dropout probability")
    p.add_argument("--causal", action="store_true", default=d(False),
                   help="causal convolutions: each output sees only past frames (for streaming)")
    p.add_argument("--dense", action="store_true", default=d(False), help="dense convolutions (ablation)")
    p.add_argument("--joints-in", type=LIMITS["joints_in"].flag("--joints-in"), default=d(17),
                   help="2D input joints")
    p.add_argument("--joints-out", type=LIMITS["joints_out"].flag("--joints-out"), default=d(17),
                   help="3D output joints (1 for a trajectory model)")


def _model_overrides(a) -> dict:
    m = {
        "filter_widths": a.architecture, "channels": a.channels, "dropout": a.dropout,
        "joints_in": a.joints_in, "joints_out": a.joints_out, "embed_dim": getattr(a, "embed_dim", None),
        "view_dim": getattr(a, "view_dim", None), "pose_from": getattr(a, "pose_from", None),
    }
    out = {k: v for k, v in m.items() if v is not None}
    if a.causal:
        out["causal"] = True
    if a.dense:
        out["dense"] = True
    return out


def cmd_model_info(a) -> int:
    from .models.temporal import ModelConfig, model_info

    cfg = ModelConfig(**_model_overrides(a))
    print(dumps(model_info(cfg)))
    return 0


TRAIN_FLAGS = {
    # flag dest -> TrainConfig field
    "data": "data", "train_dir": "train_dir", "calibration": "calibration", "checkpoint_dir": "checkpoint_dir",
    "epochs": "epochs", "samples": "samples", "batch_size": "batch_size", "learning_rate": "lr",
    "lr_decay": "lr_decay", "stride": "stride", "frame_stride": "frame_stride", "downsample": "downsample",
    "random_cameras": "random_cameras", "seed": "seed", "threads": "threads",
    "checkpoint_every": "checkpoint_every", "input_layout": "input_layout", "target": "target",
    "ema": "ema", "dataset": "dataset", "keypoints": "keypoints", "subjects": "subjects", "actions": "actions",
    "subset": "subset", "unlabeled_subjects": "unlabeled_subjects", "warmup": "warmup",
    "label_fraction": "label_fraction", "margin": "margin", "window": "window", "multiview_weight": "multiview_weight",
    "mining": "mining", "engine": "engine", "precision": "precision", "device": "device", "init": "init",
}


MODEL_FLAGS = {
    # flag dest -> ModelConfig field (train: the [model] table)
    "architecture": "filter_widths", "channels": "channels", "dropout": "dropout", "joints_in": "joints_in",
    "joints_out": "joints_out", "embed_dim": "embed_dim", "view_dim": "view_dim", "pose_from": "pose_from",
}


def _config_default(field: str):
    """The default of a TrainConfig field (``model.x``: of a ModelConfig field); read when help is shown."""
    from .config import TrainConfig

    obj = TrainConfig()
    for part in field.split("."):
        obj = getattr(obj, part)
    return obj


class _HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to a flag's help where X says something: not None, False, empty, nor a
    default the help already gives. The train flags default to None (a flag given overrides the config
    file): theirs is the effective one, TrainConfig's (``action.config_field``)."""

    def __init__(self, prog, **kw):
        kw.setdefault("max_help_position", 32)
        super().__init__(prog, **kw)

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or "(default" in text:
            return text
        field = getattr(action, "config_field", None)
        value = _config_default(field) if field else action.default
        if value is None or value is False or value is argparse.SUPPRESS or (
                isinstance(value, (str, list, tuple)) and not value):
            return text
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        return f"{text} (default: {str(value).replace('%', '%%')})"


def _show_config_defaults(parser: argparse.ArgumentParser) -> None:
    """Marks each train flag with the TrainConfig field it overrides, for :class:`_HelpFormatter`."""
    for action in parser._actions:
        if action.dest in TRAIN_FLAGS:
            action.config_field = TRAIN_FLAGS[action.dest]
        elif action.dest in MODEL_FLAGS:
            action.config_field = "model." + MODEL_FLAGS[action.dest]


def cmd_train(a) -> int:
    from .config import TrainConfig, load_toml, merge
    from .train.semi import make_trainer

    base = load_toml(a.config) if a.config else {}
    over = {field: getattr(a, dest) for dest, field in TRAIN_FLAGS.items() if getattr(a, dest) is not None}
    if a.no_flip:
        over["flip"] = False
    if a.detector_noise:
        over["detector_noise"] = True
    if a.detector_errors:
        over["detector_errors"] = True
    if a.body_proportions:
        over["body_proportions"] = True
    if a.no_rig_cameras:
        over["rig_cameras"] = False
    if a.no_bone_length:
        over["bone_length"] = False
    if a.linear_projection:
        over["linear_projection"] = True
    if a.multiview:
        over["multiview"] = True
    if a.back_projection:
        over["back_projection"] = True
    model_over = _model_overrides(a)
    if model_over:
        from .models.temporal import ModelConfig

        ModelConfig.from_dict(model_over)  # the flags together (e.g. too big a model): their own error
        over["model"] = model_over
    try:  # flags are checked as they are read: what is wrong here comes from the config file
        cfg = TrainConfig.from_dict(merge(base, over))
        cfg.check_numbers()
    except PoseliftError as e:
        raise PoseliftError(e.message, e.path or a.config) from None
    if cfg.init:  # fine-tuning: the checkpoint's model settings, unless the flags or the file give them
        from .train.supervised import init_model_config

        if cfg.init == "default":
            from .infer import default_checkpoint

            cfg.init = str(default_checkpoint(cfg.input_layout))
        init_model_config(cfg, keep=set(model_over) | set(base.get("model") or {}))
    cfg.validate()
    ckdir = Path(cfg.checkpoint_dir)
    for above in (ckdir, *ckdir.parents):  # -c naming a file (or a folder inside one)
        if above.exists():
            if not above.is_dir():
                raise PoseliftError("is a file, not a folder for the run's checkpoints (-c/--checkpoint-dir)",
                                    above)
            break
    from .train.run_folder import run_folder

    # the folder checked (new, empty, or a run to resume or restart), locked, a killed run's leftovers removed
    with run_folder(ckdir, resume=a.resume, overwrite=a.overwrite, lock=os.environ.get("RANK", "0") == "0"):
        return _train(a, cfg, ckdir)


def _train(a, cfg, ckdir: Path) -> int:
    """``poselift train`` in its checked (and, in the main process, locked) run folder."""
    from .train import distributed
    from .train.semi import make_trainer

    ctx = distributed.setup(cfg.device)  # torchrun: join the process group
    if ctx:
        distributed.barrier()  # every process has checked the folder before anyone writes to it
    main_process = ctx is None or ctx.main
    trainer = make_trainer(cfg, progress=not a.quiet and main_process)
    resumed = a.resume and trainer.resume()  # every process loads the checkpoint
    if resumed and main_process:
        print(f"resuming at epoch {trainer.state.epoch + 1}, batch {trainer.state.batch}, "
              f"{trainer.state.drawn:,} clips drawn", file=sys.stderr)
    if main_process:
        print(f"training on {trainer.sampler.num_frames:,} frames in {len(trainer.data)} sequences; "
              f"{len(trainer.sampler):,} clips per epoch; budget {trainer.total:,} clips "
              f"({trainer.n_epochs} epoch(s) planned)", file=sys.stderr)
    if cfg.semi_supervised:
        print(f"semi-supervised: {trainer.unlabeled.num_frames:,} unlabeled frames in {len(trainer.unlabeled_data)} "
              f"sequences; warm-up {cfg.warmup} epoch(s)", file=sys.stderr)
    state = trainer.train()  # config.json is written with each checkpoint (Trainer.save)
    if ctx:
        distributed.finish()
    if main_process:
        last = state.history[-1] if state.history else {}
        print(dumps({"checkpoint": str(ckdir / "model.safetensors"), "clips": state.drawn,
                     "final_loss_mm": last.get("loss_mm")}))
    return 0


def cmd_evaluate(a) -> int:
    from .data.formats import save_json
    from .evaluate import evaluate_checkpoint, format_report
    from .transaction import refuse_input

    refuse_input(a.json, [a.checkpoint, a.pose_checkpoint, a.dataset])
    if a.json and Path(a.json).exists() and not a.overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", a.json)
    if a.checkpoint == "default":
        from .infer import default_checkpoint

        # the benchmark files hold Human3.6M-17 2D; COCO-17 2D is derived from their 3D
        a.checkpoint = str(default_checkpoint(a.layout))
    pose = a.pose_checkpoint
    if pose == "default":
        from .infer import default_checkpoint

        pose = str(default_checkpoint(a.layout))
    from .data.protocols import split_list

    res = evaluate_checkpoint(a.checkpoint, a.bench, a.input, flip_test=not a.no_test_flip,
                              progress=not a.quiet, threads=a.threads, pose_checkpoint=pose, data=a.data,
                              dataset=a.dataset, subjects=split_list(a.subjects) or None,
                              actions=split_list(a.actions) or None, precision=a.precision,
                              map_joints=a.map_joints)
    where = a.bench if a.data == "cmu" else a.dataset
    print(format_report(res, title=f"{a.checkpoint} on {where}, input {a.input} (mm)",
                        by_description=a.by_description))
    if a.json:
        save_json(a.json, json_safe(res))  # NaN / inf (no frames, a diverged model): null
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


def retrieval_embedder(checkpoint: str):
    """(embed function for a normalised 2D clip, its input layout, name); ``keypoints`` = the raw-2D floor."""
    from .retrieval import embed_sequence, keypoint_embedding

    if checkpoint == "keypoints":
        return keypoint_embedding, None, "normalised 2D keypoints"
    from .predict import load_model

    model, meta = load_model(checkpoint)
    if not hasattr(model, "embed"):
        raise PoseliftError("not a pose embedder (train one with poselift train --multiview --embed-dim N)",
                            checkpoint)
    return (lambda x: embed_sequence(model, x)), meta.get("skeleton_in", "h36m17"), str(checkpoint)


def cmd_retrieve(a) -> int:
    from .data.formats import save_json
    from .retrieval import bench_gallery, retrieval_scores, same_instant_hit_rate, video_inputs
    from .transaction import refuse_input

    refuse_input(a.json, [a.checkpoint, *a.videos])
    if a.json and Path(a.json).exists() and not a.overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", a.json)
    if not a.bench and not a.videos:
        raise PoseliftError("give a benchmark folder (--bench DIR) and/or synchronised videos (--videos A B ...)")
    embed, layout, name = retrieval_embedder(a.checkpoint)
    layout = layout or a.layout
    result = {"checkpoint": name, "input": a.input, "layout": layout}
    if a.bench:
        from .data.cmu import load_bench_dir

        gallery = bench_gallery(load_bench_dir(a.bench), embed, a.input, progress=not a.quiet, layout=layout)
        r = retrieval_scores(gallery, query_stride=a.query_stride)
        result["bench"] = r
        print(f"{name} on {a.bench}, input {a.input}: queries from one camera, gallery the others")
        print(f"{'query camera':>13}{'Hit@1':>8}{'Hit@10':>8}{'Hit@20':>8}{'top-1 P-MPJPE mm':>18}")
        for c, v in list(r["per_camera"].items()) + [("mean", r)]:
            print(f"{c:>13}{v['hit@1']:>8.1f}{v['hit@10']:>8.1f}{v['hit@20']:>8.1f}{v['top1_p_mpjpe']:>18.1f}")
    if a.videos:
        if len(a.videos) < 2:
            raise PoseliftError("give at least two synchronised videos")
        views = [embed(video_inputs(v, layout)) for v in a.videos]
        r = same_instant_hit_rate(views, a.tolerance)
        result["videos"] = dict(r, files=[str(v) for v in a.videos])
        print(f"same instant (±{a.tolerance} frames) across {len(a.videos)} views: Hit@1 {r['hit@1']:.1f}% "
              f"(per query view {', '.join(f'{v:.1f}' for v in r['per_view'].values())})")
    if a.json:
        save_json(a.json, json_safe(result))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


def cmd_infer(a) -> int:
    from .detect.base import parse_person
    from .infer import check_focal

    check_focal(a.focal, a.fov)  # before the (slow) detection
    if a.realtime:
        return _infer_realtime(a)
    if a.jsonl:
        raise PoseliftError("--jsonl goes with --realtime")
    if a.threads is not None:
        raise PoseliftError("--threads goes with --realtime")
    if a.out is None:
        raise PoseliftError("give an output folder: --out DIR")
    if a.max_gap is not None and a.max_gap < 0:
        raise PoseliftError(f"--max-gap is a number of frames, 0 or more, got {a.max_gap}")
    if a.person_height is not None and not 0.3 < a.person_height < 3.0:  # NaN fails too
        raise PoseliftError(f"--person-height is a standing height in metres (0.3-3), got {a.person_height:g}")
    from .infer import infer

    person = None if a.person is None else parse_person(a.person)  # before the (slow) detection
    if a.people == "all":
        if person is not None:
            raise PoseliftError("--person picks one person; --people all lifts everyone: give one of them")
        from .people import infer_people

        out = infer_people(a.source, a.out, checkpoint=a.checkpoint, width=a.width, height=a.height, fps=a.fps,
                           focal=a.focal, fov=a.fov, overwrite=a.overwrite, video=not a.no_video, gif=a.gif,
                           progress=not a.quiet, min_score=a.min_score, trajectory=a.trajectory,
                           rigid=not a.free_bones, fuse=not a.lift_only, max_gap=a.max_gap, trim=a.trim,
                           smooth=a.smooth, pin_feet=a.pin_feet, detector_size=not a.lift_size)
        report = out.pop("report")
        for k, v in out.items():
            print(f"{k}: {v}")
        print(f"keypoints: {report}", file=sys.stderr)
        return 0
    out = infer(a.source, a.out, checkpoint=a.checkpoint, allow_pickle=a.allow_pickle, person=person, layout=a.layout,
                width=a.width, height=a.height, fps=a.fps, focal=a.focal, fov=a.fov, overwrite=a.overwrite,
                video=not a.no_video, gif=a.gif, progress=not a.quiet, min_score=a.min_score,
                trajectory=a.trajectory, rigid=not a.free_bones, person_height=a.person_height,
                fuse=not a.lift_only, max_gap=a.max_gap, trim=a.trim, smooth=a.smooth, pin_feet=a.pin_feet,
                detector_size=not a.lift_size)
    report = out.pop("report")
    for k, v in out.items():
        print(f"{k}: {v}")
    print(f"keypoints: {report}", file=sys.stderr)
    return 0


def _infer_realtime(a) -> int:
    from .detect.base import parse_person
    from .realtime import run_realtime

    if a.out is None and not a.jsonl:
        raise PoseliftError("give --out DIR and/or --jsonl FILE (- for stdout) for the results")
    if a.person_height is not None:
        raise PoseliftError("--person-height needs the whole clip; it does not go with --realtime")
    if a.threads is not None and a.threads < 0:
        raise PoseliftError(f"--threads is a number of threads (0: torch's default), got {a.threads}")
    for flag, given in (("--smooth butterworth", a.smooth == "butterworth"), ("--pin-feet", a.pin_feet),
                        ("--trim", a.trim)):
        if given:
            raise PoseliftError(f"{flag} needs the whole clip; it does not go with --realtime "
                                "(--smooth one-euro does)")
    if a.max_gap is not None and a.max_gap < 0:
        raise PoseliftError(f"--max-gap is a number of frames, 0 or more, got {a.max_gap}")
    if a.people == "all":
        if a.person is not None:
            raise PoseliftError("--person picks one person; --people all lifts everyone: give one of them")
        from .realtime_people import run_realtime_people

        recs, timing = run_realtime_people(a.source, a.out, checkpoint=a.checkpoint, width=a.width, height=a.height,
                                           fps=a.fps, focal=a.focal, fov=a.fov, trajectory=a.trajectory,
                                           min_score=a.min_score, max_gap=a.max_gap, jsonl=a.jsonl,
                                           overwrite=a.overwrite, progress=not a.quiet,
                                           threads=1 if a.threads is None else a.threads or None,
                                           precision=a.precision, smooth=a.smooth)
        outputs = next(iter(recs.values())).outputs
        for k, v in outputs.items():
            print(f"{k}: {v}", file=sys.stderr if a.jsonl == "-" else sys.stdout)
        print(dumps(timing), file=sys.stderr)
        return 0
    person = 0 if a.person is None else parse_person(a.person)
    rec, timing = run_realtime(a.source, a.out, checkpoint=a.checkpoint, allow_pickle=a.allow_pickle, person=person,
                               layout=a.layout, width=a.width, height=a.height, fps=a.fps, focal=a.focal, fov=a.fov,
                               trajectory=a.trajectory, min_score=a.min_score, max_gap=a.max_gap, jsonl=a.jsonl,
                               overwrite=a.overwrite, progress=not a.quiet,
                               threads=1 if a.threads is None else a.threads or None, precision=a.precision,
                               smooth=a.smooth)
    for k, v in rec.outputs.items():
        print(f"{k}: {v}", file=sys.stderr if a.jsonl == "-" else sys.stdout)
    print(rec.report, file=sys.stderr)
    print(dumps(timing), file=sys.stderr)
    return 0


def cmd_prepare(a) -> int:
    import warnings

    from .data.protocols import split_list
    from .transaction import refuse_input

    refuse_input(a.out, [a.source, *a.detections, a.cameras])  # even with --overwrite
    if a.dataset == "mocap":
        from .data.mocap import prepare_mocap

        out = prepare_mocap(a.source, a.out, subject=a.subject, overwrite=a.overwrite, progress=not a.quiet)
        print(f"wrote {out}")
        return 0
    common = dict(allow_pickle=a.allow_pickle, overwrite=a.overwrite, progress=not a.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if a.dataset == "h36m":
            from .data.h36m import prepare_h36m

            out = prepare_h36m(a.source, a.out, detections=a.detections, cameras=a.cameras,
                               subjects=split_list(a.subjects) or None, **common)
        elif a.dataset == "humaneva":
            from .data.humaneva import prepare_humaneva

            out = prepare_humaneva(a.source, a.out, detections=a.detections, cameras=a.cameras,
                                   subjects=split_list(a.subjects) or None, **common)
        else:
            from .data.mpi3dhp import prepare_mpi3dhp

            out = prepare_mpi3dhp(a.source, a.out, sequences=split_list(a.subjects) or None, target=a.target,
                                  **common)
    for w in caught:
        print(f"poselift: warning: {w.message}", file=sys.stderr)
    from .data.prepared import prepared_info

    info = prepared_info(out)
    sources = [src if info.source_layouts.get(src, info.skeleton) == info.skeleton else
               f"{src} ({info.source_layouts[src]} joints)" for src in info.sources]
    print(f"wrote {out}: {info.dataset}, subjects {', '.join(info.subjects)}, 2D sources {', '.join(sources)}")
    return 0


def cmd_bench(a) -> int:
    from .bench import BenchOptions, format_table, run_bench
    from .data.formats import save_json

    if a.json and Path(a.json).exists() and not a.overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", a.json)
    opt = BenchOptions(device=a.device, train_batch=a.train_batch, repeats=a.repeats, threads=a.threads,
                       quick=a.quick)
    result = run_bench(opt, parts=a.parts.split(",") if a.parts else None, progress=not a.quiet)
    print(format_table(result))
    if a.json:
        save_json(a.json, json_safe(result), overwrite=a.overwrite)
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


def cmd_export(a) -> int:
    from .export_onnx import export_onnx
    from .transaction import refuse_input

    refuse_input(a.onnx, [a.checkpoint])
    out = export_onnx(a.checkpoint, a.onnx, overwrite=a.overwrite, opset=a.opset)
    print(f"wrote {out}")
    return 0


def cmd_demo(a) -> int:
    from .demo import run_demo

    out = run_demo(a.out, overwrite=a.overwrite, source=a.source, progress=not a.quiet)
    for k, v in out.items():
        print(f"{k}: {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="poselift", description="3D human pose estimation in video",
                                formatter_class=_HelpFormatter)
    p.add_argument("--version", action="version", version=f"poselift {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND",
                         help="poselift COMMAND --help for its flags")

    def _sub(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kw)

    s = _sub("model-info", help="parameters, receptive field and FLOPs of an architecture")
    _add_model_args(s)
    s.set_defaults(func=cmd_model_info)

    s = _sub("train", help="train a lifter",
             description="Train a lifter. Settings come from TrainConfig's defaults (shown below), "
                         "then the --config file, then the flags given.")
    s.add_argument("--config", metavar="TOML", help="TOML file of settings (flags override it)")

    g = s.add_argument_group("data")
    g.add_argument("--data", choices=["cmu", "h36m", "humaneva"], default=None, help="dataset")
    g.add_argument("--train-dir", default=None, metavar="DIR",
                   help="cmu: folder of cmu_*.npz training files (several: comma-separated, e.g. train,train_extra)")
    g.add_argument("--dataset", default=None, metavar="FILE",
                   help="h36m/humaneva: the prepared file (poselift prepare ...)")
    g.add_argument("-k", "--keypoints", default=None, help="h36m/humaneva: 2D source (gt, cpn_ft_h36m_dbb, ...)")
    g.add_argument("-str", "--subjects", default=None,
                   help="(labeled) training subjects, comma-separated (default: all / the protocol's)")
    g.add_argument("--actions", default=None, help="only these actions, comma-separated (default: all)")
    g.add_argument("--subset", type=LIMITS["subset"].flag("--subset"), default=None,
                   help="fraction of each labeled clip to use (a contiguous, seeded part)")
    g.add_argument("--calibration", default=None, metavar="JSON", help="cameras JSON (default: bundled Human3.6M)")
    g.add_argument("--input-layout", choices=["h36m17", "coco17"], default=None,
                   help="2D input joints (coco17: what detectors give)")
    g.add_argument("--frame-stride", type=LIMITS["frame_stride"].flag("--frame-stride"), default=None,
                   help="use every n-th frame as a target")
    g.add_argument("--downsample", type=LIMITS["downsample"].flag("--downsample"), default=None,
                   help="temporal subsampling factor of the sequences")

    g = s.add_argument_group("model")
    _add_model_args(g, defaults=False)
    g.add_argument("--target", choices=["pose", "trajectory"], default=None,
                   help="pose: root-relative joints; trajectory: the root in the camera frame (use --joints-out 1)")
    g.add_argument("--init", default=None, metavar="CHECKPOINT",
                   help="fine-tune: start from these weights (a model.safetensors; 'default': the bundled model "
                        "for --input-layout); the model's settings are the checkpoint's")

    g = s.add_argument_group("optimisation")
    g.add_argument("-e", "--epochs", type=LIMITS["epochs"].flag("-e/--epochs"), default=None,
                   help="training epochs (0: derived from --samples)")
    g.add_argument("--samples", type=LIMITS["samples"].flag("--samples"), default=None,
                   help="budget in training clips drawn, flipped copies included (0: derived from --epochs)")
    g.add_argument("-b", "--batch-size", type=LIMITS["batch_size"].flag("-b/--batch-size"), default=None,
                   help="training clips per batch")
    g.add_argument("-lr", "--learning-rate", type=LIMITS["lr"].flag("-lr/--learning-rate"), default=None,
                   help="initial learning rate (Adam)")
    g.add_argument("-lrd", "--lr-decay", type=LIMITS["lr_decay"].flag("-lrd/--lr-decay"), default=None,
                   help="learning-rate factor per epoch")
    g.add_argument("-s", "--stride", type=LIMITS["stride"].flag("-s/--stride"), default=None,
                   help="frames predicted per training clip (1: the strided twin)")
    g.add_argument("--ema", type=LIMITS["ema"].flag("--ema"), default=None,
                   help="export an exponential moving average of the weights with this decay "
                        "(0: the raw weights, as published)")
    g.add_argument("--seed", type=LIMITS["seed"].flag("--seed"), default=None, help="random seed")
    g.add_argument("--threads", type=_THREADS.flag("--threads"), default=None,
                   help="torch threads (0: torch's default)")
    g.add_argument("--engine", choices=["fast", "reference"], default=None,
                   help="strided training as matrix products (fast) or plain nn.Conv1d (reference)")
    g.add_argument("--precision", choices=["fp32", "bf16"], default=None,
                   help="bf16: mixed precision (fast on GPUs and CPUs with AMX/AVX512-BF16)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto")

    g = s.add_argument_group("augmentation")
    g.add_argument("--no-flip", action="store_true", help="no flip augmentation")
    g.add_argument("--random-cameras", type=LIMITS["random_cameras"].flag("--random-cameras"), default=None,
                   help="random virtual cameras per clip, besides the rig")
    g.add_argument("--no-rig-cameras", action="store_true", help="random cameras only (needs --random-cameras)")
    g.add_argument("--detector-noise", action="store_true", help="synthetic detector noise on training 2D")
    g.add_argument("--detector-errors", action="store_true",
                   help="also a real detector's failures on training 2D: keypoint offsets from the joint centres, "
                        "left/right swaps, missed joints bridged by interpolation")
    g.add_argument("--body-proportions", action="store_true",
                   help="each training view on a body of its own size and proportions (bones rigid within it)")

    g = s.add_argument_group("semi-supervised", "on when unlabeled subjects are given")
    g.add_argument("-sun", "--subjects-unlabeled", dest="unlabeled_subjects", default=None, metavar="SUBJECTS",
                   help="subjects used as 2D only, comma-separated, or 'rest' (the others)")
    g.add_argument("--warmup", type=LIMITS["warmup"].flag("--warmup"), default=None,
                   help="epochs on labeled data only before the unlabeled losses start")
    g.add_argument("--no-bone-length", action="store_true", help="no bone-length term")
    g.add_argument("--linear-projection", action="store_true", help="project without lens distortion")

    g = s.add_argument_group("multi-view", "consistent training (MCSS) of a pose embedder on synchronised views")
    g.add_argument("--multiview", action="store_true", help="train a pose embedder (needs --embed-dim)")
    g.add_argument("--embed-dim", type=LIMITS["embed_dim"].flag("--embed-dim"), default=None,
                   help="embedding size, e.g. 32 (0: no embedder)")
    g.add_argument("--view-dim", type=LIMITS["view_dim"].flag("--view-dim"), default=None,
                   help="size of the view code beside the embedding")
    g.add_argument("--pose-from", choices=["embedding", "trunk"], default=None,
                   help="the pose head reads the embedding + view code or the trunk features")
    g.add_argument("--label-fraction", type=LIMITS["label_fraction"].flag("--label-fraction"), default=None,
                   help="fraction of each clip whose 3D is used (a contiguous, seeded part)")
    g.add_argument("--margin", type=LIMITS["margin"].flag("--margin"), default=None,
                   help="triplet margin on squared distances of unit embeddings")
    g.add_argument("--window", type=LIMITS["window"].flag("--window"), default=None,
                   help="frames around the anchor that are never negatives")
    g.add_argument("--mining", choices=["semihard", "hardest"], default=None,
                   help="negatives farther than the positive (semihard) or the hardest")
    g.add_argument("--multiview-weight", type=LIMITS["multiview_weight"].flag("--multiview-weight"), default=None,
                   help="weight of the multi-view loss (0: the supervised-only baseline)")
    g.add_argument("--back-projection", action="store_true",
                   help="also back-projection (trajectory model, reprojection, bone length) on unlabeled instants")

    g = s.add_argument_group("run folder and output")
    g.add_argument("--checkpoint-dir", "-c", default=None, metavar="DIR",
                   help="the run's folder: checkpoints, config.json, the exported model")
    g.add_argument("--checkpoint-every", type=LIMITS["checkpoint_every"].flag("--checkpoint-every"), default=None,
                   help="steps between mid-epoch checkpoints (0: at epoch ends only)")
    g.add_argument("--resume", action="store_true", help="continue the run in the checkpoint folder")
    g.add_argument("--overwrite", action="store_true", help="restart a run in a used checkpoint folder")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _show_config_defaults(s)
    s.set_defaults(func=cmd_train)

    s = _sub("evaluate", help="evaluate a checkpoint on benchmark files")
    s.add_argument("--checkpoint", required=True,
                   help="model file to evaluate ('default': the bundled one for --layout)")
    s.add_argument("--data", choices=["cmu", "h36m", "humaneva", "3dhp"], default="cmu",
                   help="dataset (default cmu: give --bench; others: give --dataset)")
    s.add_argument("--bench", help="cmu: folder of bench_*.npz files")
    s.add_argument("--dataset", help="h36m/humaneva/3dhp: the prepared file (poselift prepare ...)")
    s.add_argument("--input", "-k", "--keypoints", dest="input", default="gt",
                   help="2D source: gt or det (cmu), gt, cpn_ft_h36m_dbb, ... (prepared datasets)")
    s.add_argument("--subjects", help="evaluate these subjects, comma-separated (default: the protocol's test set)")
    s.add_argument("--actions", help="only these actions, comma-separated (default: all; HumanEva: Walk,Jog,Box)")
    s.add_argument("--json", help="write the full result here")
    s.add_argument("--no-test-flip", action="store_true",
                   help="no test-time flip augmentation (averaging the prediction of the mirrored input)")
    s.add_argument("--precision", choices=["fp32", "bf16", "reference"], default="fp32",
                   help="fp32: batch norm folded (default); bf16: folded, in bfloat16; reference: the plain model")
    s.add_argument("--by-description", action="store_true", help="also print the per-description table")
    s.add_argument("--map-joints", action="store_true",
                   help="score a model of another joint layout (e.g. a Human3.6M-17 model on HumanEva-I, or on "
                        "16-joint Stacked-Hourglass 2D): 2D mapped to the model's input, the joints both share "
                        "scored (a cross-dataset figure; mappings in docs/datasets.md)")
    s.add_argument("--layout", choices=["h36m17", "coco17"], default="h36m17",
                   help="with --checkpoint default: which bundled model (coco17 inputs are derived from the 3D)")
    s.add_argument("--pose-checkpoint",
                   help="for a trajectory model: the pose model to combine it with ('default': the bundled one "
                        "for --layout), adding absolute errors and the reprojection baseline")
    s.add_argument("--threads", type=_THREADS.flag("--threads"), default=0, help="torch threads (0: torch's default)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_evaluate)

    s = _sub("retrieve", help="view-invariant pose retrieval with a pose embedder")
    s.add_argument("--checkpoint", required=True, help="a pose embedder, or 'keypoints' for raw normalised 2D")
    s.add_argument("--bench", help="cmu: folder of bench_*.npz (queries from one camera, gallery the others)")
    s.add_argument("--input", "-k", default="gt", help="2D source of the benchmark (gt, det)")
    s.add_argument("--videos", nargs="*", default=(), help="synchronised videos of one person: same-instant Hit@1")
    s.add_argument("--tolerance", type=_COUNT.flag("--tolerance"), default=2,
                   help="frames within which a video retrieval is the same instant")
    s.add_argument("--layout", choices=["h36m17", "coco17"], default="h36m17",
                   help="2D layout for 'keypoints' (a model uses its own)")
    s.add_argument("--query-stride", type=Limit(int, 1, 10**6).flag("--query-stride"), default=1,
                   help="use every n-th frame as a query")
    s.add_argument("--json", help="write the full result here")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_retrieve)

    s = _sub("infer", help="video or 2D keypoint file in; 3D motion, renders and exports out")
    g = s.add_argument_group("input")
    g.add_argument("source", help="a video, or 2D keypoints (COCO/MMPose JSON, OpenPose folder, VideoPose3D npz); "
                                  "with --realtime also a camera (0 = /dev/video0) or a stream URL")
    g.add_argument("--checkpoint", default="default", help="pose model (default: the bundled one for the input)")
    g.add_argument("--allow-pickle", action="store_true", help="read legacy pickled files (trusted files only)")
    g.add_argument("--layout", choices=["coco17", "h36m17"], help="joint layout of a keypoint file (default coco17)")
    g.add_argument("--width", type=Limit(int, 1, MAX_IMAGE_SIDE, unit="pixels").flag("--width"),
                   help="image width in pixels, when the keypoint file lacks it")
    g.add_argument("--height", type=Limit(int, 1, MAX_IMAGE_SIDE, unit="pixels").flag("--height"),
                   help="image height in pixels, when the keypoint file lacks it")
    g.add_argument("--fps", type=Limit(float, 0, MAX_FPS, lo_open=True, unit="frames per second").flag("--fps"),
                   help="frame rate, when the input lacks it")

    g = s.add_argument_group("people")
    g.add_argument("--people", choices=["one", "all"], default="one",
                   help="all: every person in the video, each tracked with an id, lifted, exported "
                        "(<name>_id<k>.*) and drawn in the render and viewer")
    g.add_argument("--person", metavar="ID|X,Y,W,H",
                   help="whom to lift in a video: a tracked person's id (ids as --people all prints them: 0 is "
                        "the first person seen), or a box in pixels: the person overlapping it, from the first "
                        "frame anyone does (someone entering later: a box where they appear). Default: the most "
                        "visible person at the start, followed by the single-person tracker. Keypoint files: "
                        "the k-th most visible person")
    g.add_argument("--min-score", type=Limit(float, 0, 1).flag("--min-score"), default=0.3,
                   help="keypoints below this confidence are filled")

    g = s.add_argument_group("camera and body")
    g.add_argument("--focal", type=Limit(float, 0, 1e7, lo_open=True).flag("--focal", "must be a positive number of "
                                                                            "pixels (at most 1e7)"),
                   help="focal length in pixels (default: from the video's metadata where it has one, else a 60 "
                        "degree field of view across the long side)")
    g.add_argument("--fov", type=Limit(float, 5, 170).flag("--fov", "must be degrees across the image's long side, "
                                                                    "5-170"),
                   metavar="DEGREES", help="field of view across the image's long side, instead of --focal")
    g.add_argument("--person-height", type=Limit(float, 0.3, 3.0, lo_open=True, hi_open=True).flag(
        "--person-height", "is a standing height in metres (0.3-3)"), metavar="METRES",
                   help="the person's standing height: the 3D body (and its distance) is scaled to it")
    g.add_argument("--trajectory", choices=["auto", "model", "reprojection"], default="auto",
                   help="root placement: the bundled trajectory model, or reprojection of the lifted pose "
                        "(auto: the model where one is bundled for the input's layout)")
    g.add_argument("--lift-only", action="store_true",
                   help="do not average the lift with the detector's own 3D (BlazePose world landmarks)")
    g.add_argument("--lift-size", action="store_true",
                   help="keep the lifter's body size (its training subjects') instead of the size of the "
                        "detector's own 3D (BlazePose's, read from the image; the default where it exists)")
    g.add_argument("--free-bones", action="store_true",
                   help="keep the lift's per-frame bone lengths (default: one rigid body, each bone its median "
                        "length over the clip)")

    g = s.add_argument_group("gaps and post-processing")
    g.add_argument("--max-gap", type=_COUNT.flag("--max-gap", "is a number of frames, 0 or more"), metavar="FRAMES",
                   help="longest gap (frames without a detection, or a joint missing) that is filled by "
                        "interpolation; longer ones are left out, NaN (default 10, as Sports2D)")
    g.add_argument("--smooth", choices=["none", "butterworth", "one-euro"], default="none",
                   help="smooth the 3D joints: zero-phase Butterworth (order 4, 6 Hz, as Sports2D) or the "
                        "one-euro filter (default none: the temporal lifter is smooth already)")
    g.add_argument("--pin-feet", action="store_true", help="hold each ankle still while its foot is on the floor")
    g.add_argument("--trim", action="store_true", help="drop the frames before the person is first seen and after "
                                                       "they are last seen from the outputs")

    g = s.add_argument_group("realtime")
    g.add_argument("--realtime", action="store_true",
                   help="lift each frame as it arrives (cached streaming model; exports, no renders)")
    g.add_argument("--jsonl", help="with --realtime: one JSON line per lifted frame to this file (- = stdout)")
    g.add_argument("--precision", choices=["bf16", "fp32"], default="bf16",
                   help="with --realtime: the lifting's number format (bf16: 2.7x faster, the output layer in fp32)")
    g.add_argument("--threads", type=_THREADS.flag("--threads"), metavar="N",
                   help="with --realtime: torch threads for the lifting (default 1: a frame is too small to share "
                        "and more threads stall on a busy machine; 0: torch's default)")

    g = s.add_argument_group("output")
    g.add_argument("--out", help="output folder (required unless --realtime --jsonl)")
    g.add_argument("--no-video", action="store_true", help="skip the mp4 render")
    g.add_argument("--gif", action="store_true", help="also write a GIF")
    g.add_argument("--overwrite", action="store_true", help="replace the outputs in an existing --out folder")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_infer)

    s = _sub("prepare", help="convert a dataset's raw files to poselift's safe format")
    s.add_argument("dataset", choices=["mocap", "h36m", "humaneva", "3dhp"],
                   help="mocap: CMU-style motion capture (ASF/AMC, BVH) to training clips; h36m, humaneva, 3dhp: "
                        "a benchmark dataset to a prepared file")
    s.add_argument("--source", required=True,
                   help="mocap: folder of *.asf + *_*.amc, *.bvh; h36m: the release folder (S*/MyPoseFeatures/"
                        "D3_Positions/*.cdf) or data_3d_h36m.npz; humaneva: data_3d_humaneva15.npz; "
                        "3dhp: the test set folder (TS1..TS6/annot_data.mat)")
    s.add_argument("--out", required=True, help="output .npz (mocap: CMU-17 training layout; others: prepared file)")
    s.add_argument("--subject", help="mocap: subject id to record (default: from the file names)")
    s.add_argument("--detections", nargs="*", default=(),
                   help="h36m/humaneva: 2D files (data_2d_<dataset>_<source>.npz, e.g. ..._gt, ..._cpn_ft_h36m_dbb, "
                        "..._sh_pt_mpii: 16 MPII joints)")
    s.add_argument("--cameras", help="h36m/humaneva: calibration JSON (default: the bundled one)")
    s.add_argument("--subjects", help="only these subjects (3dhp: sequences TS1..TS6), comma-separated")
    s.add_argument("--target", choices=["univ_annot3", "annot3"], default="univ_annot3",
                   help="3dhp: which 3D annotation (universal skeleton scale, the usual choice, or original)")
    s.add_argument("--allow-pickle", action="store_true",
                   help="read the legacy pickled VideoPose3D npz files (trusted files only)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_prepare)

    s = _sub("bench", help="speed of training, inference and streaming against the straightforward path")
    s.add_argument("--json", default=None, help="also write every figure to this JSON file")
    s.add_argument("--device", default="cpu", help="cpu or cuda")
    s.add_argument("--train-batch", type=LIMITS["batch_size"].flag("--train-batch"), default=1024,
                   help="training batch (the published recipe's)")
    s.add_argument("--repeats", type=Limit(int, 1, 1000).flag("--repeats"), default=3,
                   help="timed repetitions per figure (median)")
    s.add_argument("--threads", type=_THREADS.flag("--threads"), default=0, help="torch threads (0: torch's default)")
    s.add_argument("--parts", default=None,
                   help="comma-separated subset: train_27,train_243,infer_243,stream_243,data_243")
    s.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    s.set_defaults(func=cmd_bench)

    s = _sub("export", help="export a lifter checkpoint to ONNX")
    s.add_argument("--checkpoint", default="default", help="model file (default: the bundled COCO-17 lifter)")
    s.add_argument("--onnx", required=True, help="output .onnx file")
    s.add_argument("--opset", type=Limit(int, 9, 20).flag("--opset"), default=17, help="ONNX opset (9-20)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --onnx file")
    s.set_defaults(func=cmd_export)

    s = _sub("demo", help="run the whole pipeline on the bundled clip (offline)")
    s.add_argument("--out", default="poselift-demo", help="output folder")
    s.add_argument("--source", choices=["video", "sequence"], default="video",
                   help="video: the bundled clip; sequence: a bundled 2D sequence with 3D ground truth (no video stack)")
    s.add_argument("--overwrite", action="store_true", help="replace the outputs in an existing --out folder")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:  # the flags' types check their numbers and raise PoseliftError naming the flag
        a = parser.parse_args(argv)
    except PoseliftError as e:
        if "--debug" in (sys.argv[1:] if argv is None else argv):
            raise
        print(f"poselift: error: {e}", file=sys.stderr)
        return 2
    try:
        return a.func(a)
    except PoseliftError as e:
        if a.debug:
            raise
        print(f"poselift: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C; SIGTERM and SIGHUP too while outputs are open (poselift.transaction)
        signum = getattr(e, "signum", 2)
        print("poselift: interrupted" if signum == 2 else f"poselift: stopped by {e}", file=sys.stderr)
        return 128 + signum
    except (OSError, MemoryError) as e:  # the system's errors: one line naming the file (or flag) at fault
        if a.debug:
            raise
        print(f"poselift: error: {_one_line(system_error_message(e, a))}", file=sys.stderr)
        return 2


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


_OUTPUT_FLAGS = ("out", "json", "jsonl", "onnx", "checkpoint_dir")
_INPUT_FLAGS = ("source", "bench", "dataset", "checkpoint", "config", "train_dir")
_WRITE_ERRNOS = {"ENOSPC", "EDQUOT", "EFBIG", "EROFS"}


def _flag_value(a, names) -> str | None:
    for name in names:
        value = getattr(a, name, None)
        if isinstance(value, (str, os.PathLike)) and str(value) and str(value) != "-":
            return os.fspath(value)
    return None


def system_error_message(e: BaseException, a=None) -> str:
    """``<file>: <what went wrong>`` for an OSError or MemoryError that reached the command line:
    the file the system named, else the output (for a full disk) or input the command was
    given; the errno's wording, not Python's."""
    from .data.filetype import errno_name, os_error_text

    if isinstance(e, MemoryError):
        where = _flag_value(a, _INPUT_FLAGS) if a is not None else None
        text = "out of memory (the input is too large for this machine's memory)"
        return f"{where}: {text}" if where else text
    name, text = errno_name(e), os_error_text(e)

    def _name(value) -> str:
        return os.fsdecode(value) if isinstance(value, (bytes, os.PathLike)) else str(value)

    where = _name(e.filename) if e.filename not in (None, "") else None
    if where is not None and e.filename2 not in (None, ""):
        where = f"{where} -> {_name(e.filename2)}"
    if where is None and a is not None:
        order = _OUTPUT_FLAGS + _INPUT_FLAGS if name in _WRITE_ERRNOS else _INPUT_FLAGS + _OUTPUT_FLAGS
        where = _flag_value(a, order)
    return f"{where}: {text}" if where else text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
