"""Semi-supervised training by back-projection (Pavllo et al., CVPR 2019, section 4).

Two networks of the same architecture with separate weights: the pose model (root-relative
3D from normalised screen 2D) and the trajectory model (the root's camera-frame position
from intrinsics-normalised 2D, ``(px - c) / f``, the input of every poselift trajectory
model). Each step takes a labeled batch and, after ``warmup`` epochs, an unlabeled batch:

* labeled: MPJPE of the pose + weighted MPJPE of the trajectory (weight 1 / true depth);
* unlabeled (2D only): pose + trajectory projected through the camera's intrinsics (with
  lens distortion, or linear with ``linear_projection``) → MPJPE against the input 2D;
* bone length: mean absolute difference between the mean bone lengths of the unlabeled
  and the labeled predictions (``bone_length``; the paper's "L2" term, as the reference
  release computes it).

All terms weigh 1. The unlabeled sampler is built without targets, so unlabeled 3D cannot
reach a loss. Labeled and unlabeled clips pass through each network as one batch, so
batch-norm statistics in training are those of the mixed batch (as in the reference
release); the two networks keep their own statistics. During warm-up only labeled clips
pass. An epoch is one pass over the labeled clips; the unlabeled clips are an endless
stream of shuffled epochs whose position is a counter in the checkpoint, so ``resume`` is
exact. Only intrinsics are used, never extrinsics.

The run writes ``model.safetensors`` (the pose model, usable like any lifter),
``trajectory.safetensors`` (the trajectory model: ``poselift.infer.TrajectoryModel``, or
``poselift evaluate --checkpoint trajectory.safetensors --pose-checkpoint model.safetensors``)
and ``last.safetensors`` (both networks and the optimiser).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import TrainConfig
from ..data.dataset import SequenceSet
from ..data.protocols import split_list
from ..data.windows import Batch, to_device
from ..errors import PoseliftError
from .backprojection import (TRAJECTORY, BackProjection, PoseAndTrajectory, build_pair,  # noqa: F401  (re-exported)
                             labeled_terms, pair_exports, reprojection_joints, trajectory_config)
from .supervised import Trainer, load_training_set, make_sampler


def all_training_subjects(cfg: TrainConfig) -> list[str]:
    """Every training subject there is: CMU-17 train's, or the protocol's in the prepared file."""
    if cfg.data == "cmu":
        from ..data import cmu

        return sorted({c.subject for c in cmu.load_train_dir(cfg.train_dir)})
    from ..data.protocols import pick_subjects, protocol

    return pick_subjects(None, protocol(cfg.data).train, cfg.dataset, "training")


def split_subjects(cfg: TrainConfig) -> tuple[list[str] | None, list[str]]:
    """(labeled subjects or None for the default, unlabeled subjects); ``rest`` expands."""
    labeled = split_list(cfg.subjects) or None
    unlabeled = split_list(cfg.unlabeled_subjects)
    if unlabeled == ["rest"]:
        if labeled is None:
            raise PoseliftError("-sun rest needs the labeled subjects: give them with -str/--subjects")
        unlabeled = [s for s in all_training_subjects(cfg) if s not in labeled]
        if not unlabeled:
            raise PoseliftError("-sun rest: every training subject is labeled, none is left unlabeled")
    both = sorted(set(unlabeled) & set(labeled or []))
    if both:
        raise PoseliftError(f"subject(s) {', '.join(both)} given as both labeled and unlabeled")
    return labeled, unlabeled


class SemiTrainer(Trainer):
    """Joint training of pose and trajectory models on labeled and unlabeled clips."""

    distributed_ok = False

    def __init__(self, cfg: TrainConfig, data: SequenceSet | None = None, unlabeled: SequenceSet | None = None,
                 progress: bool = True):
        if not cfg.semi_supervised:
            raise PoseliftError("semi-supervised training needs unlabeled subjects (-sun)")
        if cfg.target != "pose":
            raise PoseliftError("semi-supervised training trains a pose model")
        labeled, unlabeled_subjects = split_subjects(cfg)
        if data is None:
            data = load_training_set(cfg, subjects=labeled)
        if unlabeled is None:
            unlabeled = load_training_set(cfg, subjects=unlabeled_subjects, subset=1.0)
        if unlabeled.skeleton_in != data.skeleton_in:
            raise PoseliftError(f"labeled 2D is {data.skeleton_in} but unlabeled 2D is {unlabeled.skeleton_in}")
        self.unlabeled_data = unlabeled
        super().__init__(cfg, data, progress)
        self.unlabeled = make_sampler(cfg, unlabeled, labels=False, cameras=True)
        self.back_projection = BackProjection(cfg, data.skeleton_in, data.skeleton_out)

    def make_sampler(self):
        return make_sampler(self.cfg, self.data, labels=True, cameras=True)

    def build_network(self) -> nn.Module:
        return build_pair(self.cfg)

    # ------------------------------------------------------------------ checkpoints
    def _meta(self) -> dict:
        return dict(super()._meta(), training="semi-supervised", unlabeled_frames=self.unlabeled.num_frames,
                    labeled_frames=self.sampler.num_frames)

    def exports(self) -> list[tuple[str, dict, dict]]:
        return pair_exports(self)

    # ---------------------------------------------------------------------- training
    def unlabeled_batch(self) -> Batch:
        k = self.state.unlabeled_batches
        self.state.unlabeled_batches += 1
        return to_device(self.unlabeled.batch_number(self.cfg.seed + 1, k, self.cfg.batch_size), self.device)

    def loss_terms(self, labeled: Batch, unlabeled: Batch | None) -> dict[str, torch.Tensor]:
        """The raw loss terms of one step (metres; the 2D reprojection term in normalised units),
        weighted and summed by :meth:`~poselift.train.supervised.Trainer.step`."""
        x, K = labeled.inputs_2d, labeled.intrinsics
        if unlabeled is not None:
            x, K = torch.cat([x, unlabeled.inputs_2d]), torch.cat([K, unlabeled.intrinsics])
        n = len(labeled)
        pose = self.model.pose(x)  # (N, L_out, J, 3), root-relative
        traj = self.model.trajectory(BackProjection.trajectory_input(x, K))  # (N, L_out, 1, 3)
        terms = labeled_terms(pose[:n], traj[:n], labeled.targets_3d, labeled.roots_3d)
        if unlabeled is not None:
            terms.update(self.back_projection.terms(pose[:n], pose[n:], traj[n:], unlabeled.intrinsics,
                                                    unlabeled.inputs_2d))
        return terms

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Labeled batch + the next unlabeled one once warm-up is over."""
        unlabeled = self.unlabeled_batch() if self.state.epoch >= self.cfg.warmup else None
        return self.loss_terms(batch, unlabeled)


def make_trainer(cfg: TrainConfig, progress: bool = True) -> Trainer:
    """The trainer ``cfg`` asks for: multi-view (``multiview``), semi-supervised (unlabeled
    subjects given) or supervised."""
    if cfg.multiview:
        from .multiview import MultiviewTrainer

        return MultiviewTrainer(cfg, progress=progress)
    return SemiTrainer(cfg, progress=progress) if cfg.semi_supervised else Trainer(cfg, progress=progress)
