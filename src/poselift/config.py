"""One config system: typed dataclasses, read from TOML, overridden on the command line.

A TOML file mirrors the dataclass: top-level keys are :class:`TrainConfig` fields and a
``[model]`` table holds :class:`~poselift.models.temporal.ModelConfig` fields. Command-line
flags that the user actually gave override the file.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import PoseliftError
from .models.temporal import ModelConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class TrainConfig:
    """Supervised training (the published recipe by default)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: str = "cmu"  # cmu, h36m, humaneva (3dhp: evaluation only)
    train_dir: str = ""  # cmu: the folder of cmu_*.npz
    dataset: str = ""  # other datasets: the prepared file (poselift prepare ...)
    keypoints: str = "gt"  # other datasets: the 2D source to train on (gt, cpn_ft_h36m_dbb, ...)
    subjects: str = ""  # (labeled) training subjects, comma-separated (default: all / the protocol's)
    actions: str = ""  # other datasets: only these actions (descriptions), comma-separated
    subset: float = 1.0  # fraction of each labeled clip used (a contiguous, seeded part)
    calibration: str = ""  # cameras JSON; empty = the bundled Human3.6M calibration
    checkpoint_dir: str = "runs/train"
    epochs: int = 0  # 0 = derive from samples
    samples: int = 0  # budget in training clips drawn (flipped copies included)
    batch_size: int = 1024
    lr: float = 1e-3
    lr_decay: float = 0.95
    bn_momentum_start: float = 0.1
    bn_momentum_end: float = 0.001
    flip: bool = True
    stride: int = 1  # frames predicted per training clip (1 = strided twin)
    frame_stride: int = 1  # keep every n-th target frame
    downsample: int = 1  # temporal subsampling of the sequences
    random_cameras: int = 0  # random virtual cameras per clip, besides the rig
    rig_cameras: bool = True  # view each clip through its subject's Human3.6M rig
    input_layout: str = "h36m17"  # 2D input joints: h36m17 or coco17
    detector_noise: bool = False  # synthetic detector noise on the training 2D
    detector_errors: bool = False  # keypoint offsets, left/right swaps and missed joints on the training 2D
    body_proportions: bool = False  # each training view on a body of its own size and proportions
    target: str = "pose"  # "pose" (root-relative joints) or "trajectory" (root in the camera frame)
    seed: int = 1234
    threads: int = 0  # torch threads; 0 = torch's default
    engine: str = "fast"  # strided training: "fast" (matrix products, channels-last) or "reference" (nn.Conv1d)
    device: str = "cpu"  # cpu, cuda, cuda:N or auto
    precision: str = "fp32"  # "bf16": mixed precision (autocast; weights and batch norm stay fp32)
    checkpoint_every: int = 200  # mid-epoch checkpoint every N steps (0 = at epoch ends only)
    ema: float = 0.999  # decay of the exported weight average (0 = export the raw weights, as published)
    init: str = ""  # fine-tuning: start from the weights of this model checkpoint (CLI "default": the bundled one)
    # semi-supervised back-projection (on when unlabeled subjects are given)
    unlabeled_subjects: str = ""  # subjects whose 2D only is used, comma-separated; "rest" = the other ones
    warmup: int = 1  # epochs on labeled data only before the unlabeled losses start
    bone_length: bool = True  # match the unlabeled predictions' mean bone lengths to the labeled ones'
    linear_projection: bool = False  # project without lens distortion

    # multi-view consistent training (MCSS) of a pose embedder (model.embed_dim > 0)
    multiview: bool = False
    label_fraction: float = 1.0  # fraction of each clip whose 3D is used (a contiguous, seeded part)
    margin: float = 0.2  # triplet margin on squared distances of unit embeddings
    window: int = 25  # frames around the anchor that are never negatives (0.5 s at 50 Hz)
    multiview_weight: float = 1.0  # 0 = the supervised-only baseline (labeled instants only)
    mining: str = "semihard"  # negatives: "semihard" (farther than the positive) or "hardest"
    back_projection: bool = False  # multi-view: also the back-projection losses on the unlabeled instants

    @property
    def semi_supervised(self) -> bool:
        return bool(self.unlabeled_subjects.strip())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        model = d.pop("model", {}) or {}
        if not isinstance(model, dict):
            raise PoseliftError(f"config key 'model' must be a table of model settings, got {model!r:.40}")
        unknown = [k for k in d if k not in cls.__dataclass_fields__]
        if unknown:
            raise PoseliftError(f"unknown config key(s): {', '.join(unknown)}")
        return cls(model=ModelConfig.from_dict(check_types(ModelConfig, model)), **check_types(cls, d))

    @property
    def input_norm(self) -> str:
        """Screen normalisation for poses; intrinsics normalisation for trajectories."""
        return "intrinsic" if self.target == "trajectory" else "screen"

    def check_numbers(self) -> None:
        """Every number finite and in range (:data:`poselift.checks.LIMITS`; the model's own
        settings are checked when its :class:`ModelConfig` is made); errors name the config key."""
        from .checks import LIMITS

        for key in self.__dataclass_fields__:
            if key in LIMITS:
                setattr(self, key, LIMITS[key].check(f"config key {key!r}", getattr(self, key)))
        if not isinstance(self.model, ModelConfig):
            raise PoseliftError(f"config key 'model' must be a ModelConfig, got {self.model!r:.40}")

    def validate(self) -> None:
        self.check_numbers()
        if self.target not in ("pose", "trajectory"):
            raise PoseliftError(f"target must be 'pose' or 'trajectory', got {self.target!r}")
        from .data.protocols import DATASETS

        if self.data not in DATASETS:
            raise PoseliftError(f"unknown dataset {self.data!r} (known: {', '.join(DATASETS)})")
        if self.data != "cmu" and not self.dataset:
            raise PoseliftError(f"give the prepared {self.data} file: --dataset FILE (made by poselift prepare)")
        if self.semi_supervised and self.target != "pose":
            raise PoseliftError("semi-supervised training (unlabeled subjects) trains a pose model: drop --target")
        if self.multiview and self.semi_supervised:
            raise PoseliftError("multi-view training takes its unlabeled data from the clips' unlabeled stretches: "
                                "drop -sun (and add --back-projection for the back-projection losses)")
        if self.engine not in ("fast", "reference"):
            raise PoseliftError(f"engine must be 'fast' or 'reference', got {self.engine!r}")
        if self.precision not in ("fp32", "bf16"):
            raise PoseliftError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        if self.mining not in ("semihard", "hardest"):
            raise PoseliftError(f"mining must be 'semihard' or 'hardest', got {self.mining!r}")
        if self.back_projection and not self.multiview:
            raise PoseliftError("--back-projection goes with --multiview (semi-supervised training: -sun SUBJECTS)")
        if self.multiview and self.model.embed_dim < 1:
            raise PoseliftError("multi-view training needs an embedding size: --embed-dim N")
        if not 0 < self.label_fraction <= 1 or self.window < 0 or self.margin < 0 or self.multiview_weight < 0:
            raise PoseliftError("label fraction must be in (0, 1]; window, margin and multi-view weight >= 0")
        if self.warmup < 0:
            raise PoseliftError(f"warmup must be >= 0 epochs, got {self.warmup}")
        if not 0 < self.subset <= 1:
            raise PoseliftError(f"subset must be in (0, 1], got {self.subset}")
        if self.input_layout not in ("h36m17", "coco17"):
            raise PoseliftError(f"input layout must be 'h36m17' or 'coco17', got {self.input_layout!r}")
        if self.target == "trajectory" and self.model.joints_out != 1:
            raise PoseliftError("a trajectory model predicts one joint: use --joints-out 1")
        if self.epochs <= 0 and self.samples <= 0:
            raise PoseliftError("give a training budget: --epochs N or --samples N")
        if self.batch_size < 1 or self.stride < 1 or self.frame_stride < 1 or self.downsample < 1:
            raise PoseliftError("batch size, stride, frame stride and downsample must be >= 1")
        if not (0 <= self.ema < 1):
            raise PoseliftError(f"EMA decay must be in [0, 1), got {self.ema}")
        if not (0 < self.bn_momentum_end <= self.bn_momentum_start <= 1):
            raise PoseliftError("BN momentum must satisfy 0 < end <= start <= 1")


def check_types(cls, values: dict) -> dict:
    """``values`` for the fields of dataclass ``cls``, each of its field's type (ints are
    taken for floats); a :class:`PoseliftError` names the first that is not."""
    out = {}
    for key, value in values.items():
        f = cls.__dataclass_fields__.get(key)
        if f is None:
            out[key] = value
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        want = type(default)
        ok = isinstance(value, want) and (want is bool or not isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if want is list:
            ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ok:
            kind = "a list of whole numbers" if want is list else {bool: "true or false", int: "a whole number",
                                                                   float: "a number", str: "text"}.get(want, want.__name__)
            raise PoseliftError(f"config key {key!r} must be {kind}, got {value!r:.40}")
        out[key] = value
    return out


def load_toml(path) -> dict:
    from .data.filetype import check_input_file

    path = Path(path)
    check_input_file(path, "a TOML config file", max_bytes=16 << 20, missing="config file not found")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PoseliftError("config file not found", path) from None
    except tomllib.TOMLDecodeError as e:
        raise PoseliftError(f"not valid TOML ({e})", path) from None
    except UnicodeDecodeError:
        raise PoseliftError("not valid TOML (not UTF-8 text)", path) from None
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror or e})", path) from None


def merge(base: dict, overrides: dict) -> dict:
    """Recursive dict merge; values of ``overrides`` win."""
    out = dict(base)
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def field_names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}
