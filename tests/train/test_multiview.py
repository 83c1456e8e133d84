import inspect
import json

import numpy as np
import pytest
import torch

from poselift.cli import main
from poselift.config import TrainConfig
from poselift.data.dataset import build_cmu_training_set
from poselift.errors import PoseliftError
from poselift.evaluate import evaluate_checkpoint
from poselift.models.temporal import ModelConfig
from poselift.train.multiview import (MultiviewSampler, MultiviewTrainer, hardest_negatives, multiview_loss)
from poselift.train.semi import make_trainer

from helpers import write_bench, write_cmu_train


@pytest.fixture
def train_dir(tmp_path):
    return write_cmu_train(tmp_path / "train", ("01", "03"), frames=70, split=40)


def _cfg(tmp_path, train_dir, name="mv", **kw):
    base = dict(model=ModelConfig(filter_widths=[3, 3], channels=16, embed_dim=8), train_dir=str(train_dir),
                checkpoint_dir=str(tmp_path / name), samples=4 * 32, batch_size=32, seed=5, threads=1,
                multiview=True, random_cameras=2, label_fraction=0.25, window=3, checkpoint_every=2)
    base.update(kw)
    return TrainConfig(**base)


def test_miner_honours_the_temporal_window():
    # anchor 0: clip 0, frame 10; candidates near it in embedding space are its own clip's
    # frames 9..13 (excluded by window 3) except frame 14; another clip's frame 10 is valid
    anchors = torch.tensor([[1.0, 0.0]])
    cands = torch.tensor([[1.0, 0.0], [0.99, 0.14], [0.98, 0.2], [0.9, 0.44], [0.6, 0.8], [0.0, 1.0]])
    clip_c = torch.tensor([0, 0, 0, 0, 1, 0])
    frame_c = torch.tensor([10, 11, 13, 14, 10, 40])
    d, idx = hardest_negatives(anchors, cands, torch.tensor([0]), torch.tensor([10]), clip_c, frame_c, window=3)
    assert idx.item() == 3  # frame 14 of the same clip: just outside the window, and the closest valid one
    d, idx = hardest_negatives(anchors, cands, torch.tensor([0]), torch.tensor([10]), clip_c, frame_c, window=4)
    assert idx.item() == 4  # frame 14 is now inside the window: the other clip's frame 10
    d, idx = hardest_negatives(anchors, cands[:4], torch.tensor([0]), torch.tensor([10]), clip_c[:4], frame_c[:4],
                               window=100)
    assert torch.isinf(d).all()  # nothing valid


def test_multiview_loss_values():
    e = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]]), dim=1)
    clip, frame = torch.tensor([0, 1, 0, 1]), torch.tensor([0, 0, 0, 0])
    # positives are near, each anchor's hardest negative is the other instant: loss 0 with margin 0
    assert multiview_loss(e, clip, frame, window=0, margin=0.0).item() == 0.0
    # swap the positives: they are now far and the negatives near
    swapped = e[[0, 1, 3, 2]]
    assert multiview_loss(swapped, clip, frame, window=0, margin=0.2, mining="hardest").item() > 1.0
    # every other instant inside the window of the anchor (same clip): no valid negative → 0, finite
    assert multiview_loss(e, torch.zeros(4, dtype=torch.long), frame, window=5, margin=0.2).item() == 0.0


def test_loss_never_sees_camera_parameters(tmp_path, train_dir):
    """Scrambling every camera parameter the data carries (intrinsics, camera records) leaves
    the multi-view loss of the same batches bit-identical; the loss takes no camera argument."""
    assert not {"camera", "cameras", "intrinsics", "extrinsics"} & set(inspect.signature(multiview_loss).parameters)
    t = MultiviewTrainer(_cfg(tmp_path, train_dir), progress=False)
    t.model.eval()  # no dropout: the passes see identical networks
    _, batch = next(t.sampler.iter_epoch(5, 0, 32))
    with torch.no_grad():
        a = t.losses(batch)["multiview"]
        t.state.unlabeled_batches = 0  # the same multi-view batch again
        for sampler in (t.sampler, t.stream):
            sampler.clips.intrinsics = torch.randn_like(sampler.clips.intrinsics)
        batch.intrinsics = torch.randn_like(batch.intrinsics)
        for m in t.data.meta:
            m["camera"] = "scrambled"
        b = t.losses(batch)["multiview"]
    assert torch.equal(a, b) and a > 0


def test_sampler_pairs_two_views_of_one_instant(tmp_path, train_dir):
    cfg = _cfg(tmp_path, train_dir)
    data = build_cmu_training_set(train_dir, random_cameras=2, seed=cfg.seed)
    s = MultiviewSampler(data, cfg)
    assert len(s.groups) == 4 and all(len(g) == 6 for g in s.groups)  # 4 rig + 2 random views per clip
    assert len(s) == 2 * 140 and s.labeled_frames == 10 + 8 + 10 + 8  # a quarter of each clip
    _, b = next(s.iter_epoch(1, 0, 64))
    n = len(b)
    assert torch.equal(b.clip[:n], b.clip[n:]) and torch.equal(b.frame[:n], b.frame[n:])
    assert torch.equal(b.labeled[:n], b.labeled[n:])
    # two different views of the same 3D pose: different 2D, the same bone lengths
    assert (b.inputs_2d[:n] - b.inputs_2d[n:]).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    bone = (lambda y: (y[:, 0, 1] - y[:, 0, 0]).norm(dim=-1))
    assert torch.allclose(bone(b.targets_3d[:n]), bone(b.targets_3d[n:]), atol=1e-5)
    only = MultiviewSampler(data, cfg, labeled_only=True)
    assert len(only) == 2 * only.labeled_frames and only.item_labeled.all()


def test_training_runs_both_terms_and_resumes_exactly(tmp_path, train_dir):
    ref = MultiviewTrainer(_cfg(tmp_path, train_dir, "ref"), progress=False)
    ref.train()
    assert {"pose_mm", "multiview_mm"} <= set(ref.state.history[-1])
    cut = MultiviewTrainer(_cfg(tmp_path, train_dir, "cut"), progress=False)
    cut.train(stop_after_steps=3)
    resumed = MultiviewTrainer(_cfg(tmp_path, train_dir, "cut"), progress=False)
    assert resumed.resume()
    resumed.train()
    a, b = ref.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    sup = make_trainer(_cfg(tmp_path, train_dir, "sup", multiview_weight=0.0), progress=False)
    assert set(sup.step(next(sup.sampler.iter_epoch(5, 0, 32))[1])) == {"loss", "pose"}


def test_config_checks(tmp_path, train_dir):
    with pytest.raises(PoseliftError, match="embedding size"):
        _cfg(tmp_path, train_dir, model=ModelConfig(filter_widths=[3])).validate()
    with pytest.raises(PoseliftError, match="drop -sun"):
        _cfg(tmp_path, train_dir, unlabeled_subjects="03").validate()


def test_cli_train_multiview_then_retrieve_and_evaluate(tmp_path, train_dir, capsys):
    bench = tmp_path / "val"
    bench.mkdir()
    write_bench(bench / "bench_09.npz", n_cameras=3)
    ck = tmp_path / "run"
    assert main(["train", "--multiview", "--embed-dim", "8", "--train-dir", str(train_dir), "-arc", "3,3", "-ch", "16",
                 "--samples", "128", "-b", "32", "--random-cameras", "2", "--label-fraction", "0.5", "--view-dim", "4",
                 "--window", "5", "--margin", "0.3", "--checkpoint-dir", str(ck), "-q"]) == 0
    capsys.readouterr()
    saved = json.loads((ck / "config.json").read_text())
    assert saved["multiview"] and saved["window"] == 5 and saved["model"]["embed_dim"] == 8
    assert saved["model"]["view_dim"] == 4
    js = tmp_path / "ret.json"
    assert main(["retrieve", "--checkpoint", str(ck / "model.safetensors"), "--bench", str(bench), "--json", str(js),
                 "-q"]) == 0
    out = capsys.readouterr().out
    assert "Hit@1" in out and "mean" in out
    res = json.loads(js.read_text())["bench"]
    assert set(res["per_camera"]) == {"0", "1", "2"} and 0 <= res["hit@1"] <= res["hit@10"] <= res["hit@20"] <= 100
    assert main(["retrieve", "--checkpoint", "keypoints", "--bench", str(bench), "-q"]) == 0
    assert "normalised 2D keypoints" in capsys.readouterr().out
    r = evaluate_checkpoint(ck / "model.safetensors", bench, "gt", progress=False)
    assert np.isfinite(r["mpjpe"]) and r["frames"] == 3 * 65
    assert main(["retrieve", "--checkpoint", str(ck / "model.safetensors"), "-q"]) == 2


def test_multiview_with_back_projection(tmp_path, train_dir):
    t = MultiviewTrainer(_cfg(tmp_path, train_dir, "bp", back_projection=True, warmup=0), progress=False)
    terms = t.step(next(t.sampler.iter_epoch(5, 0, 32))[1])
    assert {"pose", "trajectory", "multiview", "reprojection", "bone_length"} <= set(terms)
    assert t.state.unlabeled_batches == 1
    t.train()
    assert (tmp_path / "bp" / "trajectory.safetensors").exists()
    from poselift.evaluate import load_model

    model, meta = load_model(tmp_path / "bp" / "model.safetensors")
    assert hasattr(model, "embed") and meta["training"] == "multiview"
    with pytest.raises(PoseliftError, match="goes with --multiview"):
        _cfg(tmp_path, train_dir, multiview=False, back_projection=True).validate()


def test_semihard_mining_skips_negatives_closer_than_the_positive():
    anchors = torch.tensor([[1.0, 0.0]])
    cands = torch.tensor([[0.99, 0.14], [0.8, 0.6], [0.0, 1.0]])
    clip_c, frame_c = torch.tensor([1, 2, 3]), torch.tensor([0, 0, 0])
    args = (anchors, cands, torch.tensor([0]), torch.tensor([0]), clip_c, frame_c, 0)
    assert hardest_negatives(*args)[1].item() == 0
    d, idx = hardest_negatives(*args, beyond=torch.tensor([0.1]))  # positive at squared distance 0.1
    assert idx.item() == 1 and d.item() == pytest.approx(0.4, abs=1e-5)
    assert hardest_negatives(*args, beyond=torch.tensor([5.0]))[1].item() == 0  # none farther: the hardest
    e = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.95, 0.3], [0.3, 0.95]]), dim=1)
    clip, frame = torch.tensor([0, 1, 0, 1]), torch.tensor([0, 0, 0, 0])
    hard = multiview_loss(e, clip, frame, 0, 0.2, "hardest")
    semi = multiview_loss(e, clip, frame, 0, 0.2, "semihard")
    assert torch.isfinite(hard) and torch.isfinite(semi)
    with pytest.raises(PoseliftError, match="mining"):
        multiview_loss(e, clip, frame, 0, 0.2, "easy")
