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
