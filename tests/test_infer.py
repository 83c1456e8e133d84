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


def test_one_rigid_body_by_default_and_scaled_to_a_known_height():
    from poselift.bones import lengths_over_time, sequence_lengths, standing_height
    from poselift.infer import reconstruct
    from poselift.skeleton import H36M17

    seq, _ = _coco_sequence(60)
    seq.keypoints += np.random.default_rng(0).normal(scale=4.0, size=seq.keypoints.shape).astype(np.float32)
    rigid, free = reconstruct(seq), reconstruct(seq, rigid=False)
    assert lengths_over_time(rigid.positions_cam, H36M17.parents)[:, 1:].std(0).max() < 1e-3  # < 1 mm
    assert lengths_over_time(free.positions_cam, H36M17.parents)[:, 1:].std(0).max() > 2e-3
    assert np.allclose(rigid.positions_cam[:, 0], free.positions_cam[:, 0])  # same root
    tall = reconstruct(seq, person_height=1.9)
    assert standing_height(sequence_lengths(tall.positions_cam)) == pytest.approx(1.9, rel=1e-6)
    ratio = 1.9 / standing_height(sequence_lengths(rigid.positions_cam))
    assert np.allclose(tall.positions_cam[:, 0], rigid.positions_cam[:, 0] * ratio, rtol=1e-4)  # farther away
    with pytest.raises(PoseliftError, match="height"):
        reconstruct(seq, person_height=180)


def test_exported_bvh_reads_back_as_the_exported_positions(tmp_path):
    from poselift.demo import demo_sequence_path
    from poselift.render.bvh import read_bvh

    seq = np.load(demo_sequence_path(), allow_pickle=False)
    src = _mmpose_file(tmp_path / "dets.json", seq["keypoints"][:80], seq["scores"][:80])
    out = infer(src, tmp_path / "out", layout="h36m17", width=1000, height=1000, fps=50, video=False, progress=False)
    world = np.load(out["npz"], allow_pickle=False)["positions_world"]
    back = read_bvh(out["bvh"])[0]
    err = np.linalg.norm(back - world, axis=-1)
    assert err.max() < 0.01  # < 1 cm everywhere


def test_default_focal_follows_the_long_side_and_is_reported():
    from poselift.infer import default_intrinsics, reconstruct

    f_portrait, c = default_intrinsics(1080, 1920)
    f_landscape, _ = default_intrinsics(1920, 1080)
    assert np.allclose(f_portrait, f_landscape) and np.allclose(c, (540, 960))
    assert f_portrait[0] == pytest.approx(1920 / 2 / np.tan(np.radians(30)))  # 1663 px
    assert default_intrinsics(1000, 800)[0][0] == pytest.approx(1000 / 2 / np.tan(np.radians(30)))  # as before
    assert default_intrinsics(1000, 800, focal=1234.0)[0][0] == 1234.0
    seq, _ = _coco_sequence(20)
    assert "focal 866 px (the default 60° across the long side" in reconstruct(seq).report
    assert "focal 1500 px (given with --focal)" in reconstruct(seq, focal=1500.0).report
    rec = reconstruct(seq, fov=90.0)  # 90 degrees across the 1000 px side: f = 500 px
    assert "focal 500 px (--fov 90° across the long side)" in rec.report and rec.focal == pytest.approx(500)
    with pytest.raises(PoseliftError, match="--focal or --fov, not both"):
        reconstruct(seq, focal=1500.0, fov=90.0)
    with pytest.raises(PoseliftError, match="--fov must be degrees"):
        reconstruct(seq, fov=1.05)  # radians, not degrees


def _with_gaps():
    """A 60-frame track: nobody in frames 0-4 and 55-59, a 4-frame gap (20-23, filled), a
    15-frame gap (30-44, left out), the left wrist missing in frames 10-12 (filled)."""
    seq, X = _coco_sequence(60)
    kp, sc = seq.keypoints.copy(), seq.scores.copy()
    for a, b in ((0, 5), (55, 60), (20, 24), (30, 45)):
        kp[a:b], sc[a:b] = np.nan, 0.0
    kp[10:13, 9], sc[10:13, 9] = np.nan, 0.0
    seq.keypoints, seq.scores = kp, sc
    return seq


def test_gaps_are_filled_when_short_and_left_out_when_long():
    from poselift.infer import reconstruct

    seq = _with_gaps()
    rec = reconstruct(seq)
    present = np.isfinite(rec.positions_cam).all((-1, -2))
    expect = np.ones(60, bool)
    expect[[*range(0, 5), *range(55, 60), *range(30, 45)]] = False
    np.testing.assert_array_equal(present, expect)  # nobody at the ends, the long gap: no 3D
    assert np.isnan(rec.keypoints[30:45]).all() and np.isnan(rec.positions_world[0]).all()
    whole = rec.filled_2d.all(1)
    np.testing.assert_array_equal(np.flatnonzero(whole), [20, 21, 22, 23])  # the short gap: filled, flagged
    assert rec.filled_2d[10:13, 9].all() and rec.filled_2d[10:13].sum() == 3
    assert rec.filled[10:13, 13].all() and rec.filled[10:13].sum() == 3  # the left wrist's 3D joint only
    assert "31 of 60 frames show the person" in rec.report and "4 filled" in rec.report
    assert "25 left out" in rec.report
    trimmed = reconstruct(seq, trim=True)
    assert trimmed.frames[0] == 5 and trimmed.frames[-1] == 54 and len(trimmed.frames) == 50
    np.testing.assert_allclose(trimmed.positions_cam, rec.positions_cam[5:55], equal_nan=True)
    everything = reconstruct(seq, max_gap=100)  # a long limit fills the 15-frame gap too, never the ends
    assert np.isfinite(everything.positions_cam[5:55]).all() and np.isnan(everything.positions_cam[:5]).all()


def test_a_joint_missing_longer_than_the_limit_is_left_out():
    from poselift.infer import reconstruct

    seq, _ = _coco_sequence(60)
    seq.keypoints[10:40, 15], seq.scores[10:40, 15] = np.nan, 0.0  # left ankle, 30 frames
    rec = reconstruct(seq)
    l_ankle = 6  # Human3.6M-17
    assert np.isnan(rec.positions_cam[10:40, l_ankle]).all() and np.isfinite(rec.positions_cam[:10, l_ankle]).all()
    assert np.isfinite(np.delete(rec.positions_cam[10:40], l_ankle, axis=1)).all()


def test_smoothing_and_pinned_feet_are_applied_and_reported():
    from poselift.contact import foot_contacts, foot_skate
    from poselift.infer import reconstruct

    seq = _with_gaps()
    plain = reconstruct(seq)
    smooth = reconstruct(seq, smooth="butterworth")
    assert "smoothed (butterworth)" in smooth.report and "foot skate" in plain.report
    np.testing.assert_array_equal(np.isnan(smooth.positions_cam), np.isnan(plain.positions_cam))  # gaps stay gaps
    jerk = lambda P: np.nanmean(np.abs(np.diff(P, 2, axis=0)))  # noqa: E731
    assert jerk(smooth.positions_cam) < 0.8 * jerk(plain.positions_cam)
    pinned = reconstruct(seq, pin_feet=True)
    assert "feet pinned in" in pinned.report
    skate = [foot_skate(r.positions_world, foot_contacts(r.positions_world, 30.0), 30.0)["slide_m"]
             for r in (plain, pinned)]
    assert skate[0] > 0.05 and skate[1] < 0.5 * skate[0]
    with pytest.raises(PoseliftError, match="method"):
        reconstruct(seq, smooth="kalman")


def _plotly_array(value) -> np.ndarray:
    """A plotly trace array: a list, or a typed array ``{"dtype", "bdata"}`` (base64)."""
    import base64

    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
    return np.asarray(value, dtype=float)


def _html_frames(path) -> dict[int, np.ndarray]:
    """Joint positions per animation frame, read back from the plotly page (its ``joints`` trace)."""
    text = path.read_text(encoding="utf-8")
    start = text.index("Plotly.addFrames(") + len("Plotly.addFrames(")
    start = text.index("[", start)
    frames, _ = json.JSONDecoder().raw_decode(text[start:])
    out = {}
    for fr in frames:
        joints = next(d for d in fr["data"] if d.get("name") == "joints")
        out[int(fr["name"])] = np.stack([_plotly_array(joints[k]) for k in "xyz"], -1)
    return out


def test_html_mp4_and_exports_show_the_same_joints(tmp_path, monkeypatch):
    """The viewer, the video render and the npz all draw the same world-frame joints."""
    pytest.importorskip("av")
    import poselift.render.video as video
    from poselift.infer import reconstruct, write_outputs

    drawn = {}

    def spy(path, video_path, kp, layout, poses, *args, **kwargs):  # what the mp4 would draw
        drawn["poses"], drawn["filled"] = np.array(poses), kwargs.get("filled")
        return len(poses)

    monkeypatch.setattr(video, "render_video", spy)
    rec = reconstruct(_with_gaps())
    out = write_outputs(rec, tmp_path, "clip", video=True, progress=False)
    npz = np.load(out["npz"], allow_pickle=False)
    np.testing.assert_allclose(drawn["poses"], npz["positions_world"], atol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(drawn["filled"], npz["filled"])
    html = _html_frames(tmp_path / "clip.html")
    assert set(html) == set(range(60))
    for t, joints in html.items():
        present = np.isfinite(npz["positions_world"][t]).all(-1)
        assert len(joints) == present.sum()
        np.testing.assert_allclose(joints, npz["positions_world"][t][present], atol=1e-4)  # rounded to 0.1 mm
