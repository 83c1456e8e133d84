"""End-to-end speed of the video pipeline: detection, lifting, exports, rendering.

    python benchmarks/video.py [VIDEO] [--threads 2] [--repeat 3] [--json OUT]

Defaults to the bundled demo clip. Each stage is timed on its own (best of ``--repeat``
runs; models are loaded inside the timed stage, as a user's single call would):
detection (decode + MediaPipe BlazePose + tracking; the decoding in its own thread, as
``poselift infer`` runs it), lifting (gap filling + pose model + trajectory model), exports
(npz, json, csv, bvh, html) and the mp4 render. Then the whole of ``poselift infer`` (the
Python call behind it, into a temporary folder) twice: as shipped, its stages overlapping
(:mod:`poselift.background`), and with every stage one after another
(``POSELIFT_QUEUE_DEPTH=0``), and as shipped without the mp4 render (``--no-video``). The runs are interleaved (one of each per repeat) so that a
change in the machine's load touches them alike. Prints frames/s per stage, both totals and
the pipelined total as a fraction of detection alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    import torch

    from poselift.demo import demo_clip_path
    from poselift.infer import infer, load_input, reconstruct
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
        totals: dict[str, list[float]] = {"pipelined": [], "sequential": [], "detection": [], "no render": []}
        for _ in range(a.repeat):  # interleaved: detection alone, then the whole run both ways
            for name, depth in (("detection", None), ("pipelined", None), ("sequential", "0"), ("no render", None)):
                os.environ.pop("POSELIFT_QUEUE_DEPTH", None)
                if depth is not None:
                    os.environ["POSELIFT_QUEUE_DEPTH"] = depth
                t0 = time.perf_counter()
                if name == "detection":
                    load_input(a.video, progress=False)
                else:
                    infer(a.video, Path(tmp) / name, overwrite=True, progress=False, video=name != "no render")
                totals[name].append(time.perf_counter() - t0)
        os.environ.pop("POSELIFT_QUEUE_DEPTH", None)
    t_det = min(t_det, *totals["detection"])
    n = len(rec.positions_cam)
    stages = {"detection": t_det, "lifting": t_lift, "exports": t_exp, "render": t_ren}
    whole = {k: min(totals[k]) for k in ("pipelined", "sequential", "no render")}
    print(f"{a.video}: {n} frames, {rec.width}x{rec.height}, {a.threads} threads, best of {a.repeat}")
    print(f"{'stage':<22}{'seconds':>9}{'frames/s':>10}")
    for k, t in stages.items():
        print(f"{k:<22}{t:>9.2f}{n / t:>10.1f}")
    print(f"{'sum of the stages':<22}{sum(stages.values()):>9.2f}{n / sum(stages.values()):>10.1f}")
    for k, t in whole.items():
        print(f"{'total, ' + k:<22}{t:>9.2f}{n / t:>10.1f}")
    print(f"pipelined total: {t_det / whole['pipelined']:.2f} x detection-alone frames/s "
          f"(sequential {t_det / whole['sequential']:.2f} x, without the render (--no-video) "
          f"{t_det / whole['no render']:.2f} x); lifting adds {100 * t_lift / t_det:.1f}% to detection "
          f"time (trajectory: {rec.trajectory})")
    if a.json:
        Path(a.json).write_text(json.dumps({"video": a.video, "frames": n, "threads": a.threads,
                                            "seconds": stages, "total_seconds": whole,
                                            "total_over_detection_fps": t_det / whole["pipelined"],
                                            "lift_over_detection": t_lift / t_det}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
