"""Inference: 2D keypoints in, 3D poses out.

``lift(keypoints, width, height)`` is the one-call API; :class:`Lifter` keeps a loaded model
for repeated use. Keypoints are pixels in the model's input layout; output is root-relative
3D in the camera frame, metres, one pose per input frame.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .camera import normalize_screen_coordinates
from .errors import PoseliftError
from .evaluate import load_model, predict_sequence

DEFAULT_CHECKPOINTS = {"h36m17": "lifter_h36m17_27f.safetensors"}


def default_checkpoint(layout: str = "h36m17") -> Path:
    """Path of the pretrained model bundled for ``layout``."""
    if layout not in DEFAULT_CHECKPOINTS:
        raise PoseliftError(f"no pretrained model for input layout {layout!r} (have {', '.join(DEFAULT_CHECKPOINTS)})")
    path = Path(str(resources.files("poselift") / "assets" / DEFAULT_CHECKPOINTS[layout]))
    if not path.exists():
        raise PoseliftError("bundled pretrained model is missing from the installation", path)
    return path


def resolve_checkpoint(checkpoint, layout: str = "h36m17") -> Path:
    if checkpoint is None or str(checkpoint) == "default":
        return default_checkpoint(layout)
    return Path(checkpoint)


class Lifter:
    """A loaded lifter. ``Lifter()`` uses the bundled pretrained model."""

    def __init__(self, checkpoint=None, device: str = "cpu", flip_test: bool = True):
        self.path = resolve_checkpoint(checkpoint)
        self.model, self.meta = load_model(self.path, device)
        self.device = device
        self.flip_test = flip_test
        self.layout_in = self.meta.get("skeleton_in", "h36m17")
        if self.meta.get("target", "pose") != "pose":
            raise PoseliftError("this is a trajectory model, not a pose lifter", self.path)

    @property
    def joints_in(self) -> int:
        return self.model.cfg.joints_in

    def lift(self, keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
        """Pixels (T, J, 2) → root-relative camera-frame 3D (T, J_out, 3), metres."""
        kp = np.asarray(keypoints, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[-1] != 2:
            raise PoseliftError(f"keypoints must be (frames, joints, 2), got shape {kp.shape}")
        if kp.shape[1] != self.joints_in:
            raise PoseliftError(f"keypoints have {kp.shape[1]} joints but the model takes {self.joints_in}")
        if not np.isfinite(kp).all():
            raise PoseliftError("keypoints contain NaN or inf (fill missing joints first)")
        from .skeleton import get_skeleton

        x = normalize_screen_coordinates(kp, width, height).astype(np.float32)
        with torch.inference_mode():
            return predict_sequence(self.model, x, self.flip_test, skeleton_in=get_skeleton(self.layout_in),
                                    device=self.device)


def lift(keypoints: np.ndarray, width: int, height: int, checkpoint=None, flip_test: bool = True) -> np.ndarray:
    """One call: pixels (T, J, 2) → 3D (T, J, 3), metres, root-relative camera frame."""
    return Lifter(checkpoint, flip_test=flip_test).lift(keypoints, width, height)


# ------------------------------------------------------------------------ whole pipeline

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
DEFAULT_FOV_DEG = 60.0  # horizontal field of view assumed when the user gives no focal length


def default_intrinsics(width: int, height: int, focal: float | None = None, fov_deg: float = DEFAULT_FOV_DEG):
    """(focal (2,), centre (2,)) in pixels: the user's focal length or one from a field of view."""
    import math

    f = focal if focal else width / 2 / math.tan(math.radians(fov_deg) / 2)
    return np.array([f, f], dtype=np.float64), np.array([width / 2, height / 2], dtype=np.float64)


def estimate_trajectory(pose_rel: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, layout: str,
                        width: int, height: int, focal: float | None = None) -> np.ndarray:
    """Root positions (T, 1, 3) in the camera frame from the lifted pose and the 2D keypoints.

    Solves per frame for the translation that best reprojects the pose onto the keypoints
    (:func:`~poselift.camera.solve_root_translation`), over the joints both layouts share,
    weighted by confidence, with the given focal length or a default field of view.
    """
    from .camera import solve_root_translation
    from .skeleton import COCO_FROM_H36M

    f, c = default_intrinsics(width, height, focal)
    uv = (np.asarray(keypoints, dtype=np.float64) - c) / f
    if layout == "coco17":
        coco_idx = list(COCO_FROM_H36M)
        h36m_idx = [COCO_FROM_H36M[k] for k in coco_idx]
        P, u, w = pose_rel[:, h36m_idx], uv[:, coco_idx], scores[:, coco_idx]
    else:
        P, u, w = pose_rel, uv, scores
    root = solve_root_translation(P, u, np.clip(w, 0.05, 1.0))
    return root[:, None, :].astype(np.float32)


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def infer(source, out_dir, *, checkpoint=None, allow_pickle: bool = False, person: int = 0, layout: str | None = None,
          width: int | None = None, height: int | None = None, fps: float | None = None, focal: float | None = None,
          overwrite: bool = False, video: bool = True, gif: bool = False, progress: bool = True,
          min_score: float = 0.3) -> dict:
    """Video or 2D keypoint file in; 3D motion, renders and exports out.

    Returns ``{kind: path}`` for everything written plus ``"report"`` (a one-line summary of
    the gap filling). Keypoint files may be COCO JSON, OpenPose JSON folders, MMPose JSON or
    (with ``allow_pickle``) VideoPose3D npz; videos go through the 2D detector.
    """
    from .detect.fill import fill_gaps
    from .detect.importers import load_keypoints
    from .render.export import camera_to_floor, export_all

    source = Path(source)
    if not source.exists():
        raise PoseliftError("file not found", source)
    out_dir = Path(out_dir)
    stem = source.stem if source.is_file() else source.name
    video_path = source if _is_video(source) else None
    if video_path is not None:
        from .detect.base import detect_video, get_detector

        detector = get_detector("mediapipe")
        try:
            seq = detect_video(video_path, detector, person=person, progress=progress)
        finally:
            detector.close()
    else:
        seq = load_keypoints(source, allow_pickle=allow_pickle, person=person or None, layout=layout)
    w, h = width or seq.width, height or seq.height
    if not w or not h:
        raise PoseliftError("image size unknown for these keypoints: give --width and --height", source)
    rate = float(fps or seq.fps or 30.0)
    if video and not overwrite:  # refuse before writing anything (exports check their own files)
        for name in (f"{stem}_3d.mp4", f"{stem}_3d.gif" if gif else None):
            if name and (out_dir / name).exists():
                raise PoseliftError("exists already (use --overwrite to replace it)", out_dir / name)
    filled, report = fill_gaps(seq, min_score=min_score)
    if filled.layout == "coco17" and checkpoint in (None, "default") and "coco17" not in DEFAULT_CHECKPOINTS:
        # no COCO-input model is bundled yet: convert to Human3.6M-17 (approximate spine/head)
        from .detect.keypoints import KeypointSequence
        from .skeleton import h36m17_from_coco17

        kp_h, sc_h = h36m17_from_coco17(filled.keypoints, filled.scores)
        filled = KeypointSequence(kp_h, sc_h, "h36m17", filled.width, filled.height, filled.fps, filled.source,
                                  filled.notes + ["COCO-17 converted to Human3.6M-17 (approximate spine and head)"])
    lifter = Lifter(checkpoint if checkpoint not in (None, "default") else default_checkpoint(filled.layout))
    if lifter.layout_in != filled.layout:
        raise PoseliftError(f"the model takes {lifter.layout_in} keypoints but the input is {filled.layout}",
                            lifter.path)
    from .skeleton import get_skeleton

    kp = filled.keypoints.astype(np.float64)
    pose_rel = lifter.lift(kp, w, h)
    root = estimate_trajectory(pose_rel, kp, filled.scores, filled.layout, w, h, focal)
    positions_cam = pose_rel + root
    outputs = dict(export_all(out_dir, stem, positions_cam, kp, filled.scores, rate, overwrite=overwrite))
    if video:
        from .render.video import render_video

        mp4 = out_dir / f"{stem}_3d.mp4"
        gif_path = out_dir / f"{stem}_3d.gif" if gif else None
        render_video(mp4, video_path, kp, get_skeleton(filled.layout), camera_to_floor(positions_cam), rate,
                     overwrite=overwrite, gif_path=gif_path, progress=progress)
        outputs["mp4"] = mp4
        if gif_path is not None:
            outputs["gif"] = gif_path
    outputs = {k: str(v) for k, v in outputs.items()}
    outputs["report"] = report.summary()
    return outputs
