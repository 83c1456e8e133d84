"""Exponential moving average of the weights (Polyak averaging) for evaluation.

Training follows the published recipe unchanged; the averaged copy only reads the weights
after each optimiser step. Its decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after
``n`` updates, so early in a run the average spans about the last tenth of the steps taken
and never more than ``1 / (1 - decay)`` steps. BatchNorm running statistics are averaged
the same way; the batch counter is copied.
"""

from __future__ import annotations

import torch


class WeightAverage:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        d = self.current_decay()
        for k, v in model.state_dict().items():
            mine = self.tensors[k]
            if v.is_floating_point():
                mine.mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                mine.copy_(v)
        self.updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.tensors

    def load(self, tensors: dict[str, torch.Tensor], updates: int) -> None:
        missing = set(self.tensors) - set(tensors)
        if missing:
            raise KeyError(f"weight average lacks {len(missing)} tensors")
        for k in self.tensors:
            self.tensors[k].copy_(tensors[k])
        self.updates = updates

    def copy_to(self, model: torch.nn.Module) -> None:
        model.load_state_dict(self.tensors)
