"""Build the bundled demo sequence (src/poselift/assets/demo_sequence.npz).

It is clip 02_05 ("punch/strike") of CMU subject 02 as seen by benchmark camera 1, with the
synthetic detector's 2D keypoints and the ground-truth 3D, from shared/data/cmu/val.

    python scripts/make_demo_sequence.py [--data ../shared/data]
"""

import argparse
from pathlib import Path

import numpy as np

from poselift.data.cmu import load_bench_file
from poselift.data.formats import save_npz

p = argparse.ArgumentParser()
p.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
p.add_argument("--clip", default="02_05")
p.add_argument("--camera", type=int, default=1)
a = p.parse_args()

b = load_bench_file(Path(a.data) / "cmu" / "val" / "bench_02.npz")
i = b.clip_names.index(a.clip)
sl = slice(int(b.offsets[i]), int(b.offsets[i + 1]))
cam = b.cameras[a.camera]
save_npz(
    Path(__file__).resolve().parents[1] / "src" / "poselift" / "assets" / "demo_sequence.npz",
    {
        "keypoints": b.positions_2d["det"][a.camera, sl].astype(np.float32),
        "scores": b.scores_det[a.camera, sl].astype(np.float32),
        "positions_3d_camera": b.positions_3d_camera[a.camera, sl].astype(np.float32),
        "res": np.array([cam.res_w, cam.res_h], dtype=np.int32),
        "focal": np.float32(np.mean(cam.focal)),  # pixels, for placing the root
        "fps": np.float32(50.0),
        "skeleton": np.str_("h36m17"),
        "description": np.str_(f"CMU subject 02, clip {a.clip} ({b.descriptions[i]}), camera {cam.id}, "
                               "synthetic detections"),
        "license": np.str_("CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu): free for research and "
                           "commercial use. The data used in this project was obtained from mocap.cs.cmu.edu. "
                           "The database was created with funding from NSF EIA-0196217."),
    },
    overwrite=True,
)
print("wrote demo_sequence.npz")
