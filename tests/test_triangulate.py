import numpy as np
import pytest

from poselift.camera import Camera, look_at_camera
from poselift.errors import PoseliftError
from poselift.skeleton import COCO17
from poselift.triangulate import (
    estimate_frame_offsets,
    reprojection_px,
    repair_left_right,
    shift_frames,
    triangulate_linear,
    triangulate_robust,
    undistorted_rays,
)

from helpers import random_motion


def rig(n=4, distortion=False):
    cams = []
    for i, a in enumerate(np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.3):
        c = look_at_camera((4 * np.cos(a), 4 * np.sin(a), 1.6 + 0.2 * i), (0, 0, 1.0), res=(1080, 1920),
                           fov_deg=40, cam_id=f"c{i}")
        if distortion:
            from dataclasses import replace

            c = replace(c, radial=(-0.05, 0.14, 0.0), tangential=(0.0006, 0.0007))
        cams.append(c)
    return cams


def observe(world, cams, noise_px=0.0, seed=0):
    rng = np.random.default_rng(seed)
    px = np.stack([c.project(c.world_to_camera(world.astype(np.float64))) for c in cams])
    return px + rng.normal(scale=noise_px, size=px.shape) if noise_px else px


def test_linear_triangulation_recovers_a_synthetic_scene_exactly():
    world = random_motion(30, seed=2).astype(np.float64)
    cams = rig(4)
    uv = np.stack([undistorted_rays(p, c) for p, c in zip(observe(world, cams), cams)])
    X = triangulate_linear(uv, cams)
    assert np.abs(X - world).max() < 1e-9
    assert reprojection_px(X, uv, cams).max() < 1e-6


def test_undistortion_inverts_the_projection_with_lens_distortion():
    world = random_motion(10, seed=3).astype(np.float64)
    cams = rig(3, distortion=True)
    uv = np.stack([undistorted_rays(p, c) for p, c in zip(observe(world, cams), cams)])
    assert np.abs(triangulate_linear(uv, cams) - world).max() < 1e-6


def test_robust_triangulation_ignores_one_wrong_view_and_reports_few_views_as_nan():
    world = random_motion(20, seed=4).astype(np.float64)
    cams = rig(4)
    px = observe(world, cams, noise_px=1.0)
    px[2, :, 9] += 300.0  # one view puts one joint 300 px away
    uv = np.stack([undistorted_rays(p, c) for p, c in zip(px, cams)])
    plain = triangulate_linear(uv, cams)
    X, w = triangulate_robust(uv, cams)
    err_plain = np.linalg.norm(plain[:, 9] - world[:, 9], axis=-1).mean()
    err_robust = np.linalg.norm(X[:, 9] - world[:, 9], axis=-1).mean()
    assert err_plain > 0.05 and err_robust < 0.01
    assert w[2, :, 9].max() < 0.05 * w[0, :, 9].min()
    conf = np.ones(uv.shape[:-1])
    conf[1:, 0, 0] = 0.0  # only one view left for this point
    assert np.isnan(triangulate_linear(uv, cams, conf)[0, 0]).all()
    with pytest.raises(PoseliftError):
        triangulate_linear(uv[:2], cams)


def test_left_right_swaps_and_frame_offsets_are_found():
    world = random_motion(60, seed=5).astype(np.float64)
    # a COCO-like 17-point cloud with a clear left/right structure
    cams = rig(4)
    px = observe(world, cams, noise_px=0.5)
    perm = list(COCO17.flip_permutation)
    px[1, 20:35] = px[1, 20:35][:, perm]  # view 1 swaps left and right for 15 frames
    uv = np.stack([undistorted_rays(p, c) for p, c in zip(px, cams)])
    fixed, swapped = repair_left_right(uv, cams, perm)
    assert swapped[1].sum() == 15 and swapped[1, 20:35].all() and not swapped[[0, 2, 3]].any()
    clean = np.stack([undistorted_rays(p, c) for p, c in zip(observe(world, cams), cams)])
    assert np.abs(fixed - clean).max() * 1000 < 5  # back to the true points (normalised units, ~1 px)

    late = clean.copy()
    late[2] = shift_frames(clean[2], -3)  # view 2 runs 3 frames behind: its frame i shows instant i - 3
    assert estimate_frame_offsets(late, cams).tolist() == [0, 0, 3, 0]
    assert np.allclose(shift_frames(late[2], 3)[:-6], clean[2][:-6])
