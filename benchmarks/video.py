"""End-to-end speed of the video pipeline: detection, lifting, exports, rendering.

    python benchmarks/video.py [VIDEO] [--threads 2] [--repeat 3] [--json OUT]

Defaults to the bundled demo clip. Each stage is timed on its own (best of ``--repeat``
runs; models are loaded inside the timed stage, as a user's single call would):
detection (decode + MediaPipe BlazePose + tracking), lifting (gap filling + pose model +
trajectory model), exports (npz, json, csv, bvh, html) and the mp4 render. Prints frames/s
per stage and in total, and how much lifting adds to detection time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    import torch

    from poselift.demo import demo_clip_path
    from poselift.infer import load_input, reconstruct
    from poselift.render.export import export_all
    from poselift.render.video import render_video
    from poselift.skeleton import get_skeleton

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", nargs="?", default=str(demo_clip_path()))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", help="write the timings here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    def best(fn):
        times, out = [], None
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    t_det, seq = best(lambda: load_input(a.video, progress=False))
    t_lift, rec = best(lambda: reconstruct(seq, source=a.video))
    motion = rec.motion
    with tempfile.TemporaryDirectory() as tmp:
        t_exp, _ = best(lambda: export_all(tmp, "bench", motion, overwrite=True))
        # the render as `poselift infer` makes it
        t_ren, _ = best(lambda: render_video(Path(tmp) / "bench.mp4", a.video, rec.keypoints, get_skeleton(rec.layout),
                                             motion.positions_world, rec.fps, overwrite=True, progress=False,
                                             image_size=(rec.width, rec.height), frames=motion.frames,
                                             filled=motion.filled, filled_2d=motion.filled_2d))
    n = len(rec.positions_cam)
    stages = {"detection": t_det, "lifting": t_lift, "exports": t_exp, "render": t_ren}
    total = sum(stages.values())
    print(f"{a.video}: {n} frames, {rec.width}x{rec.height}, {a.threads} threads, best of {a.repeat}")
    print(f"{'stage':<12}{'seconds':>9}{'frames/s':>10}")
    for k, t in stages.items():
        print(f"{k:<12}{t:>9.2f}{n / t:>10.1f}")
    print(f"{'total':<12}{total:>9.2f}{n / total:>10.1f}")
    print(f"lifting adds {100 * t_lift / t_det:.1f}% to detection time (trajectory: {rec.trajectory})")
    if a.json:
        Path(a.json).write_text(json.dumps({"video": a.video, "frames": n, "threads": a.threads,
                                            "seconds": stages, "total_seconds": total,
                                            "lift_over_detection": t_lift / t_det}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
