import numpy as np
import pytest
import torch

import poselift.skeleton as skeleton_module
from poselift.errors import PoseliftError
from poselift.skeleton import (
    COCO17,
    H36M17,
    HUMANEVA15,
    Skeleton,
    flip_pose,
    get_skeleton,
    register_skeleton,
    skeleton_for_joints,
)

# ----------------------------------------------------------------------- layouts


def test_h36m17_table():
    s = H36M17
    assert s.num_joints == 17
    assert s.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert s.joints_left == (4, 5, 6, 11, 12, 13)
    assert s.joints_right == (1, 2, 3, 14, 15, 16)
    expected = {
        "pelvis": 0, "r_hip": 1, "r_knee": 2, "r_ankle": 3, "l_hip": 4, "l_knee": 5, "l_ankle": 6,
        "spine": 7, "thorax": 8, "neck_nose": 9, "head": 10, "l_shoulder": 11, "l_elbow": 12,
        "l_wrist": 13, "r_shoulder": 14, "r_elbow": 15, "r_wrist": 16,
    }
    for name, idx in expected.items():
        assert s.index(name) == idx
    # the only root is the pelvis
    assert [j for j, p in enumerate(s.parents) if p == -1] == [0]
    # every left joint is named l_*, every right joint r_*
    assert all(s.joint_names[j].startswith("l_") for j in s.joints_left)
    assert all(s.joint_names[j].startswith("r_") for j in s.joints_right)


def test_humaneva15_table():
    s = HUMANEVA15
    assert s.num_joints == 15
    assert s.parents == (-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1)
    assert s.joints_left == (2, 3, 4, 8, 9, 10)
    assert s.joints_right == (5, 6, 7, 11, 12, 13)
    assert all(s.joint_names[j].startswith("l_") for j in s.joints_left)
    assert all(s.joint_names[j].startswith("r_") for j in s.joints_right)


def test_coco17_names_order():
    assert COCO17.joint_names == (
        "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
        "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle",
        "r_ankle",
    )
    assert COCO17.parents[0] == -1


def test_bones_children_and_flip_permutation():
    s = H36M17
    assert len(s.bones) == 16
    assert s.bones[0] == (1, 0)
    assert s.children(8) == [9, 11, 14]
    assert s.children(16) == []
    perm = s.flip_permutation
    assert perm[1] == 4 and perm[4] == 1 and perm[16] == 13 and perm[0] == 0 and perm[10] == 10
    assert [perm[p] for p in perm] == list(range(17))  # an involution


def test_index_unknown_joint():
    with pytest.raises(PoseliftError, match="nope"):
        H36M17.index("nope")


def test_registry_lookups():
    assert get_skeleton("h36m17") is H36M17
    assert get_skeleton("humaneva15") is HUMANEVA15
    assert get_skeleton("coco17") is COCO17
    assert skeleton_for_joints(17) is H36M17
    assert skeleton_for_joints(15) is HUMANEVA15
    with pytest.raises(PoseliftError, match="no_such"):
        get_skeleton("no_such")
    with pytest.raises(PoseliftError):
        skeleton_for_joints(3)


def test_register_custom_skeleton_round_trip(monkeypatch):
    # register into a copy of the registry so other tests see the standard one
    monkeypatch.setattr(skeleton_module, "_REGISTRY", dict(skeleton_module._REGISTRY))
    s = Skeleton(
        name="test_custom5",
        joint_names=("root", "l_leg", "r_leg", "l_foot", "r_foot"),
        parents=(-1, 0, 0, 1, 2),
        joints_left=(1, 3),
        joints_right=(2, 4),
    )
    assert register_skeleton(s) is s
    got = get_skeleton("test_custom5")
    assert got is s
    assert got.flip_permutation == (0, 2, 1, 4, 3)
    assert skeleton_for_joints(5) is s
    x = np.arange(15, dtype=np.float64).reshape(5, 3)
    f = flip_pose(x, got)
    np.testing.assert_array_equal(f[1], [-x[2, 0], x[2, 1], x[2, 2]])


# ---------------------------------------------------------------- invalid layouts


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(parents=(-1, 0)),  # fewer parents than joints
        dict(parents=(-1, 0, 5)),  # parent out of range
        dict(parents=(-1, 0, -2)),  # negative parent other than -1
        dict(parents=(-1, 1, 0)),  # joint is its own parent
        dict(parents=(2, 0, 1)),  # cycle, no root
        dict(joints_left=(1,), joints_right=()),  # left/right lengths differ
        dict(joints_left=(1,), joints_right=(7,)),  # right index out of range
        dict(joints_left=(-1,), joints_right=(2,)),  # negative index
        dict(joints_left=(1, 2), joints_right=(2, 1)),  # a joint on both sides
    ],
)
def test_invalid_declarations_raise(kwargs):
    base = dict(name="bad", joint_names=("a", "b", "c"), parents=(-1, 0, 0), joints_left=(1,), joints_right=(2,))
    base.update(kwargs)
    with pytest.raises(PoseliftError, match="bad"):
        Skeleton(**base)


def test_valid_minimal_declaration():
    s = Skeleton(name="ok", joint_names=("a", "b", "c"), parents=(-1, 0, 0), joints_left=(1,), joints_right=(2,))
    assert s.flip_permutation == (0, 2, 1)


# ------------------------------------------------------------------------- flip


def test_flip_pose_numpy_negates_x_and_swaps_sides():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 17, 3))
    f = flip_pose(x)
    assert f.shape == x.shape
    # left hip (4) of the flipped pose is the mirrored right hip (1), and vice versa
    np.testing.assert_array_equal(f[:, 4], x[:, 1] * [-1, 1, 1])
    np.testing.assert_array_equal(f[:, 1], x[:, 4] * [-1, 1, 1])
    np.testing.assert_array_equal(f[:, 13], x[:, 16] * [-1, 1, 1])
    # centre joints only get x negated
    np.testing.assert_array_equal(f[:, 0], x[:, 0] * [-1, 1, 1])
    np.testing.assert_array_equal(f[:, 10], x[:, 10] * [-1, 1, 1])
    # input untouched, and flipping twice gives it back
    np.testing.assert_array_equal(flip_pose(f), x)


def test_flip_pose_specific_value_2d():
    x = np.zeros((17, 2))
    x[1] = [0.25, 0.5]  # right hip
    f = flip_pose(x)
    np.testing.assert_array_equal(f[4], [-0.25, 0.5])
    np.testing.assert_array_equal(f[1], [0.0, 0.0])
    assert x[1, 0] == 0.25  # not modified in place


def test_flip_pose_torch_matches_numpy_and_is_involution():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 17, 3, generator=g)
    x_before = x.clone()
    f = flip_pose(x)
    assert isinstance(f, torch.Tensor)
    torch.testing.assert_close(f, torch.from_numpy(flip_pose(x.numpy())))
    assert torch.equal(x, x_before)
    assert torch.equal(flip_pose(f), x)
    assert torch.equal(f[..., 14, :], x[..., 11, :] * torch.tensor([-1.0, 1.0, 1.0]))


def test_flip_pose_other_skeleton():
    x = np.random.default_rng(1).normal(size=(15, 3))
    f = flip_pose(x, HUMANEVA15)
    np.testing.assert_array_equal(f[2], x[5] * [-1, 1, 1])
    np.testing.assert_array_equal(flip_pose(f, HUMANEVA15), x)


# ------------------------------------------------------------------ bone lengths


def test_bone_lengths_numpy_and_torch():
    x = np.zeros((17, 3))
    x[1] = [3.0, 4.0, 0.0]  # r_hip at distance 5 from the pelvis
    x[2] = [3.0, 4.0, 2.0]  # r_knee at distance 2 from the r_hip
    lengths = H36M17.bone_lengths(x)
    assert lengths.shape == (16,)
    assert lengths[0] == pytest.approx(5.0)
    assert lengths[1] == pytest.approx(2.0)
    # r_ankle (3) sits at the origin: its bone to the knee has length |(3,4,2)|
    assert lengths[2] == pytest.approx(np.sqrt(29.0))
    batch = np.stack([x, 2 * x])
    lt = H36M17.bone_lengths(torch.from_numpy(batch))
    assert isinstance(lt, torch.Tensor) and lt.shape == (2, 16)
    np.testing.assert_allclose(lt[1].numpy(), 2 * lengths)


def test_bone_lengths_invariant_under_flip():
    x = np.random.default_rng(2).normal(size=(5, 17, 3))
    a = H36M17.bone_lengths(x)
    b = H36M17.bone_lengths(flip_pose(x))
    # flipping swaps left/right bones: compare as per-pose multisets
    np.testing.assert_allclose(np.sort(a, -1), np.sort(b, -1))


def test_coco_h36m_conversions_round_trip_on_shared_joints():
    from poselift.skeleton import coco17_from_h36m17, h36m17_from_coco17

    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 17, 3))
    coco = coco17_from_h36m17(X)
    back, sc = h36m17_from_coco17(coco)
    limbs = [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16]
    assert np.allclose(back[:, limbs], X[:, limbs])
    assert np.allclose(back[:, 0], (X[:, 1] + X[:, 4]) / 2)  # pelvis = mid-hips
    assert np.allclose(back[:, 8], (X[:, 11] + X[:, 14]) / 2)  # thorax = mid-shoulders
    assert sc.shape == (5, 17) and (sc == 1).all()
