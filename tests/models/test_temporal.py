import pytest
import torch

from poselift.errors import PoseliftError
from poselift.models.temporal import (
    ModelConfig, TemporalModel, TemporalModelStrided, causal_shift, model_info, receptive_field,
)

from helpers import randomise_bn as _randomise_bn


@pytest.mark.parametrize("arc,params,rf", [([3, 3, 3], 8_555_571, 27), ([3, 3, 3, 3, 3], 16_952_371, 243),
                                            ([3, 3, 3, 3], 12_753_971, 81), ([1, 1, 1], None, 1)])
def test_parameter_counts_and_receptive_field(arc, params, rf):
    info = model_info(ModelConfig(filter_widths=arc))
    assert info["receptive_field"] == rf == receptive_field(arc)
    if params is not None:
        assert info["params"] == params


def test_flops_match_paper_table5():
    # paper Table 5: 17.09M / 25.48M / 33.87M FLOPs per frame for 27 / 81 / 243 frames
    for arc, mflops in (([3, 3, 3], 17.09), ([3, 3, 3, 3], 25.48), ([3, 3, 3, 3, 3], 33.87)):
        assert model_info(ModelConfig(filter_widths=arc))["flops_per_frame"] / 1e6 == pytest.approx(mflops, abs=0.01)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("arc", [[3, 3, 3], [3, 5, 3], [1, 1, 1], [5, 3]])
def test_strided_and_dilated_agree_on_same_weights(arc, causal):
    torch.manual_seed(0)
    cfg = ModelConfig(filter_widths=arc, channels=32, causal=causal)
    dil = TemporalModel(cfg)
    _randomise_bn(dil)
    strided = TemporalModelStrided(cfg)
    strided.load_state_dict(dil.state_dict())  # interchangeable state dicts
    dil.eval()
    strided.eval()
    rf = dil.receptive_field
    x = torch.randn(3, rf + 12, 17, 2)
    with torch.no_grad():
        full = dil(x)
        clips = torch.stack([strided(x[:, i:i + rf])[:, 0] for i in range(13)], 1)
    assert full.shape == (3, 13, 17, 3)
    assert torch.allclose(full, clips, atol=1e-5)


def test_causal_output_ignores_future_frames():
    torch.manual_seed(0)
    cfg = ModelConfig(filter_widths=[3, 3, 3], channels=32, causal=True)
    m = TemporalModel(cfg).eval()
    assert causal_shift([3, 3, 3], True) == m.total_causal_shift == 13
    rf = m.receptive_field
    x = torch.randn(1, rf + 30, 17, 2)
    k = rf + 10  # change every input frame from k on
    x2 = x.clone()
    x2[:, k:] = torch.randn_like(x2[:, k:])
    with torch.no_grad():
        y, y2 = m(x), m(x2)
    # output i sees input frames i .. i + rf - 1
    unchanged = k - rf + 1
    assert torch.equal(y[:, :unchanged], y2[:, :unchanged])
    assert not torch.allclose(y[:, unchanged:], y2[:, unchanged:])


def test_symmetric_model_does_see_future():
    m = TemporalModel(ModelConfig(filter_widths=[3, 3], channels=16)).eval()
    x = torch.randn(1, 20, 17, 2)
    x2 = x.clone()
    x2[:, 10] += 1.0
    with torch.no_grad():
        y, y2 = m(x), m(x2)
    # output i is centred on input i + 4; frame 10 is inside the window of output 2 (frames 2..10)
    assert not torch.allclose(y[:, 2], y2[:, 2])


def test_dense_variant_has_same_receptive_field_and_more_weights():
    dense = TemporalModel(ModelConfig(filter_widths=[3, 3, 3], channels=16, dense=True))
    dil = TemporalModel(ModelConfig(filter_widths=[3, 3, 3], channels=16))
    assert dense.receptive_field == dil.receptive_field == 27
    assert sum(p.numel() for p in dense.parameters()) > sum(p.numel() for p in dil.parameters())
    assert dense(torch.randn(2, 40, 17, 2)).shape == (2, 14, 17, 3)


def test_bn_momentum_setter_and_input_checks():
    m = TemporalModelStrided(ModelConfig(filter_widths=[3, 3], channels=8))
    m.set_bn_momentum(0.01)
    assert all(bn.momentum == 0.01 for bn in m.modules() if isinstance(bn, torch.nn.BatchNorm1d))
    with pytest.raises(PoseliftError, match="exactly 9 frames"):
        m(torch.randn(1, 10, 17, 2))
    with pytest.raises(PoseliftError, match="17"):
        m(torch.randn(1, 9, 15, 2))
    with pytest.raises(PoseliftError, match="receptive field"):
        TemporalModel(m.cfg)(torch.randn(1, 5, 17, 2))
    with pytest.raises(PoseliftError):
        ModelConfig(filter_widths=[2, 3])


def test_joint_layouts_in_and_out_may_differ():
    m = TemporalModel(ModelConfig(filter_widths=[3], channels=8, joints_in=15, joints_out=17))
    assert m(torch.randn(2, 5, 15, 2)).shape == (2, 3, 17, 3)
