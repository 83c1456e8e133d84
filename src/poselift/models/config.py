"""The lifter's architecture as settings (no torch: the command line builds its flags from it).

:class:`ModelConfig` and what follows from the settings alone: the receptive field, the causal
shift, the parameter count. :mod:`poselift.models.temporal` builds the networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
