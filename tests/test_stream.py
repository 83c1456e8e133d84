import numpy as np
import pytest
import torch

import poselift
from poselift.data.windows import pad_sequence_torch
from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig, TemporalModel
from poselift.stream import Stream

from helpers import randomise_bn


def _model(**kw):
    torch.manual_seed(0)
    return randomise_bn(TemporalModel(ModelConfig(**{"channels": 32, **kw}))).eval()


def _offline(model, seq):
    x = pad_sequence_torch(torch.as_tensor(seq), model.receptive_field, model.total_causal_shift, dim=0)[None]
    with torch.no_grad():
        return model(x)[0].numpy()


@pytest.mark.parametrize("arc", [[3, 3, 3], [3, 3, 3, 3, 3], [5, 3], [1]])
@pytest.mark.parametrize("dense", [False, True])
def test_causal_stream_equals_the_full_sequence_output(arc, dense):
    model = _model(filter_widths=arc, causal=True, dense=dense)
    seq = np.random.default_rng(0).normal(size=(model.receptive_field + 40, 17, 2)).astype(np.float32)
    stream = Stream(model)
    assert stream.latency == 0
    out = [stream.push(frame) for frame in seq]
    assert all(o is not None for o in out) and stream.flush() == []
    np.testing.assert_allclose(np.stack(out), _offline(model, seq), atol=1e-5)


def test_symmetric_stream_answers_half_a_receptive_field_later():
    model = _model(filter_widths=[3, 3, 3])
    seq = np.random.default_rng(1).normal(size=(60, 17, 2)).astype(np.float32)
    stream = Stream(model)
    assert stream.latency == 13
    out = [stream.push(frame) for frame in seq]
    assert all(o is None for o in out[:13]) and all(o is not None for o in out[13:])
    got = np.stack([o for o in out if o is not None] + stream.flush())
    np.testing.assert_allclose(got, _offline(model, seq), atol=1e-5)


def test_short_sequences_and_restart():
    model = _model(filter_widths=[3, 3, 3], causal=True)
    stream = Stream(model)
    seq = np.random.default_rng(2).normal(size=(3, 17, 2)).astype(np.float32)
    np.testing.assert_allclose(np.stack([stream.push(f) for f in seq]), _offline(model, seq), atol=1e-5)
    stream.reset()  # a new sequence starts from its own first frame
    np.testing.assert_allclose(stream.push(seq[2]), _offline(model, seq[2:3])[0], atol=1e-5)


def test_batch_of_streams():
    model = _model(filter_widths=[3, 3], causal=True)
    seqs = np.random.default_rng(3).normal(size=(4, 20, 17, 2)).astype(np.float32)
    stream = Stream(model, batch=4)
    out = np.stack([stream.push(seqs[:, t]) for t in range(20)], axis=1)
    for b in range(4):
        np.testing.assert_allclose(out[b], _offline(model, seqs[b]), atol=1e-5)


def test_bad_frames_are_refused():
    stream = Stream(_model(filter_widths=[3], causal=True))
    with pytest.raises(PoseliftError, match=r"\(1, 17, 2\)"):
        stream.push(np.zeros((15, 2)))
    bad = np.zeros((17, 2))
    bad[3, 1] = np.nan
    with pytest.raises(PoseliftError, match="NaN"):
        stream.push(bad)


def test_stream_on_the_bundled_model():
    stream = poselift.Stream.from_checkpoint("default")
    assert stream.joints_in == 17 and stream.latency == 13
    frame = np.random.default_rng(0).uniform(-0.5, 0.5, size=(17, 2))
    assert stream.push(frame) is None
    assert len(stream.flush()) == 1


def test_stream_thread_setting():
    model = _model(filter_widths=[3, 3], causal=True)
    seq = np.random.default_rng(4).normal(size=(12, 17, 2)).astype(np.float32)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        seen = []
        stream = Stream(model, threads=1)
        step = stream._step
        stream._step = lambda x, prime: (seen.append(torch.get_num_threads()), step(x, prime))[1]
        out = [stream.push(f) for f in seq]
        assert set(seen) == {1} and torch.get_num_threads() == 3  # the caller's count back after each frame
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(np.stack(out), _offline(model, seq), atol=1e-5)
    with pytest.raises(PoseliftError, match="threads"):
        Stream(model, threads=0)


def test_bf16_stream_is_close_to_fp32_and_fp32_is_unchanged():
    model = _model(filter_widths=[3, 3, 3], causal=True, channels=64)
    seq = np.random.default_rng(7).normal(size=(60, 17, 2)).astype(np.float32)
    fp32 = Stream(model)
    assert fp32.precision == "fp32" and fp32.model.expand.weight.dtype == torch.float32
    out32 = np.stack([fp32.push(f) for f in seq])
    np.testing.assert_allclose(out32, _offline(model, seq), atol=1e-5)
    low = Stream(model, precision="bf16")
    assert low.model.expand.weight.dtype == torch.bfloat16 and low.model.shrink.weight.dtype == torch.float32
    out16 = np.stack([low.push(f) for f in seq])
    assert out16.dtype == np.float32 and np.isfinite(out16).all()
    gap = np.linalg.norm(out16 - out32, axis=-1)  # model units (m for a trained lifter)
    assert gap.mean() < 0.005 and gap.max() < 0.03, (gap.mean(), gap.max())
    assert gap.mean() > 0  # it did run in reduced precision


def test_int8_stream_is_close_to_fp32():
    model = _model(filter_widths=[3, 3, 3], causal=True, channels=64)
    seq = np.random.default_rng(7).normal(size=(60, 17, 2)).astype(np.float32)
    fp32, low = Stream(model), Stream(model, precision="int8")
    out32 = np.stack([fp32.push(f) for f in seq])
    out8 = np.stack([low.push(f) for f in seq])
    assert out8.dtype == np.float32 and np.isfinite(out8).all()
    scale = np.linalg.norm(out32, axis=-1).mean()
    gap = np.linalg.norm(out8 - out32, axis=-1)
    assert 0 < gap.mean() < 0.03 * scale, (gap.mean(), scale)  # 8-bit weights and inputs: about 1% off
    assert low.weight_bytes() < 0.35 * fp32.weight_bytes()  # a byte a weight; scales and biases in fp
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the model handed in is left as it was


def test_stream_precision_is_checked():
    with pytest.raises(PoseliftError, match="precision"):
        Stream(_model(filter_widths=[3], causal=True), precision="fp16")
