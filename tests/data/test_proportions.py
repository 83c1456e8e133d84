import numpy as np
import pytest

from poselift.data.proportions import BodyProportions, bone_factors, random_body, rescale_bones
from poselift.errors import PoseliftError
from poselift.metrics import bone_lengths
from poselift.skeleton import H36M17, HUMANEVA15

from helpers import random_motion


def rigid(frames=50, seed=0):
    """A motion whose bones are exactly rigid: a fixed pose, rotated and moved over time."""
    base = random_motion(1, seed=seed)[0].astype(np.float64)
    out = []
    for t in range(frames):
        a = 0.05 * t
        R = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        out.append(base @ R.T + np.array([0.01 * t, 0.0, 0.0]))
    return np.stack(out)


def test_bodies_keep_bones_rigid_within_a_sequence_and_vary_across():
    pos = rigid()
    rng = np.random.default_rng(0)
    lengths = []
    for _ in range(200):
        body = random_body(pos, rng)
        bl = bone_lengths(body, H36M17.parents)
        assert bl.std(0).max() < 1e-9  # rigid within the sequence
        d = body[:, 1:] - body[:, [p for p in H36M17.parents[1:]]]
        d0 = pos[:, 1:] - pos[:, [p for p in H36M17.parents[1:]]]
        cos = (d * d0).sum(-1) / np.linalg.norm(d, axis=-1) / np.linalg.norm(d0, axis=-1)
        assert cos.min() > 1 - 1e-9  # every bone keeps its direction
        lengths.append(bl[0] / bone_lengths(pos, H36M17.parents)[0])
    ratio = np.array(lengths)  # (bodies, 16) length factor of each bone
    assert ratio.std(0).min() > 0.03  # every bone varies across bodies
    assert np.allclose(ratio[:, 0], ratio[:, 3])  # left and right hips alike
    forearm, upper = ratio[:, 12], ratio[:, 11]  # bones of joints 13 (l_wrist) and 12 (l_elbow)
    assert np.median(forearm / upper) > 1.05  # forearms lengthened relative to the upper arm
    from poselift.bones import sequence_lengths, standing_height

    heights = np.median(ratio, axis=1) * standing_height(sequence_lengths(pos))
    assert 1.0 < heights.min() and heights.max() < 2.2
    assert 1.55 < np.median(heights) < 1.75  # the world's adults, mean 1.65 m


def test_root_path_scales_with_the_body_and_children_are_smaller():
    pos = rigid()
    spec = BodyProportions(child_fraction=1.0, segment_sd=0.0, forearm=(1.0, 1.0))
    height, factors = spec.sample(np.random.default_rng(1))
    assert spec.child_height[0] <= height <= spec.child_height[1]
    scale = 0.7
    assert factors["head"] == pytest.approx(spec.child_head) and factors["shin"] == pytest.approx(spec.child_legs)
    out = rescale_bones(pos, bone_factors(scale, factors), H36M17.parents, root_scale=scale)
    assert np.allclose(out[:, 0], pos[:, 0] * scale)
    with pytest.raises(PoseliftError):
        bone_factors(1.0, factors, HUMANEVA15)


def test_training_set_with_body_proportions_changes_targets_not_their_rigidity(tmp_path):
    from poselift.data.dataset import ViewOptions, build_cmu_training_set

    from helpers import write_cmu_train

    write_cmu_train(tmp_path)
    plain = build_cmu_training_set(tmp_path, random_cameras=1, seed=3)
    bodies = build_cmu_training_set(tmp_path, random_cameras=1, seed=3, view=ViewOptions(body_proportions=True))
    assert len(plain.targets_3d) == len(bodies.targets_3d)
    per_view = []
    for a, b in zip(plain.targets_3d, bodies.targets_3d):
        la, lb = bone_lengths(a, H36M17.parents), bone_lengths(b, H36M17.parents)
        # each bone scaled by a constant: its relative variation over time is the source's
        assert np.abs(lb.std(0) / lb.mean(0) - la.std(0) / la.mean(0)).max() < 1e-4
        per_view.append(lb.mean(0) / la.mean(0))
    per_view = np.array(per_view)
    assert per_view.std(0).min() > 0.01  # each view has a body of its own


def test_detector_errors_swap_runs_and_bridge_missed_joints():
    from poselift.data.noise import DetectorErrors
    from poselift.skeleton import COCO17

    rng = np.random.default_rng(0)
    T, J = 400, 17
    t = np.arange(T, dtype=np.float64)[:, None, None]
    px = np.concatenate([100 + 2 * t + np.arange(J)[None, :, None] * 10, 500 + 0 * t + np.arange(J)[None, :, None]],
                        axis=-1) * np.ones((T, J, 2))
    perm = list(COCO17.flip_permutation)
    swaps = DetectorErrors(swap_rate=0.02, miss_rate=0.0).corrupt_2d(px, rng, perm)
    swapped = np.all(np.isclose(swaps, px[:, perm]), axis=(1, 2)) & ~np.all(np.isclose(swaps, px), axis=(1, 2))
    unchanged = np.all(np.isclose(swaps, px), axis=(1, 2))
    assert (swapped | unchanged).all() and 0.05 < swapped.mean() < 0.9  # whole bodies swapped in runs
    misses = DetectorErrors(swap_rate=0.0, miss_rate=0.01).corrupt_2d(px, rng, perm)
    # the test track is linear in time, so bridging a gap by interpolation restores it exactly
    assert np.allclose(misses[16:-16], px[16:-16])  # (held constant where a gap touches an end)
    bumpy = px + rng.normal(size=px.shape) * 5
    assert not np.allclose(DetectorErrors(swap_rate=0.0, miss_rate=0.01).corrupt_2d(bumpy, rng, perm), bumpy)


def test_keypoint_offsets_are_constant_in_the_body_frame():
    from poselift.data.noise import DetectorErrors

    pos = rigid(30)
    right = np.tile([1.0, 0, 0], (30, 1))
    up = np.tile([0, 0, 1.0], (30, 1))
    out = DetectorErrors(offset_sd=0.03).offset_keypoints(pos, np.random.default_rng(2), right, up,
                                                           np.cross(up, right))
    d = out - pos
    assert np.allclose(d, d[:1]) and 0.005 < np.abs(d).mean() < 0.06
