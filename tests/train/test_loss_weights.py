"""Loss terms: every trainer's ``losses()`` returns them raw; ``Trainer.step`` weighs them
(``loss_weights``: multiview_weight for the multi-view term, 1 for the rest) and sums them."""

import pytest
import torch

from poselift.config import TrainConfig
from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig
from poselift.train.multiview import MultiviewTrainer
from poselift.train.supervised import LOSS_TERMS, Trainer

from helpers import write_cmu_train


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    return write_cmu_train(tmp_path_factory.mktemp("lw") / "train", ("01", "03"), frames=70, split=40)


def _mv(tmp_path, train_dir, name, **kw):
    base = dict(model=ModelConfig(filter_widths=[3, 3], channels=16, embed_dim=8), train_dir=str(train_dir),
                checkpoint_dir=str(tmp_path / name), samples=4 * 32, batch_size=32, seed=5, threads=1,
                multiview=True, random_cameras=2, label_fraction=0.25, window=3)
    base.update(kw)
    return MultiviewTrainer(TrainConfig(**base), progress=False)


def _first_step(t):
    return t.step(next(t.sampler.iter_epoch(5, 0, 32))[1])


def test_multiview_term_is_raw_and_weighted_in_step(tmp_path, train_dir):
    one = _mv(tmp_path, train_dir, "one")
    assert set(one.loss_weights()) == set(LOSS_TERMS)
    a = _first_step(one)  # each trainer seeds torch's generator (dropout): one after the other
    half = _mv(tmp_path, train_dir, "half", multiview_weight=0.5)
    assert half.loss_weights()["multiview"] == 0.5 and half.loss_weights()["pose"] == 1.0
    b = _first_step(half)
    # the same network, batch and stream: the same raw terms whatever the weight
    assert b["multiview"] == pytest.approx(a["multiview"], rel=1e-6) and b["pose"] == pytest.approx(a["pose"], rel=1e-6)
    assert a["multiview"] > 0
    assert "multiview_weighted" not in a and set(b) == {"loss", "pose", "multiview", "multiview_weighted"}
    assert b["multiview_weighted"] == pytest.approx(0.5 * b["multiview"], rel=1e-6)
    assert b["loss"] == pytest.approx(b["pose"] + 0.5 * b["multiview"], rel=1e-6)
    assert a["loss"] == pytest.approx(a["pose"] + a["multiview"], rel=1e-6)


def test_history_says_raw_and_weighted(tmp_path, train_dir):
    t = _mv(tmp_path, train_dir, "hist", multiview_weight=2.0)
    h = t.train().history[-1]
    assert h["loss_weights"] == {"pose": 1.0, "multiview": 2.0}
    assert h["multiview_weighted_mm"] == pytest.approx(2.0 * h["multiview_mm"], rel=1e-6)
    assert h["loss_mm"] == pytest.approx(h["pose_mm"] + h["multiview_weighted_mm"], rel=1e-6)


def test_weigh_refuses_an_unknown_term(tmp_path, train_dir):
    t = _mv(tmp_path, train_dir, "w", multiview_weight=3.0)
    x = torch.tensor(2.0)
    w = Trainer.weigh(t, {"pose": x, "multiview": x})
    assert w["pose"] is x and float(w["multiview"]) == 6.0  # weight 1: the term itself
    with pytest.raises(PoseliftError, match="without a weight: wobble"):
        t.weigh({"pose": x, "wobble": x})
