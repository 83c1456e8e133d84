"""Multi-view consistent training (MCSS) against 3D supervision only, and pose retrieval.

    python benchmarks/multiview.py                    # label fractions 1%, 10%, 100%
    python benchmarks/multiview.py --fractions 0.1 --samples 100000

Training data: every CMU-17 training clip seen by its subject's Human3.6M rig plus 4 random
virtual cameras (8 synchronised views), COCO-17 2D with synthetic detector noise. For each
label fraction (a contiguous, seeded stretch of every clip keeps its 3D) pose embedders
(27 frames, 256 channels, 32-d embedding) train with the same budget of labeled instants
drawn (each seen from two views), the same learning-rate schedule (see ``schedule``):

* ``supervised``: the pose loss on batches of labeled instants only;
* ``mcss``: + each step a batch of any instants for the multi-view loss;
* ``supervised-trunk``, ``mcss-trunk``: the same with the pose head on the trunk's features
  (the embedding a side branch that the multi-view loss trains); ``mcss-trunk-w0.1`` with
  the multi-view loss weighted 0.1;
* ``mcss-bp``: MCSS + back-projection (a trajectory model; reprojection of that batch's
  unlabeled instants through their intrinsics; bone length) after a warm-up of a quarter
  of the epochs.

Evaluation on CMU-17 v1 val: 3D pose error (inputs gt and det, test-time flip); retrieval
with queries from one camera and the gallery from the other three (Hit@1/10/20, NP-MPJPE
< 0.1; top-1 P-MPJPE), for each embedder and for raw normalised 2D keypoints (the floor);
and on the pose2sim four-view clip, Hit@1 of the same instant (±2 frames) across views from
real MediaPipe detections (cached in ``--out``). Runs resume from their folders.

``--cv 03,17`` instead chooses the multi-view loss's window and margin by cross-validation
on the training subjects: MCSS at 10% labels trains on the other training subjects for
each setting, and retrieval is measured on the held-out ones (seen by the S9 rig), beside
the raw-2D floor there. Each model's Hit@1 on the validation subjects is printed too, as a
check of how well trained it is; it plays no part in the choice.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from poselift.config import TrainConfig
from poselift.data.cmu import load_bench_dir
from poselift.data.formats import load_npz, save_json, save_npz
from poselift.evaluate import evaluate_checkpoint
from poselift.models.temporal import ModelConfig
from poselift.predict import load_model
from poselift.retrieval import (bench_gallery, embed_sequence, keypoint_embedding, retrieval_scores,
                                same_instant_hit_rate, video_inputs)
from poselift.train.multiview import MultiviewTrainer

DATA = Path(os.environ.get("POSELIFT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
VARIANTS = {"supervised": {"multiview_weight": 0.0}, "mcss": {}, "mcss-bp": {"back_projection": True},
            "supervised-trunk": {"multiview_weight": 0.0}, "mcss-trunk": {},
            "mcss-trunk-w0.1": {"multiview_weight": 0.1}}
DEFAULT_VARIANTS = ("supervised", "mcss", "mcss-bp")
# variants whose pose head reads the trunk features (the embedding a side branch)
TRUNK = {"supervised-trunk", "mcss-trunk", "mcss-trunk-w0.1"}


def schedule(train_dir, fraction: float, samples: int) -> dict:
    """Per label fraction, fixed before any result: the published 80-epoch learning-rate decay
    (x0.95 per epoch) spread over the run's epochs (one epoch = every labeled clip, flipped
    copies included), and back-projection warm-up for the first quarter of them."""
    import math

    from poselift.data import cmu
    from poselift.data.dataset import subset_slice

    labeled = 0
    for c in cmu.load_train_dir(train_dir):
        sl = subset_slice(len(c.positions), fraction, f"{c.subject}/{c.name}", 0)
        labeled += sl.stop - sl.start
    epochs = max(1, math.ceil(samples / (2 * labeled)))
    return {"lr_decay": 0.95 ** (80 / epochs), "warmup": epochs // 4}
LAYOUT = "coco17"


def train(a, fraction: float, variant: str, name: str | None = None, **extra) -> Path:
    out = Path(a.out) / (name or f"{fraction:g}-{variant}")
    settings = dict(train_dir=a.train_dir, checkpoint_dir=str(out), samples=a.samples, batch_size=a.batch_size,
                    seed=a.seed, threads=a.threads, multiview=True, random_cameras=4, detector_noise=True,
                    input_layout=LAYOUT, label_fraction=fraction, margin=a.margin, window=a.window, mining=a.mining)
    settings.update(schedule(a.train_dir, fraction, a.samples), **VARIANTS[variant], **extra)
    cfg = TrainConfig(model=ModelConfig(filter_widths=[int(v) for v in a.architecture.split(",")],
                                        channels=a.channels, embed_dim=a.embed_dim,
                                        pose_from="trunk" if variant in TRUNK else "embedding"), **settings)
    trainer = MultiviewTrainer(cfg, progress=not a.quiet)
    if trainer.resume():
        print(f"{out}: resumed at {trainer.state.drawn:,} instants", file=sys.stderr)
    instants = (trainer.stream or trainer.sampler).num_frames
    print(f"{out}: {trainer.sampler.labeled_frames:,} labeled instants, {instants:,} used, "
          f"{len(trainer.sampler.groups)} clips x 8 views, budget {a.samples:,} instants", file=sys.stderr)
    t0 = time.time()
    trainer.train()
    print(f"{out}: trained in {time.time() - t0:.0f} s this call", file=sys.stderr)
    return out / "model.safetensors"


def pose2sim_views(a) -> list[np.ndarray]:
    cache = Path(a.out) / "pose2sim_coco17.npz"
    if cache.exists():
        d = load_npz(cache)
        return [d[f"view{i}"] for i in range(4)]
    views = [video_inputs(DATA / "video" / "pose2sim_single" / f"cam0{i + 1}.mp4", LAYOUT) for i in range(4)]
    n = min(len(v) for v in views)
    views = [v[:n] for v in views]
    save_npz(cache, {f"view{i}": v for i, v in enumerate(views)})
    return views


def spread(gallery) -> dict:
    """Mean squared embedding distance between cameras 0 and 1 at the same instant and at
    random other instants: a collapsed embedding has both near 0."""
    a, b = gallery.embeddings[0], gallery.embeddings[1]
    perm = np.random.default_rng(0).permutation(len(a))
    return {"same_instant": float(((a - b) ** 2).sum(-1).mean()), "other_instant": float(((a - b[perm]) ** 2).sum(-1).mean())}


def held_out_subjects(train_dir, subjects: list[str]):
    """Training subjects as benchmark subjects seen by the S9 rig (exact 2D), for cross-validation."""
    from poselift.data import cmu
    from poselift.data.bench import BenchSubject
    from poselift.data.virtual import h36m_rigs

    rig = h36m_rigs(subjects=("S9",))["S9"]
    out = []
    for subj in subjects:
        clips = [c for c in cmu.load_train_dir(train_dir) if c.subject == subj]
        world = np.concatenate([c.positions for c in clips]).astype(np.float64)
        cam3d = np.stack([cam.world_to_camera(world) for cam in rig])
        out.append(BenchSubject(subj, [c.name for c in clips], [c.description for c in clips],
                                np.cumsum([0] + [len(c.positions) for c in clips]), list(rig),
                                cam3d.astype(np.float32),
                                {"gt": np.stack([cam.project(x) for cam, x in zip(rig, cam3d)]).astype(np.float32)},
                                positions_3d_world=world.astype(np.float32)))
    return out


def cross_validate(a) -> int:
    held = a.cv.split(",")
    from poselift.train.semi import all_training_subjects

    cfg_probe = TrainConfig(train_dir=a.train_dir, samples=1)
    rest = ",".join(s for s in all_training_subjects(cfg_probe) if s not in held)
    subjects = held_out_subjects(a.train_dir, held)
    settings = [(w, m) for w in (0, 10, 25) for m in (0.2,)] + [(25, 0.1), (25, 0.4)]
    floor = retrieval_scores(bench_gallery(subjects, keypoint_embedding, "gt", progress=False, layout=LAYOUT))
    val = load_bench_dir(a.bench)  # reported beside, never used to choose
    rows = []
    for window, margin in settings:
        path = train(a, 0.1, "mcss", name=f"cv-w{window}-m{margin:g}", window=window, margin=margin, subjects=rest)
        model, _ = load_model(path)
        embed = (lambda x, m=model: embed_sequence(m, x))
        r = retrieval_scores(bench_gallery(subjects, embed, "gt", progress=False, layout=LAYOUT))
        v = retrieval_scores(bench_gallery(val, embed, "gt", progress=False, layout=LAYOUT))
        rows.append({"window": window, "margin": margin, **{k: r[k] for k in ("hit@1", "hit@10", "hit@20")},
                     "val_hit@1": v["hit@1"]})
    print(f"\nCross-validation: MCSS at 10% labels trained without subjects {a.cv}, retrieval on them (S9 rig); "
          f"{a.samples:,} instants per run")
    print(f"{'window':>7}{'margin':>8}{'Hit@1':>8}{'Hit@10':>8}{'Hit@20':>8}{'val Hit@1':>11}")
    print(f"{'2D floor':>15}{floor['hit@1']:>8.1f}{floor['hit@10']:>8.1f}{floor['hit@20']:>8.1f}")
    for r in rows:
        print(f"{r['window']:>7}{r['margin']:>8.2f}{r['hit@1']:>8.1f}{r['hit@10']:>8.1f}{r['hit@20']:>8.1f}"
              f"{r['val_hit@1']:>11.1f}")
    save_json(Path(a.out) / "cv.json", {"held_out": held, "samples": a.samples, "rows": rows,
                                        "floor": {k: floor[k] for k in ("hit@1", "hit@10", "hit@20")}})
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fractions", default="0.01,0.1,1", help="labeled fraction of every clip, comma-separated")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    p.add_argument("-arc", "--architecture", default="3,3,3")
    p.add_argument("-ch", "--channels", type=int, default=256)
    p.add_argument("--embed-dim", type=int, default=32)
    p.add_argument("--samples", type=int, default=300_000, help="labeled instants drawn per run (each seen twice)")
    p.add_argument("-b", "--batch-size", type=int, default=256)
    p.add_argument("--margin", type=float, default=0.2)
    p.add_argument("--window", type=int, default=25)
    p.add_argument("--mining", default="semihard", choices=["semihard", "hardest"])
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--train-dir", default=str(DATA / "cmu" / "train"))
    p.add_argument("--bench", default=str(DATA / "cmu" / "val"))
    p.add_argument("--out", default="runs/multiview")
    p.add_argument("--no-video", action="store_true", help="skip the pose2sim four-view clip")
    p.add_argument("--cv", help="held-out training subjects: choose window and margin by cross-validation")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.cv:
        return cross_validate(a)

    subjects = load_bench_dir(a.bench)
    views = None if a.no_video else pose2sim_views(a)
    rows = []
    embedders = [("2D keypoints (floor)", None, keypoint_embedding)]
    for fraction in (float(f) for f in a.fractions.split(",")):
        for variant in a.variants.split(","):
            path = train(a, fraction, variant)
            row = {"fraction": fraction, "variant": variant, "checkpoint": str(path)}
            for kind in ("gt", "det"):
                r = evaluate_checkpoint(path, a.bench, kind, progress=False, threads=a.threads)
                row[kind] = {m: r[m] for m in ("mpjpe", "p_mpjpe", "n_mpjpe")}
            rows.append(row)
            model, _ = load_model(path)
            embedders.append((f"{variant} {fraction:.0%}", row, (lambda x, m=model: embed_sequence(m, x))))
    retrieval = []
    for name, row, embed in embedders:
        gallery = bench_gallery(subjects, embed, "gt", progress=False, layout=LAYOUT)
        r = retrieval_scores(gallery)
        r["spread"] = spread(gallery)
        if views is not None:
            r["pose2sim"] = same_instant_hit_rate([embed(v) for v in views], 2)
        retrieval.append({"embedding": name, **r})
        if row is not None:
            row["retrieval"] = r

    print(f"\nRetrieval on CMU-17 v1 val (input gt, COCO-17): queries from one camera, gallery the other three; "
          f"hit = NP-MPJPE < 0.1")
    print(f"{'embedding':<24}{'Hit@1':>7}{'Hit@10':>8}{'Hit@20':>8}{'top-1 P-MPJPE':>15}   Hit@1 per query camera"
          + ("   pose2sim Hit@1 (±2)" if views is not None else "") + "   distance² same / other instant")
    for r in retrieval:
        cams = " / ".join(f"{v['hit@1']:.1f}" for v in r["per_camera"].values())
        video = f"   {r['pose2sim']['hit@1']:.1f}" if "pose2sim" in r else ""
        sp = f"   {r['spread']['same_instant']:.3g} / {r['spread']['other_instant']:.3g}"
        print(f"{r['embedding']:<24}{r['hit@1']:>7.1f}{r['hit@10']:>8.1f}{r['hit@20']:>8.1f}"
              f"{r['top1_p_mpjpe']:>12.1f} mm   {cams}{video}{sp}")
    print(f"\n3D pose on CMU-17 v1 val (mm), {a.samples:,} instants per run, arc {a.architecture}, "
          f"{a.channels} channels, seed {a.seed}")
    print(f"{'labels':>7}{'variant':>12}{'gt MPJPE':>10}{'P-MPJPE':>9}{'N-MPJPE':>9}{'det MPJPE':>11}{'P-MPJPE':>9}"
          f"{'N-MPJPE':>9}")
    for r in rows:
        g, d = r["gt"], r["det"]
        print(f"{r['fraction']:>7.0%}{r['variant']:>12}{g['mpjpe']:>10.1f}{g['p_mpjpe']:>9.1f}{g['n_mpjpe']:>9.1f}"
              f"{d['mpjpe']:>11.1f}{d['p_mpjpe']:>9.1f}{d['n_mpjpe']:>9.1f}")
    name = "multiview.json" if a.variants == ",".join(DEFAULT_VARIANTS) else f"multiview-{a.variants.replace(',', '+')}.json"
    save_json(Path(a.out) / name, {"rows": rows, "retrieval": retrieval, "args": vars(a)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
