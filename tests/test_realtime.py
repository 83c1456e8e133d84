import inspect
import json

import numpy as np
import pytest

from poselift.cli import main
from poselift.errors import PoseliftError
from poselift.infer import infer
from poselift.realtime import CausalFill, run_realtime

from helpers import random_motion


def _clip_pixels(frames=50):
    """COCO-17 pixels (T, 17, 2) of a random motion in a 1000x800 image, and their scores (all 1)."""
    from poselift.camera import look_at_camera
    from poselift.skeleton import coco17_from_h36m17

    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    kp = cam.project(coco17_from_h36m17(cam.world_to_camera(random_motion(frames).astype(np.float64))),
                     distortion=False)
    return kp, np.ones(kp.shape[:2])


def _coco_file(path, frames=50, gap=None):
    kp, sc = _clip_pixels(frames)
    if gap is not None:
        sc[gap] = 0
    doc = [{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(), "keypoint_scores": sc[i].tolist()}]}
           for i in range(frames)]
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("trajectory", ["model", "reprojection"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_realtime_equals_offline_without_gaps(tmp_path, trajectory, precision):
    src = _coco_file(tmp_path / "kp.json")
    # (frame by frame there is no whole clip to fix the bones over: compare with free bones)
    offline = infer(src, tmp_path / "off", width=1000, height=800, fps=30, video=False, progress=False,
                    trajectory=trajectory, rigid=False)
    rec, timing = run_realtime(src, tmp_path / "rt", width=1000, height=800, fps=30, progress=False,
                               trajectory=trajectory, precision=precision)
    want = np.load(offline["npz"], allow_pickle=False)["positions_cam"]
    got = np.load(rec.outputs["npz"], allow_pickle=False)["positions_cam"]
    assert got.shape == want.shape == (50, 17, 3)
    if precision == "fp32":
        np.testing.assert_allclose(got, want, atol=1e-4)
    else:  # bf16 weights and activations, the output layer in fp32: millimetres, the root included
        err = np.linalg.norm(got - want, axis=-1)
        assert err.max() < 0.015 and err.mean() < 0.003, (err.max(), err.mean())
    assert timing["latency_frames"] == 13 and timing["frames_lifted"] == 50 and timing["lift_ms_median"] > 0
    assert timing["precision"] == precision


def test_realtime_streams_json_lines_and_fills_from_the_past(tmp_path, capsys):
    src = _coco_file(tmp_path / "kp.json", frames=40, gap=(slice(0, 3), 15))  # the left ankle unseen at first
    assert main(["infer", str(src), "--realtime", "--jsonl", "-", "--width", "1000", "--height", "800", "--fps",
                 "30", "-q"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    head, *rows = [json.loads(line) for line in lines]
    assert head["type"] == "header" and head["joint_names"][0] == "pelvis" and head["latency_frames"] == 13
    assert head["keypoints_2d_layout"]["joint_names"][15] == "l_ankle" and head["units"]["camera"] == "metres"
    assert "focal_source" in head["run"] and head["fps"] == 30
    assert [r["frame"] for r in rows] == list(range(40)) and all(r["type"] == "frame" for r in rows)
    assert rows[3]["time_s"] == pytest.approx(0.1)
    assert np.isfinite(np.array([r["camera"] for r in rows])).all()
    assert np.isfinite(np.array([r["world"] for r in rows])).all()
    assert [r["filled_2d"] for r in rows[:4]] == [["l_ankle"]] * 3 + [[]]  # filled from its mirror, flagged
    assert rows[0]["filled"] == ["l_ankle"] and rows[3]["filled"] == []
    assert not rows[0]["world_fixed"] and rows[-1]["world_fixed"]  # one second of motion fixes the floor
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


def test_realtime_lifts_on_its_own_thread_count_and_gives_the_callers_back(monkeypatch):
    torch = pytest.importorskip("torch")
    from poselift.realtime import RealtimeLifter
    from poselift.stream import Stream

    seen = []
    step = Stream._step

    def spy(self, x, prime):  # the thread count while each frame is computed
        seen.append(torch.get_num_threads())
        return step(self, x, prime)

    monkeypatch.setattr(Stream, "_step", spy)
    kp, sc = _clip_pixels(30)
    before = torch.get_num_threads()
    outputs = {}
    try:
        torch.set_num_threads(3)  # the caller's setting
        for threads in (1, 2, None):
            seen.clear()
            rt = RealtimeLifter("coco17", 1000, 800, threads=threads, precision="fp32")
            assert rt.trajectory is not None  # both streams run under the setting
            out = [r for k, s in zip(kp, sc) if (r := rt.push(k, s)) is not None]
            assert torch.get_num_threads() == 3  # given back after every push
            out += rt.flush()
            assert torch.get_num_threads() == 3
            assert len(out) == len(kp) and len(seen) == 2 * (len(kp) + rt.latency)
            assert set(seen) == {3 if threads is None else threads}
            outputs[threads] = np.stack([pose for pose, *_ in out])
    finally:
        torch.set_num_threads(before)
    assert inspect.signature(RealtimeLifter).parameters["threads"].default == 1  # unless asked otherwise
    for threads in (2, None):  # the thread count changes the numbers by float rounding at most
        np.testing.assert_allclose(outputs[threads], outputs[1], rtol=1e-5, atol=1e-5)


def test_thread_setting_is_given_back_when_the_work_fails():
    torch = pytest.importorskip("torch")
    from poselift.stream import torch_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        with pytest.raises(ZeroDivisionError):
            with torch_threads(1):
                assert torch.get_num_threads() == 1
                1 / 0
        assert torch.get_num_threads() == 3
        with torch_threads(None):
            assert torch.get_num_threads() == 3
        with pytest.raises(PoseliftError, match="threads"):
            with torch_threads(0):
                pass
    finally:
        torch.set_num_threads(before)


def test_realtime_threads_option(tmp_path, capsys):
    torch = pytest.importorskip("torch")

    src = _coco_file(tmp_path / "kp.json", frames=20)
    args = ["infer", str(src), "--realtime", "--jsonl", str(tmp_path / "a.jsonl"), "--width", "1000", "--height", "800",
            "-q"]
    assert main(args) == 0
    timing = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert timing["torch_threads"] == 1  # the default
    assert main(args + ["--threads", "0", "--overwrite"]) == 0  # torch's own count
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["torch_threads"] == torch.get_num_threads()
    assert main(args + ["--threads", "-1", "--overwrite"]) == 2
    assert main(["infer", str(src), "--out", str(tmp_path / "off"), "--threads", "1", "-q"]) == 2  # realtime only
    assert "--threads goes with --realtime" in capsys.readouterr().err


def test_realtime_leaves_out_a_long_absence_and_smooths_causally(tmp_path):
    src = _coco_file(tmp_path / "kp.json", frames=60, gap=(slice(20, 40), slice(None)))  # nobody for 20 frames
    rec, _ = run_realtime(src, None, width=1000, height=800, fps=30, progress=False)
    present = np.isfinite(rec.positions_cam).all((-1, -2))
    # held (and flagged) for 10 frames, then left out until the person is back
    np.testing.assert_array_equal(np.flatnonzero(~present), np.arange(30, 40))
    assert rec.filled_2d[20:30].all() and not rec.filled_2d[40:].any()
    assert "10 left out after more than 10 frames" in rec.report
    smooth, _ = run_realtime(src, None, width=1000, height=800, fps=30, progress=False, smooth="one-euro")
    jerk = lambda P: np.nanmean(np.abs(np.diff(P, 2, axis=0)))  # noqa: E731
    assert jerk(smooth.positions_cam) < jerk(rec.positions_cam) and "one-euro" in smooth.report
    np.testing.assert_array_equal(np.isfinite(smooth.positions_cam), np.isfinite(rec.positions_cam))
    with pytest.raises(PoseliftError, match="one-euro"):
        run_realtime(src, None, width=1000, height=800, progress=False, smooth="butterworth")
