import pytest
import torch

from poselift.errors import PoseliftError
from poselift.models.folded import FoldedLifter
from poselift.models.temporal import ModelConfig, TemporalModel, TemporalModelStrided

from helpers import randomise_bn


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("arc", [[3, 3, 3], [5, 3], [1]])
def test_folded_lifter_equals_the_model(arc, causal, dense):
    torch.manual_seed(1)
    model = randomise_bn(TemporalModel(ModelConfig(filter_widths=arc, channels=40, causal=causal, dense=dense))).eval()
    folded = FoldedLifter(model)
    for n, t in ((1, model.receptive_field), (2, model.receptive_field + 37)):
        x = torch.randn(n, t, 17, 2)
        with torch.no_grad():
            assert torch.allclose(folded(x), model(x), atol=1e-4)


def test_folded_rejects_bad_input_and_other_models():
    model = TemporalModel(ModelConfig(filter_widths=[3, 3], channels=8)).eval()
    folded = FoldedLifter(model)
    with pytest.raises(PoseliftError, match="shorter than the receptive field"):
        folded(torch.zeros(1, 8, 17, 2))
    with pytest.raises(PoseliftError, match="expects input"):
        folded(torch.zeros(1, 9, 15, 2))
    with pytest.raises(PoseliftError, match="dilated"):
        FoldedLifter(TemporalModelStrided(model.cfg))


def test_bf16_folded_stays_close():
    torch.manual_seed(0)
    model = randomise_bn(TemporalModel(ModelConfig(filter_widths=[3, 3], channels=64))).eval()
    x = torch.randn(1, 40, 17, 2)
    with torch.no_grad():
        ref = model(x)
    low = FoldedLifter(model).to_dtype(torch.bfloat16)(x)
    assert low.dtype == torch.float32
    assert (low - ref).abs().max() < 0.05 * ref.abs().max()
