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


def _coco_sequence(frames=40):
    from poselift.detect.keypoints import KeypointSequence
    from poselift.skeleton import coco17_from_h36m17

    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    X = cam.world_to_camera(random_motion(frames).astype(np.float64))
    kp = cam.project(coco17_from_h36m17(X), distortion=False).astype(np.float32)
    return KeypointSequence(kp, np.ones(kp.shape[:2], np.float32), "coco17", 1000, 800, 30.0, "synthetic"), X


def test_reconstruct_places_root_by_model_or_reprojection():
    from poselift.infer import reconstruct

    seq, X = _coco_sequence()
    by_model = reconstruct(seq)
    by_reproj = reconstruct(seq, trajectory="reprojection")
    assert by_model.trajectory == "model" and by_reproj.trajectory == "reprojection"
    for rec in (by_model, by_reproj):
        assert rec.positions_cam.shape == (40, 17, 3) and rec.layout == "coco17"
        rel = by_model.positions_cam - by_model.positions_cam[:, :1]
        assert np.allclose(rec.positions_cam - rec.positions_cam[:, :1], rel, atol=1e-5)  # same pose
        assert (rec.positions_cam[:, 0, 2] > 0.5).all()
        w = rec.positions_world
        assert w.shape == (40, 17, 3) and 0 <= w[..., 2].min() < 0.15  # ankles just above the floor
    with pytest.raises(PoseliftError, match="trajectory must be"):
        reconstruct(seq, trajectory="magic")


def test_trajectory_model_needs_a_bundled_one_for_the_layout():
    from poselift.detect.keypoints import KeypointSequence
    from poselift.infer import reconstruct

    seq, _ = _coco_sequence(20)
    h36m = KeypointSequence(np.zeros((20, 17, 2), np.float32) + 500, np.ones((20, 17), np.float32), "h36m17",
                            1000, 800, 30.0)
    with pytest.raises(PoseliftError, match="no trajectory model is bundled for h36m17"):
        reconstruct(h36m, trajectory="model")
    assert reconstruct(h36m).trajectory == "reprojection"


def test_coco_keypoints_through_a_human36m_model_are_converted(tmp_path):
    from poselift.infer import default_checkpoint, reconstruct

    seq, _ = _coco_sequence(20)
    rec = reconstruct(seq, checkpoint=default_checkpoint("h36m17"), trajectory="reprojection")
    assert rec.positions_cam.shape == (20, 17, 3) and rec.layout == "coco17"


def test_infer_video_refuses_non_video(tmp_path):
    from poselift.infer import infer_video

    p = tmp_path / "x.json"
    p.write_text("[]")
    with pytest.raises(PoseliftError, match="not a video file"):
        infer_video(p)
    with pytest.raises(PoseliftError, match="file not found"):
        infer_video(tmp_path / "missing.mp4")
