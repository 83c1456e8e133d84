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


# Human3.6M-17 joint of each HumanEva-15 joint (pelvis, thorax, l arm, r arm, l leg, r leg, head)
HUMANEVA_FROM_H36M = [0, 8, 11, 12, 13, 14, 15, 16, 4, 5, 6, 1, 2, 3, 10]
HUMANEVA_SEQUENCES = {
    "Train/S1": ("Walking 1 chunk0", "Walking 1 chunk2", "Jog 1 chunk0", "Box 1 chunk0", "Gestures 1 chunk0"),
    "Validate/S1": ("Walking 1 chunk0", "Box 1 chunk0"),
    "Validate/S2": ("Jog 1 chunk0",),
}


def write_humaneva_videopose3d(tmp_path):
    """data_3d_humaneva15.npz + gt and detectron_pt_coco (COCO-17) 2D files, VideoPose3D layout."""
    rng = np.random.default_rng(0)
    world, gt, det = {}, {}, {"Unlabeled/Train/S1": {"Walking 1 chunk1": [rng.normal(size=(5, 17, 2))] * 3}}
    for k, (subject, names) in enumerate(HUMANEVA_SEQUENCES.items()):
        world[subject], gt[subject], det[subject] = {}, {}, {}
        for i, name in enumerate(names):
            m = random_motion(10 + i, 10 * k + i)[:, HUMANEVA_FROM_H36M]
            world[subject][name] = m
            gt[subject][name] = [rng.uniform(0, 480, size=(10 + i, 15, 2)).astype(np.float32) for _ in range(3)]
            dets = [rng.uniform(0, 480, size=(10 + i + 2, 17, 2)).astype(np.float32) for _ in range(3)]
            if subject == "Validate/S1" and name == "Box 1 chunk0":
                dets[2] = None  # one video missing
            det[subject][name] = dets
    np.savez_compressed(tmp_path / "data_3d_humaneva15.npz", positions_3d=world)
    np.savez_compressed(tmp_path / "data_2d_humaneva15_gt.npz", positions_2d=gt,
                        metadata={"layout_name": "humaneva15", "num_joints": 15})
    np.savez_compressed(tmp_path / "data_2d_humaneva15_detectron_pt_coco.npz", positions_2d=det,
                        metadata={"layout_name": "coco", "num_joints": 17})
    return world, gt, det


# 30 frames: 0-9 valid, 10-12 invalid, 13-29 valid; activity 1 (Stand/Walk) until frame 19, then 2 (Exercise)
MPI3DHP_VALID = np.r_[np.ones(10), np.zeros(3), np.ones(17)]
MPI3DHP_ACTIVITY = np.r_[np.ones(20), np.full(10, 2)]


def to_3dhp_order(h36m17: np.ndarray) -> np.ndarray:
    """Human3.6M-17 joints → the 17 joints of the 3DHP test set, in its order."""
    from poselift.data import mpi3dhp

    out = np.empty_like(h36m17)
    out[..., list(mpi3dhp.TO_H36M17), :] = h36m17
    return out


def write_3dhp_mat(path, camera, seed=0, activity=True):
    """An annot_data.mat as MATLAB -v7.3 writes it (HDF5 with a 512-byte MATLAB header)."""
    import h5py

    world = random_motion(len(MPI3DHP_VALID), seed).astype(np.float64)
    cam3d = look_at_camera((0.3, -4.0, 1.2), (0, 0, 1.0)).world_to_camera(world)  # (F, 17, 3) m, H36M order
    px = camera.project(cam3d, distortion=False)
    univ = (cam3d - cam3d[:, :1]) * 0.9 + cam3d[:, :1]  # a rescaled skeleton about the root
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        arrays = [("annot3", to_3dhp_order(cam3d) * 1000), ("univ_annot3", to_3dhp_order(univ) * 1000),
                  ("annot2", to_3dhp_order(px)), ("valid_frame", MPI3DHP_VALID[:, None]),
                  ("bb_crop", np.zeros((len(MPI3DHP_VALID), 4)))]
        if activity:
            arrays.append(("activity_annotation", MPI3DHP_ACTIVITY[:, None]))
        for key, value in arrays:
            if value.ndim == 3:  # MATLAB 17 x 1 x F... arrays: h5py reads them reversed, (F, 1, 17, D)
                value = value[:, None]
            f.create_dataset(key, data=value)
            f[key].attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as fh:
        text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
        fh.write(text.ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    return cam3d, univ, px




def randomise_bn(model, seed: int = 0):
    """Give every batch norm of ``model`` non-trivial statistics and affine parameters."""
    import torch

    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


def write_cmu_train(folder, subjects=("01", "03", "06"), frames: int = 80, split: int | None = None):
    """A CMU-style training folder: one ``cmu_<subject>.npz`` per subject of ``frames`` frames
    in two clips (the second starting at ``split``, default 9/16 of the way)."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, subj in enumerate(subjects):
        save_npz(folder / f"cmu_{subj}.npz", {
            "positions": random_motion(frames, seed=i), "offsets": np.array([0, frames * 9 // 16 if split is None else split, frames]),
            "clip_names": np.array([f"{subj}_01", f"{subj}_02"]), "descriptions": np.array(["walk", "run"]),
            "subject": np.str_(subj)})
    return folder


# a two-joint BVH: root with position and rotation channels, a chest, two frames
TINY_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Yrotation Xrotation Zrotation
  JOINT Chest
  {
    OFFSET 0 1 0
    CHANNELS 3 Xrotation Zrotation Yrotation
    End Site
    {
      OFFSET 0 0 2
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 2 3 0 0 90 90 0 0
0 0 0 10 20 30 40 50 60
"""


class Planted:
    """Unpickling this creates ``target``: stands in for a malicious payload."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import pathlib

        return pathlib.Path.touch, (pathlib.Path(self.target),)


def pattern(t: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Smooth, frame-dependent RGB content (H.264 keeps it well)."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = (x * 255 // (width - 1)).astype(np.uint8)
    frame[..., 1] = (y * 255 // (height - 1)).astype(np.uint8)
    frame[..., 2] = np.uint8(20 * t % 256)
    return frame


def write_mp4(path, frames=10, fps=25, height=48, width=64, **kw):
    """An H.264 video of :func:`pattern` frames (needs PyAV)."""
    from poselift.video import VideoWriter

    with VideoWriter(path, fps, width, height, **kw) as out:
        for t in range(frames):
            out.write(pattern(t, height, width))
    return out


# ------------------------------------------------------------- Human3.6M, VideoPose3D release

# the 16 MPII slots (r_ankle ... l_wrist) as Human3.6M-17 joints, for the two readings of the
# Stacked-Hourglass files: MPII's (7-9 = thorax, upper neck ~ neck/nose, head top ~ head) and
# 3d-pose-baseline's (7-9 = spine, thorax, head)
MPII_FROM_H36M = [3, 2, 1, 4, 5, 6, 0, 8, 9, 10, 16, 15, 14, 11, 12, 13]
MPII_H36M_FROM_H36M = [3, 2, 1, 4, 5, 6, 0, 7, 8, 10, 16, 15, 14, 11, 12, 13]
SH_METADATA = {"num_joints": 16, "keypoints_symmetry": [[3, 4, 5, 13, 14, 15], [0, 1, 2, 10, 11, 12]]}  # as released
# unequal action lengths (frames): the action mean and the frame-weighted mean differ
H36M_TEST_SEQUENCES = {"S9": {"Directions 1": 30, "Walking 1": 12, "Walking": 16, "Photo": 9},
                       "S11": {"Directions 1": 14, "Walking 1": 40, "Photo 1": 11}}


def write_h36m_videopose3d(folder, sequences=None, sh=True, seed=0):
    """The VideoPose3D release's Human3.6M files for ``sequences`` ({subject: {name: frames}},
    default :data:`H36M_TEST_SEQUENCES`): data_3d_h36m.npz (32 joints, metres), the gt 2D,
    and with ``sh`` the two Stacked-Hourglass files in the MPII order with the released
    metadata: sh_pt_mpii read with MPII's joints, sh_ft_h36m with 3d-pose-baseline's (both
    exact projections plus 1 px, 2 frames longer than the mocap; S11 "Directions 1" missing
    from both, as in the release). Returns ({subject: {name: (F, 17, 3) world}}, {subject:
    {name: [per-camera (F, 17, 2) projections]}})."""
    from pathlib import Path

    from poselift.data import h36m

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cams = h36m.load_cameras()
    sequences = H36M_TEST_SEQUENCES if sequences is None else sequences
    world, proj, w32, gt, pt, ft = {}, {}, {}, {}, {}, {}
    for k, (subject, seqs) in enumerate(sequences.items()):
        for d in (world, proj, w32, gt, pt, ft):
            d[subject] = {}
        for i, (name, frames) in enumerate(seqs.items()):
            m = random_motion(frames, seed + 10 * k + i).astype(np.float64)
            world[subject][name] = m
            w32[subject][name] = full32(m).astype(np.float32)
            p = [c.project(c.world_to_camera(m)) for c in cams[subject]]
            proj[subject][name] = p
            gt[subject][name] = [q.astype(np.float32) for q in p]
            if subject == "S11" and name.startswith("Directions"):
                continue
            longer = [np.concatenate([q, q[-2:]]) + 1.0 for q in p]
            pt[subject][name] = [q[:, MPII_FROM_H36M].astype(np.float32) for q in longer]
            ft[subject][name] = [q[:, MPII_H36M_FROM_H36M].astype(np.float32) for q in longer]
    np.savez_compressed(folder / "data_3d_h36m.npz", positions_3d=w32)
    np.savez_compressed(folder / "data_2d_h36m_gt.npz", positions_2d=gt,
                        metadata={"layout_name": "h36m", "num_joints": 17,
                                  "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]})
    if sh:
        np.savez_compressed(folder / "data_2d_h36m_sh_pt_mpii.npz", positions_2d=pt, metadata=SH_METADATA)
        np.savez_compressed(folder / "data_2d_h36m_sh_ft_h36m.npz", positions_2d=ft, metadata=SH_METADATA)
    return world, proj


LFS_POINTER = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               "size 1356254098\n")


def synthetic_sequences(n_seq=3, length=40, seed=0):
    """A small training set: random-walk 3D poses (root-relative) and their noisy 2D."""
    from poselift.data.dataset import SequenceSet

    rng = np.random.default_rng(seed)
    data = SequenceSet()
    for i in range(n_seq):
        y = np.cumsum(rng.normal(scale=0.02, size=(length, 17, 3)), axis=0)
        y -= y[:, :1]
        x = y[..., :2] * 0.5 + rng.normal(scale=0.01, size=(length, 17, 2))
        data.append(x, y, subject=f"{i:02d}", clip=f"c{i}", description="", camera="0")
    return data
