"""Accuracy of streaming in bf16 and int8 against fp32 on CMU-17 val: the bundled Human3.6M-17
lifter (27 frames, symmetric; no 243-frame trained model is bundled) run frame by frame through
:class:`poselift.Stream` in fp32, in bf16 and in int8 (every layer but the output one), input gt 2D,
no flip averaging (a stream sees each frame once). MPJPE (mm, as ``poselift evaluate``
scores it) of each, their difference, and the offline fp32 model without flip averaging as
a check that the fp32 stream reproduces it.

    python benchmarks/stream_precision.py                      # every clip of every val subject
    python benchmarks/stream_precision.py --subjects 02        # a subset

The four cameras of a clip go through one stream of batch 4 (same frames, same length).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("POSELIFT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def main() -> None:
    from poselift.data.cmu import load_bench_dir
    from poselift.evaluate import bench_inputs, root_relative
    from poselift.infer import default_checkpoint
    from poselift.metrics import mpjpe_frames
    from poselift.predict import load_model, predict_sequence
    from poselift.stream import Stream

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=str(DATA / "cmu" / "val"))
    p.add_argument("--subjects", nargs="*", help="val subjects to use (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the streams (default 1)")
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()

    ck = default_checkpoint("h36m17")
    model, _ = load_model(ck)
    subjects = load_bench_dir(a.bench)
    if a.subjects:
        subjects = [s for s in subjects if s.subject in set(a.subjects)]
    streams = {}
    low = ("bf16", "int8")
    sums = {"offline_fp32": 0.0, "fp32": 0.0, **{k: 0.0 for k in low}}
    gap_sum, gap_max, frames, seconds = dict.fromkeys(low, 0.0), dict.fromkeys(low, 0.0), 0, \
        dict.fromkeys(("fp32", *low), 0.0)
    for subj in subjects:
        cams = range(len(subj.cameras))
        for _, _, _, sl in subj.clip_slices():
            x2d = np.stack([bench_inputs(subj, c, sl, "gt", "h36m17") for c in cams]).astype(np.float32)
            target = np.stack([root_relative(subj.positions_3d_camera[c, sl].astype(np.float64)) for c in cams])
            out = {"offline_fp32": np.stack([predict_sequence(model, x, flip_test=False) for x in x2d])}
            for precision in ("fp32", *low):
                key = (precision, len(cams))
                if key not in streams:
                    streams[key] = Stream(model, batch=len(cams), threads=a.threads, precision=precision)
                stream = streams[key]
                stream.reset()
                t = time.perf_counter()
                res = [r for f in x2d.transpose(1, 0, 2, 3) if (r := stream.push(f)) is not None] + stream.flush()
                seconds[precision] += time.perf_counter() - t
                out[precision] = np.stack(res, axis=1)  # (cams, T, J, 3)
            for k in sums:
                sums[k] += sum(mpjpe_frames(out[k][c].astype(np.float64), target[c]).sum() for c in cams)
            for k in low:
                gap = 1000 * np.linalg.norm(out[k].astype(np.float64) - out["fp32"], axis=-1)
                gap_sum[k] += gap.mean(axis=-1).sum()
                gap_max[k] = max(gap_max[k], float(gap.max()))
            frames += x2d.shape[0] * x2d.shape[1]
    rows = {k: 1000 * v / frames for k, v in sums.items()}  # m -> mm
    for k in low:
        rows[f"{k}_change_mm"] = rows[k] - rows["fp32"]
        rows[f"{k}_vs_fp32_pose_gap_mean_mm"] = gap_sum[k] / frames
        rows[f"{k}_vs_fp32_pose_gap_max_mm"] = gap_max[k]
    rows.update(stream_vs_offline_fp32_mm=rows["fp32"] - rows["offline_fp32"],
                frames=frames, subjects=[s.subject for s in subjects], checkpoint=str(ck),
                stream_ms_per_step={k: 1000 * v / (frames / len(cams)) for k, v in seconds.items()})
    print(f"bundled Human3.6M-17 lifter (27 frames), CMU-17 val {', '.join(rows['subjects'])}, input gt, "
          f"no flip averaging, {frames} frames (camera views):")
    print(f"  offline fp32  MPJPE {rows['offline_fp32']:.3f} mm")
    print(f"  stream fp32   MPJPE {rows['fp32']:.3f} mm  (stream - offline {rows['stream_vs_offline_fp32_mm']:+.4f})")
    for k in low:
        print(f"  stream {k}   MPJPE {rows[k]:.3f} mm  ({k} - fp32 {rows[k + '_change_mm']:+.3f} mm; poses "
              f"{rows[k + '_vs_fp32_pose_gap_mean_mm']:.3f} mm apart on average, "
              f"{rows[k + '_vs_fp32_pose_gap_max_mm']:.2f} mm at most)")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
