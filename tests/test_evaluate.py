import numpy as np
import pytest
import torch

import poselift.evaluate as ev
from poselift.data.cmu import load_bench_dir
from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig, TemporalModel
from poselift.skeleton import flip_pose
from poselift.train.checkpoint import save_checkpoint

from helpers import write_bench


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return TemporalModel(ModelConfig(filter_widths=[3, 3], channels=16)).eval()


@pytest.mark.parametrize("frames", [1, 4, 9, 50])
@pytest.mark.parametrize("causal", [False, True])
def test_predict_sequence_gives_one_output_per_frame(frames, causal):
    m = TemporalModel(ModelConfig(filter_widths=[3, 3], channels=16, causal=causal)).eval()
    x = np.random.default_rng(0).normal(size=(frames, 17, 2)).astype(np.float32)
    assert ev.predict_sequence(m, x).shape == (frames, 17, 3)


@pytest.mark.parametrize("causal", [False, True])
def test_chunked_prediction_equals_one_pass(causal):
    m = TemporalModel(ModelConfig(filter_widths=[3, 3], channels=16, causal=causal)).eval()
    x = np.random.default_rng(2).normal(size=(103, 17, 2)).astype(np.float32)
    whole = ev.predict_sequence(m, x, chunk=10_000)
    for chunk in (1, 7, 50, 102):
        np.testing.assert_allclose(ev.predict_sequence(m, x, chunk=chunk), whole, atol=1e-5)


def test_flip_test_averages_prediction_and_unflipped_flip(tiny_model):
    x = np.random.default_rng(1).normal(size=(30, 17, 2)).astype(np.float32)
    plain = ev.predict_sequence(tiny_model, x, flip_test=False)
    flipped = ev.predict_sequence(tiny_model, flip_pose(x), flip_test=False)
    both = ev.predict_sequence(tiny_model, x, flip_test=True)
    assert np.allclose(both, (plain + flip_pose(flipped)) / 2, atol=1e-5)


def test_oracle_predictions_score_zero(tmp_path, monkeypatch, tiny_model):
    write_bench(tmp_path / "bench_09.npz")
    write_bench(tmp_path / "bench_02.npz", subject="02", clip_frames=(30,), seed=1)
    subjects = load_bench_dir(tmp_path)

    # replace the network by the ground truth of the sequence being evaluated
    def oracle(model, x2d, flip_test=True, **kw):
        for s in subjects:
            for c, cam in enumerate(s.cameras):
                full = cam.normalize(s.positions_2d["gt"][c].astype(np.float64)).astype(np.float32)
                for _, _, _, sl in s.clip_slices():
                    if full[sl].shape == x2d.shape and np.array_equal(full[sl], x2d):
                        y = s.positions_3d_camera[c, sl]
                        return y - y[:, :1]
        raise AssertionError("sequence not found")

    monkeypatch.setattr(ev, "predict_sequence", oracle)
    r = ev.evaluate_bench(tiny_model, subjects, "gt", progress=False)
    assert r["frames"] == 2 * 65 + 2 * 30
    for m in ev.METRICS:
        assert r[m] == pytest.approx(0, abs=1e-4)  # mm
    assert set(r["per_subject"]) == {"02", "09"} and set(r["per_description"]) == {"walk", "run"}


def test_overall_is_frame_weighted_mean_of_subjects(tmp_path, tiny_model):
    write_bench(tmp_path / "bench_09.npz")
    write_bench(tmp_path / "bench_02.npz", subject="02", clip_frames=(30,), seed=1)
    r = ev.evaluate_bench(tiny_model, load_bench_dir(tmp_path), "det", progress=False)
    subj = r["per_subject"]
    for m in ev.METRICS:
        weighted = sum(v[m] * v["frames"] for v in subj.values()) / sum(v["frames"] for v in subj.values())
        assert r[m] == pytest.approx(weighted)
        assert r[m] > 0
    assert r["p_mpjpe"] <= r["mpjpe"]


def test_evaluate_checkpoint_round_trip_and_errors(tmp_path, tiny_model):
    write_bench(tmp_path / "bench_09.npz")
    ck = tmp_path / "m.safetensors"
    save_checkpoint(ck, tiny_model, {"model": tiny_model.cfg.to_dict()})
    r = ev.evaluate_checkpoint(ck, tmp_path, "gt", progress=False)
    assert r["frames"] == 130 and "per_clip" in r
    text = ev.format_table(r)
    assert "MPJPE" in text and "all" in text
    with pytest.raises(PoseliftError, match="input must be"):
        ev.evaluate_bench(tiny_model, load_bench_dir(tmp_path), "foo")
    with pytest.raises(PoseliftError, match="checkpoint not found"):
        ev.evaluate_checkpoint(tmp_path / "nope.safetensors", tmp_path)


def test_trajectory_evaluation_with_oracle_models(tmp_path, monkeypatch):
    from poselift.skeleton import ROOT1

    write_bench(tmp_path / "bench_09.npz")
    subjects = load_bench_dir(tmp_path)
    truth = {}
    for s in subjects:
        for c in range(len(s.cameras)):
            for _, _, _, sl in s.clip_slices():
                truth.setdefault(sl.stop - sl.start, []).append(s.positions_3d_camera[c, sl].astype(np.float64))
    calls = []

    def oracle(model, x, flip_test=True, skeleton_in=None, skeleton_out=None, **kw):
        # the n-th call pair of a clip: trajectory (ROOT1 out) then pose; clips are visited in order
        y = truth[len(x)][sum(1 for n, k in calls if n == len(x) and k == (skeleton_out is ROOT1))]
        calls.append((len(x), skeleton_out is ROOT1))
        return y[:, :1] if skeleton_out is ROOT1 else y - y[:, :1]

    monkeypatch.setattr(ev, "predict_sequence", oracle)
    traj = TemporalModel(ModelConfig(filter_widths=[3], channels=8, joints_out=1))
    pose = TemporalModel(ModelConfig(filter_widths=[3], channels=8))
    r = ev.evaluate_trajectory(traj, subjects, "gt", pose_model=pose, progress=False)
    assert r["frames"] == 130
    assert r["root"] == pytest.approx(0, abs=1e-6) and r["abs_mpjpe"] == pytest.approx(0, abs=1e-6)
    assert r["reproj_root"] < 1  # exact pose + exact 2D → the true root (to lens distortion)
    text = ev.format_table(r)
    assert "reproj root" in text and "MPJPE" not in text.replace("abs MPJPE", "")


# ------------------------------------------------- Human3.6M and HumanEva-I: the published figures


@pytest.fixture
def h36m_prepared(tmp_path):
    from helpers import write_h36m_videopose3d
    from poselift.data.h36m import prepare_h36m

    write_h36m_videopose3d(tmp_path)
    dets = [tmp_path / f"data_2d_h36m_{s}.npz" for s in ("gt", "sh_pt_mpii", "sh_ft_h36m")]
    out = tmp_path / "h36m.npz"
    with pytest.warns(UserWarning):
        prepare_h36m(tmp_path / "data_3d_h36m.npz", out, detections=dets, allow_pickle=True, progress=False)
    return out


def _save(model, path, **meta):
    save_checkpoint(path, model, {"model": model.cfg.to_dict(), **meta})
    return path


def test_h36m_headline_is_the_mean_over_actions(tmp_path, h36m_prepared, tiny_model, monkeypatch):
    """By hand: each action's error frame-weighted over its subjects, cameras and sub-takes,
    then the plain mean of the actions (unequal lengths: not the frame-weighted mean)."""
    from poselift.data.dataset import root_relative
    from poselift.data.prepared import load_prepared
    from poselift.metrics import mpjpe_frames, p_mpjpe_frames

    def lift(model, x2d, *args, **kw):  # a "model" worse on longer clips: actions differ (a random net's barely do)
        x = np.asarray(x2d, dtype=np.float64)
        return np.concatenate([x - x[:, :1], np.zeros_like(x[..., :1])], axis=-1) * len(x) / 10

    monkeypatch.setattr(ev, "predict_sequence", lift)
    ck = _save(tiny_model, tmp_path / "m.safetensors")
    r = ev.evaluate_checkpoint(ck, data="h36m", dataset=h36m_prepared, progress=False)
    sums, frames = {}, {}
    for subj in load_prepared(h36m_prepared, subjects=["S9", "S11"], source="gt"):
        for c in range(len(subj.cameras)):
            for _, name, action, sl in subj.clip_slices():
                pred = ev.predict_sequence(tiny_model, ev.bench_inputs(subj, c, sl, "gt")).astype(np.float64)
                truth = root_relative(subj.positions_3d_camera[c, sl].astype(np.float64))
                s = sums.setdefault(action, [0.0, 0.0])
                s[0] += mpjpe_frames(pred, truth).sum()
                s[1] += p_mpjpe_frames(pred, truth).sum()
                frames[action] = frames.get(action, 0) + len(truth)
    assert sorted(frames) == ["Directions", "Photo", "Walking"]
    assert frames == {"Directions": 4 * 44, "Photo": 4 * 20, "Walking": 4 * 68}
    metrics = ("mpjpe", "p_mpjpe")
    by_hand = {m: 1000 * np.mean([sums[a][i] / frames[a] for a in sums]) for i, m in enumerate(metrics)}
    weighted = {m: 1000 * sum(sums[a][i] for a in sums) / sum(frames.values()) for i, m in enumerate(metrics)}
    for m in ("mpjpe", "p_mpjpe"):
        assert r["headline"][m] == pytest.approx(by_hand[m], rel=1e-6)
        assert r["action_mean"][m] == pytest.approx(by_hand[m], rel=1e-6)
        assert r[m] == pytest.approx(weighted[m], rel=1e-6)  # the frame-weighted figure stays, secondary
    assert abs(by_hand["mpjpe"] - weighted["mpjpe"]) > 5  # mm: the two averages differ on this fixture
    assert r["headline"]["actions"] == 3 and r["headline"]["all_actions"] is False
    assert set(r["action_mean"]["per_subject"]) == {"S9", "S11"}
    assert r["action_mean"]["per_subject"]["S11"]["actions"] == 3
    text = ev.format_report(r, title="t")
    assert "Protocol #1 (MPJPE)" in text and "Protocol #2 (P-MPJPE)" in text and "action mean" in text
    assert "only 3 of the 15 actions" in text and "frame-weighted over all" in text
    line = next(ln for ln in text.splitlines() if "Protocol #1" in ln)
    assert f"{by_hand['mpjpe']:.1f} mm" in line


def test_sh_sources_with_a_16_joint_model_and_mapped_to_a_17_joint_one(tmp_path, h36m_prepared, tiny_model):
    from poselift.data.prepared import load_prepared
    from poselift.models.temporal import ModelConfig, TemporalModel

    m16 = TemporalModel(ModelConfig(filter_widths=[3, 3], channels=16, joints_in=16)).eval()
    ck16 = _save(m16, tmp_path / "m16.safetensors", skeleton_in="mpii16", skeleton_out="h36m17")
    for source in ("sh_pt_mpii", "sh_ft_h36m"):  # the same slots: a 16-joint model takes both as they are
        with pytest.warns(UserWarning, match="has no 2D for S11 Directions 1"):
            r = ev.evaluate_checkpoint(ck16, input_kind=source, data="h36m", dataset=h36m_prepared, progress=False)
        assert r["frames"] == 4 * (67 + 51) and "map_joints" not in r
    ck17 = _save(tiny_model, tmp_path / "m17.safetensors")
    with pytest.raises(PoseliftError, match="is in layout mpii16; the model takes h36m17: add --map-joints"), \
            pytest.warns(UserWarning):
        ev.evaluate_checkpoint(ck17, input_kind="sh_pt_mpii", data="h36m", dataset=h36m_prepared, progress=False)
    with pytest.warns(UserWarning):
        r = ev.evaluate_checkpoint(ck17, input_kind="sh_ft_h36m", data="h36m", dataset=h36m_prepared,
                                   progress=False, map_joints=True)
    assert r["map_joints"]["input"] == "mpii16_h36m → h36m17" and r["map_joints"]["output"] == "h36m17"
    assert len(r["map_joints"]["scored_joints"]) == 17
    assert "cross-dataset: input mpii16_h36m → h36m17, all 17 joints scored" in ev.format_report(r)
    (s9,) = load_prepared(h36m_prepared, subjects=["S9"])
    x = ev.bench_inputs(s9, 0, slice(0, 30), "sh_ft_h36m", "h36m17", map_joints=True)
    from poselift.skeleton import convert_2d

    want = s9.cameras[0].normalize(convert_2d(s9.positions_2d["sh_ft_h36m"][0, :30].astype(np.float64),
                                              "mpii16_h36m", "h36m17"))
    np.testing.assert_allclose(x, want, atol=1e-6)


def test_humaneva_with_a_human36m_model(tmp_path, tiny_model, monkeypatch):
    """A 17-joint model on HumanEva-I: one line saying what to do; with --map-joints, scored
    on the 15 joints both layouts share (an oracle scores 0), Table 4 as the headline."""
    from helpers import HUMANEVA_FROM_H36M, write_humaneva_videopose3d
    from poselift.data.humaneva import prepare_humaneva
    from poselift.data.prepared import load_prepared

    write_humaneva_videopose3d(tmp_path)
    out = tmp_path / "he.npz"
    with pytest.warns(UserWarning):
        prepare_humaneva(tmp_path / "data_3d_humaneva15.npz", out, detections=[tmp_path / "data_2d_humaneva15_gt.npz"],
                         allow_pickle=True, progress=False)
    ck = _save(tiny_model, tmp_path / "m.safetensors", skeleton_in="h36m17", skeleton_out="h36m17")
    with pytest.raises(PoseliftError) as ei:
        ev.evaluate_checkpoint(ck, data="humaneva", dataset=out, progress=False)
    msg = str(ei.value)
    assert "the model predicts 17 h36m17 joints; this data has 15 (humaneva15)" in msg and "\n" not in msg
    assert "poselift train --data humaneva" in msg and "--map-joints to score the 15 joints both share" in msg

    subjects = load_prepared(out, subjects=["Validate/S1", "Validate/S2"])

    def oracle(model, x2d, flip_test=True, **kw):  # the true 3D, put in the Human3.6M-17 layout
        for s in subjects:
            for c, cam in enumerate(s.cameras):
                for _, _, _, sl in s.clip_slices():
                    x = ev.bench_inputs(s, c, sl, "gt", "h36m17", map_joints=True)
                    if x.shape == x2d.shape and np.array_equal(x, x2d):
                        y = s.positions_3d_camera[c, sl].astype(np.float64)
                        full = np.zeros((len(y), 17, 3))
                        full[:, HUMANEVA_FROM_H36M] = y - y[:, :1]
                        return full
        raise AssertionError("sequence not found")

    monkeypatch.setattr(ev, "predict_sequence", oracle)
    r = ev.evaluate_checkpoint(ck, data="humaneva", dataset=out, progress=False, map_joints=True)
    from poselift.skeleton import HUMANEVA15

    assert r["map_joints"] == {"input": "humaneva15 → h36m17", "output": "h36m17 → humaneva15",
                               "scored_joints": list(HUMANEVA15.joint_names)}
    assert r["mpjpe"] == pytest.approx(0, abs=1e-4) and r["headline"]["p_mpjpe"] == pytest.approx(0, abs=1e-4)
    assert set(r["table4"]["p_mpjpe"]) == {"Walk", "Jog", "Box"}
    text = ev.format_report(r)
    assert "Table 4 layout" in text and "cross-dataset" in text and "Walk S1" in text


def test_humaneva_inputs_mapped_to_human36m_17():
    from poselift.skeleton import H36M17, HUMANEVA15, convert_2d, humaneva15_from_h36m17

    k = np.random.default_rng(0).normal(size=(5, 15, 2))
    h = convert_2d(k, "humaneva15", "h36m17")
    for j, name in enumerate(HUMANEVA15.joint_names):
        np.testing.assert_array_equal(h[:, H36M17.index(name)], k[:, j])
    np.testing.assert_allclose(h[:, H36M17.index("spine")], (k[:, 0] + k[:, 1]) / 2)
    np.testing.assert_allclose(h[:, H36M17.index("neck_nose")], (k[:, 1] + k[:, 14]) / 2)
    np.testing.assert_array_equal(humaneva15_from_h36m17(h), k)
    with pytest.raises(PoseliftError, match="no mapping of coco17 keypoints to humaneva15"):
        convert_2d(np.zeros((1, 17, 2)), "coco17", "humaneva15")
