"""What poselift's single-person tracker costs over a bare MediaPipe Pose loop.

    python benchmarks/detector.py [VIDEO] [--repeat 2]

Defaults to the bundled demo clip. Decodes the video once (kept in memory: meant for short
clips), then times, interleaved, on the same frames: a bare ``mediapipe`` legacy Pose in
tracking mode (what a plain MediaPipe loop does: it follows whoever it finds) and poselift's
:class:`~poselift.detect.mediapipe_pose.MediaPipePose` tracker (the identity guard: tracking
on a crop around the followed person, full-frame searches when the person is lost or another
person is returned). Prints milliseconds per frame (wall clock and CPU), the tracker's
statistics, and the time it spent in full-frame searches.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    from poselift.demo import demo_clip_path
    from poselift.detect.base import get_detector
    from poselift.detect.mediapipe_pose import _import_pose_solution
    from poselift.video import iter_frames

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", nargs="?", default=str(demo_clip_path()))
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args(argv)
    frames = list(iter_frames(a.video))
    n = len(frames)

    def bare() -> dict:
        pose = _import_pose_solution().Pose(static_image_mode=False, model_complexity=1, enable_segmentation=False)
        pose.process(frames[0])  # the graph starts on its first frame, as the tracker's does
        try:
            for frame in frames:
                pose.process(frame)
        finally:
            pose.close()
        return {}

    def tracker() -> dict:
        det = get_detector("mediapipe")
        searched = {"seconds": 0.0, "calls": 0}
        find = det._find_people

        def timed_find(*args, **kw):  # the full-frame searches, timed
            t0 = time.perf_counter()
            try:
                return find(*args, **kw)
            finally:
                searched["seconds"] += time.perf_counter() - t0
                searched["calls"] += 1

        det._find_people = timed_find
        try:
            det.start(0)
            for frame in frames:
                det.detect(frame)
            return {"stats": dict(det.stats), "searches": searched}
        finally:
            det.close()

    best: dict[str, tuple[float, float, dict]] = {}
    for _ in range(a.repeat):
        for name, fn in (("bare MediaPipe Pose", bare), ("poselift tracker", tracker)):
            c0, w0 = time.process_time(), time.perf_counter()
            extra = fn()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu, extra)
    print(f"{a.video}: {n} frames, best of {a.repeat}")
    for name, (wall, cpu, _) in best.items():
        print(f"{name:<22}{1000 * wall / n:>7.1f} ms/frame ({1000 * cpu / n:.1f} CPU)")
    wall, _, extra = best["poselift tracker"]
    print(f"tracker / bare: {wall / best['bare MediaPipe Pose'][0]:.2f}x; full-frame searches "
          f"{extra['searches']['seconds']:.2f} s in {extra['searches']['calls']} calls; {extra['stats']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
