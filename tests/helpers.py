"""Small synthetic data in the project's file layouts, for tests that must not need shared/."""

from __future__ import annotations

import numpy as np

from poselift.camera import look_at_camera
from poselift.data.formats import save_npz


def random_motion(frames: int, seed: int = 0) -> np.ndarray:
    """A plausible-ish world-frame 17-joint motion (F, 17, 3), metres, Z up."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 0, 1.0], [-.1, 0, 1.0], [-.1, 0, .55], [-.1, 0, .1], [.1, 0, 1.0], [.1, 0, .55],
                     [.1, 0, .1], [0, 0, 1.25], [0, 0, 1.5], [0, -.08, 1.58], [0, 0, 1.7], [.18, 0, 1.48],
                     [.2, 0, 1.2], [.22, 0, .95], [-.18, 0, 1.48], [-.2, 0, 1.2], [-.22, 0, .95]])
    wobble = np.cumsum(rng.normal(scale=0.004, size=(frames, 17, 3)), axis=0)
    drift = np.cumsum(rng.normal(scale=0.01, size=(frames, 1, 3)), axis=0) * np.array([1, 1, 0])
    return (base[None] + wobble + drift).astype(np.float32)


def write_bench(path, subject="09", clip_frames=(40, 25), n_cameras=2, seed=0):
    """A benchmark file in the CMU-17 v1 layout with exact 2D and noisy 'detections'."""
    rng = np.random.default_rng(seed)
    world = random_motion(sum(clip_frames), seed)
    cams = [look_at_camera((4 * np.cos(a), 4 * np.sin(a), 1.5), (0, 0, 1.0), res=(1000, 1000), cam_id=f"c{i}")
            for i, a in enumerate(np.linspace(0, np.pi, n_cameras))]
    p3 = np.stack([c.world_to_camera(world.astype(np.float64)) for c in cams]).astype(np.float32)
    p2 = np.stack([c.project(p3[i].astype(np.float64)) for i, c in enumerate(cams)]).astype(np.float32)
    save_npz(path, {
        "subject": np.str_(subject), "clip_names": np.array([f"{subject}_{i:02d}" for i in range(len(clip_frames))]),
        "descriptions": np.array(["walk", "run"][: len(clip_frames)] + ["jump"] * max(0, len(clip_frames) - 2)),
        "offsets": np.cumsum([0, *clip_frames]), "positions_3d_world": world, "positions_3d_camera": p3,
        "positions_2d_gt": p2, "positions_2d_det": p2 + rng.normal(scale=3, size=p2.shape).astype(np.float32),
        "scores_det": np.ones(p2.shape[:-1], np.float32),
        "camera_ids": np.array([c.id for c in cams]), "camera_res": np.array([[c.res_w, c.res_h] for c in cams]),
        "camera_focal": np.array([c.focal for c in cams], np.float32),
        "camera_center": np.array([c.center for c in cams], np.float32),
        "camera_radial": np.zeros((n_cameras, 3), np.float32), "camera_tangential": np.zeros((n_cameras, 2), np.float32),
        "camera_R_c2w": np.array([c.R_c2w for c in cams], np.float32),
        "camera_t": np.array([c.t for c in cams], np.float32),
    })
    return world, p3


def full32(motion17: np.ndarray) -> np.ndarray:
    """A Human3.6M 32-joint pose whose 17 kept joints are ``motion17``; the 15 dropped ones sit far away."""
    from poselift.data.h36m import KEEP_17

    full = np.full(motion17.shape[:-2] + (32, 3), 99.0)
    full[..., list(KEEP_17), :] = motion17
    return full


def write_h36m_cdf(path, motion17_m: np.ndarray) -> None:
    """A Human3.6M D3_Positions file as released: CDF variable Pose (1, F, 96), millimetres."""
    from cdflib import cdfwrite

    pose = (full32(motion17_m) * 1000.0).reshape(1, len(motion17_m), 96)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = cdfwrite.CDF(str(path), delete=True)
    c.write_var({"Variable": "Pose", "Data_Type": 44, "Num_Elements": 1, "Rec_Vary": True,
                 "Dim_Sizes": list(pose.shape[1:])}, var_data=pose.astype(np.float32))
    c.close()
