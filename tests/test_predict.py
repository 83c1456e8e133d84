"""The inference core (poselift.predict): a checkpoint's model, a whole sequence through it."""

import numpy as np
import pytest
import torch

from poselift.errors import PoseliftError
from poselift.models.bundled import default_checkpoint
from poselift.predict import load_model, predict_sequence
from poselift.skeleton import COCO17, H36M17, flip_pose


@pytest.fixture(scope="module")
def model():
    m, meta = load_model(default_checkpoint("coco17"))
    assert not m.training and meta["skeleton_in"] == "coco17" and meta["target"] == "pose"
    return m


def _inputs(T, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(scale=0.05, size=(T, 17, 2)) + rng.uniform(-0.3, 0.3, size=(1, 17, 2))).astype(np.float32)


def test_chunks_give_the_one_pass_output(model):
    x = _inputs(70)
    whole = predict_sequence(model, x, flip_test=True, skeleton_in=COCO17)
    assert whole.shape == (70, 17, 3) and whole.dtype == np.float32
    for chunk in (1, 16, 33):
        np.testing.assert_allclose(predict_sequence(model, x, True, COCO17, chunk=chunk), whole, atol=1e-5)


def test_flip_test_averages_the_mirrored_pass(model):
    x = _inputs(30, 1)
    plain = predict_sequence(model, x, flip_test=False, skeleton_in=COCO17)
    mirrored = predict_sequence(model, flip_pose(torch.from_numpy(x), COCO17).numpy(), flip_test=False,
                                skeleton_in=COCO17)
    want = (plain + flip_pose(torch.from_numpy(mirrored), H36M17).numpy()) / 2
    np.testing.assert_allclose(predict_sequence(model, x, True, COCO17), want, atol=1e-5)
    assert not np.allclose(plain, want, atol=1e-4)


def test_one_output_per_frame_even_for_short_sequences(model):
    assert model.receptive_field == 27
    x = _inputs(3, 2)
    y = predict_sequence(model, x, True, COCO17)
    assert y.shape == (3, 17, 3) and np.isfinite(y).all()
    # replicate padding: a still pose gives the same output in every frame
    still = np.repeat(x[:1], 5, axis=0)
    out = predict_sequence(model, still, True, COCO17)
    np.testing.assert_allclose(out, np.repeat(out[:1], 5, axis=0), atol=1e-6)


def test_refuses_what_is_not_a_sequence(model):
    with pytest.raises(PoseliftError, match="at least one frame"):
        predict_sequence(model, np.zeros((0, 17, 2), np.float32))
    with pytest.raises(PoseliftError, match=r"expected a sequence \(frames, joints, 2\)"):
        predict_sequence(model, np.zeros((17, 2), np.float32))
