"""Speed of poselift against its own straightforward path, and what reduced precision costs.

    python benchmarks/speed.py                      # everything, batch 1024 (about 10 min on 2 cores)
    python benchmarks/speed.py --quick              # a smoke run
    python benchmarks/speed.py --device cuda        # on a GPU (training and inference)
    python benchmarks/speed.py --load 2 --out runs/speed_load   # while 2 busy processes compete

1. ``poselift bench`` (see :mod:`poselift.bench`): training, inference, streaming, data
   pipeline and peak memory, each optimised path against the straightforward one in the same
   run; written to ``--out``/bench.json and printed as the README's table. With ``--load N``,
   N processes spin in a pure-Python busy loop (``benchmarks/realtime_load.py``'s load) from
   before the first measurement until after the last: the figures on a busy machine.
2. Accuracy of the fast paths on CMU-17 val (skipped without ``../shared/data``): the bundled
   Human3.6M-17 lifter evaluated with the plain model, the folded fp32 model and the folded
   bf16 model; the MPJPE change of each against the plain model.
3. With ``--train-check``: a short supervised training run (27 frames, 1024 channels, 400k
   clips) per precision (fp32, bf16) from the same seed, evaluated on val: the accuracy cost
   of mixed-precision training. It resumes from ``--out``/train_<precision>.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from poselift.bench import BenchOptions, format_table, run_bench
from poselift.data.formats import save_json
from poselift.evaluate import evaluate_checkpoint
from poselift.infer import default_checkpoint

DATA = Path(os.environ.get("POSELIFT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def precision_check(out: Path, device: str = "cpu") -> dict:
    ck = default_checkpoint("h36m17")
    rows = {}
    for precision in ("reference", "fp32", "bf16"):
        res = evaluate_checkpoint(ck, DATA / "cmu" / "val", "gt", progress=False, precision=precision, device=device)
        rows[precision] = {k: res[k] for k in ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")}
    for precision in ("fp32", "bf16"):
        rows[precision]["mpjpe_change"] = rows[precision]["mpjpe"] - rows["reference"]["mpjpe"]
    (out / "precision.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def train_check(out: Path) -> dict:
    from poselift.cli import main

    rows = {}
    for precision in ("fp32", "bf16"):
        ck = out / f"train_{precision}"
        args = ["train", "--data", "cmu", "--train-dir", str(DATA / "cmu" / "train"), "-c", str(ck), "-arc", "3,3,3",
                "--samples", "400000", "--random-cameras", "4", "--detector-noise", "--seed", "1234",
                "--precision", precision, "-q"]
        if (ck / "last.safetensors").exists():
            args.append("--resume")
        if main(args) != 0:
            sys.exit(f"training with {precision} failed")
        hist = json.loads((ck / "last.json").read_text())["state"]["history"]
        res = evaluate_checkpoint(ck / "model.safetensors", DATA / "cmu" / "val", "gt", progress=False)
        rows[precision] = {"mpjpe": res["mpjpe"], "n_mpjpe": res["n_mpjpe"],
                           "train_seconds": sum(h["seconds"] for h in hist), "final_loss_mm": hist[-1]["loss_mm"]}
    (out / "train_precision.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/speed")
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--train-check", action="store_true", help="also train fp32 vs bf16 (about 8 min on 2 cores)")
    p.add_argument("--no-bench", action="store_true", help="reuse --out/bench.json instead of measuring again")
    p.add_argument("--load", type=int, default=0, metavar="N", help="busy processes competing for the cores")
    p.add_argument("--parts", help="only these poselift bench parts (comma-separated; default: all)")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.no_bench:
        result = json.loads((out / "bench.json").read_text())
    else:
        from contextlib import nullcontext

        from realtime_load import Load

        parts = a.parts.split(",") if a.parts else None
        with Load(a.load, "python") if a.load else nullcontext() as load:
            result = run_bench(BenchOptions(device=a.device, quick=a.quick, threads=a.threads), parts)
        if load is not None:
            result["load_processes"], result["load_cores_used"] = a.load, load.cpu_share
            print(f"under load: {a.load} busy processes used {load.cpu_share:.2f} cores' worth of CPU meanwhile")
        save_json(out / "bench.json", result)
    print(format_table(result))
    print(f"\n(all figures: {out / 'bench.json'})")
    if not (DATA / "cmu" / "val").is_dir():
        print(f"\nno CMU-17 data under {DATA}: accuracy checks skipped")
        return
    rows = precision_check(out, a.device)
    print("\nBundled Human3.6M-17 lifter on CMU-17 val, input gt (mm):")
    print("| inference path | MPJPE | P-MPJPE | N-MPJPE | MPJVE | MPJPE change |")
    print("|---|---|---|---|---|---|")
    for k, r in rows.items():
        change = f"{r['mpjpe_change']:+.3f}" if "mpjpe_change" in r else "-"
        print(f"| {k} | {r['mpjpe']:.2f} | {r['p_mpjpe']:.2f} | {r['n_mpjpe']:.2f} | {r['mpjve']:.2f} | {change} |")
    if a.train_check:
        rows = train_check(out)
        print("\nTraining precision (27 frames, 400k clips, seed 1234; CMU-17 val, input gt, mm):")
        print("| precision | MPJPE | N-MPJPE | training time (s) | final loss (mm) |")
        print("|---|---|---|---|---|")
        for k, r in rows.items():
            print(f"| {k} | {r['mpjpe']:.1f} | {r['n_mpjpe']:.1f} | {r['train_seconds']:.0f} | {r['final_loss_mm']:.1f} |")


if __name__ == "__main__":
    main()
