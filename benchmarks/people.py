"""Speed of the several-person path against the one-person path, per frame and per person-frame.

    python benchmarks/people.py [VIDEO ...] [--repeat 2] [--threads 2] [--max-frames N] [--json OUT]

Defaults to the Sports2D demo (1768x994, 230 frames, two people) and Pose2Sim ``cam01.mp4``
(1080x1920, 100 frames, one person in front and one standing in the background) from the
shared data (``$POSELIFT_DATA`` or ``../shared/data``). For each clip:

* **one person** (``poselift infer VIDEO``): :func:`~poselift.detect.base.detect_video` with
  the ``mediapipe`` detector (BlazePose through MediaPipe's legacy Pose API, following one
  person), then :func:`~poselift.infer.reconstruct`;
* **several** (``poselift infer VIDEO --people all``):
  :func:`~poselift.detect.base.detect_people` with ``blazepose-multi`` (BlazePose's two
  models run directly through LiteRT on everyone, plus the pose/motion/colour tracker),
  then :func:`~poselift.people.reconstruct_people` (each person lifted, one shared floor).

Each stage is timed on its own, models loaded inside the timed stage as a user's single call
would (best of ``--repeat``, default 2: a single run also charges the one-off imports and
warm-up of MediaPipe, LiteRT and the lifter to whichever path runs first, which made the first
path's lifting up to 3x slower in trials). Detection includes decoding the video. Reported: wall time
per video frame for detection and for lifting, the people found, the person-frames (frames
in which each person has keypoints, summed over people) and the milliseconds per
person-frame (detection + lifting, divided by the person-frames), the figure to compare
when the two paths find different numbers of people. Timings on a shared machine move by
10-30 % from run to run (the CPU count and load average are printed with the table).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("POSELIFT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
CLIPS = [DATA / "video" / "sports2d" / "demo.mp4", DATA / "video" / "pose2sim_single" / "cam01.mp4"]


def _seen(seq) -> int:
    """Frames in which the person has at least one keypoint."""
    import numpy as np

    return int(np.isfinite(seq.keypoints).all(-1).any(-1).sum())


def _lifted(rec) -> int:
    """Frames with a lifted 3D pose."""
    import numpy as np

    return int(np.isfinite(rec.positions_cam).all(-1).any(-1).sum())


def _best(fn, repeat: int):
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_one(path: Path, repeat: int, max_frames: int | None) -> dict:
    from poselift.detect.base import detect_video, get_detector
    from poselift.infer import reconstruct

    def detect():
        detector = get_detector("mediapipe")
        try:
            return detect_video(path, detector, person=0, progress=False, max_frames=max_frames)
        finally:
            detector.close()

    t_det, seq = _best(detect, repeat)
    t_lift, rec = _best(lambda: reconstruct(seq, source=path), repeat)
    return dict(frames=len(seq), people=1, person_frames=_seen(seq), detect_s=t_det, lift_s=t_lift,
                lifted_frames=_lifted(rec))


def run_several(path: Path, repeat: int, max_frames: int | None) -> dict:
    from poselift.detect.base import MULTI_DETECTOR, detect_people, get_detector
    from poselift.people import reconstruct_people

    stats = {}

    def detect():
        detector = get_detector(MULTI_DETECTOR)
        try:
            return detect_people(path, detector, progress=False, max_frames=max_frames)
        finally:
            stats.update(getattr(detector, "stats", {}))
            detector.close()

    t_det, people = _best(detect, repeat)
    t_lift, (recs, notes) = _best(lambda: reconstruct_people(people, source=path), repeat)
    return dict(frames=len(people[0]), people=len(people), person_frames=sum(_seen(p) for p in people),
                detect_s=t_det, lift_s=t_lift, lifted_frames=sum(_lifted(r) for r in recs),
                ids=[p.person_id for p in people],
                seen=[_seen(p) for p in people], lifted=len(recs), notes=notes, detector_stats=stats)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="*", default=[str(c) for c in CLIPS])
    p.add_argument("--repeat", type=int, default=2, help="best of this many runs per stage (default 2)")
    p.add_argument("--threads", type=int, default=2, help="torch threads for the lifter (default 2)")
    p.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each clip")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args(argv)

    import torch

    torch.set_num_threads(a.threads)
    results = []
    for video in a.videos:
        path = Path(video)
        if not path.is_file():
            print(f"skipping {path}: not found", file=sys.stderr)
            continue
        for mode, fn in (("one", run_one), ("several", run_several)):
            r = fn(path, a.repeat, a.max_frames)
            n, pf = r["frames"], max(r["person_frames"], 1)
            r.update(video=str(path), clip=path.parent.name + "/" + path.name, mode=mode,
                     detect_ms_per_frame=1000 * r["detect_s"] / n, lift_ms_per_frame=1000 * r["lift_s"] / n,
                     total_ms_per_frame=1000 * (r["detect_s"] + r["lift_s"]) / n,
                     detect_ms_per_person_frame=1000 * r["detect_s"] / pf,
                     lift_ms_per_person_frame=1000 * r["lift_s"] / pf,
                     ms_per_person_frame=1000 * (r["detect_s"] + r["lift_s"]) / pf)
            results.append(r)
            print(f"  {r['clip']} {mode}: {r['detect_s']:.1f} s detection, {r['lift_s']:.1f} s lifting",
                  file=sys.stderr, flush=True)

    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{cpus} CPUs, load {load:.1f}, torch threads {a.threads}, best of {a.repeat}"
          + (f", first {a.max_frames} frames" if a.max_frames else ""))
    header = (f"{'clip':<28}{'path':<9}{'frames':>7}{'people':>7}{'pers-fr':>8}{'det ms/f':>10}{'lift ms/f':>10}"
              f"{'tot ms/f':>10}{'ms/pers-fr':>11}{'x one':>7}")
    print(header)
    print("-" * len(header))
    one = {}
    for r in results:
        if r["mode"] == "one":
            one[r["video"]] = r["ms_per_person_frame"]
        ratio = r["ms_per_person_frame"] / one[r["video"]] if r["video"] in one else float("nan")
        r["vs_one_per_person_frame"] = ratio
        print(f"{r['clip']:<28}{r['mode']:<9}{r['frames']:>7}{r['people']:>7}{r['person_frames']:>8}"
              f"{r['detect_ms_per_frame']:>10.1f}{r['lift_ms_per_frame']:>10.1f}{r['total_ms_per_frame']:>10.1f}"
              f"{r['ms_per_person_frame']:>11.1f}{ratio:>7.2f}")
    for r in results:
        if r["mode"] == "several":
            extra = f"; {'; '.join(r['notes'])}" if r["notes"] else ""
            print(f"{r['clip']} several: ids {r['ids']} seen in {r['seen']} frames, {r['lifted']} lifted; "
                  f"detector runs {r['detector_stats']}{extra}")
    if a.json:
        Path(a.json).write_text(json.dumps({"cpus": cpus, "load": load, "threads": a.threads, "repeat": a.repeat,
                                            "max_frames": a.max_frames, "results": results}, indent=2,
                                           default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
