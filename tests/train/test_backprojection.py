import numpy as np
import pytest
import torch

from poselift.camera import project_with_intrinsics
from poselift.config import TrainConfig
from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig
from poselift.skeleton import COCO_FROM_H36M, H36M17
from poselift.train.backprojection import (BackProjection, build_pair, labeled_terms, reprojection_joints,
                                           trajectory_config)


def test_reprojection_joints_pair_the_layouts():
    assert reprojection_joints("h36m17", "h36m17") == (list(range(17)), list(range(17)))
    j2, j3 = reprojection_joints("coco17", "h36m17")
    assert len(j2) == len(j3) == len(COCO_FROM_H36M) and all(COCO_FROM_H36M[a] == b for a, b in zip(j2, j3))
    with pytest.raises(PoseliftError, match="cannot compare"):
        reprojection_joints("h36m17", "coco17")


def test_trajectory_model_is_the_pose_architecture_with_one_joint():
    pose = ModelConfig(filter_widths=[3, 3], channels=32, embed_dim=8)
    traj = trajectory_config(pose)
    assert traj.joints_out == 1 and traj.embed_dim == 0
    assert traj.filter_widths == [3, 3] and traj.channels == 32
    pair = build_pair(TrainConfig(model=ModelConfig(filter_widths=[3], channels=16), samples=1))
    assert pair.pose.cfg.joints_out == 17 and pair.trajectory.cfg.joints_out == 1


def _batch(n=3, frames=9):
    g = torch.Generator().manual_seed(0)
    pose = torch.randn(n, 1, 17, 3, generator=g) * 0.2
    root = torch.tensor([0.1, -0.2, 4.0]).expand(n, 1, 1, 3).clone()
    intr = torch.tensor([[1.1, 1.1, 0.01, -0.02, 0, 0, 0, 0, 0]]).expand(n, 9).clone()
    return pose, root, intr


def test_a_pose_that_reprojects_exactly_costs_nothing_and_errors_cost_their_size():
    cfg = TrainConfig(model=ModelConfig(filter_widths=[3, 3], channels=16), samples=1)  # 9 frames, 1 out
    bp = BackProjection(cfg, "h36m17", "h36m17")
    assert bp.output_frames == slice(4, 5)
    pose, root, intr = _batch()
    seen = project_with_intrinsics(pose + root, intr[:, None])  # (N, 1, J, 2)
    inputs = torch.zeros(3, 9, 17, 2)
    inputs[:, 4] = seen[:, 0]
    t = bp.terms(pose, pose, root, intr, inputs)
    assert set(t) == {"reprojection", "bone_length"}
    assert float(t["reprojection"]) < 1e-6 and float(t["bone_length"]) < 1e-7
    inputs[:, 4] += torch.tensor([0.03, 0.04])  # every joint 0.05 off in 2D
    assert float(bp.terms(pose, pose, root, intr, inputs)["reprojection"]) == pytest.approx(0.05, rel=1e-4)
    longer = pose * 1.1  # the unlabeled poses' bones 10% longer than the labeled ones'
    bones = np.linalg.norm(pose[:, :, 1:].numpy() - pose[:, :, H36M17.parents[1:]].numpy(), axis=-1).mean()
    got = float(bp.terms(pose, longer, root, intr, inputs)["bone_length"])
    assert got == pytest.approx(0.1 * bones, rel=0.2)
    no_bones = BackProjection(TrainConfig(model=cfg.model, samples=1, bone_length=False), "h36m17", "h36m17")
    assert set(no_bones.terms(pose, pose, root, intr, inputs)) == {"reprojection"}


def test_labeled_terms_weigh_the_root_by_its_depth():
    pose, root, _ = _batch()
    terms = labeled_terms(pose, root + torch.tensor([0.0, 0.0, 0.4]), pose, root)
    assert float(terms["pose"]) == 0.0
    assert float(terms["trajectory"]) == pytest.approx(0.4 / 4.0, rel=1e-5)  # 40 cm at 4 m depth
