"""One config system: typed dataclasses, read from TOML, overridden on the command line.

A TOML file mirrors the dataclass: top-level keys are :class:`TrainConfig` fields and a
``[model]`` table holds :class:`~poselift.models.temporal.ModelConfig` fields. Command-line
flags that the user actually gave override the file.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import PoseliftError
from .models.config import ModelConfig
from .settings import MAY_CHANGE, MUST_MATCH, setting

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# The sections of ``poselift train --help``, in order: title -> description.
GROUPS: dict[str, str | None] = {
    "data": None,
    "model": None,
    "optimisation": None,
    "augmentation": None,
    "semi-supervised": "on when unlabeled subjects are given",
    "multi-view": "consistent training (MCSS) of a pose embedder on synchronised views",
    "run folder and output": None,
}

M, C = MUST_MATCH, MAY_CHANGE


@dataclass
class TrainConfig:
    """Supervised training (the published recipe by default).

    Each setting is declared once, with :func:`poselift.settings.setting`: its default, its
    flag(s) of ``poselift train`` (or none), help, help group and resume rule. The rule: a
    setting **must match** on ``--resume`` when the rest of the run depends on it (the model,
    the data and its 2D source, cameras and subjects, augmentation, losses, schedule and budget,
    seed, weight average, the weights fine-tuning starts from); it **may change** when it only
    says where the run computes, how fast or in which number format, or where and how often its
    progress is written: ``device``, ``threads``, ``engine``, ``precision``, ``checkpoint_dir``,
    ``checkpoint_every``. :meth:`poselift.train.supervised.Trainer.resume` compares exactly the
    must-match ones (:func:`poselift.settings.must_match`).
    """

    model: ModelConfig = setting(factory=ModelConfig, flag=None, group="model", resume=M,
                                 help="the network (the [model] table; its own flags)")
    # data
    data: str = setting("cmu", flag="--data", choices=("cmu", "h36m", "humaneva"), group="data", resume=M,
                        help="dataset")  # 3dhp: evaluation only
    train_dir: str = setting("", flag="--train-dir", metavar="DIR", group="data", resume=M,
                             help="cmu: folder of cmu_*.npz training files (several: comma-separated, e.g. "
                                  "train,train_extra)")
    dataset: str = setting("", flag="--dataset", metavar="FILE", group="data", resume=M,
                           help="h36m/humaneva: the prepared file (poselift prepare ...)")
    keypoints: str = setting("gt", flag=("-k", "--keypoints"), group="data", resume=M,
                             help="h36m/humaneva: 2D source (gt, cpn_ft_h36m_dbb, ...)")
    subjects: str = setting("", flag=("-str", "--subjects"), group="data", resume=M,
                            help="(labeled) training subjects, comma-separated (default: all / the protocol's)")
    actions: str = setting("", flag="--actions", group="data", resume=M,
                           help="only these actions, comma-separated (default: all)")
    subset: float = setting(1.0, flag="--subset", group="data", resume=M,
                            help="fraction of each labeled clip to use (a contiguous, seeded part)")
    calibration: str = setting("", flag="--calibration", metavar="JSON", group="data", resume=M,
                               help="cameras JSON (default: bundled Human3.6M)")
    checkpoint_dir: str = setting("runs/train", flag=("--checkpoint-dir", "-c"), metavar="DIR",
                                  group="run folder and output", resume=C,
                                  help="the run's folder: checkpoints, config.json, the exported model")
    # schedule and budget
    epochs: int = setting(0, flag=("-e", "--epochs"), group="optimisation", resume=M,
                          help="training epochs (0: derived from --samples)")
    samples: int = setting(0, flag="--samples", group="optimisation", resume=M,
                           help="budget in training clips drawn, flipped copies included (0: derived from --epochs)")
    batch_size: int = setting(1024, flag=("-b", "--batch-size"), group="optimisation", resume=M,
                              help="training clips per batch")
    lr: float = setting(1e-3, flag=("-lr", "--learning-rate"), group="optimisation", resume=M,
                        help="initial learning rate (Adam)")
    lr_decay: float = setting(0.95, flag=("-lrd", "--lr-decay"), group="optimisation", resume=M,
                              help="learning-rate factor per epoch")
    bn_momentum_start: float = setting(0.1, flag=None, group="optimisation", resume=M,
                                       help="batch-norm momentum in the first epoch (config file only)")
    bn_momentum_end: float = setting(0.001, flag=None, group="optimisation", resume=M,
                                     help="batch-norm momentum in the last epoch, decayed exponentially from "
                                          "bn_momentum_start (config file only)")
    flip: bool = setting(True, flag="--no-flip", group="augmentation", resume=M, help="no flip augmentation")
    stride: int = setting(1, flag=("-s", "--stride"), group="optimisation", resume=M,
                          help="frames predicted per training clip (1: the strided twin)")
    frame_stride: int = setting(1, flag="--frame-stride", group="data", resume=M,
                                help="use every n-th frame as a target")
    downsample: int = setting(1, flag="--downsample", group="data", resume=M,
                              help="temporal subsampling factor of the sequences")
    random_cameras: int = setting(0, flag="--random-cameras", group="augmentation", resume=M,
                                  help="random virtual cameras per clip, besides the rig")
    rig_cameras: bool = setting(True, flag="--no-rig-cameras", group="augmentation", resume=M,
                                help="random cameras only (needs --random-cameras)")  # on: each subject's rig
    input_layout: str = setting("h36m17", flag="--input-layout", choices=("h36m17", "coco17"), group="data",
                                resume=M, help="2D input joints (coco17: what detectors give)")
    detector_noise: bool = setting(False, flag="--detector-noise", group="augmentation", resume=M,
                                   help="synthetic detector noise on training 2D")
    detector_errors: bool = setting(False, flag="--detector-errors", group="augmentation", resume=M,
                                    help="also a real detector's failures on training 2D: keypoint offsets from "
                                         "the joint centres, left/right swaps, missed joints bridged by "
                                         "interpolation")
    body_proportions: bool = setting(False, flag="--body-proportions", group="augmentation", resume=M,
                                     help="each training view on a body of its own size and proportions (bones "
                                          "rigid within it)")
    target: str = setting("pose", flag="--target", choices=("pose", "trajectory"), group="model", resume=M,
                          help="pose: root-relative joints; trajectory: the root in the camera frame (use "
                               "--joints-out 1)")
    seed: int = setting(1234, flag="--seed", group="optimisation", resume=M, help="random seed")
    # where and how fast it runs: may change on resume
    threads: int = setting(0, flag="--threads", group="optimisation", resume=C,
                           help="torch threads (0: torch's default)")
    engine: str = setting("fast", flag="--engine", choices=("fast", "reference"), group="optimisation", resume=C,
                          help="strided training as matrix products (fast) or plain nn.Conv1d (reference)")
    device: str = setting("cpu", flag="--device", group="optimisation", resume=C,
                          help="cpu, cuda, cuda:N or auto")
    precision: str = setting("fp32", flag="--precision", choices=("fp32", "bf16"), group="optimisation",
                             resume=C, help="bf16: mixed precision (fast on GPUs and CPUs with AMX/AVX512-BF16)")
    checkpoint_every: int = setting(200, flag="--checkpoint-every", group="run folder and output", resume=C,
                                    help="steps between mid-epoch checkpoints (0: at epoch ends only)")
    ema: float = setting(0.999, flag="--ema", group="optimisation", resume=M,
                         help="export an exponential moving average of the weights with this decay "
                              "(0: the raw weights, as published)")
    init: str = setting("", flag="--init", metavar="CHECKPOINT", group="model", resume=M,
                        help="fine-tune: start from these weights (a model.safetensors; 'default': the bundled "
                             "model for --input-layout); the model's settings are the checkpoint's")
    # semi-supervised back-projection (on when unlabeled subjects are given)
    unlabeled_subjects: str = setting("", flag=("-sun", "--subjects-unlabeled"), metavar="SUBJECTS",
                                      group="semi-supervised", resume=M,
                                      help="subjects used as 2D only, comma-separated, or 'rest' (the others)")
    warmup: int = setting(1, flag="--warmup", group="semi-supervised", resume=M,
                          help="epochs on labeled data only before the unlabeled losses start")
    bone_length: bool = setting(True, flag="--no-bone-length", group="semi-supervised", resume=M,
                                help="no bone-length term")  # on: unlabeled mean bone lengths match labeled ones
    linear_projection: bool = setting(False, flag="--linear-projection", group="semi-supervised", resume=M,
                                      help="project without lens distortion")

    # multi-view consistent training (MCSS) of a pose embedder (model.embed_dim > 0)
    multiview: bool = setting(False, flag="--multiview", group="multi-view", resume=M,
                              help="train a pose embedder (needs --embed-dim)")
    label_fraction: float = setting(1.0, flag="--label-fraction", group="multi-view", resume=M,
                                    help="fraction of each clip whose 3D is used (a contiguous, seeded part)")
    margin: float = setting(0.2, flag="--margin", group="multi-view", resume=M,
                            help="triplet margin on squared distances of unit embeddings")
    window: int = setting(25, flag="--window", group="multi-view", resume=M,
                          help="frames around the anchor that are never negatives")  # 0.5 s at 50 Hz
    multiview_weight: float = setting(1.0, flag="--multiview-weight", group="multi-view", resume=M,
                                      help="weight of the multi-view loss (0: the supervised-only baseline)")
    mining: str = setting("semihard", flag="--mining", choices=("semihard", "hardest"), group="multi-view",
                          resume=M, help="negatives farther than the positive (semihard) or the hardest")
    back_projection: bool = setting(False, flag="--back-projection", group="multi-view", resume=M,
                                    help="also back-projection (trajectory model, reprojection, bone length) on "
                                         "unlabeled instants")

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
        unknown += [f"model.{k}" for k in model if k not in ModelConfig.__dataclass_fields__]
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
