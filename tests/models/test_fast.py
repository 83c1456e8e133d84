import copy

import pytest
import torch

from poselift.models.fast import relu_dropout
from poselift.models.build import build_model
from poselift.models.temporal import ModelConfig, TemporalModelStrided

from helpers import randomise_bn


def _pair(cfg):
    torch.manual_seed(0)
    ref = randomise_bn(build_model(cfg, strided=True)).train()
    fast = copy.deepcopy(ref)
    (fast.trunk if cfg.embed_dim else fast).fast = True
    return ref, fast


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("arc", [[3, 3, 3], [3, 5], [1, 1]])
def test_fast_strided_matches_reference_forward_backward_and_bn_stats(arc, causal):
    ref, fast = _pair(ModelConfig(filter_widths=arc, channels=48, dropout=0.0, causal=causal))
    x = torch.randn(6, ref.receptive_field, 17, 2)
    y_ref, y_fast = ref(x), fast(x)
    assert y_fast.shape == y_ref.shape == (6, 1, 17, 3)
    assert torch.allclose(y_fast, y_ref, atol=1e-5)
    y_ref.square().sum().backward()
    y_fast.square().sum().backward()
    for (name, p), q in zip(ref.named_parameters(), fast.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-4), name
    for (name, a), b in zip(ref.state_dict().items(), fast.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name  # running statistics, counters
    ref.eval(), fast.eval()
    assert torch.allclose(ref(x), fast(x), atol=1e-5)


def test_fast_trunk_of_an_embedder_matches():
    ref, fast = _pair(ModelConfig(filter_widths=[3, 3], channels=32, dropout=0.0, embed_dim=16))
    x = torch.randn(4, 9, 17, 2)
    for a, b in zip(ref.embed_and_pose(x), fast.embed_and_pose(x)):
        assert torch.allclose(a, b, atol=1e-5)


def test_dilated_model_is_never_fast():
    model = build_model(ModelConfig(filter_widths=[3], channels=8), strided=False, fast=True)
    assert not model.fast and not isinstance(model, TemporalModelStrided)


def test_relu_dropout_rate_scale_and_gradient():
    torch.manual_seed(0)
    x = torch.randn(400, 500, requires_grad=True)
    y = relu_dropout(x, 0.25, training=True)
    positive = x.detach() > 0
    kept = (y.detach() > 0)
    assert kept.sum() / positive.sum() == pytest.approx(0.75, abs=0.01)  # exact rate for p = 64/256
    assert torch.allclose(y.detach()[kept], x.detach()[kept] / 0.75)
    assert not (kept & ~positive).any()
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() / 0.75)
    # eval mode: plain ReLU; rates that are no multiple of 1/256 use torch's dropout
    assert torch.equal(relu_dropout(x.detach(), 0.25, training=False), torch.relu(x.detach()))
    z = relu_dropout(torch.ones(200_000), 0.1, training=True)
    assert (z > 0).float().mean() == pytest.approx(0.9, abs=0.01)
    assert torch.allclose(z[z > 0], torch.tensor(1 / 0.9))


def test_dropout_masks_follow_the_torch_seed():
    x = torch.randn(64, 64)
    torch.manual_seed(3)
    a = relu_dropout(x, 0.25, True)
    torch.manual_seed(3)
    assert torch.equal(a, relu_dropout(x, 0.25, True))
