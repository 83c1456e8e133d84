"""Synthetic detector noise and failure modes for training inputs (poselift.data.noise)."""

import numpy as np

from poselift.data.noise import DetectorErrors, DetectorNoise, add_detector_noise
from poselift.skeleton import get_skeleton


def test_noise_size_correlation_and_width_scaling():
    n = DetectorNoise(burst_rate=0.0).sample(np.random.default_rng(0), 4000, 17, width=1000)
    assert n.shape == (4000, 17, 2) and n.dtype == np.float32
    sd = n.std(axis=0)
    assert (sd > 2.0).all() and (sd < 7.5).all()  # 3-6 px per joint
    lag1 = np.mean([np.corrcoef(n[:-1, j, 0], n[1:, j, 0])[0, 1] for j in range(17)])
    assert abs(lag1 - 0.8) < 0.05  # AR(1), rho 0.8
    wide = DetectorNoise(burst_rate=0.0).sample(np.random.default_rng(0), 4000, 17, width=2000)
    np.testing.assert_allclose(wide, 2 * n, rtol=1e-5)  # pixels scale with the image width
    again = DetectorNoise(burst_rate=0.0).sample(np.random.default_rng(0), 4000, 17, width=1000)
    np.testing.assert_array_equal(again, n)  # seeded


def test_bursts_are_large_and_rare():
    quiet = DetectorNoise(burst_rate=0.0).sample(np.random.default_rng(1), 2000, 17)
    loud = DetectorNoise(burst_rate=0.01).sample(np.random.default_rng(1), 2000, 17)
    jump = np.linalg.norm(loud - quiet, axis=-1)
    assert 0.01 < (jump > 1).mean() < 0.2 and jump.max() >= 15


def test_add_detector_noise_keeps_the_shape():
    kp = np.full((50, 17, 2), 500.0)
    out = add_detector_noise(kp, np.random.default_rng(2), 1000)
    assert out.shape == kp.shape and 0 < np.abs(out - kp).mean() < 20


def test_offsets_are_constant_in_the_body_frame():
    rng = np.random.default_rng(3)
    T = 10
    pts = rng.normal(size=(T, 17, 3))
    angle = np.linspace(0, np.pi, T)  # the body turns about the vertical
    right = np.stack([np.cos(angle), np.sin(angle), np.zeros(T)], -1)
    fwd = np.stack([-np.sin(angle), np.cos(angle), np.zeros(T)], -1)
    up = np.tile([0.0, 0.0, 1.0], (T, 1))
    out = DetectorErrors(offset_sd=0.05).offset_keypoints(pts, np.random.default_rng(4), right, up, fwd)
    d = out - pts
    local = np.stack([np.einsum("tjb,tb->tj", d, a) for a in (right, up, fwd)], -1)  # (T, J, 3) in the body frame
    np.testing.assert_allclose(local, np.repeat(local[:1], T, axis=0), atol=1e-12)
    assert 0.02 < np.abs(local[0]).mean() < 0.08


def test_swaps_and_missed_joints():
    flip = get_skeleton("coco17").flip_permutation
    T = 400
    px = np.cumsum(np.random.default_rng(5).normal(size=(T, 17, 2)), axis=0) + 500
    swapped = DetectorErrors(swap_rate=0.02, miss_rate=0.0).corrupt_2d(px, np.random.default_rng(6), flip)
    changed = ~np.isclose(swapped, px).all((-1, -2))
    assert changed.any() and not changed.all()
    np.testing.assert_array_equal(swapped[changed], px[changed][:, flip])  # whole frames mirrored left/right
    missed = DetectorErrors(swap_rate=0.0, miss_rate=0.01).corrupt_2d(px, np.random.default_rng(7), flip)
    moved = ~np.isclose(missed, px).all(-1)  # (T, J)
    assert moved.any() and moved.mean() < 0.3
    j = int(np.argmax(moved.sum(0)))
    t = int(np.flatnonzero(moved[:, j])[0])
    assert 0 < t
    a = t - 1  # each lost run lies on the line between its neighbours (or is held at the ends)
    b = t + int(np.argmin(moved[t:, j])) if not moved[t:, j].all() else T
    if b < T:
        w = (np.arange(t, b) - a)[:, None] / (b - a)
        np.testing.assert_allclose(missed[t:b, j], (1 - w) * missed[a, j] + w * missed[b, j], atol=1e-9)
    assert np.isfinite(missed).all() and missed.dtype == np.float64
