import pytest
import torch

from poselift.train.ema import WeightAverage


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


def test_average_follows_hand_computed_recursion():
    m = _model()
    ema = WeightAverage(m, decay=0.5)
    w0 = m[0].weight.detach().clone()
    expected = w0.clone()
    for n in range(5):
        with torch.no_grad():
            m[0].weight.add_(1.0)
        d = min(0.5, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * m[0].weight.detach()
        ema.update(m)
    assert torch.allclose(ema.state_dict()["0.weight"], expected)
    assert ema.updates == 5


def test_ramp_then_cap():
    ema = WeightAverage(_model(), decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)
    ema.updates = 90
    assert ema.current_decay() == pytest.approx(91 / 100)
    ema.updates = 100_000
    assert ema.current_decay() == 0.999


def test_bn_buffers_averaged_and_counter_copied():
    m = _model()
    ema = WeightAverage(m, decay=0.9)
    m.train()
    m(torch.randn(16, 3) + 5)
    ema.update(m)
    d = 0.1  # first update: (1 + 0) / (10 + 0)
    assert torch.allclose(ema.state_dict()["1.running_mean"], m[1].running_mean * (1 - d))
    assert int(ema.state_dict()["1.num_batches_tracked"]) == 1


def test_copy_to_and_load_round_trip():
    m = _model()
    ema = WeightAverage(m, decay=0.9)
    with torch.no_grad():
        m[0].weight.mul_(3)
    ema.update(m)
    other = WeightAverage(_model(), decay=0.9)
    other.load({k: v.clone() for k, v in ema.state_dict().items()}, ema.updates)
    target = _model()
    other.copy_to(target)
    assert torch.equal(target[0].weight, ema.state_dict()["0.weight"]) and other.updates == 1


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_bad_decay_refused(decay):
    with pytest.raises(ValueError):
        WeightAverage(_model(), decay)
