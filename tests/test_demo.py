import importlib.util
import json

import numpy as np
import pytest

import poselift
from poselift.demo import demo_clip_path, run_demo
from poselift.errors import PoseliftError
from poselift.infer import DEFAULT_CHECKPOINTS, DEFAULT_TRAJECTORY, Lifter, default_checkpoint, lift
from poselift.train.checkpoint import read_meta

video_stack = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("av", "mediapipe", "cv2")), reason="video extra not installed")


def test_bundled_models_match_their_layouts_and_fit_the_size_budget():
    total = 0
    for layout, name in DEFAULT_CHECKPOINTS.items():
        meta = read_meta(default_checkpoint(layout))
        assert meta["skeleton_in"] == layout and meta["target"] == "pose" and meta["skeleton_out"] == "h36m17"
        total += default_checkpoint(layout).stat().st_size
    for layout, name in DEFAULT_TRAJECTORY.items():
        path = default_checkpoint(layout).parent / name
        meta = read_meta(path)
        assert meta["skeleton_in"] == layout and meta["target"] == "trajectory" and meta["model"]["joints_out"] == 1
        total += path.stat().st_size
    assert total <= 40e6
    assert (demo_clip_path().parent / "LICENSE-demo_clip.txt").read_text().startswith("BSD 3-Clause")


@video_stack
def test_video_demo_writes_every_output(tmp_path):
    out = run_demo(tmp_path / "demo", progress=False)
    for kind in ("mp4", "html", "npz", "json", "csv_camera", "csv_world", "bvh"):
        assert (tmp_path / "demo").joinpath(out[kind]).stat().st_size > 1000, kind
    d = np.load(out["npz"], allow_pickle=False)
    assert d["positions_cam"].shape == (100, 17, 3) and np.isfinite(d["positions_cam"]).all()
    assert (d["positions_cam"][:, 0, 2] > 0.5).all()  # in front of the camera
    assert "root from the model" in out["report"]
    with pytest.raises(PoseliftError, match="overwrite"):
        run_demo(tmp_path / "demo", progress=False)


def test_sequence_demo_reports_error_against_ground_truth(tmp_path):
    out = run_demo(tmp_path / "seq", source="sequence", progress=False)
    js = json.loads(open(out["json"]).read())
    assert js["num_frames"] == 773 and len(js["frames"]) == 773
    mpjpe = float(out["error vs ground truth"].split("MPJPE ")[1].split(" mm")[0])
    assert 0 < mpjpe < 100  # the bundled Human3.6M-17 model on its demo clip
    assert "root from the reprojection" in out["report"]
    with open(out["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(PoseliftError, match="overwrite"):
        run_demo(tmp_path / "seq", source="sequence", progress=False)


def test_lift_api_and_input_checks():
    kp = np.random.default_rng(0).uniform(300, 700, size=(12, 17, 2))
    for layout in DEFAULT_CHECKPOINTS:
        assert lift(kp, 1000, 1000, layout=layout).shape == (12, 17, 3)
    assert poselift.lift is lift and callable(poselift.infer_video)
    lifter = Lifter(layout="h36m17")
    with pytest.raises(PoseliftError, match="15 joints but the model takes 17"):
        lifter.lift(kp[:, :15], 1000, 1000)
    kp[3, 2, 0] = np.nan
    with pytest.raises(PoseliftError, match="NaN"):
        lifter.lift(kp, 1000, 1000)
    with pytest.raises(PoseliftError, match="no pretrained model for input layout"):
        Lifter(layout="humaneva15")
