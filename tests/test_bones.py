import numpy as np
import pytest

from poselift.bones import (
    fix_bone_lengths,
    lengths_over_time,
    rebuild,
    sequence_lengths,
    standing_height,
)
from poselift.errors import PoseliftError
from poselift.skeleton import H36M17

from helpers import random_motion


def lifted_like(frames=120, seed=0):
    """A motion whose bones wander in length as a monocular lift's do (several cm)."""
    rng = np.random.default_rng(seed)
    return random_motion(frames, seed=seed).astype(np.float64) + rng.normal(scale=0.02, size=(frames, 17, 3))


def test_fixed_bones_are_rigid_and_close_to_the_input():
    P = lifted_like()
    assert lengths_over_time(P, H36M17.parents)[:, 1:].std(0).max() > 0.01  # the input is not rigid
    R = fix_bone_lengths(P)
    L = lengths_over_time(R, H36M17.parents)[:, 1:]
    assert L.std(0).max() < 1e-6  # bone std well under 1 mm
    assert np.allclose(R[:, 0], P[:, 0])  # root kept
    med = sequence_lengths(P)
    assert np.allclose(L[0], med[1:])  # the median lengths, left and right equal
    for a, b in zip(H36M17.joints_left, H36M17.joints_right):
        assert med[a] == pytest.approx(med[b])


def test_bones_that_only_wander_in_length_are_restored():
    """A rigid truth whose bones a lift stretches and shrinks from frame to frame (directions
    right): fixing the lengths gives the truth back up to the median's error."""
    base = random_motion(1, seed=5)[0].astype(np.float64)
    truth = np.stack([base @ np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]).T
                      for a in np.linspace(0, 2, 101)])
    stretch = 1 + np.random.default_rng(0).normal(scale=0.1, size=(101, 17))
    stretch[:, [4, 5, 6, 11, 12, 13]] = stretch[:, [1, 2, 3, 14, 15, 16]]  # symmetric, as the median makes them
    noisy = rebuild(truth, H36M17.parents, stretch)
    err_in = np.linalg.norm(noisy - truth, axis=-1).mean()
    err_out = np.linalg.norm(fix_bone_lengths(noisy, rigid_branches=False) - truth, axis=-1).mean()
    assert err_in > 0.02 and err_out < 0.2 * err_in


def test_rigid_branches_keep_the_pelvis_and_thorax_triangles():
    R = fix_bone_lengths(lifted_like(seed=3))
    for j, kids in ((0, [1, 4, 7]), (8, [9, 11, 14])):
        a, b, c = (R[:, k] for k in kids)
        tri = np.stack([np.linalg.norm(a - b, axis=-1), np.linalg.norm(b - c, axis=-1),
                        np.linalg.norm(a - c, axis=-1)], -1)
        assert tri.std(0).max() < 1e-6


def test_height_scales_the_body_and_is_checked():
    R = fix_bone_lengths(lifted_like(seed=1), height=1.5)
    assert standing_height(sequence_lengths(R)) == pytest.approx(1.5)
    for bad in (0.0, -1.7, float("nan"), 170.0):
        with pytest.raises(PoseliftError, match="height"):
            fix_bone_lengths(lifted_like(), height=bad)
    P = lifted_like()
    P[3, 5] = np.nan
    with pytest.raises(PoseliftError, match="NaN"):
        fix_bone_lengths(P)


def test_rebuild_scales_each_bone_and_keeps_directions():
    P = lifted_like(seed=2)
    f = np.linspace(0.5, 1.5, 17)
    out = rebuild(P, H36M17.parents, f)
    assert np.allclose(lengths_over_time(out, H36M17.parents)[:, 1:], lengths_over_time(P, H36M17.parents)[:, 1:] * f[1:])


def test_bvh_read_back_equals_the_rigid_positions(tmp_path):
    from poselift.render.bvh import read_bvh, write_bvh

    P = fix_bone_lengths(lifted_like(seed=4))
    back = read_bvh(write_bvh(tmp_path / "m.bvh", P, fps=30))[0]
    err = np.linalg.norm(back - P, axis=-1)
    assert err.max() < 0.01 and err.mean() < 0.002
