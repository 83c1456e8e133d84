"""Inference form of the dilated lifter: batch norm folded into the convolutions.

In evaluation mode every batch norm is an affine map per channel, so it folds into the
convolution before it: W' = W·γ/σ, b' = β − μ·γ/σ. What is left is a chain of
convolutions with bias and ReLU, computed here channels-last (N, T, C): a layer of width
w and dilation d is the sum of w matrix products of time-shifted views of its input, each
a plain (T, C) block when N = 1, so the work goes to the BLAS. The same folded layers
drive :class:`~poselift.stream.Stream`, one frame at a time.

:class:`FoldedLifter` takes the input and gives the output of the model it was folded
from, to rounding (1e-4 is tested): (N, T, J_in, 2) → (N, T − rf + 1, J_out, 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import PoseliftError
from .temporal import TemporalModel, check_input


@dataclass
class FoldedLayer:
    """One convolution with its batch norm folded in: ``weight`` (C_out, w·C_in), taps
    ordered oldest first; tap k reads input frame t + k·dilation for output frame t."""

    weight: torch.Tensor
    bias: torch.Tensor
    width: int
    dilation: int

    @property
    def span(self) -> int:
        """Input frames one output frame depends on."""
        return (self.width - 1) * self.dilation + 1

    def taps(self) -> list[torch.Tensor]:
        c_in = self.weight.shape[1] // self.width
        return [self.weight[:, k * c_in:(k + 1) * c_in] for k in range(self.width)]


def fold(conv: nn.Conv1d, bn: nn.BatchNorm1d | None) -> FoldedLayer:
    w = conv.weight.detach().to(torch.float64)
    b = conv.bias.detach().to(torch.float64) if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * scale[:, None, None]
        b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
    matrix = w.permute(0, 2, 1).reshape(w.shape[0], -1)  # (C_out, w * C_in), frame-major
    dtype = conv.weight.dtype
    return FoldedLayer(matrix.to(dtype).contiguous(), b.to(dtype).contiguous(), conv.kernel_size[0],
                       conv.dilation[0])


class FoldedLifter(nn.Module):
    """A :class:`~.temporal.TemporalModel` (dilated or dense) folded for inference."""

    def __init__(self, model: TemporalModel):
        super().__init__()
        if not isinstance(model, TemporalModel):
            raise PoseliftError("only the dilated temporal lifter can be folded (not a strided twin or an embedder)")
        self.cfg = model.cfg
        self.receptive_field = model.receptive_field
        self.total_causal_shift = model.total_causal_shift
        self.pad = list(model.pad)
        self.causal_shifts = list(model.causal_shifts)
        self.expand = fold(model.expand_conv, model.expand_bn)
        self.blocks = [(fold(model.layers_conv[2 * i], model.layers_bn[2 * i]),
                        fold(model.layers_conv[2 * i + 1], model.layers_bn[2 * i + 1]))
                       for i in range(len(model.layers_conv) // 2)]
        self.shrink = fold(model.shrink, None)

    def layers(self) -> list[FoldedLayer]:
        return [self.expand, *[layer for block in self.blocks for layer in block], self.shrink]

    def to_dtype(self, dtype: torch.dtype, output: torch.dtype | None = None) -> "FoldedLifter":
        """Weights (and so activations) in ``dtype``; the output layer in ``output`` (default
        ``dtype``): bf16 steps are 1/256 of a value, 3 cm at a root 5 m away, so a model that
        outputs the root's camera position keeps its last layer in fp32."""
        for layer in self.layers():
            d = output if output is not None and layer is self.shrink else dtype
            layer.weight, layer.bias = layer.weight.to(d), layer.bias.to(d)
        return self

    def to_device(self, device) -> "FoldedLifter":
        for layer in self.layers():
            layer.weight, layer.bias = layer.weight.to(device), layer.bias.to(device)
        return self

    @staticmethod
    def _conv(x: torch.Tensor, layer: FoldedLayer) -> torch.Tensor:
        """(N, T, C_in) → (N, T − span + 1, C_out), no activation."""
        t_out = x.shape[1] - layer.span + 1
        out = None
        for k, w in enumerate(layer.taps()):
            part = x[:, k * layer.dilation:k * layer.dilation + t_out]
            out = torch.matmul(part, w.t()) if out is None else out.add_(torch.matmul(part, w.t()))
        return out.add_(layer.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        x = torch.relu_(self._conv(x.reshape(n, t, -1).to(self.expand.weight.dtype), self.expand))
        for i, (conv, pointwise) in enumerate(self.blocks):
            start = self.pad[i + 1] + self.causal_shifts[i + 1]
            res = x[:, start:x.shape[1] - 2 * self.pad[i + 1] + start]
            x = torch.relu_(self._conv(x, conv))
            x = torch.relu_(self._conv(x, pointwise)).add_(res)
        return x

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.cfg, self.receptive_field)
        y = self._conv(self.features(x).to(self.shrink.weight.dtype), self.shrink)
        return y.float().reshape(x.shape[0], -1, self.cfg.joints_out, 3)


PRECISIONS = ("fp32", "bf16", "reference")


def inference_model(model, precision: str = "fp32"):
    """The fastest form of ``model`` for inference: a dilated lifter folded (fp32, or bf16
    weights and activations); ``reference`` (or any other kind of model): ``model`` itself."""
    if precision not in PRECISIONS:
        raise PoseliftError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "reference" or not isinstance(model, TemporalModel):
        return model
    device = next(model.parameters()).device
    folded = FoldedLifter(model.eval())
    if precision == "bf16":
        folded.to_dtype(torch.bfloat16)
    return folded.to_device(device) if device.type != "cpu" else folded
