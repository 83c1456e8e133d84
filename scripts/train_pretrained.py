"""Train, evaluate and bundle the pretrained models shipped in src/poselift/assets.

    python scripts/train_pretrained.py                     # train all (resumes), evaluate, print tables
    python scripts/train_pretrained.py --only lifter_coco17_27f --bundle

Each model is trained by the project's own command (``poselift train``) on
shared/data/cmu/train (the COCO-17 lifter also on train_extra), seen through the Human3.6M
rigs of S1, S5-S8 plus four random virtual cameras per clip (landscape, portrait and square
images; 30-75 degree fields of view; 3-8 m away), with synthetic detector noise on the 2D;
the COCO-17 lifter also on bodies of other sizes and proportions and with a real detector's
errors (keypoint offsets, left/right swaps, missed joints), in bf16 mixed precision; see
benchmarks/transfer.py for what each of those changes bought. Runs live in
``runs/pretrained/<name>`` and resume where they stopped. ``--bundle`` writes fp16 copies
into the package's assets. Evaluation is on shared/data/cmu/val (subjects and cameras never
seen in training); its tables go to ``runs/pretrained/<name>/eval-*.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POSELIFT_DATA", ROOT / ".." / "shared" / "data"))
ASSETS = ROOT / "src" / "poselift" / "assets"

COMMON = ["--random-cameras", "4", "--detector-noise", "--ema", "0.999", "--seed", "1234"]
TRANSFER = ["--body-proportions", "--detector-errors", "--precision", "bf16"]
TRAIN_DIRS = {"lifter_coco17_27f": ("train", "train_extra")}  # default: ("train",)
MODELS = {
    "lifter_coco17_27f": ["-arc", "3,3,3", "--input-layout", "coco17", "--samples", "2400000", *COMMON, *TRANSFER],
    "trajectory_coco17_27f": ["-arc", "3,3,3", "--channels", "512", "--joints-out", "1", "--target", "trajectory",
                              "--input-layout", "coco17", "--samples", "600000", *COMMON],
    "lifter_h36m17_27f": ["-arc", "3,3,3", "--input-layout", "h36m17", "--samples", "800000", *COMMON],
}


def run_training(out: Path, train_dir: str, args: list[str]) -> Path:
    """``poselift train`` on CMU data into ``out`` (resumed if a run is there); its model file."""
    from poselift.cli import main

    cmd = ["train", "--data", "cmu", "--train-dir", train_dir, "--checkpoint-dir", str(out), *args]
    if (out / "last.safetensors").exists():
        cmd.append("--resume")
    print("poselift " + " ".join(cmd), flush=True)
    if main(cmd) != 0:
        raise SystemExit(f"training in {out} failed")
    return out / "model.safetensors"


def train(name: str, args: list[str]) -> Path:
    train_dir = ",".join(str(DATA / "cmu" / d) for d in TRAIN_DIRS.get(name, ("train",)))
    return run_training(ROOT / "runs" / "pretrained" / name, train_dir, args)


def evaluate(name: str, checkpoint: Path) -> None:
    from poselift.data.formats import save_json
    from poselift.evaluate import evaluate_checkpoint, format_table

    pose = None
    if name.startswith("trajectory_"):
        pose = ROOT / "runs" / "pretrained" / name.replace("trajectory_", "lifter_") / "model.safetensors"
        pose = pose if pose.exists() else None
    for kind in ("gt", "det"):
        r = evaluate_checkpoint(checkpoint, DATA / "cmu" / "val", kind, pose_checkpoint=pose, progress=False)
        save_json(checkpoint.parent / f"eval-{kind}.json", r, overwrite=True)
        print(format_table(r, "per_subject", title=f"\n{name}, CMU-17 val, input {kind} (mm)"), flush=True)


def bundle(name: str, checkpoint: Path) -> None:
    from poselift.predict import load_model
    from poselift.train.checkpoint import read_meta, save_checkpoint

    model, _ = load_model(checkpoint)
    meta = read_meta(checkpoint)
    meta.pop("format", None)
    target = ASSETS / f"{name}.safetensors"
    save_checkpoint(target, model, meta, half=True)
    target.with_suffix(".json").unlink(missing_ok=True)  # the metadata is inside the file
    print(f"bundled {target} ({target.stat().st_size / 1e6:.1f} MB)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", choices=list(MODELS), help="train just this model (repeatable)")
    p.add_argument("--bundle", action="store_true", help="write fp16 copies into src/poselift/assets")
    p.add_argument("--no-eval", action="store_true")
    a = p.parse_args()
    for name in a.only or list(MODELS):
        ck = train(name, MODELS[name])
        if not a.no_eval:
            evaluate(name, ck)
        if a.bundle:
            bundle(name, ck)
    return 0


if __name__ == "__main__":
    sys.exit(main())
