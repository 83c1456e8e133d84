"""Real-video accuracy: monocular 3D from each view of a calibrated multi-view clip, against
3D triangulated from the *other* views, side by side with MediaPipe's own 3D.

    python benchmarks/realvideo.py [--clip ../shared/data/video/pose2sim_single] [--out runs/realvideo]
                                   [--checkpoint CK] [--json OUT]

For each view k:

* **reference**: the 2D of every other view (BlazePose through poselift's detector, the same
  2D every method below starts from), undistorted with the calibration, time-aligned (an
  integer frame offset per view, estimated from reprojection), left/right swaps of the
  detector repaired view by view, then triangulated robustly (confidence × Cauchy weights on
  the reprojection error, 20 px scale). It reports its own reprojection error (median px, in
  the views it used) and the stability of its bones;
* **monocular**, from view k alone: poselift as shipped (``reconstruct``: gap filling, the
  bundled COCO-17 lifter, averaged with BlazePose's own 3D (``poselift.fuse``), the
  trajectory model, one rigid body; with the default focal and with the true focal, which
  changes only the root), the lifter alone (``lift_only``: rigid body, no averaging) and
  without the rigid body either (``free_bones``), MediaPipe BlazePose's ``pose_world_landmarks`` from the
  same detector run, a constant mean pose from the training data (upright, facing the
  camera), and the 2D keypoints at zero depth (P-MPJPE only).

Metrics on 13 joints (pelvis = mid-hips, hips, knees, ankles, shoulders, elbows, wrists) in
the camera frame of view k, pelvis-aligned, mm: MPJPE, N-MPJPE (scale-aligned), P-MPJPE
(Procrustes), MPJVE (mm per frame), per-joint error and per-joint mean offset (camera axes x
right, y down, z away: shows differences of joint definition), bone-length std (median over
12 bones of the per-bone std over frames), best-fit scale (median over frames of the scale
that maps the prediction onto the reference; > 1: predicted too small) and, for poselift,
the root (pelvis) position error in the camera frame. Frames where the reference or a
method lacks a joint are left out of that method's figures.

The detections are cached in ``--out`` (delete them to re-detect).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POSELIFT_DATA", ROOT / ".." / "shared" / "data"))

# COCO-17 indices of the 12 limb joints, and the Human3.6M-17 joints that correspond
JOINTS13 = ("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
            "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist")
COCO_LIMBS = (12, 14, 16, 11, 13, 15, 5, 7, 9, 6, 8, 10)  # r_hip ... r_wrist in JOINTS13[1:] order
H36M_13 = (0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16)
# bones over the 13 joints: legs, arms, hip width, shoulder width, trunk sides
BONES13 = ((1, 2), (2, 3), (4, 5), (5, 6), (7, 8), (8, 9), (10, 11), (11, 12), (1, 4), (7, 10), (1, 10), (4, 7))
BONE_NAMES = ("r_thigh", "r_shin", "l_thigh", "l_shin", "l_upper_arm", "l_forearm", "r_upper_arm", "r_forearm",
              "hip_width", "shoulder_width", "r_trunk", "l_trunk")
FLIP13 = (0, 4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9)


def coco_to_13(a: np.ndarray) -> np.ndarray:
    """COCO-17 (..., 17, D) → the 13 joints (pelvis = mid-hips)."""
    limbs = a[..., list(COCO_LIMBS), :]
    pelvis = (a[..., 11:12, :] + a[..., 12:13, :]) / 2
    return np.concatenate([pelvis, limbs], axis=-2)


def detect_view(video: Path, cache: Path):
    """(KeypointSequence, world landmarks (T, 17, 3)) of one view, cached as npz."""
    from poselift.detect.base import detect_video, get_detector
    from poselift.detect.keypoints import KeypointSequence

    if cache.exists():
        z = np.load(cache, allow_pickle=False)
        seq = KeypointSequence(z["keypoints"], z["scores"], "coco17", int(z["width"]), int(z["height"]),
                               float(z["fps"]), str(video), world=z["world"])
        return seq, z["world"]
    det = get_detector("mediapipe")
    try:
        seq = detect_video(video, det, progress=True)
    finally:
        det.close()
    world = seq.world if seq.world is not None else np.full(seq.keypoints.shape[:2] + (3,), np.nan, np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, keypoints=seq.keypoints, scores=seq.scores, world=world, width=seq.width, height=seq.height,
             fps=seq.fps)
    return seq, world


def mean_training_pose(train_dir: Path) -> np.ndarray:
    """Mean Human3.6M-17 pose of the training data in a body frame, placed upright facing a
    camera (camera axes: x right, y down, z away), root at 0, metres: (17, 3)."""
    from poselift.bones import body_axes
    from poselift.data.cmu import load_train_dir

    poses = []
    for clip in load_train_dir(train_dir):
        p = clip.positions[::10]
        poses.append(p - p[:, :1])
    P = np.concatenate(poses).astype(np.float64)  # world Z up
    right, up, fwd = body_axes(P)
    # body frame (right, up, forward) → camera frame facing the person: the person's right is
    # the camera's -x (image left), up is -y, forward (towards the camera) is -z
    B = np.stack([right, up, fwd], axis=-1)  # columns: body axes in world
    local = np.einsum("tji,tkj->tki", B, P)  # coordinates along (right, up, forward)
    mean = local.mean(0)
    return np.stack([-mean[:, 0], -mean[:, 1], -mean[:, 2]], axis=-1)


def metrics(pred: np.ndarray, ref: np.ndarray) -> dict:
    """Figures of ``pred`` against ``ref`` (T, 13, 3) metres, both pelvis-relative."""
    from poselift.metrics import mpjpe_frames, n_mpjpe_frames, p_mpjpe_frames

    ok = np.isfinite(pred).all((-1, -2)) & np.isfinite(ref).all((-1, -2))
    p, r = pred[ok] * 1000, ref[ok] * 1000
    out = {"frames": int(ok.sum())}
    if not ok.any():
        return out
    out["mpjpe"] = float(mpjpe_frames(p, r).mean())
    out["n_mpjpe"] = float(n_mpjpe_frames(p, r).mean())
    out["p_mpjpe"] = float(p_mpjpe_frames(p, r).mean())
    both = ok[1:] & ok[:-1]
    vp, vr = (pred[1:] - pred[:-1])[both] * 1000, (ref[1:] - ref[:-1])[both] * 1000
    out["mpjve"] = float(np.linalg.norm(vp - vr, axis=-1).mean()) if both.any() else None
    out["per_joint"] = dict(zip(JOINTS13, np.linalg.norm(p - r, axis=-1).mean(0).round(1).tolist()))
    out["offset_xyz"] = dict(zip(JOINTS13, (p - r).mean(0).round(1).tolist()))
    scale = (r * p).sum((-1, -2)) / (p * p).sum((-1, -2))
    out["scale"] = float(np.median(scale))
    out["bone_std"] = bone_std(pred[ok])
    out["bones_mm"] = bone_medians(pred[ok])
    return out


def _bone_lengths(x: np.ndarray) -> np.ndarray:
    a, b = np.array(BONES13).T
    return np.linalg.norm(x[:, a] - x[:, b], axis=-1) * 1000


def bone_std(x: np.ndarray) -> float:
    """Median over the 12 bones of each bone's length std over frames, mm."""
    return float(np.median(_bone_lengths(x).std(0)))


def bone_medians(x: np.ndarray) -> dict:
    """Each bone's median length over frames, mm."""
    return dict(zip(BONE_NAMES, np.median(_bone_lengths(x), axis=0).round(0).tolist()))


def reference_3d(seqs, cameras, views_used: list[int]):
    """Robust triangulation of the 13 joints from ``views_used`` on the common timeline:
    (world points (T, 13, 3), median reprojection px)."""
    from poselift.triangulate import reprojection_px, triangulate_robust

    uv = np.stack([seqs["uv"][v] for v in views_used])
    conf = np.stack([seqs["conf"][v] for v in views_used])
    cams = [cameras[v] for v in views_used]
    X, w = triangulate_robust(uv, cams, conf)
    e = reprojection_px(X, uv, cams)
    good = np.isfinite(e) & (conf > 0.3)
    return X, float(np.median(e[good])) if good.any() else float("nan")


def main(argv=None) -> int:
    import torch

    from poselift.data.formats import save_json
    from poselift.data.qualisys import load_qca
    from poselift.infer import reconstruct
    from poselift.skeleton import get_skeleton
    from poselift.triangulate import estimate_frame_offsets, repair_left_right, shift_frames, undistorted_rays

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", default=str(DATA / "video" / "pose2sim_single"),
                   help="folder with camNN.mp4 and a Qualisys *.qca.txt calibration")
    p.add_argument("--out", default="runs/realvideo", help="cache of the detections and the JSON result")
    p.add_argument("--checkpoint", default=None, help="pose lifter to test (default: the bundled one)")
    p.add_argument("--train-dir", default=str(DATA / "cmu" / "train"), help="for the mean-pose baseline")
    p.add_argument("--json", default=None, help="write the results here (default OUT/realvideo.json)")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    clip, out = Path(a.clip), Path(a.out)
    calib = sorted(clip.glob("*.qca.txt"))
    if not calib:
        raise SystemExit(f"{clip}: no *.qca.txt calibration")
    cameras = load_qca(calib[0])
    videos = [clip / f"{c.id}.mp4" for c in cameras]
    V = len(cameras)

    seqs, worlds = [], []
    for cam, video in zip(cameras, videos):
        seq, world = detect_view(video, out / f"detections_{cam.id}.npz")
        seqs.append(seq)
        worlds.append(world)
    T = min(len(s) for s in seqs)
    coco = get_skeleton("coco17")

    # 2D of every view as normalised rays (pixels kept as they are: frames narrower than the
    # calibrated sensor are cropped on the right), scores as confidence
    px = np.stack([coco_to_13(s.keypoints[:T].astype(np.float64)) for s in seqs])  # (V, T, 13, 2)
    sc = np.stack([coco_to_13(s.scores[:T, :, None].astype(np.float64))[..., 0] for s in seqs])
    sc[..., 0] = np.stack([np.minimum(s.scores[:T, 11], s.scores[:T, 12]) for s in seqs])
    uv = np.stack([undistorted_rays(px[v], cameras[v]) for v in range(V)])

    offsets = estimate_frame_offsets(uv, cameras, sc)
    uv_t = np.stack([shift_frames(uv[v], offsets[v]) for v in range(V)])
    sc_t = np.nan_to_num(np.stack([shift_frames(sc[v], offsets[v]) for v in range(V)]))
    uv_t, swapped = repair_left_right(uv_t, cameras, FLIP13, sc_t)
    sc_t[swapped] = sc_t[swapped][:, list(FLIP13)]
    common = {"uv": uv_t, "conf": sc_t}
    print(f"frame offsets per view (frames): {dict(zip([c.id for c in cameras], offsets.tolist()))}")
    print(f"left/right swaps repaired: {dict(zip([c.id for c in cameras], swapped.sum(1).tolist()))} frames")

    mean_pose = mean_training_pose(Path(a.train_dir))[list(H36M_13)] if Path(a.train_dir).exists() else None
    results = {"clip": str(clip), "frames": T, "offsets": offsets.tolist(),
               "swaps": swapped.sum(1).tolist(), "views": {}}
    for k, cam in enumerate(cameras):
        others = [v for v in range(V) if v != k]
        X, reproj = reference_3d(common, cameras, others)
        ref = cam.world_to_camera(X)  # (T, 13, 3), common timeline
        ref_rel = ref - ref[:, :1]
        ref_ok = ref_rel[np.isfinite(ref_rel).all((-1, -2))]
        view = {"reference": {"views": [cameras[v].id for v in others], "reprojection_px": reproj,
                              "bone_std": bone_std(ref_ok), "bones_mm": bone_medians(ref_ok)}}

        def timeline(a):  # view k's frames on the common timeline
            return shift_frames(a[:T], -offsets[k])

        seq = seqs[k]
        true_focal = float(np.mean(cam.focal))
        for name, focal, rigid, fuse, size in (("poselift", None, True, True, True),
                                               ("poselift_true_focal", true_focal, True, True, True),
                                               ("poselift_lift_size", None, True, True, False),
                                               ("poselift_lift_only", None, True, False, False),
                                               ("poselift_free_bones", None, False, False, False)):
            # every gap filled (max_gap = the clip): every method is scored on the same frames and
            # joints (the shipped default leaves out cam03's right wrist, missing for 23 frames)
            rec = reconstruct(seq, checkpoint=a.checkpoint, focal=focal, source=videos[k], rigid=rigid, fuse=fuse,
                              max_gap=len(seq), detector_size=size)
            pos = timeline(rec.positions_cam[:, list(H36M_13)].astype(np.float64))
            m = metrics(pos - pos[:, :1], ref_rel)
            root_err = np.linalg.norm(pos[:, 0] - ref[:, 0], axis=-1)
            m["root_error_mm"] = float(np.nanmean(root_err) * 1000)
            m["root_depth_ratio"] = float(np.nanmedian(pos[:, 0, 2] / ref[:, 0, 2]))
            view[name] = m
        w = timeline(coco_to_13(worlds[k].astype(np.float64)))
        view["mediapipe_world"] = metrics(w - w[:, :1], ref_rel)
        if mean_pose is not None:
            view["mean_pose"] = metrics(np.broadcast_to(mean_pose, ref_rel.shape).copy(), ref_rel)
        flat = timeline(np.concatenate([uv[k], np.zeros(uv[k].shape[:-1] + (1,))], -1))
        view["2d_zero_depth"] = {"p_mpjpe": metrics(flat - flat[:, :1], ref_rel).get("p_mpjpe")}
        results["views"][cam.id] = view

    methods = ["poselift", "poselift_true_focal", "poselift_lift_size", "poselift_lift_only", "poselift_free_bones", "mediapipe_world",
               "mean_pose", "2d_zero_depth"]
    keys = ["mpjpe", "n_mpjpe", "p_mpjpe", "mpjve", "bone_std", "scale", "root_error_mm", "root_depth_ratio"]
    mean = {}
    for mth in methods:
        rows = [results["views"][c.id].get(mth, {}) for c in cameras]
        mean[mth] = {key: float(np.mean([r[key] for r in rows])) for key in keys
                     if all(r.get(key) is not None for r in rows)}
    results["mean"] = mean

    print(f"\nReal video: {clip.name}, {T} frames x {V} views; 13 joints, camera frame, pelvis-aligned, mm")
    print(f"{'view':<7}{'method':<22}{'MPJPE':>7}{'N-MPJPE':>9}{'P-MPJPE':>9}{'MPJVE':>7}{'bone std':>10}"
          f"{'scale':>7}{'root':>7}{'depth':>7}")
    for vid in [c.id for c in cameras] + ["mean"]:
        src = results["mean"] if vid == "mean" else results["views"][vid]
        if vid != "mean":
            r = src["reference"]
            print(f"{vid:<7}{'reference':<22}{'':>7}{'':>9}{'':>9}{'':>7}{r['bone_std']:>10.1f}"
                  f"   (from {', '.join(r['views'])}; reprojection {r['reprojection_px']:.1f} px)")
        for mth in methods:
            r = src.get(mth, {})

            def f(key, fmt):
                v = r.get(key)
                return format(v, fmt) if v is not None else "-"
            print(f"{vid:<7}{mth:<22}{f('mpjpe', '.1f'):>7}{f('n_mpjpe', '.1f'):>9}{f('p_mpjpe', '.1f'):>9}"
                  f"{f('mpjve', '.1f'):>7}{f('bone_std', '.1f'):>10}{f('scale', '.2f'):>7}"
                  f"{f('root_error_mm', '.0f'):>7}{f('root_depth_ratio', '.2f'):>7}")
    print("\nper-joint mean offset, poselift minus reference, mean of the views (x right, y down, z away; mm):")
    for mth in ("poselift", "poselift_lift_only", "mediapipe_world"):
        offs = np.mean([list(results["views"][c.id][mth]["offset_xyz"].values()) for c in cameras], axis=0)
        errs = np.mean([list(results["views"][c.id][mth]["per_joint"].values()) for c in cameras], axis=0)
        print(f"  {mth}: " + "; ".join(f"{n} {e:.0f} ({o[0]:+.0f},{o[1]:+.0f},{o[2]:+.0f})"
                                         for n, e, o in zip(JOINTS13, errs, offs)))
    print("\nbone lengths (median over the clip; mean of the views; mm): "
          + ", ".join(BONE_NAMES[:8]))
    for mth in ("reference", "poselift", "poselift_lift_size", "poselift_lift_only", "mediapipe_world"):
        L = np.mean([list(results["views"][c.id][mth]["bones_mm"].values())[:8] for c in cameras], axis=0)
        print(f"  {mth:<20}" + " ".join(f"{v:5.0f}" for v in L))
    save_json(Path(a.json or out / "realvideo.json"), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
