"""Back-projection: the pose + trajectory pair and its loss terms, shared by the trainers.

The pieces of semi-supervised training (Pavllo et al., CVPR 2019, section 4; see
:mod:`.semi`) that multi-view training (:mod:`.multiview`, ``back_projection``) uses too:
the two networks trained by one optimiser, the supervised terms, the unlabeled terms
(reprojection through the intrinsics, bone length) and the two exported files. Both
trainers import them from here, so neither imports the other.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..camera import intrinsic_from_screen, project_with_intrinsics
from ..config import TrainConfig
from ..errors import PoseliftError
from ..metrics import bone_lengths, mpjpe, weighted_mpjpe
from ..models.build import build_model
from ..models.temporal import ModelConfig, causal_shift, receptive_field
from ..skeleton import COCO_FROM_H36M, get_skeleton
from .supervised import MODEL, Trainer

TRAJECTORY = "trajectory.safetensors"


class PoseAndTrajectory(nn.Module):
    """The two networks of semi-supervised training, trained by one optimiser."""

    def __init__(self, pose: nn.Module, trajectory: nn.Module):
        super().__init__()
        self.pose = pose
        self.trajectory = trajectory

    def set_bn_momentum(self, momentum: float) -> None:
        self.pose.set_bn_momentum(momentum)
        self.trajectory.set_bn_momentum(momentum)


def trajectory_config(pose: ModelConfig) -> ModelConfig:
    """The trajectory model: the pose model's architecture with one output joint."""
    return ModelConfig.from_dict(dict(pose.to_dict(), joints_out=1, embed_dim=0))


def reprojection_joints(layout_in: str, layout_out: str) -> tuple[list[int], list[int]]:
    """(input 2D joint indices, output 3D joint indices) compared by the reprojection loss."""
    if layout_in == layout_out:
        n = get_skeleton(layout_in).num_joints
        return list(range(n)), list(range(n))
    if (layout_in, layout_out) == ("coco17", "h36m17"):
        coco = sorted(COCO_FROM_H36M)
        return coco, [COCO_FROM_H36M[k] for k in coco]
    raise PoseliftError(f"cannot compare {layout_out} predictions with {layout_in} 2D for back-projection")


def labeled_terms(pose, traj, targets, roots) -> dict[str, torch.Tensor]:
    """Supervised terms: MPJPE of the pose, MPJPE of the trajectory weighted by 1 / true depth."""
    return {"pose": mpjpe(pose, targets), "trajectory": weighted_mpjpe(traj, roots, 1 / roots[..., 2])}


class BackProjection:
    """The unlabeled terms: reprojection of pose + trajectory onto the input 2D, and the
    bone-length match between unlabeled and labeled predictions."""

    def __init__(self, cfg: TrainConfig, layout_in: str, layout_out: str):
        self.joints_2d, self.joints_3d = reprojection_joints(layout_in, layout_out)
        self.parents = get_skeleton(layout_out).parents
        self.distortion = not cfg.linear_projection
        self.bone_length = cfg.bone_length
        rf = receptive_field(cfg.model.filter_widths)
        first = (rf - 1) // 2 + causal_shift(cfg.model.filter_widths, cfg.model.causal)
        self.output_frames = slice(first, first + cfg.stride)  # the input frames the model predicts

    @staticmethod
    def trajectory_input(x: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
        """Normalised screen 2D (N, L, J, 2) → the trajectory model's (px - c) / f."""
        return intrinsic_from_screen(x, intrinsics[:, None])

    def terms(self, pose_labeled, pose_unlabeled, traj_unlabeled, intrinsics, inputs_2d) -> dict[str, torch.Tensor]:
        """``pose_*`` (N, L_out, J, 3), ``traj_unlabeled`` (N_u, L_out, 1, 3), ``intrinsics`` (N_u, 9),
        ``inputs_2d`` (N_u, L_in, J_in, 2) of the unlabeled clips."""
        proj = project_with_intrinsics(pose_unlabeled + traj_unlabeled, intrinsics[:, None], self.distortion)
        target = inputs_2d[:, self.output_frames]
        out = {"reprojection": mpjpe(proj[..., self.joints_3d, :], target[..., self.joints_2d, :])}
        if self.bone_length:
            mean_bones = (lambda p: bone_lengths(p, self.parents).flatten(0, 1).mean(0))
            out["bone_length"] = (mean_bones(pose_labeled) - mean_bones(pose_unlabeled)).abs().mean()
        return out


def pair_exports(trainer: Trainer) -> list[tuple[str, dict, dict]]:
    """``model.safetensors`` (the pose network) and ``trajectory.safetensors`` of a
    :class:`PoseAndTrajectory` run."""
    weights = trainer.exported_weights()
    part = (lambda prefix: {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    meta = trainer._meta()
    pose_meta = dict(meta, kind="temporal-lifter")
    traj_meta = dict(meta, kind="temporal-lifter", target="trajectory",
                     model=trajectory_config(trainer.cfg.model).to_dict(), skeleton_out="root1",
                     input_norm="intrinsic")
    return [(MODEL, part("pose."), pose_meta), (TRAJECTORY, part("trajectory."), traj_meta)]


def build_pair(cfg: TrainConfig) -> PoseAndTrajectory:
    strided, fast = cfg.stride == 1, cfg.engine == "fast"
    return PoseAndTrajectory(build_model(cfg.model, strided=strided, fast=fast),
                             build_model(trajectory_config(cfg.model), strided=strided, fast=fast))
