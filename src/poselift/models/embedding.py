"""A view-invariant pose embedding with a 3D pose head (multi-view consistent training, MCSS).

The temporal model's trunk (expand layer + residual blocks, dilated or strided twin, any
receptive field including a single frame) maps a window of 2D keypoints to features; a
1×1 layer maps them to ``embed_dim`` numbers, normalised to unit length (the embedding),
and ``view_dim`` more (the view code). A small head (1×1 conv → BN → ReLU → dropout → 1×1
conv) regresses the root-relative 3D pose in the camera frame from both. The view code is
needed because an embedding that is the same from every camera cannot say how the body is
turned relative to this one; it is kept small so that the pose itself has to come through
the embedding.

With ``pose_from="trunk"`` the head reads the trunk's features instead: the embedding is then
a side branch (a projection head, as in contrastive learning) through which the multi-view
loss shapes the trunk without forcing the pose itself through a view-invariant code.

``forward`` returns the pose (N, T', J_out, 3), like every lifter, so the evaluator and
the inference pipeline take an embedder as they take a lifter; :meth:`embed` returns the
embedding (N, T', embed_dim).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .temporal import ModelConfig, TemporalModel, TemporalModelStrided

HEAD_CHANNELS = 512


class PoseEmbedder(nn.Module):
    def __init__(self, cfg: ModelConfig, strided: bool = False):
        super().__init__()
        if cfg.embed_dim < 1:
            raise ValueError("a pose embedder needs embed_dim >= 1")
        self.cfg = cfg
        trunk_cfg = ModelConfig.from_dict(dict(cfg.to_dict(), embed_dim=0))
        self.trunk = TemporalModelStrided(trunk_cfg) if strided else TemporalModel(trunk_cfg)
        del self.trunk.shrink  # the trunk's own output layer is replaced by the embedding
        self.embed_layer = nn.Conv1d(cfg.channels, cfg.embed_dim + cfg.view_dim, 1)
        head_in = cfg.channels if cfg.pose_from == "trunk" else cfg.embed_dim + cfg.view_dim
        self.head = nn.Sequential(
            nn.Conv1d(head_in, HEAD_CHANNELS, 1, bias=False),
            nn.BatchNorm1d(HEAD_CHANNELS, momentum=0.1),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Conv1d(HEAD_CHANNELS, cfg.joints_out * 3, 1),
        )

    @property
    def receptive_field(self) -> int:
        return self.trunk.receptive_field

    @property
    def total_causal_shift(self) -> int:
        return self.trunk.total_causal_shift

    def set_bn_momentum(self, momentum: float) -> None:
        self.trunk.set_bn_momentum(momentum)
        self.head[1].momentum = momentum

    def _codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(unit embedding (N, D, T'), view code (N, V, T'), trunk features (N, C, T'))."""
        features = self.trunk.features(x)
        out = self.embed_layer(features)
        d = self.cfg.embed_dim
        return F.normalize(out[:, :d], dim=1), out[:, d:], features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, J_in, 2) → unit embeddings (N, T', embed_dim)."""
        return self._codes(x)[0].transpose(1, 2)

    def _head(self, y: torch.Tensor) -> torch.Tensor:
        y = self.head(y)
        return y.transpose(1, 2).reshape(y.shape[0], -1, self.cfg.joints_out, 3)

    def pose_from(self, embedding: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        """The head on embedding (N, D, T') + view code (N, V, T') → poses (N, T', J_out, 3)
        (``pose_from="embedding"`` only)."""
        return self._head(torch.cat([embedding, view], dim=1))

    def embed_and_pose(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both outputs of one pass: embeddings (N, T', D) and poses (N, T', J_out, 3)."""
        e, v, features = self._codes(x)
        pose = self._head(features) if self.cfg.pose_from == "trunk" else self.pose_from(e, v)
        return e.transpose(1, 2), pose

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed_and_pose(x)[1]
