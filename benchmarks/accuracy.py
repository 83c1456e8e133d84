"""Train a lifter on CMU-17 train with a fixed budget and evaluate it on CMU-17 val.

    python benchmarks/accuracy.py -arc 3,3,3 --samples 1200000 --out runs/acc-333-1200k

Trains with the published recipe (seed 1234, GT 2D through the Human3.6M rigs of S1, S5,
S6, S7, S8), resumes an interrupted run in ``--out``, evaluates with inputs gt and det, and
prints the table next to the reference release's figures (shared/bench/reference.md).

With ``--ema D`` (default 0.999) the run also keeps an exponential moving average of the
weights; training itself is unchanged, and both the raw weights of the published recipe
(``last.safetensors``) and the average (``model.safetensors``) are evaluated.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from poselift.config import TrainConfig
from poselift.data.formats import save_json
from poselift.evaluate import evaluate_checkpoint, format_table
from poselift.models.temporal import ModelConfig
from poselift.train.supervised import Trainer

DATA = Path(os.environ.get("POSELIFT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))

# shared/bench/reference.md: the public reference release on the same data and budget
REFERENCE = {
    ("3,3,3", 358400): {"gt": (128.0, 96.1, 113.1, 7.06), "det": (131.0, 98.4, 116.1, 11.97)},
    ("1,1,1", 358400): {"gt": (134.3, 89.4, 106.7, 7.60), "det": (138.7, 92.6, 111.2, 21.72)},
    ("3,3,3", 1200000): {"gt": (73.7, 58.1, 71.3, 5.19), "det": (78.7, 62.0, 76.2, 9.22)},
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-arc", "--architecture", default="3,3,3")
    p.add_argument("--samples", type=int, default=1_200_000)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--random-cameras", type=int, default=0)
    p.add_argument("--train-dir", default=str(DATA / "cmu" / "train"))
    p.add_argument("--bench", default=str(DATA / "cmu" / "val"))
    p.add_argument("--out", default=None, help="run folder (default runs/acc-<arc>-<samples>)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--ema", type=float, default=0.999, help="weight-average decay (0 = raw weights only)")
    a = p.parse_args(argv)

    arc = [int(v) for v in a.architecture.split(",")]
    out = Path(a.out or f"runs/acc-{''.join(map(str, arc))}-{a.samples}")
    cfg = TrainConfig(model=ModelConfig(filter_widths=arc), train_dir=a.train_dir, checkpoint_dir=str(out),
                      samples=a.samples, seed=a.seed, random_cameras=a.random_cameras, threads=a.threads,
                      ema=a.ema)
    trainer = Trainer(cfg)
    if trainer.resume():
        print(f"resumed {out} at {trainer.state.drawn:,} clips", file=sys.stderr)
    t0 = time.time()
    state = trainer.train()
    train_s = time.time() - t0
    weights = {"raw": out / "last.safetensors"}
    if a.ema > 0:
        weights["ema"] = out / "model.safetensors"
    results = {}
    for w, path in weights.items():
        for kind in ("gt", "det"):
            results[f"{kind}-{w}"] = r = evaluate_checkpoint(path, a.bench, kind, threads=a.threads)
            print(format_table(r, "per_subject", title=f"\n{path}: input {kind} (mm)"))
    ref = REFERENCE.get((a.architecture, a.samples))
    print(f"\nCMU-17 v1 val, arc {a.architecture}, {a.samples:,} clips, seed {a.seed} (mm)")
    print(f"{'input':<6}{'weights':<9}{'MPJPE':>8}{'P-MPJPE':>9}{'N-MPJPE':>9}{'MPJVE':>8}   reference MPJPE/P/N/MPJVE")
    for key, r in results.items():
        kind, w = key.split("-")
        refs = " / ".join(f"{v:g}" for v in ref[kind]) if ref else "-"
        print(f"{kind:<6}{w:<9}{r['mpjpe']:>8.1f}{r['p_mpjpe']:>9.1f}{r['n_mpjpe']:>9.1f}{r['mpjve']:>8.2f}   {refs}")
    final_loss = state.history[-1]["loss_mm"] if state.history else None
    summary = {"architecture": a.architecture, "samples": a.samples, "seed": a.seed,
               "random_cameras": a.random_cameras, "ema": a.ema, "final_loss_mm": final_loss,
               "train_seconds_this_call": train_s, "history": state.history,
               "results": {k: {m: r[m] for m in ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "frames", "per_subject")}
                           for k, r in results.items()},
               "reference": ref}
    save_json(out / "accuracy.json", summary)
    print(f"final training loss {final_loss:.1f} mm; wrote {out / 'accuracy.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
