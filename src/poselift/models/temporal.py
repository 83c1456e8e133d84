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

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from ..errors import PoseliftError
from ..settings import MUST_MATCH, setting


def parse_filter_widths(text: str) -> list[int]:
    """``-arc/--architecture``: comma-separated odd filter widths such as ``3,3,3``."""
    from math import prod

    from ..checks import MAX_LAYERS, MAX_RECEPTIVE_FIELD

    bad = PoseliftError(f"-arc/--architecture must be comma-separated odd filter widths, e.g. 3,3,3, at most "
                        f"{MAX_LAYERS} of them and a receptive field of at most {MAX_RECEPTIVE_FIELD} frames, "
                        f"got {text!r}")
    try:
        widths = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise bad from None
    if not widths or len(widths) > MAX_LAYERS or any(w < 1 or w % 2 == 0 for w in widths):
        raise bad
    if 1 + sum((w - 1) * prod(widths[:i]) for i, w in enumerate(widths)) > MAX_RECEPTIVE_FIELD:
        raise bad
    return widths


@dataclass
class ModelConfig:
    """Architecture of the temporal lifter (names follow the reference release's flags).

    Each field is declared once with :func:`poselift.settings.setting`: its flag, help and
    resume rule (every model setting must match on ``--resume``: they are the network)."""

    filter_widths: list[int] = setting(
        factory=lambda: [3, 3, 3], flag=("-arc", "--architecture"), metavar="W,W,...", parse=parse_filter_widths,
        group="model", resume=MUST_MATCH,
        help="filter widths of the temporal convolutions, e.g. 3,3,3 (receptive field 27 frames)")
    channels: int = setting(1024, flag=("-ch", "--channels"), group="model", resume=MUST_MATCH,
                            help="channels of each convolution layer")
    dropout: float = setting(0.25, flag=("-drop", "--dropout"), group="model", resume=MUST_MATCH,
                             help="dropout probability")
    causal: bool = setting(False, flag="--causal", group="model", resume=MUST_MATCH,
                           help="causal convolutions: each output sees only past frames (for streaming)")
    dense: bool = setting(False, flag="--dense", group="model", resume=MUST_MATCH,
                          help="dense convolutions (ablation)")
    joints_in: int = setting(17, flag="--joints-in", group="model", resume=MUST_MATCH, help="2D input joints")
    joints_out: int = setting(17, flag="--joints-out", group="model", resume=MUST_MATCH,
                              help="3D output joints (1 for a trajectory model)")
    in_features: int = setting(2, flag=None, group="model", resume=MUST_MATCH,
                               help="numbers per input joint (2: its x, y)")
    embed_dim: int = setting(0, flag="--embed-dim", group="multi-view", resume=MUST_MATCH,
                             help="embedding size, e.g. 32 (0: no embedder)")  # > 0: a pose embedder, see .embedding
    view_dim: int = setting(8, flag="--view-dim", group="multi-view", resume=MUST_MATCH,
                            help="size of the view code beside the embedding")  # camera-relative orientation
    pose_from: str = setting("embedding", flag="--pose-from", choices=("embedding", "trunk"), group="multi-view",
                             resume=MUST_MATCH,
                             help="the pose head reads the embedding + view code or the trunk features")

    def __post_init__(self):
        """Every field of its type and within bounds (:data:`poselift.checks.LIMITS`), the
        model's size bounded, before anything is allocated: configs come from flags, config
        files and checkpoint metadata."""
        from ..checks import LIMITS, MAX_LAYERS, MAX_PARAMETERS, MAX_RECEPTIVE_FIELD

        fw = self.filter_widths
        if not isinstance(fw, (list, tuple)):
            raise PoseliftError(f"filter widths must be a list of odd whole numbers such as [3, 3, 3], got {fw!r:.40}")
        if not fw:
            raise PoseliftError("architecture needs at least one filter width")
        if len(fw) > MAX_LAYERS or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 or w % 2 == 0
                                       for w in fw):
            raise PoseliftError(f"filter widths must be odd and positive whole numbers, at most {MAX_LAYERS} of "
                                f"them (got {fw!r:.60})")
        self.filter_widths = [int(w) for w in fw]
        if receptive_field(fw) > MAX_RECEPTIVE_FIELD:
            raise PoseliftError(f"architecture {list(fw)} has a receptive field of {receptive_field(fw)} frames; "
                                f"at most {MAX_RECEPTIVE_FIELD} are supported")
        for key in ("channels", "dropout", "joints_in", "joints_out", "in_features", "embed_dim", "view_dim"):
            setattr(self, key, LIMITS[key].check(key, getattr(self, key)))
        for key in ("causal", "dense"):
            if not isinstance(getattr(self, key), bool):
                raise PoseliftError(f"{key} must be true or false, got {getattr(self, key)!r:.40}")
        if self.pose_from not in ("embedding", "trunk"):
            raise PoseliftError(f"pose_from must be 'embedding' or 'trunk', got {self.pose_from!r:.40}")
        n = parameter_estimate(self)
        if n > MAX_PARAMETERS:
            raise PoseliftError(f"this model would have {n:,} parameters ({4 * n / 2**30:.0f} GiB); at most "
                                f"{MAX_PARAMETERS:,} are supported (fewer channels or a narrower architecture)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        if not isinstance(d, dict):
            raise PoseliftError(f"model settings must be a table (dict) of settings, got {d!r:.40}")
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def parameter_estimate(cfg: ModelConfig) -> int:
    """The number of weights of ``cfg``'s model, from its settings alone (nothing allocated):
    the convolutions, batch norms and output layer of the trunk (embedders add a little)."""
    fw, C = cfg.filter_widths, cfg.channels
    n = cfg.joints_in * cfg.in_features * C * fw[0] + 2 * C
    dilation = fw[0]
    for w in fw[1:]:
        k = (w - 1) * dilation + 1 if cfg.dense else w
        n += C * C * k + C * C + 4 * C
        dilation *= w
    return n + C * cfg.joints_out * 3 + (C + 1) * (cfg.embed_dim + cfg.view_dim) * (cfg.embed_dim > 0)


def receptive_field(filter_widths) -> int:
    """1 + sum over layers of (w - 1) * dilation, dilations 1, w0, w0*w1, ..."""
    frames, dilation = 1, 1
    for w in filter_widths:
        frames += (w - 1) * dilation
        dilation *= w
    return frames


def causal_shift(filter_widths, causal: bool) -> int:
    """How many frames the output is shifted to the past (pad = (rf - 1) / 2 when causal)."""
    return (receptive_field(filter_widths) - 1) // 2 if causal else 0


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
