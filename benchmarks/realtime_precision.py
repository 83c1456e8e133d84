"""Accuracy of realtime lifting in bf16 and int8 against fp32, on the bundled demo sequence (CMU 02_05,
known 3D): root-relative MPJPE of each, and how far each reduced precision is from fp32
(every joint with its root: the trajectory model's root too).

    python benchmarks/realtime_precision.py
"""

from __future__ import annotations

import numpy as np


def main() -> None:
    from poselift.demo import demo_sequence_path
    from poselift.realtime import RealtimeLifter

    d = np.load(demo_sequence_path(), allow_pickle=False)
    kp, sc, gt = d["keypoints"], d["scores"], d["positions_3d_camera"]
    width, height = (int(v) for v in d["res"])
    gt_rel = gt - gt[:, :1]
    out = {}
    for precision in ("fp32", "bf16", "int8"):
        rt = RealtimeLifter("h36m17", width, height, precision=precision)
        res = [r for k, s in zip(kp, sc) if (r := rt.push(k, s)) is not None] + rt.flush()
        out[precision] = np.stack([r[0] for r in res])
        rel = out[precision] - out[precision][:, :1]
        print(f"{precision}: MPJPE {1000 * np.linalg.norm(rel - gt_rel, axis=-1).mean():.2f} mm "
              f"({len(rel)} frames, H3.6M-17 lifter, root-relative)")
    for precision in ("bf16", "int8"):
        gap = 1000 * np.linalg.norm(out[precision] - out["fp32"], axis=-1)
        print(f"{precision} against fp32, every joint with its root: mean {gap.mean():.2f} mm, "
              f"max {gap.max():.2f} mm")


if __name__ == "__main__":
    main()
