"""The model factory: the dilated lifter, its strided twin, or the pose embedder, from a config.

Above :mod:`.temporal` and :mod:`.embedding` (the embedder wraps a temporal trunk), so both
are imported one way only.
"""

from __future__ import annotations

import torch.nn as nn

from .embedding import PoseEmbedder
from .fast import frame_major
from .temporal import ModelConfig, TemporalModel, TemporalModelStrided

__all__ = ["build_model"]


def build_model(cfg: ModelConfig, strided: bool = False, fast: bool = False) -> nn.Module:
    """The dilated model (or its strided twin); a :class:`~.embedding.PoseEmbedder` when
    ``cfg.embed_dim`` > 0. ``fast``: the strided twin computes as matrix products
    (:mod:`.fast`; same weights, same results up to rounding)."""
    if cfg.embed_dim > 0:
        model = PoseEmbedder(cfg, strided=strided)
        fast_net = model.trunk
    else:
        model = TemporalModelStrided(cfg) if strided else TemporalModel(cfg)
        fast_net = model
    if fast and strided:
        fast_net.fast = True
        frame_major(fast_net)
    return model
