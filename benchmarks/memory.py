"""Peak memory of lifting a long keypoint sequence: one hour at 30 fps (108,000 frames).

    python benchmarks/memory.py                  # 108,000 frames, the whole pipeline
    python benchmarks/memory.py --frames 30000 --no-exports

A synthetic COCO-17 sequence (a person walking round a circle in front of a 1920x1080
camera, a few joints missing here and there) goes through what ``poselift infer`` does
after detection: gap filling, the bundled pose lifter, the bundled trajectory model, and
(unless ``--no-exports``) the npz / json / csv / bvh / html exports. The work runs in a
fresh process whose peak resident memory (``ru_maxrss``) is reported, with the baseline of
that process after importing poselift and torch. The lifters run chunk by chunk
(:data:`poselift.predict.CHUNK` output frames), so memory does not grow with the length.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
import numpy as np
from poselift.camera import look_at_camera
from poselift.detect.keypoints import KeypointSequence
from poselift.infer import reconstruct, write_outputs
from poselift.skeleton import coco17_from_h36m17

frames, out, exports = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss()
t = np.arange(frames) / 30.0
rest = np.array([[0, 0, 1.0], [-.1, 0, 1.0], [-.1, 0, .55], [-.1, 0, .1], [.1, 0, 1.0], [.1, 0, .55],
                 [.1, 0, .1], [0, 0, 1.25], [0, 0, 1.5], [0, -.08, 1.58], [0, 0, 1.7], [.18, 0, 1.48],
                 [.2, 0, 1.2], [.22, 0, .95], [-.18, 0, 1.48], [-.2, 0, 1.2], [-.22, 0, .95]], np.float32)
swing = np.sin(2 * np.pi * 0.9 * t)[:, None].astype(np.float32)
pose = np.repeat(rest[None], frames, 0)
for leg, sign in ((slice(1, 4), 1), (slice(4, 7), -1)):  # legs and arms swing in opposition
    pose[:, leg, 1] += sign * 0.25 * swing * np.array([0, 0.5, 1], np.float32)
for arm, sign in ((slice(11, 14), -1), (slice(14, 17), 1)):
    pose[:, arm, 1] += sign * 0.2 * swing * np.array([0, 0.5, 1], np.float32)
angle = 2 * np.pi * t / 60.0  # one lap a minute on a 2 m circle
pose[..., 0] += (2 * np.cos(angle))[:, None]
pose[..., 1] += (2 * np.sin(angle))[:, None]
cam = look_at_camera((0, -7, 1.5), (0, 0, 1.0), res=(1920, 1080), fov_deg=60)
kp = np.empty((frames, 17, 2), np.float32)
for s in range(0, frames, 10000):  # project in pieces, as a detector would deliver them
    kp[s:s + 10000] = cam.project(coco17_from_h36m17(cam.world_to_camera(pose[s:s + 10000].astype(np.float64))),
                                  distortion=False)
del pose
scores = np.ones((frames, 17), np.float32)
rng = np.random.default_rng(0)
scores[rng.integers(0, frames, frames // 50), rng.integers(0, 17, frames // 50)] = 0  # missing joints
seq = KeypointSequence(kp, scores, "coco17", 1920, 1080, 30.0, "synthetic-hour")
after_input = rss()
t0 = time.perf_counter()
rec = reconstruct(seq)
lift_s = time.perf_counter() - t0
after_lift = rss()
export_s = None
if exports:
    t0 = time.perf_counter()
    write_outputs(rec, out, "hour", video=False, progress=False)
    export_s = time.perf_counter() - t0
print(json.dumps({"frames": frames, "baseline_mb": base, "after_input_mb": after_input, "after_lift_mb": after_lift,
                  "peak_rss_mb": rss(), "lift_s": lift_s, "export_s": export_s,
                  "finite": bool(np.isfinite(rec.positions_cam).all())}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=108_000)
    p.add_argument("--no-exports", action="store_true")
    p.add_argument("--json", help="also write the result here")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, "-c", CHILD, str(a.frames), out, "0" if a.no_exports else "1"],
                             capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(run.stderr[-2000:])
    r = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"{r['frames']:,} frames ({r['frames'] / 30 / 60:.0f} min at 30 fps): peak RSS {r['peak_rss_mb']:.0f} MB "
          f"(after imports {r['baseline_mb']:.0f} MB, with the input {r['after_input_mb']:.0f} MB, "
          f"after lifting {r['after_lift_mb']:.0f} MB); lifting {r['lift_s']:.1f} s"
          + (f", exports {r['export_s']:.1f} s" if r["export_s"] is not None else ""))
    print("under 2 GB" if r["peak_rss_mb"] < 2048 else "OVER 2 GB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
