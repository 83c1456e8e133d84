"""Dilated temporal convolutional lifter (Pavllo et al., CVPR 2019, section 3).

Two twins share one parameter layout, so their ``state_dict`` are interchangeable:

* :class:`TemporalModel` — dilated convolutions; runs over a whole sequence of any length
  ``T >= receptive_field`` and returns ``T - receptive_field + 1`` frames, reusing states.
* :class:`TemporalModelStrided` — the training-time twin for single-frame prediction:
  strided convolutions (stride = kernel width) skip the states that are never used.
  Input length = receptive field, one output frame.

Input (N, T, J_in, 2), output (N, T', J_out, 3).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import PoseliftError
from .config import (ModelConfig, causal_shift, parameter_estimate, parse_filter_widths,  # noqa: F401 (re-exported)
                     receptive_field)


def check_input(x: torch.Tensor, cfg: ModelConfig, min_frames: int | None = None) -> None:
    """Refuse input that is not (N, T, J_in, features) for ``cfg``, or shorter than ``min_frames``."""
    if x.dim() != 4 or x.shape[-2] != cfg.joints_in or x.shape[-1] != cfg.in_features:
        raise PoseliftError(f"model expects input (N, T, {cfg.joints_in}, {cfg.in_features}), got {tuple(x.shape)}")
    if min_frames is not None and x.shape[1] < min_frames:
        raise PoseliftError(
            f"sequence of {x.shape[1]} frames is shorter than the receptive field ({min_frames}); pad it first"
        )


class _TemporalBase(nn.Module):
    """Shared layers: expand conv + B residual blocks + shrink conv; twins differ in wiring."""

    def __init__(self, cfg: ModelConfig, strided: bool):
        super().__init__()
        self.cfg = cfg
        fw = list(cfg.filter_widths)
        C = cfg.channels
        self.filter_widths = fw
        self.pad = [fw[0] // 2]
        self.causal_shifts = [fw[0] // 2 if cfg.causal else 0]
        self.drop = nn.Dropout(cfg.dropout)
        self.relu = nn.ReLU(inplace=True)
        self.expand_conv = nn.Conv1d(
            cfg.joints_in * cfg.in_features, C, fw[0], stride=fw[0] if strided else 1, bias=False
        )
        self.expand_bn = nn.BatchNorm1d(C, momentum=0.1)
        convs, bns = [], []
        dilation = fw[0]
        for w in fw[1:]:
            self.pad.append((w - 1) * dilation // 2)
            if strided:
                self.causal_shifts.append(w // 2 if cfg.causal else 0)
                convs.append(nn.Conv1d(C, C, w, stride=w, bias=False))
            else:
                self.causal_shifts.append((w // 2) * dilation if cfg.causal else 0)
                if cfg.dense:
                    convs.append(nn.Conv1d(C, C, 2 * self.pad[-1] + 1, dilation=1, bias=False))
                else:
                    convs.append(nn.Conv1d(C, C, w, dilation=dilation, bias=False))
            bns.append(nn.BatchNorm1d(C, momentum=0.1))
            convs.append(nn.Conv1d(C, C, 1, bias=False))
            bns.append(nn.BatchNorm1d(C, momentum=0.1))
            dilation *= w
        self.layers_conv = nn.ModuleList(convs)
        self.layers_bn = nn.ModuleList(bns)
        self.shrink = nn.Conv1d(C, cfg.joints_out * 3, 1)
        if strided and cfg.dense:
            raise PoseliftError("the strided twin has no dense variant")
        self.fast = False  # strided twin: compute as matrix products (see :mod:`.fast`)
        self.sync_bn = False  # fast path, distributed training: batch statistics over all processes

    @property
    def receptive_field(self) -> int:
        return 1 + 2 * sum(self.pad)

    @property
    def total_causal_shift(self) -> int:
        return causal_shift(self.filter_widths, self.cfg.causal)

    def set_bn_momentum(self, momentum: float) -> None:
        self.expand_bn.momentum = momentum
        for bn in self.layers_bn:
            bn.momentum = momentum

    def _check_input(self, x: torch.Tensor) -> None:
        check_input(x, self.cfg)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk: (N, T, J_in, 2) → features (N, C, T') before the output layer."""
        self._check_input(x)
        n, t = x.shape[:2]
        x = x.reshape(n, t, -1).transpose(1, 2)
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for i in range(len(self.pad) - 1):
            res = self._skip(x, i)
            x = self.drop(self.relu(self.layers_bn[2 * i](self.layers_conv[2 * i](x))))
            x = res + self.drop(self.relu(self.layers_bn[2 * i + 1](self.layers_conv[2 * i + 1](x))))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.shrink(self.features(x))
        return x.transpose(1, 2).reshape(n, -1, self.cfg.joints_out, 3)


class TemporalModel(_TemporalBase):
    """Dilated (or dense) temporal model; runs over whole sequences."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, strided=False)

    def _skip(self, x, i):
        pad, shift = self.pad[i + 1], self.causal_shifts[i + 1]
        return x[:, :, pad + shift : x.shape[2] - pad + shift]

    def _check_input(self, x):
        check_input(x, self.cfg, self.receptive_field)


class TemporalModelStrided(_TemporalBase):
    """Strided twin for training on clips of exactly ``receptive_field`` frames."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, strided=True)

    def _skip(self, x, i):
        w = self.filter_widths[i + 1]
        return x[:, :, self.causal_shifts[i + 1] + w // 2 :: w]

    def features(self, x):
        if self.fast:
            from .fast import strided_features

            self._check_input(x)
            return strided_features(self, x).transpose(1, 2)
        return super().features(x)

    def forward(self, x):
        if self.fast:
            from .fast import strided_forward

            return strided_forward(self, x)
        return super().forward(x)

    def _check_input(self, x):
        super()._check_input(x)
        if x.shape[1] != self.receptive_field:
            raise PoseliftError(
                f"the strided model takes clips of exactly {self.receptive_field} frames, got {x.shape[1]}"
            )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def flops_per_frame(model: _TemporalBase) -> int:
    """Multiply-add FLOPs (x2) of the convolutions per output frame over a long sequence.

    Every layer of the dilated model computes one output per frame, so the cost per frame
    is twice the number of convolution weights (matrix multiplications only, as in the
    paper's Table 5).
    """
    return 2 * sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv1d))


def model_info(cfg: ModelConfig) -> dict:
    m = TemporalModel(cfg)
    return {
        "params": count_parameters(m),
        "receptive_field": m.receptive_field,
        "flops_per_frame": flops_per_frame(m),
        "causal_shift": m.total_causal_shift,
    }
