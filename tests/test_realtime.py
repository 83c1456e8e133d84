import json

import numpy as np
import pytest

from poselift.cli import main
from poselift.errors import PoseliftError
from poselift.infer import infer
from poselift.realtime import CausalFill, run_realtime

from helpers import random_motion


def _coco_file(path, frames=50, gap=None):
    from poselift.camera import look_at_camera
    from poselift.skeleton import coco17_from_h36m17

    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    kp = cam.project(coco17_from_h36m17(cam.world_to_camera(random_motion(frames).astype(np.float64))),
                     distortion=False)
    sc = np.ones(kp.shape[:2])
    if gap is not None:
        sc[gap] = 0
    doc = [{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(), "keypoint_scores": sc[i].tolist()}]}
           for i in range(frames)]
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("trajectory", ["model", "reprojection"])
def test_realtime_equals_offline_without_gaps(tmp_path, trajectory):
    src = _coco_file(tmp_path / "kp.json")
    # (frame by frame there is no whole clip to fix the bones over: compare with free bones)
    offline = infer(src, tmp_path / "off", width=1000, height=800, fps=30, video=False, progress=False,
                    trajectory=trajectory, rigid=False)
    rec, timing = run_realtime(src, tmp_path / "rt", width=1000, height=800, fps=30, progress=False,
                               trajectory=trajectory)
    want = np.load(offline["npz"], allow_pickle=False)["positions_cam"]
    got = np.load(rec.outputs["npz"], allow_pickle=False)["positions_cam"]
    assert got.shape == want.shape == (50, 17, 3)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert timing["latency_frames"] == 13 and timing["frames_lifted"] == 50 and timing["lift_ms_median"] > 0


def test_realtime_streams_json_lines_and_fills_from_the_past(tmp_path, capsys):
    src = _coco_file(tmp_path / "kp.json", frames=30, gap=(slice(0, 3), 15))  # person late; a joint missing
    assert main(["infer", str(src), "--realtime", "--jsonl", "-", "--width", "1000", "--height", "800", "-q"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["frame"] for r in rows] == list(range(30))
    assert np.isfinite(np.array([r["joints_cam"] for r in rows])).all()
    out = tmp_path / "lines.jsonl"
    out.write_text("keep")
    assert main(["infer", str(src), "--realtime", "--jsonl", str(out), "--width", "1000", "--height", "800",
                 "-q"]) == 2
    assert out.read_text() == "keep"
    assert main(["infer", str(src), "--realtime", "-q"]) == 2  # nowhere to put the results


def test_causal_fill_uses_only_the_past():
    fill = CausalFill("coco17")
    kp = np.arange(34, dtype=float).reshape(17, 2)
    sc = np.ones(17)
    assert fill(np.full((17, 2), np.nan), np.zeros(17)) is None  # nobody seen yet
    first = sc.copy()
    first[9] = 0  # left wrist never seen: its mirrored partner (right wrist) stands in
    out = fill(kp, first)
    np.testing.assert_array_equal(out[9], kp[10])
    moved = kp + 100
    missing = sc.copy()
    missing[3] = 0
    np.testing.assert_array_equal(fill(moved, missing)[3], kp[3])  # the last seen position


def test_live_source_that_does_not_exist(tmp_path):
    pytest.importorskip("av")
    with pytest.raises(PoseliftError, match="cannot open the live source"):
        run_realtime("rtsp://127.0.0.1:9/none", tmp_path / "o", progress=False)
