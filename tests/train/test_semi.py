import json

import numpy as np
import pytest
import torch

from poselift.camera import project_with_intrinsics
from poselift.cli import main
from poselift.config import TrainConfig
from poselift.data.dataset import build_cmu_training_set
from poselift.errors import PoseliftError
from poselift.evaluate import load_model
from poselift.models.temporal import ModelConfig
from poselift.train.semi import SemiTrainer, make_trainer, reprojection_joints, split_subjects
from poselift.train.supervised import Trainer

from helpers import random_motion, write_cmu_train

SUBJECTS = ("01", "03", "06")


@pytest.fixture
def train_dir(tmp_path):
    return write_cmu_train(tmp_path / "train", SUBJECTS)


def _cfg(tmp_path, train_dir, name="run", **kw):
    base = dict(model=ModelConfig(filter_widths=[3, 3], channels=16), train_dir=str(train_dir),
                checkpoint_dir=str(tmp_path / name), samples=4 * 64, batch_size=64, seed=3, threads=1,
                subjects="01", unlabeled_subjects="rest", warmup=0, checkpoint_every=2)
    base.update(kw)
    return TrainConfig(**base)


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def test_subject_split(tmp_path, train_dir):
    assert split_subjects(_cfg(tmp_path, train_dir)) == (["01"], ["03", "06"])
    assert split_subjects(_cfg(tmp_path, train_dir, unlabeled_subjects="06")) == (["01"], ["06"])
    with pytest.raises(PoseliftError, match="both labeled and unlabeled"):
        split_subjects(_cfg(tmp_path, train_dir, unlabeled_subjects="01,03"))
    with pytest.raises(PoseliftError, match="needs the labeled subjects"):
        split_subjects(_cfg(tmp_path, train_dir, subjects=""))
    with pytest.raises(PoseliftError, match="none is left unlabeled"):
        split_subjects(_cfg(tmp_path, train_dir, subjects="01,03,06"))
    with pytest.raises(PoseliftError, match="drop --target"):
        _cfg(tmp_path, train_dir, target="trajectory", model=ModelConfig(joints_out=1)).validate()


def test_reprojection_joint_pairs():
    assert reprojection_joints("h36m17", "h36m17") == (list(range(17)), list(range(17)))
    coco, h36m = reprojection_joints("coco17", "h36m17")
    assert len(coco) == 13 and h36m[coco.index(11)] == 4  # left hip
    with pytest.raises(PoseliftError, match="cannot compare"):
        reprojection_joints("humaneva15", "h36m17")


def test_labeled_clips_reproject_onto_their_2d_flipped_or_not(train_dir):
    """Ground-truth pose + root through the clip's (possibly mirrored) intrinsics gives its 2D:
    the geometry the reprojection loss relies on, flip augmentation included."""
    data = build_cmu_training_set(train_dir, subjects=["01"], random_cameras=1)
    cfg = TrainConfig(model=ModelConfig(filter_widths=[3, 3]), train_dir=str(train_dir), samples=1)
    from poselift.train.supervised import make_sampler

    sampler = make_sampler(cfg, data, labels=True, cameras=True)
    batch = sampler.batch(np.arange(len(sampler)))
    assert batch.intrinsics.shape == (len(sampler), 9) and batch.roots_3d.shape == (len(sampler), 1, 1, 3)
    flipped = torch.from_numpy(sampler.pairs_flip)
    assert flipped.any() and (~flipped).any()
    proj = project_with_intrinsics(batch.targets_3d + batch.roots_3d, batch.intrinsics[:, None])
    centre = batch.inputs_2d[:, 4:5]  # receptive field 9: the predicted frame is the 5th input
    err = (proj - centre).abs().amax(dim=(1, 2, 3))
    assert err.max() < 1e-5


def test_two_steps_run_every_loss(tmp_path, train_dir):
    t = SemiTrainer(_cfg(tmp_path, train_dir), progress=False)
    before = _weights(t)
    terms = t.step(t.sampler.batch(np.arange(64)))
    assert set(terms) == {"loss", "pose", "trajectory", "reprojection", "bone_length"}  # metres / normalised units
    assert all(np.isfinite(v) and v > 0 for v in terms.values())
    assert terms["loss"] == pytest.approx(sum(v for k, v in terms.items() if k != "loss"), rel=1e-5)
    t.train(stop_after_steps=1)
    after = _weights(t)
    for net in ("pose.", "trajectory."):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net) and "weight" in k)
    assert t.state.unlabeled_batches == 2


def test_ablation_and_warmup_drop_terms(tmp_path, train_dir):
    t = SemiTrainer(_cfg(tmp_path, train_dir, bone_length=False), progress=False)
    assert set(t.step(t.sampler.batch(np.arange(32)))) == {"loss", "pose", "trajectory", "reprojection"}
    w = SemiTrainer(_cfg(tmp_path, train_dir, "w", warmup=1, samples=640 + 128), progress=False)
    assert set(w.step(w.sampler.batch(np.arange(32)))) == {"loss", "pose", "trajectory"}
    assert w.state.unlabeled_batches == 0
    w.train()  # one labeled epoch of warm-up, then the unlabeled stream starts
    assert w.state.unlabeled_batches > 0 and "reprojection_mm" in w.state.history[-1]
    assert "reprojection_mm" not in w.state.history[0]


def test_trajectory_loss_weights_by_inverse_depth(tmp_path, train_dir):
    t = SemiTrainer(_cfg(tmp_path, train_dir), progress=False)
    shrink = t.model.trajectory.shrink
    with torch.no_grad():  # the trajectory model now predicts the camera centre for every clip
        shrink.weight.zero_()
        shrink.bias.zero_()
    batch = t.sampler.batch(np.arange(16))
    root = batch.roots_3d
    expected = (root.norm(dim=-1) / root[..., 2]).mean()
    with torch.no_grad():
        got = float(t.loss_terms(batch, None)["trajectory"])
    assert got == pytest.approx(float(expected), rel=1e-6)


def test_unlabeled_3d_never_reaches_the_loss(tmp_path, train_dir):
    """Poisoning the unlabeled subjects' 3D (and roots) leaves training bit-identical."""
    cfg = _cfg(tmp_path, train_dir, "clean")
    clean = SemiTrainer(cfg, progress=False)
    clean.train()
    from poselift.train.supervised import load_training_set

    poisoned_set = load_training_set(cfg, subjects=["03", "06"], subset=1.0)
    poisoned_set.targets_3d = [np.full_like(y, np.nan) for y in poisoned_set.targets_3d]
    poisoned_set.roots_3d = [np.full_like(r, 1e9) for r in poisoned_set.roots_3d]
    poisoned = SemiTrainer(_cfg(tmp_path, train_dir, "poisoned"), unlabeled=poisoned_set, progress=False)
    poisoned.train()
    a, b = _weights(clean), _weights(poisoned)
    assert clean.state.unlabeled_batches > 0
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_is_exact_and_exports_both_models(tmp_path, train_dir):
    ref = SemiTrainer(_cfg(tmp_path, train_dir, "ref"), progress=False)
    ref.train()
    cut = SemiTrainer(_cfg(tmp_path, train_dir, "cut"), progress=False)
    cut.train(stop_after_steps=3)  # checkpoint after step 2
    resumed = SemiTrainer(_cfg(tmp_path, train_dir, "cut"), progress=False)
    assert resumed.resume() and resumed.state.unlabeled_batches == 2
    resumed.train()
    a, b = _weights(ref), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    pose, meta = load_model(tmp_path / "ref" / "model.safetensors")
    assert meta["target"] == "pose" and meta["model"]["joints_out"] == 17 and meta["training"] == "semi-supervised"
    traj, tmeta = load_model(tmp_path / "ref" / "trajectory.safetensors")
    assert tmeta["target"] == "trajectory" and tmeta["input_norm"] == "intrinsic" and tmeta["skeleton_out"] == "root1"
    x = torch.zeros(1, 20, 17, 2)
    assert pose(x).shape == (1, 12, 17, 3) and traj(x).shape == (1, 12, 1, 3)


def test_make_trainer_picks_by_unlabeled_subjects(tmp_path, train_dir):
    assert type(make_trainer(_cfg(tmp_path, train_dir, unlabeled_subjects=""), progress=False)) is Trainer
    assert type(make_trainer(_cfg(tmp_path, train_dir), progress=False)) is SemiTrainer


def test_cli_semi_supervised(tmp_path, train_dir, capsys):
    ck = tmp_path / "cli"
    args = ["train", "--train-dir", str(train_dir), "-arc", "3,3", "-ch", "16", "-b", "64", "--samples", "256",
            "-str", "01", "-sun", "rest", "--subset", "0.5", "--warmup", "0", "--linear-projection",
            "--checkpoint-dir", str(ck), "-q"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["clips"] == 256
    saved = json.loads((ck / "config.json").read_text())
    assert saved["linear_projection"] and saved["unlabeled_subjects"] == "rest" and saved["subset"] == 0.5
    assert (ck / "trajectory.safetensors").exists()
    assert main(args[:-3] + ["--no-bone-length", "--checkpoint-dir", str(ck), "--resume", "-q"]) == 2
    assert "bone_length" in capsys.readouterr().err


def test_cli_semi_supervised_human36m(tmp_path, capsys):
    pytest.importorskip("cdflib")
    from helpers import write_h36m_cdf

    root = tmp_path / "h36m"
    for i, subject in enumerate(("S1", "S5", "S6", "S9")):
        write_h36m_cdf(root / subject / "MyPoseFeatures" / "D3_Positions" / "Walking 1.cdf",
                       random_motion(40, i).astype(np.float64))
    prepared = tmp_path / "h36m.npz"
    assert main(["prepare", "h36m", "--source", str(root), "--out", str(prepared), "-q"]) == 0
    ck = tmp_path / "run"
    assert main(["train", "--data", "h36m", "--dataset", str(prepared), "-k", "gt", "-str", "S1", "-sun", "rest",
                 "--subset", "0.5", "--downsample", "2", "--warmup", "0", "-arc", "3", "-ch", "16", "-e", "1",
                 "-b", "16", "--checkpoint-dir", str(ck), "-q"]) == 0
    out = capsys.readouterr()
    # labeled: half of S1's 40 frames, every 2nd one, 4 cameras, flipped; unlabeled: S5 and S6 (not the test S9)
    assert json.loads(out.out.strip().splitlines()[-1])["clips"] == 10 * 4 * 2
    assert "160 unlabeled frames in 8 sequences" in out.err
    meta = json.loads((ck / "model.json").read_text())
    assert meta["unlabeled_frames"] == 160 and meta["labeled_frames"] == 40
