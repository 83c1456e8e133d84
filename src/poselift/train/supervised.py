"""Supervised training of the temporal lifter with the published recipe.

Amsgrad, lr 0.001 decayed x0.95 after each epoch, batch 1024 clips, BN momentum from 0.1
decaying exponentially towards 0.001 over the planned epochs, flip augmentation, one
predicted frame per clip through the strided twin. The budget is epochs or clips drawn.
With ``ema`` > 0 an exponential moving average of the weights (see :mod:`.ema`) is kept
beside them and becomes the exported model; the raw weights stay in ``last.safetensors``.
Everything random derives from ``seed``: the clip order of epoch ``e`` from (seed, e), and
dropout from the torch RNG stored in each checkpoint, so ``resume`` continues exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config import TrainConfig
from ..data.dataset import SequenceSet, ViewOptions, build_cmu_training_set
from ..data.windows import ClipSampler, to_device
from ..errors import PoseliftError
from ..metrics import mpjpe, weighted_mpjpe
from ..skeleton import get_skeleton
from ..models.build import build_model
from ..models.temporal import causal_shift, receptive_field
from ..predict import resolve_device
from .checkpoint import load_checkpoint, load_tensors, save_checkpoint
from . import distributed
from .ema import WeightAverage

LAST = "last.safetensors"  # full training state
#: The loss terms a trainer's ``losses()`` returns, raw (see :meth:`Trainer.loss_weights`).
LOSS_TERMS = ("pose", "trajectory", "reprojection", "bone_length", "multiview")
MODEL = "model.safetensors"  # weights + config, for evaluation and inference
CONFIG = "config.json"  # the run's settings, for people to read


def planned_epochs(cfg: TrainConfig, epoch_size: int) -> int:
    if cfg.epochs > 0:
        return cfg.epochs
    return max(1, math.ceil(cfg.samples / epoch_size))


def budget(cfg: TrainConfig, epoch_size: int) -> int:
    """Total clips to draw."""
    if cfg.samples > 0:
        return cfg.samples
    return cfg.epochs * epoch_size


def bn_momentum(cfg: TrainConfig, epoch: int, n_epochs: int) -> float:
    ratio = cfg.bn_momentum_start / cfg.bn_momentum_end
    return cfg.bn_momentum_start * math.exp(-epoch / n_epochs * math.log(ratio))


def load_training_set(cfg: TrainConfig, subjects: list[str] | None = None, subset: float | None = None) -> SequenceSet:
    """The training sequences of ``cfg`` (its subjects and subset unless given here)."""
    from ..data.protocols import split_list

    subjects = (split_list(cfg.subjects) or None) if subjects is None else subjects
    subset = cfg.subset if subset is None else subset
    if cfg.data != "cmu":
        from ..data.dataset import build_prepared_training_set
        from ..data.protocols import pick_subjects, protocol

        subjects = pick_subjects(subjects, protocol(cfg.data).train, cfg.dataset, "training")
        return build_prepared_training_set(cfg.dataset, subjects, cfg.keypoints, split_list(cfg.actions) or None,
                                           subset, cfg.downsample, cfg.seed, cfg.input_norm)
    if not cfg.train_dir:
        raise PoseliftError("give the training data folder: --train-dir DIR")
    return build_cmu_training_set(
        cfg.train_dir,
        calibration=cfg.calibration or None,
        downsample=cfg.downsample,
        random_cameras=cfg.random_cameras,
        seed=cfg.seed,
        subjects=subjects,
        view=ViewOptions(cfg.input_layout, cfg.input_norm, cfg.detector_noise, cfg.detector_errors,
                         cfg.body_proportions),
        rig_cameras=cfg.rig_cameras,
        subset=subset,
    )


def output_skeleton(cfg: TrainConfig, data: SequenceSet) -> str:
    return "root1" if cfg.target == "trajectory" else data.skeleton_out


def fit_model_to_data(cfg: TrainConfig, data: SequenceSet) -> None:
    """Joint counts of the model follow the data (e.g. 15 for HumanEva; 1 out for trajectories)."""
    j_in = get_skeleton(data.skeleton_in).num_joints
    j_out = get_skeleton(output_skeleton(cfg, data)).num_joints
    if cfg.data == "cmu":  # the user's flags stand; say clearly when they do not fit
        if (cfg.model.joints_in, cfg.model.joints_out) != (j_in, j_out):
            raise PoseliftError(f"this data has {j_in} input and {j_out} output joints: use --joints-in {j_in} "
                                f"--joints-out {j_out}")
    cfg.model.joints_in, cfg.model.joints_out = j_in, j_out


# the model settings that decide the weights' shapes (dropout does not)
_SHAPE_KEYS = ("filter_widths", "channels", "causal", "dense", "joints_in", "joints_out", "in_features", "embed_dim",
               "view_dim", "pose_from")


def init_model_config(cfg: TrainConfig, keep=()) -> None:
    """Fine-tuning: take the model settings of the checkpoint ``cfg.init`` for ``cfg.model``,
    except the fields in ``keep`` (given by the user; checked against the checkpoint when the
    weights are loaded, see :func:`check_init`)."""
    from ..models.temporal import ModelConfig
    from .checkpoint import model_config, read_meta

    path = Path(cfg.init)
    theirs = model_config(read_meta(path), path).to_dict()
    mine = cfg.model.to_dict()
    cfg.model = ModelConfig.from_dict({**theirs, **{k: mine[k] for k in keep if k in mine}})


def check_init(cfg: TrainConfig, data: SequenceSet) -> Path:
    """The checkpoint to start from, once it is known to fit the run: a pose (or trajectory)
    model like the one ``cfg`` builds, taking the 2D layout of ``data`` and predicting its
    joints. A :class:`PoseliftError` naming the checkpoint says what differs."""
    from ..skeleton import same_slots
    from .checkpoint import model_config, read_meta

    path = Path(cfg.init)
    meta = read_meta(path)
    theirs, mine = model_config(meta, path).to_dict(), cfg.model.to_dict()
    if meta.get("target", "pose") != cfg.target:
        raise PoseliftError(f"--init: a {meta.get('target', 'pose')} model; this run trains a {cfg.target} model",
                            path)
    sk_in, sk_out = meta.get("skeleton_in", "h36m17"), meta.get("skeleton_out", "h36m17")
    if not same_slots(sk_in, data.skeleton_in) or sk_out != output_skeleton(cfg, data):
        raise PoseliftError(f"--init: the checkpoint takes {sk_in} 2D and predicts {sk_out} joints; this training "
                            f"data has {data.skeleton_in} 2D and {output_skeleton(cfg, data)} joints (pick a 2D "
                            "source of the checkpoint's layout with -k, or train from scratch)", path)
    diff = [k for k in _SHAPE_KEYS if theirs.get(k) != mine.get(k)]
    if diff:
        what = ", ".join(f"{k} {theirs.get(k)} (this run: {mine.get(k)})" for k in diff)
        raise PoseliftError(f"--init: the checkpoint's model differs: {what}; drop those model flags to take the "
                            "checkpoint's settings", path)
    return path


def make_sampler(cfg: TrainConfig, data: SequenceSet, labels: bool = True, cameras: bool = False) -> ClipSampler:
    """Clips of ``data`` for ``cfg``'s model: with targets (``labels``), and for
    semi-supervised training with root trajectories and camera intrinsics (``cameras``)."""
    rf = receptive_field(cfg.model.filter_widths)
    if (cfg.target == "trajectory" or cameras and labels) and len(data.roots_3d) != len(data.inputs_2d):
        raise PoseliftError("this training data has no root trajectories")
    if cameras and len(data.intrinsics) != len(data.inputs_2d):
        raise PoseliftError("this training data has no camera intrinsics")
    if not labels:
        targets = None
    else:
        targets = data.roots_3d if cfg.target == "trajectory" else data.targets_3d
    return ClipSampler(
        data.inputs_2d,
        targets,
        receptive_field=rf,
        causal_shift=causal_shift(cfg.model.filter_widths, cfg.model.causal),
        chunk=cfg.stride,
        flip=cfg.flip,
        frame_stride=cfg.frame_stride,
        skeleton_in=get_skeleton(data.skeleton_in),
        skeleton_out=get_skeleton(output_skeleton(cfg, data)),
        roots=data.roots_3d if cameras and labels else None,
        intrinsics=data.intrinsics if cameras else None,
    )


@dataclass
class TrainState:
    epoch: int = 0  # current epoch (0-based)
    batch: int = 0  # next batch within the epoch
    drawn: int = 0  # clips drawn so far
    lr: float = 0.0
    finished: bool = False
    history: list | None = None
    ema_updates: int = 0
    unlabeled_batches: int = 0  # semi-supervised: position in the endless unlabeled stream

    def to_dict(self):
        return dataclasses.asdict(self) | {"history": self.history or []}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainState":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class Trainer:
    """Supervised training; :class:`~poselift.train.semi.SemiTrainer` extends it."""

    distributed_ok = True  # data-parallel training is supported (see :mod:`.distributed`)

    def __init__(self, cfg: TrainConfig, data: SequenceSet | None = None, progress: bool = True):
        cfg.validate()
        self.cfg = cfg
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.data = data if data is not None else load_training_set(cfg)
        fit_model_to_data(cfg, self.data)
        init = check_init(cfg, self.data) if cfg.init else None  # before any long work
        self.sampler = self.make_sampler()
        self.dist = distributed.current()
        self.device = resolve_device(cfg.device, self.dist)
        self.model = self.build_network().to(self.device)
        if init is not None:  # fine-tuning: the run starts from these weights (resume() may replace them)
            load_checkpoint(init, self.model)
        self.net = self.model  # what computes the forward pass: the model, or its DDP wrapper
        if self.dist and not self.distributed_ok:
            raise PoseliftError("distributed training supports supervised training only, for now")
        if self.dist:
            self.net = distributed.wrap(self.model, self.device, self.dist)
            torch.manual_seed(cfg.seed + 7919 * (self.dist.rank + 1))  # own dropout masks per process
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, amsgrad=True)
        self.ema = WeightAverage(self.model, cfg.ema) if cfg.ema > 0 else None
        self.state = TrainState(lr=cfg.lr, history=[])
        self.n_epochs = planned_epochs(cfg, len(self.sampler))
        self.total = budget(cfg, len(self.sampler))
        self.dir = Path(cfg.checkpoint_dir)
        self.progress = progress and (self.dist is None or self.dist.main)
        self.saved_at: int | None = None  # clips drawn when the last checkpoint was written, for errors

    def make_sampler(self) -> ClipSampler:
        return make_sampler(self.cfg, self.data)

    def build_network(self) -> torch.nn.Module:
        return build_model(self.cfg.model, strided=self.cfg.stride == 1, fast=self.cfg.engine == "fast")

    # ------------------------------------------------------------------ checkpoints
    def _meta(self) -> dict:
        return {
            "kind": "temporal-lifter",
            "model": self.cfg.model.to_dict(),
            "train_config": self.cfg.to_dict(),
            "state": self.state.to_dict(),
            "skeleton_in": self.data.skeleton_in,
            "skeleton_out": output_skeleton(self.cfg, self.data),
            "target": self.cfg.target,
            "input_norm": self.cfg.input_norm,
            "epoch_size": len(self.sampler),
            "planned_epochs": self.n_epochs,
            "budget": self.total,
            "weights": "ema" if self.ema else "raw",
        }

    def exported_weights(self) -> dict[str, torch.Tensor]:
        """The weights evaluation and inference use: the average if one is kept, else the raw ones."""
        return self.ema.state_dict() if self.ema else self.model.state_dict()

    def exports(self) -> list[tuple[str, dict, dict]]:
        """(file name, weights, meta) of each model file the run writes besides ``last``."""
        return [(MODEL, self.exported_weights(), self._meta())]

    def diverged(self, what: str, batch: int) -> PoseliftError:
        """The error that stops a run whose loss or weights are no longer finite (at ``batch``,
        0-based, of the current epoch); nothing is saved from then on."""
        kept = ("no checkpoint of this run was saved" if self.saved_at is None else
                f"nothing saved past the checkpoint after {self.saved_at:,} clips")
        return PoseliftError(f"training diverged: {what} at epoch {self.state.epoch + 1}, batch {batch + 1} "
                             f"(learning rate {self.state.lr:g}); {kept}. Lower the learning rate (-lr) or check "
                             "the training data", self.dir)

    def check_finite(self) -> None:
        """Refuse to save weights (raw, averaged, optimiser moments) that hold NaN or inf."""
        tensors = list(self.model.state_dict().items()) + list((self.ema.state_dict() if self.ema else {}).items())
        for st in self.optimizer.state.values():
            tensors += [(f"optimiser {k}", v) for k, v in st.items() if torch.is_tensor(v)]
        for name, t in tensors:
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise self.diverged(f"the weights hold NaN or inf ({name})", max(self.state.batch - 1, 0))

    def save(self) -> None:
        self.check_finite()  # every process: they hold the same weights and stop together
        if self.dist and not self.dist.main:
            return
        if self.ema:
            self.state.ema_updates = self.ema.updates
        meta = self._meta()
        extra = {f"ema.{k}": v for k, v in self.ema.state_dict().items()} if self.ema else None
        from ..checks import json_safe
        from ..data.formats import save_json
        from ..transaction import transaction

        # one transaction (poselift.transaction): a kill at any moment leaves the previous checkpoint whole;
        # renamed in this order, last.safetensors (how far the run got) after the model files
        with transaction(self.dir, overwrite=True) as tx:
            for name, weights, file_meta in self.exports():
                save_checkpoint(tx.path(name), self.model, file_meta, weights=weights)
                tx.claim(Path(name).with_suffix(".json").name)
            save_json(tx.path(CONFIG), json_safe(self.cfg.to_dict()))
            tx.claim(Path(LAST).with_suffix(".json").name)
            save_checkpoint(tx.path(LAST), self.model, dict(meta, weights="raw"), optimizer=self.optimizer,
                            extra=extra)
        self.saved_at = self.state.drawn

    def resume(self) -> bool:
        """Load ``last.safetensors`` from the checkpoint folder if there is one."""
        path = self.dir / LAST
        if not path.exists():
            return False
        meta = load_checkpoint(path, self.model, self.optimizer)
        if not isinstance(meta.get("state"), dict):
            raise PoseliftError("holds no training state (not a training checkpoint)", path)
        from ..settings import lookup, must_match

        saved = dict(meta.get("train_config") or {})
        mine = self.cfg.to_dict()
        saved.setdefault("ema", 0.0)  # runs started before weight averaging existed had none
        for k, v in TrainConfig().to_dict().items():  # other settings added since: their defaults
            saved.setdefault(k, v)
        saved["model"] = {**TrainConfig().model.to_dict(), **(saved.get("model") or {})}
        # exactly the settings the rest of the run depends on (TrainConfig's rule, poselift.settings)
        diff = [k for k in must_match(TrainConfig) if lookup(saved, k) != lookup(mine, k)]
        if diff:
            raise PoseliftError(f"cannot resume: the run was started with other settings ({', '.join(diff)})", path)
        self.state = TrainState.from_dict(meta["state"])
        self.saved_at = self.state.drawn
        if self.ema:
            self.ema.load(load_tensors(path, "ema."), self.state.ema_updates)
        if self.dist:  # the checkpoint holds rank 0's generator: each process goes on with its own
            torch.manual_seed(self.cfg.seed + 7919 * (self.dist.rank + 1) + self.state.drawn)
        return True

    # ---------------------------------------------------------------------- training
    def _set_epoch_hparams(self, epoch: int) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = self.state.lr
        self.model.set_bn_momentum(bn_momentum(self.cfg, epoch, self.n_epochs))

    def losses(self, batch) -> dict[str, torch.Tensor]:
        """The raw (unweighted) loss terms of one batch (metres), weighted by :meth:`loss_weights`
        and summed by :meth:`step`."""
        pred = self.net(batch.inputs_2d)
        if self.cfg.target == "trajectory":  # weighted by 1/depth: far subjects are harder
            return {"trajectory": weighted_mpjpe(pred, batch.targets_3d, 1 / batch.targets_3d[..., 2])}
        return {"pose": mpjpe(pred, batch.targets_3d)}

    def loss_weights(self) -> dict[str, float]:
        """The weight of each loss term :meth:`losses` may return: the one place where terms are
        weighted (``multiview_weight`` for the multi-view term, 1 for the rest)."""
        return {**dict.fromkeys(LOSS_TERMS, 1.0), "multiview": float(self.cfg.multiview_weight)}

    def weigh(self, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw terms → weighted terms (:meth:`loss_weights`; a term of weight 1 is itself)."""
        weights = self.loss_weights()
        unknown = [k for k in terms if k not in weights]
        if unknown:
            raise PoseliftError(f"loss term(s) without a weight: {', '.join(unknown)}")
        return {k: v if weights[k] == 1.0 else weights[k] * v for k, v in terms.items()}

    def step(self, batch) -> dict[str, float]:
        """One optimiser step (means over the global batch): each loss term raw, under its name;
        ``<name>_weighted`` for each term whose weight (:meth:`loss_weights`) is not 1; ``loss``
        the sum of the weighted terms, the value minimised."""
        self.optimizer.zero_grad(set_to_none=True)
        weight = 1.0
        if self.dist:  # this process's share; the loss scaled so that DDP's average is the global mean
            rows = distributed.share(len(batch), self.dist)
            weight = (rows.stop - rows.start) / len(batch)
            batch = batch.take(rows)
        batch = to_device(batch, self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.precision == "bf16"):
            raw = self.losses(batch)
            weighted = {k: v.float() for k, v in self.weigh(raw).items()}
            terms = {k: v.float() for k, v in raw.items()}
        loss = sum(weighted.values())
        (loss * (weight * self.dist.world) if self.dist else loss).backward()
        self.optimizer.step()
        if self.ema:
            self.ema.update(self.model)
        weights = self.loss_weights()
        out = {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in terms.items()},
               **{f"{k}_weighted": float(v.detach()) for k, v in weighted.items() if weights[k] != 1.0}}
        return distributed.reduce_mean(out, weight, self.device) if self.dist else out

    def train(self, stop_after_steps: int | None = None) -> TrainState:
        """Run until the budget is spent (or ``stop_after_steps`` steps, for tests)."""
        cfg, st = self.cfg, self.state
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model.train()
        steps = 0
        bar = tqdm(total=self.total, initial=st.drawn, unit="clip", disable=not self.progress,
                   desc="train", dynamic_ncols=True, smoothing=0.05)
        while not st.finished:
            self._set_epoch_hparams(st.epoch)
            sums, n_sum, t0 = {}, 0, time.time()
            for b, batch in self.sampler.iter_epoch(cfg.seed, st.epoch, cfg.batch_size, st.batch):
                n = min(len(batch), self.total - st.drawn)
                if n <= 0:
                    break
                if n < len(batch):
                    batch = batch.take(n)
                terms = self.step(batch)
                if not math.isfinite(terms["loss"]):  # before anything is counted or saved
                    bar.close()
                    raise self.diverged(f"the loss is {terms['loss']}", b)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v * n
                n_sum += n
                st.drawn += n
                st.batch = b + 1
                steps += 1
                bar.update(n)
                bar.set_postfix(epoch=st.epoch + 1, lr=f"{st.lr:.2e}",
                                **{f"{k}_mm": f"{v * 1000:.1f}" for k, v in terms.items()})
                if cfg.checkpoint_every and steps % cfg.checkpoint_every == 0:
                    self.save()
                if stop_after_steps is not None and steps >= stop_after_steps:
                    bar.close()
                    return st
            epoch_done = st.batch >= self.sampler.batches_per_epoch(cfg.batch_size)
            # <term>_mm: the raw term; <term>_weighted_mm: times its weight (where not 1);
            # loss_mm: the sum of the weighted terms, the value minimised
            st.history.append({"epoch": st.epoch + 1, "clips": n_sum,
                               **{f"{k}_mm": 1000 * v / max(n_sum, 1) for k, v in sums.items()},
                               "loss_weights": {k: w for k, w in self.loss_weights().items() if k in sums},
                               "seconds": time.time() - t0, "lr": st.lr, "complete": epoch_done})
            if epoch_done:
                st.epoch += 1
                st.batch = 0
                st.lr *= cfg.lr_decay
            if st.drawn >= self.total:
                st.finished = True
            self.save()
        bar.close()
        return st
