"""Semi-supervised back-projection against supervised-only training, at three label budgets.

    python benchmarks/semi.py                       # 1K, 5K, 20K labeled frames
    python benchmarks/semi.py --budgets 5000 --variants supervised,semi

Labeled data: a contiguous, seeded stretch of every clip of the labeled subject(s)
(``--labeled``, default CMU subject 01), sized so that about ``budget`` 3D poses (50 Hz
frames) are labeled; each is seen through its Human3.6M rig (4 cameras). Unlabeled data:
the 2D only of every other training subject through its rig. All 2D carries the synthetic
detector noise. Per budget three variants train with the same budget of labeled clips
drawn: ``supervised`` (labeled data only), ``semi`` (back-projection with the bone-length
term) and ``semi-nobone`` (without it). Each run resumes from its folder under ``--out``.
Evaluation: CMU-17 v1 val, inputs gt and det, MPJPE and N-MPJPE of the weight-averaged
pose model, with test-time flip; and, input gt, where the error lies: the mean depth error
per joint (which no 2D loss sees) and the reprojection error in pixels of the prediction
placed at the true root (which the back-projection loss can reduce).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from poselift.config import TrainConfig
from poselift.data import cmu
from poselift.data.formats import save_json
from poselift.evaluate import evaluate_checkpoint
from poselift.models.temporal import ModelConfig
from poselift.train.semi import SemiTrainer
from poselift.train.supervised import Trainer

DATA = Path(os.environ.get("POSELIFT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
VARIANTS = {"supervised": {}, "semi": {"unlabeled_subjects": "rest"},
            "semi-nobone": {"unlabeled_subjects": "rest", "bone_length": False}}
# clips drawn per run and warm-up epochs (one epoch = every labeled clip, flipped copies
# included), per label budget: the same 600k clips everywhere (2,344 steps of 256), of which
# the first 160k (about a quarter) are warm-up on labeled clips only
SCHEDULE = {1000: (600_000, 20), 5000: (600_000, 4), 20000: (600_000, 1)}


def labeled_fraction(train_dir, subjects: list[str], budget: int) -> float:
    frames = sum(len(c.positions) for c in cmu.load_train_dir(train_dir) if c.subject in subjects)
    if frames == 0:
        raise SystemExit(f"no clips of subject(s) {', '.join(subjects)} in {train_dir}")
    return min(1.0, budget / frames)


def error_split(checkpoint, bench_dir) -> dict:
    """Where the error lies, input gt: ``depth_mm`` the mean |z| error per joint (invisible to
    any 2D loss), ``reprojection_px`` how far the prediction, placed at the true root, lands
    from the 2D input (what the back-projection loss can reduce)."""
    import numpy as np

    from poselift.data.cmu import load_bench_dir
    from poselift.evaluate import bench_inputs
    from poselift.predict import load_model, predict_sequence

    model, _ = load_model(checkpoint)
    depth = px = frames = 0.0
    for subj in load_bench_dir(bench_dir):
        for c, cam in enumerate(subj.cameras):
            truth = subj.positions_3d_camera[c].astype(np.float64)
            pred = predict_sequence(model, bench_inputs(subj, c, slice(None), "gt")).astype(np.float64)
            pred -= pred[:, :1]
            depth += np.abs(pred[..., 2] - (truth - truth[:, :1])[..., 2]).mean(-1).sum()
            uv = cam.project(pred + truth[:, :1])
            px += np.linalg.norm(uv - subj.positions_2d["gt"][c], axis=-1).mean(-1).sum()
            frames += len(truth)
    return {"depth_mm": 1000 * depth / frames, "reprojection_px": px / frames}


def run(a, budget: int, variant: str) -> dict:
    samples, warmup = SCHEDULE.get(budget, (600_000, 1))
    samples = a.samples or samples
    out = Path(a.out) / f"{budget}-{variant}"
    subjects = a.labeled.split(",")
    cfg = TrainConfig(model=ModelConfig(filter_widths=[int(v) for v in a.architecture.split(",")],
                                        channels=a.channels),
                      train_dir=a.train_dir, checkpoint_dir=str(out), samples=samples, seed=a.seed,
                      batch_size=a.batch_size,
                      threads=a.threads, detector_noise=True, subjects=a.labeled,
                      subset=labeled_fraction(a.train_dir, subjects, budget),
                      warmup=a.warmup if a.warmup is not None else warmup, **VARIANTS[variant])
    trainer = (SemiTrainer if cfg.semi_supervised else Trainer)(cfg, progress=not a.quiet)
    views = len({m["camera"] for m in trainer.data.meta})
    labeled = trainer.sampler.num_frames // views
    if trainer.resume():
        print(f"{out}: resumed at {trainer.state.drawn:,} clips", file=sys.stderr)
    print(f"{out}: {labeled:,} labeled frames x {views} views, {len(trainer.sampler):,} clips per epoch, "
          f"{samples:,} clips, warm-up {cfg.warmup} epoch(s)"
          + (f", {trainer.unlabeled.num_frames:,} unlabeled 2D frames" if cfg.semi_supervised else ""),
          file=sys.stderr)
    t0 = time.time()
    state = trainer.train()
    result = {"budget": budget, "variant": variant, "labeled_frames": labeled, "samples": samples,
              "warmup": cfg.warmup, "epochs": state.epoch, "train_seconds_this_call": time.time() - t0,
              "history": state.history, "config": cfg.to_dict()}
    for kind in a.inputs.split(","):
        r = evaluate_checkpoint(out / "model.safetensors", a.bench, kind, progress=False, threads=a.threads)
        result[kind] = {m: r[m] for m in ("mpjpe", "n_mpjpe", "p_mpjpe", "mpjve")}
    result["split"] = error_split(out / "model.safetensors", a.bench)
    save_json(out / "semi.json", result)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budgets", default="1000,5000,20000", help="labeled 3D frames, comma-separated")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--labeled", default="01", help="labeled subject(s); every other one is unlabeled")
    p.add_argument("-arc", "--architecture", default="3,3,3")
    p.add_argument("-ch", "--channels", type=int, default=256)
    p.add_argument("-b", "--batch-size", type=int, default=256)
    p.add_argument("--samples", type=int, default=0, help="clips per run (default: per budget, see SCHEDULE)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up epochs (default: per budget)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--inputs", default="gt,det")
    p.add_argument("--train-dir", default=str(DATA / "cmu" / "train"))
    p.add_argument("--bench", default=str(DATA / "cmu" / "val"))
    p.add_argument("--out", default="runs/semi")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)

    rows = []
    for budget in (int(b) for b in a.budgets.split(",")):
        for variant in a.variants.split(","):
            if variant not in VARIANTS:
                raise SystemExit(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
            rows.append(run(a, budget, variant))
    inputs = a.inputs.split(",")
    print(f"\nCMU-17 v1 val: MPJPE / N-MPJPE (mm), arc {a.architecture}, {a.channels} channels, "
          f"batch {a.batch_size}, seed {a.seed}; "
          f"labeled subject(s) {a.labeled}, every other training subject unlabeled")
    print(f"{'labeled frames':>15}{'variant':>13}{'clips':>10}" + "".join(f"{k:>16}" for k in inputs)
          + f"{'depth mm':>10}{'reproj px':>10}")
    for r in rows:
        cells = "".join(f"{r[k]['mpjpe']:>9.1f} /{r[k]['n_mpjpe']:>6.1f}" for k in inputs)
        split = r.get("split") or {}
        cells += f"{split.get('depth_mm', float('nan')):>10.1f}{split.get('reprojection_px', float('nan')):>10.1f}"
        print(f"{r['labeled_frames']:>15,}{r['variant']:>13}{r['samples']:>10,}{cells}")
    by = {(r["budget"], r["variant"]): r for r in rows}
    for budget in sorted({r["budget"] for r in rows}):
        sup, semi = by.get((budget, "supervised")), by.get((budget, "semi"))
        if sup and semi:
            gains = ", ".join(f"{k} {sup[k]['mpjpe'] - semi[k]['mpjpe']:+.1f}" for k in inputs)
            print(f"gain of semi over supervised at {sup['labeled_frames']:,} labeled frames (MPJPE mm): {gains}")
    save_json(Path(a.out) / "semi.json", {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
