import json

import numpy as np
import pytest

from poselift.camera import look_at_camera
from poselift.errors import PoseliftError
from poselift.infer import estimate_trajectory, infer

from helpers import random_motion


def _mmpose_file(path, kp, scores):
    frames = [{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(), "keypoint_scores": scores[i].tolist()}]}
              for i in range(len(kp))]
    path.write_text(json.dumps(frames))
    return path


def test_trajectory_from_reprojection_recovers_root():
    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    world = random_motion(30).astype(np.float64)
    X = cam.world_to_camera(world)
    kp = cam.project(X, distortion=False)
    root = estimate_trajectory(X - X[:, :1], kp, np.ones(kp.shape[:2]), "h36m17", 1000, 800)
    assert np.allclose(root[:, 0], X[:, 0], atol=1e-4)


def test_infer_keypoint_file_writes_exports(tmp_path):
    from poselift.demo import demo_sequence_path

    seq = np.load(demo_sequence_path(), allow_pickle=False)
    kp, sc = seq["keypoints"][:60].copy(), seq["scores"][:60].copy()
    kp[10:14, 3] = np.nan  # a short gap in the right ankle
    src = _mmpose_file(tmp_path / "dets.json", np.nan_to_num(kp), np.where(np.isnan(kp[..., 0]), 0, sc))
    out = infer(src, tmp_path / "out", layout="h36m17", width=1000, height=1000, fps=50, video=False, progress=False)
    for k in ("npz", "json", "csv_camera", "csv_world", "bvh", "html"):
        assert (tmp_path / "out").joinpath(out[k]).exists()
    r = np.load(out["npz"], allow_pickle=False)
    assert r["positions_cam"].shape == (60, 17, 3) and (r["positions_cam"][:, 0, 2] > 1).all()
    assert "filled" in out["report"]
    with pytest.raises(PoseliftError, match="exists already"):
        infer(src, tmp_path / "out", layout="h36m17", width=1000, height=1000, video=False, progress=False)
    with pytest.raises(PoseliftError, match="--width and --height"):
        infer(src, tmp_path / "out2", layout="h36m17", video=False, progress=False)
    with pytest.raises(PoseliftError, match="file not found"):
        infer(tmp_path / "missing.json", tmp_path / "out3", video=False)
