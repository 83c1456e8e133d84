"""What each training change buys on real video: train the ablation variants of the COCO-17
lifter, evaluate each on CMU-17 val and on the real-video benchmark, print one table.

    python benchmarks/transfer.py [--variants base,bodies,errors,extra,long,81f] [--out runs/transfer]

Every variant is ``poselift train`` with the bundled COCO-17 lifter's recipe (Human3.6M rigs
+ 4 random cameras per clip, synthetic detector noise, weight averaging, seed 1234, 27
frames, 1,200,000 clips; bf16 mixed precision, which cost no accuracy in "Speed and scale")
plus the changes named:

* ``base``    the recipe as bundled before these changes
* ``bodies``  + ``--body-proportions`` (every view on a body of its own size and proportions)
* ``errors``  + ``--detector-errors`` (keypoint offsets, left/right swaps, missed joints)
* ``extra``   + the four subjects of ``cmu/train_extra`` (``--train-dir train,train_extra``)
* ``long``    ``extra`` with twice the budget (2,400,000 clips)
* ``81f``     ``extra`` with a receptive field of 81 frames (``-arc 3,3,3,3``)
 Runs resume in ``--out/<variant>``. Evaluation:
CMU-17 val with ``det`` input (the benchmark's synthetic detector) and
``benchmarks/realvideo.py --checkpoint`` (13 joints, mean of the four views, one rigid body).
No setting of a variant was tuned on either: each change's numbers are fixed in its module
(see ``poselift.data.proportions`` and ``poselift.data.noise``) before these runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POSELIFT_DATA", ROOT / ".." / "shared" / "data"))

BASE = ["--input-layout", "coco17", "--random-cameras", "4", "--detector-noise", "--ema", "0.999",
        "--seed", "1234", "--precision", "bf16"]
STEPS = {  # each change: its flags (the "extra" and "long" steps change the folders and the budget)
    "bodies": ["--body-proportions"],
    "errors": ["--detector-errors"],
    "extra": [],
    "long": [],
    "81f": [],
}
VARIANTS = {
    "base": [],
    "bodies": ["bodies"],
    "errors": ["bodies", "errors"],
    "extra": ["bodies", "errors", "extra"],
    "long": ["bodies", "errors", "extra", "long"],
    "81f": ["bodies", "errors", "extra", "81f"],
}
ORDER = list(VARIANTS)
SAMPLES = 1_200_000


def variant_args(name: str) -> tuple[list[str], str, int]:
    """The flags of a variant, its training folders and its budget."""
    arc = "3,3,3,3" if "81f" in VARIANTS[name] else "3,3,3"
    args, train, samples = ["-arc", arc, *BASE], str(DATA / "cmu" / "train"), SAMPLES
    for step in VARIANTS[name]:
        args += STEPS[step]
        if step == "extra":
            train += "," + str(DATA / "cmu" / "train_extra")
        if step == "long":
            samples *= 2
    return args, train, samples


def train(name: str, out: Path) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_pretrained import run_training

    args, train_dir, samples = variant_args(name)
    return run_training(out / name, train_dir, ["--samples", str(samples), *args])


def evaluate(name: str, ck: Path, out: Path) -> dict:
    """CMU-17 val (det) and real-video figures of a variant, cached beside its run."""
    from poselift.data.formats import save_json
    from poselift.evaluate import evaluate_checkpoint

    res_path = out / name / "transfer.json"
    result = json.loads(res_path.read_text()) if res_path.exists() else {}
    if result.get("checkpoint_mtime") != ck.stat().st_mtime:
        result = {"variant": name, "checkpoint_mtime": ck.stat().st_mtime}
    if "cmu_det" not in result:
        r = evaluate_checkpoint(ck, DATA / "cmu" / "val", "det", progress=False)
        result["cmu_det"] = {k: r[k] for k in ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")}
    if "poselift_lift_only" not in result.get("realvideo", {}):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import realvideo

        rv_json = out / name / "realvideo.json"
        realvideo.main(["--checkpoint", str(ck), "--json", str(rv_json)])
        rv = json.loads(rv_json.read_text())["mean"]
        result["realvideo"] = {k: rv[k] for k in ("poselift", "poselift_lift_only", "mediapipe_world")}
    save_json(res_path, result)
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default=",".join(ORDER))
    p.add_argument("--out", default="runs/transfer")
    p.add_argument("--no-train", action="store_true", help="evaluate finished runs only")
    a = p.parse_args(argv)
    out = Path(a.out)
    rows = []
    for name in a.variants.split(","):
        if name not in VARIANTS:
            raise SystemExit(f"unknown variant {name!r} (have {', '.join(ORDER)})")
        ck = out / name / "model.safetensors"
        if not a.no_train:
            ck = train(name, out)
        if ck.exists():
            rows.append(evaluate(name, ck, out))
    mp = rows[0]["realvideo"]["mediapipe_world"] if rows else None
    print("\nCMU-17 val with det input, and real video (benchmarks/realvideo.py, mean of 4 views): the lifter "
          "alone (rigid body) and as shipped (averaged with BlazePose's 3D); mm")
    print(f"{'variant':<8}| {'CMU MPJPE':>9}{'P-MPJPE':>8}{'MPJVE':>7} | {'lift MPJPE':>10}{'N-MPJPE':>8}{'P-MPJPE':>8}"
          f"{'MPJVE':>7}{'scale':>6} | {'fused MPJPE':>11}{'P-MPJPE':>8}{'MPJVE':>7}")
    for r in rows:
        c, v, f = r["cmu_det"], r["realvideo"]["poselift_lift_only"], r["realvideo"]["poselift"]
        print(f"{r['variant']:<8}| {c['mpjpe']:>9.1f}{c['p_mpjpe']:>8.1f}{c['mpjve']:>7.2f} | {v['mpjpe']:>10.1f}"
              f"{v['n_mpjpe']:>8.1f}{v['p_mpjpe']:>8.1f}{v['mpjve']:>7.1f}{v['scale']:>6.2f} | {f['mpjpe']:>11.1f}"
              f"{f['p_mpjpe']:>8.1f}{f['mpjve']:>7.1f}")
    if mp:
        print(f"{'MediaPipe world landmarks':<35}| {mp['mpjpe']:>10.1f}{mp['n_mpjpe']:>8.1f}{mp['p_mpjpe']:>8.1f}"
              f"{mp['mpjve']:>7.1f}{mp['scale']:>6.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
