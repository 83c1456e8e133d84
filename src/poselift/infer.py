"""Inference: 2D keypoints in, 3D poses out.

``lift(keypoints, width, height)`` is the one-call API; :class:`Lifter` keeps a loaded model
for repeated use. Keypoints are pixels in the model's input layout; output is root-relative
3D in the camera frame, metres, one pose per input frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .assets_path import asset_path
from .camera import normalize_screen_coordinates
from .errors import PoseliftError
from .evaluate import load_model, predict_sequence

# bundled pretrained models (src/poselift/assets), by input layout
DEFAULT_CHECKPOINTS = {"h36m17": "lifter_h36m17_27f.safetensors", "coco17": "lifter_coco17_27f.safetensors"}
DEFAULT_TRAJECTORY = {"coco17": "trajectory_coco17_27f.safetensors"}


def default_checkpoint(layout: str = "coco17") -> Path:
    """Path of the bundled pose model for 2D input in ``layout``."""
    if layout not in DEFAULT_CHECKPOINTS:
        raise PoseliftError(f"no pretrained model for input layout {layout!r} (have {', '.join(DEFAULT_CHECKPOINTS)})")
    return asset_path(DEFAULT_CHECKPOINTS[layout])


def default_trajectory_checkpoint(layout: str = "coco17") -> Path | None:
    """Path of the bundled root trajectory model for ``layout``, or None if there is none."""
    return asset_path(DEFAULT_TRAJECTORY[layout]) if layout in DEFAULT_TRAJECTORY else None


def resolve_checkpoint(checkpoint, layout: str = "coco17") -> Path:
    if checkpoint is None or str(checkpoint) == "default":
        return default_checkpoint(layout)
    return Path(checkpoint)


def _check_keypoints(kp: np.ndarray, joints: int, path=None, model: str | None = None) -> np.ndarray:
    """Keypoints (T, J, 2) as float64, for a model (file name ``model``) of ``joints`` joints;
    errors name ``path``, the keypoints' source."""
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise PoseliftError(f"keypoints must be (frames, joints, 2), got shape {kp.shape}", path)
    if kp.shape[1] != joints:
        raise PoseliftError(f"keypoints have {kp.shape[1]} joints but the model takes {joints}"
                            + (f" ({model})" if model else ""), path)
    if not np.isfinite(kp).all():
        raise PoseliftError("keypoints contain NaN or inf (fill missing joints first)", path)
    return kp


def check_pixels(kp: np.ndarray, width: int, height: int, path=None) -> None:
    """Refuse keypoints that look normalised (all within [-1.5, 1.5]) where pixels are expected."""
    finite = kp[np.isfinite(kp)]
    if finite.size and max(width, height) > 16 and np.abs(finite).max() <= 1.5:
        raise PoseliftError(f"keypoints look normalised (every coordinate within [-1.5, 1.5]) but pixels of a "
                            f"{width}x{height} image are expected: give pixel coordinates", path)


class Lifter:
    """A loaded pose lifter. ``Lifter(layout=...)`` uses the bundled model for that layout."""

    def __init__(self, checkpoint=None, device: str = "cpu", flip_test: bool = True, layout: str = "coco17"):
        from .models.folded import inference_model

        self.path = resolve_checkpoint(checkpoint, layout)
        model, self.meta = load_model(self.path, device)
        self.model = inference_model(model)  # batch norm folded: the same output, faster
        self.device = device
        self.flip_test = flip_test
        self.layout_in = self.meta.get("skeleton_in", "h36m17")
        if self.meta.get("target", "pose") != "pose":
            raise PoseliftError("this is a trajectory model, not a pose lifter", self.path)
        if self.meta.get("skeleton_out", "h36m17") != "h36m17":
            raise PoseliftError(f"this model predicts {self.meta['skeleton_out']} joints; lifting for video and "
                                "exports needs a Human3.6M-17 model", self.path)

    @property
    def joints_in(self) -> int:
        return self.model.cfg.joints_in

    def lift(self, keypoints: np.ndarray, width: int, height: int, source=None) -> np.ndarray:
        """Pixels (T, J, 2) → root-relative camera-frame 3D (T, J_out, 3), metres. Errors name
        ``source`` (where the keypoints came from) when given."""
        from .skeleton import get_skeleton

        kp = _check_keypoints(keypoints, self.joints_in, source, self.path.name)
        check_pixels(kp, width, height, source)
        x = normalize_screen_coordinates(kp, width, height).astype(np.float32)
        with torch.inference_mode():
            return predict_sequence(self.model, x, self.flip_test, skeleton_in=get_skeleton(self.layout_in),
                                    device=self.device)


class TrajectoryModel:
    """A loaded root trajectory model: pixels + intrinsics → root in the camera frame."""

    def __init__(self, checkpoint, device: str = "cpu", flip_test: bool = True):
        from .models.folded import inference_model

        self.path = Path(checkpoint)
        model, self.meta = load_model(self.path, device)
        self.model = inference_model(model)
        if self.meta.get("target") != "trajectory":
            raise PoseliftError("this is not a trajectory model", self.path)
        self.device, self.flip_test = device, flip_test
        self.layout_in = self.meta.get("skeleton_in", "h36m17")

    def predict(self, keypoints: np.ndarray, width: int, height: int, focal: float | None = None) -> np.ndarray:
        """Pixels (T, J, 2) → root positions (T, 1, 3) in the camera frame, metres."""
        from .skeleton import ROOT1, get_skeleton

        kp = _check_keypoints(keypoints, self.model.cfg.joints_in)
        f, c = default_intrinsics(width, height, focal)
        uv = ((kp - c) / f).astype(np.float32)
        with torch.inference_mode():
            return predict_sequence(self.model, uv, self.flip_test, skeleton_in=get_skeleton(self.layout_in),
                                    skeleton_out=ROOT1, device=self.device)


def lift(keypoints: np.ndarray, width: int, height: int, layout: str = "coco17", checkpoint=None,
         flip_test: bool = True) -> np.ndarray:
    """One call: pixels (T, 17, 2) in ``layout`` (coco17 or h36m17) → Human3.6M-17 3D (T, 17, 3),
    metres, root-relative, camera frame."""
    return Lifter(checkpoint, flip_test=flip_test, layout=layout).lift(keypoints, width, height)


# ------------------------------------------------------------------------ whole pipeline

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
# Field of view across the image's LONG side assumed when the user gives no focal length.
# A portrait video is a landscape sensor turned by 90 degrees (same lens, same sensor), so the
# focal length in pixels goes with the long side, not with the width: 60 degrees across the
# long side is a lens of about 31 mm full-frame equivalent (2 atan(18 / 31)), a little longer
# than a phone's main camera (24-28 mm, 65-74 degrees). Landscape and square images get the
# same focal as before (60 degrees across the width); portrait ones no longer get a focal
# 1.8x too short.
DEFAULT_FOV_DEG = 60.0


def default_intrinsics(width: int, height: int, focal: float | None = None, fov_deg: float = DEFAULT_FOV_DEG):
    """(focal (2,), centre (2,)) in pixels: the user's focal length, or one from a field of view
    ``fov_deg`` across the long side of the image (see :data:`DEFAULT_FOV_DEG`)."""
    import math

    f = focal if focal else max(width, height) / 2 / math.tan(math.radians(fov_deg) / 2)
    return np.array([f, f], dtype=np.float64), np.array([width / 2, height / 2], dtype=np.float64)


def estimate_trajectory(pose_rel: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, layout: str,
                        width: int, height: int, focal: float | None = None) -> np.ndarray:
    """Root positions (T, 1, 3) in the camera frame by reprojection of the lifted pose onto the
    pixel keypoints (:func:`~poselift.root.root_by_reprojection`), with the given focal
    length or a default field of view."""
    from .root import root_by_reprojection

    f, c = default_intrinsics(width, height, focal)
    return root_by_reprojection(pose_rel, (np.asarray(keypoints, dtype=np.float64) - c) / f, scores, layout)


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass
class Reconstruction:
    """3D motion of one person, with the 2D it was lifted from.

    ``positions_cam`` (T, 17, 3) Human3.6M-17 joints in the camera frame (metres, x right,
    y down, z forward); ``keypoints``/``scores`` the gap-filled 2D input (pixels, ``layout``).
    """

    positions_cam: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    layout: str
    width: int
    height: int
    fps: float
    trajectory: str  # "model" or "reprojection"
    report: str
    checkpoint: str
    outputs: dict = field(default_factory=dict)  # {kind: path} of what was written, if anything

    @property
    def summary(self) -> str:
        """One line: the gap filling and the root placement."""
        return f"{self.report}; root from the {self.trajectory}"

    @property
    def positions_world(self) -> np.ndarray:
        """Floor-aligned world frame (Z up, feet on z = 0), metres."""
        from .render.export import camera_to_floor

        return camera_to_floor(self.positions_cam)


def trajectory_checkpoint(layout: str, trajectory: str = "auto") -> Path | None:
    """The bundled trajectory model that places the root for ``layout`` input, or None for
    placement by reprojection: ``trajectory`` "model" (an error if none is bundled),
    "reprojection" or "auto" (the model where one is bundled)."""
    if trajectory not in ("auto", "model", "reprojection"):
        raise PoseliftError(f"trajectory must be auto, model or reprojection, got {trajectory!r}")
    path = default_trajectory_checkpoint(layout)
    if trajectory == "model" and path is None:
        raise PoseliftError(f"no trajectory model is bundled for {layout} input (use --trajectory reprojection)")
    return path if trajectory != "reprojection" else None


def reconstruct(seq, *, checkpoint=None, width: int | None = None, height: int | None = None,
                fps: float | None = None, focal: float | None = None, trajectory: str = "auto",
                min_score: float = 0.3, source=None, rigid: bool = True,
                person_height: float | None = None, fuse: bool = True) -> Reconstruction:
    """A :class:`~poselift.detect.keypoints.KeypointSequence` → :class:`Reconstruction`.

    Fills gaps, picks the bundled model for the keypoints' layout (or uses ``checkpoint``),
    lifts, and places the root: ``trajectory`` "model" (the bundled trajectory model for
    the layout), "reprojection" (solve for the root that reprojects the lifted pose onto the
    keypoints) or "auto" (the model where one is bundled). With ``rigid`` the person is one
    rigid articulated body (:func:`~poselift.bones.fix_bone_lengths`: each bone its median
    length over the clip); ``person_height`` (metres, standing) scales that body to the known
    height and moves the root along its line of sight by the same factor (a bigger person
    seen at the same size is farther away). With ``fuse`` and a detector that gave its own 3D
    (``seq.world``, e.g. BlazePose's world landmarks), the lift and that 3D are averaged
    (:func:`~poselift.fuse.fuse_detector_3d`) before the body is made rigid.
    """
    from .detect.fill import fill_gaps
    from .detect.keypoints import KeypointSequence

    w, h = width or seq.width, height or seq.height
    if not w or not h:
        raise PoseliftError("image size unknown for these keypoints: give --width and --height", source)
    traj_path = trajectory_checkpoint(seq.layout, trajectory)
    filled, report = fill_gaps(seq, min_score=min_score)
    layout = filled.layout
    lifter = Lifter(checkpoint, layout=layout)
    kp_pose, sc_pose = filled.keypoints, filled.scores
    if lifter.layout_in != layout:
        if (layout, lifter.layout_in) != ("coco17", "h36m17"):
            raise PoseliftError(f"the model takes {lifter.layout_in} keypoints but the input is {layout}", lifter.path)
        from .skeleton import h36m17_from_coco17  # approximate spine and head

        kp_pose, sc_pose = h36m17_from_coco17(kp_pose, sc_pose)
        filled = KeypointSequence(filled.keypoints, filled.scores, layout, filled.width, filled.height, filled.fps,
                                  filled.source, filled.notes + ["COCO-17 converted to Human3.6M-17 for this model"])
    pose_rel = lifter.lift(kp_pose, w, h, source=source)
    pose_rel = pose_rel - pose_rel[:, :1]  # the root where the root model puts it (the lift's is ~0 already)
    notes = report.summary()
    if fuse and seq.world is not None:
        from .fuse import WEIGHT, fuse_detector_3d

        pose_rel = fuse_detector_3d(pose_rel, seq.world, seq.layout)
        n = int(np.isfinite(seq.world).all((-1, -2)).sum())
        notes += f"; averaged with the detector's own 3D in {n} of {len(pose_rel)} frames (weight {WEIGHT:g})"
    size = 1.0  # how much the body was scaled to the person's given height
    if rigid or person_height is not None:
        from .bones import fix_bone_lengths, sequence_lengths, standing_height

        before = standing_height(sequence_lengths(pose_rel))
        pose_rel = fix_bone_lengths(pose_rel, height=person_height)
        size = standing_height(sequence_lengths(pose_rel)) / before
    if traj_path is not None:
        root, how = TrajectoryModel(traj_path).predict(filled.keypoints, w, h, focal), "model"
    else:
        root = estimate_trajectory(pose_rel, kp_pose, sc_pose, lifter.layout_in, w, h, focal)
        how = "reprojection"
        size = 1.0  # reprojection already placed the scaled body
    f_used = default_intrinsics(w, h, focal)[0][0]
    notes += (f"; focal {f_used:.0f} px (" + ("given" if focal else f"{DEFAULT_FOV_DEG:g}° across the long side, "
                                                "the default: --focal sets it") + ")")
    return Reconstruction(pose_rel + root * size, filled.keypoints, filled.scores, layout, int(w), int(h),
                          float(fps or seq.fps or 30.0), how, notes, str(lifter.path))


def load_input(source, *, allow_pickle: bool = False, person: int = 0, layout: str | None = None,
               progress: bool = True, detector: str = "mediapipe"):
    """A video (through the 2D detector) or a keypoint file → KeypointSequence."""
    source = Path(source)
    if not source.exists():
        raise PoseliftError("file not found", source)
    if _is_video(source):
        from .detect.base import detect_video, get_detector

        det = get_detector(detector)
        try:
            return detect_video(source, det, person=person, progress=progress)
        finally:
            det.close()
    from .detect.importers import load_keypoints

    return load_keypoints(source, allow_pickle=allow_pickle, person=person or None, layout=layout)


def _render_paths(out_dir, stem: str, video: bool, gif: bool, overwrite: bool) -> dict[str, Path]:
    """Render file names; without ``overwrite`` refuses existing ones before anything runs."""
    out_dir = Path(out_dir)
    paths = {"mp4": out_dir / f"{stem}_3d.mp4"} if video else {}
    if video and gif:
        paths["gif"] = out_dir / f"{stem}_3d.gif"
    if not overwrite:
        for p in paths.values():
            if p.exists():
                raise PoseliftError("exists already (use --overwrite to replace it)", p)
    return paths


def write_outputs(rec: Reconstruction, out_dir, stem: str, *, video_path=None, video: bool = True, gif: bool = False,
                  overwrite: bool = False, progress: bool = True) -> dict[str, str]:
    """Exports (npz, json, csv, bvh, html) and renders (mp4, gif) of a reconstruction."""
    from .render.export import export_all
    from .skeleton import get_skeleton

    renders = _render_paths(out_dir, stem, video, gif, overwrite)  # exports check their own files
    outputs = dict(export_all(out_dir, stem, rec.positions_cam, rec.keypoints, rec.scores, rec.fps,
                              overwrite=overwrite))
    if video:
        from .render.video import render_video

        render_video(renders["mp4"], video_path, rec.keypoints, get_skeleton(rec.layout), rec.positions_world,
                     rec.fps, overwrite=overwrite, gif_path=renders.get("gif"), progress=progress)
        outputs.update(renders)
    return {k: str(v) for k, v in outputs.items()}


def _run(source: Path, out_dir, load: dict, recon: dict, *, video: bool, gif: bool, overwrite: bool,
         progress: bool) -> Reconstruction:
    """Input → :class:`Reconstruction`, then (with ``out_dir``) its exports and renders."""
    stem = source.stem if source.is_file() else source.name
    if out_dir is not None:
        _render_paths(out_dir, stem, video, gif, overwrite)  # fail before the (slow) detection
    seq = load_input(source, progress=progress, **load)
    rec = reconstruct(seq, source=source, **recon)
    if out_dir is not None:
        rec.outputs = write_outputs(rec, out_dir, stem, video_path=source if _is_video(source) else None,
                                    video=video, gif=gif, overwrite=overwrite, progress=progress)
    return rec


def infer(source, out_dir, *, checkpoint=None, allow_pickle: bool = False, person: int = 0, layout: str | None = None,
          width: int | None = None, height: int | None = None, fps: float | None = None, focal: float | None = None,
          overwrite: bool = False, video: bool = True, gif: bool = False, progress: bool = True,
          min_score: float = 0.3, trajectory: str = "auto", rigid: bool = True,
          person_height: float | None = None, fuse: bool = True) -> dict:
    """Video or 2D keypoint file in; 3D motion, renders and exports out.

    Returns ``{kind: path}`` for everything written plus ``"report"`` (a one-line summary of
    the gap filling and the root placement). Keypoint files may be COCO JSON, OpenPose JSON
    folders, MMPose JSON or (with ``allow_pickle``) VideoPose3D npz; videos go through the
    2D detector. ``rigid``, ``person_height`` and ``fuse``: see :func:`reconstruct`.
    """
    rec = _run(Path(source), out_dir, dict(allow_pickle=allow_pickle, person=person, layout=layout),
               dict(checkpoint=checkpoint, width=width, height=height, fps=fps, focal=focal, trajectory=trajectory,
                    min_score=min_score, rigid=rigid, person_height=person_height, fuse=fuse),
               video=video, gif=gif, overwrite=overwrite, progress=progress)
    return dict(rec.outputs, report=rec.summary)


def infer_video(path, out_dir=None, *, person: int = 0, focal: float | None = None, checkpoint=None,
                trajectory: str = "auto", overwrite: bool = False, render: bool = True, gif: bool = False,
                progress: bool = True, rigid: bool = True, person_height: float | None = None,
                fuse: bool = True) -> Reconstruction:
    """One call: a video → :class:`Reconstruction` (3D joints per frame, camera and world
    frames); with ``out_dir`` also every export and render (see :func:`write_outputs`).
    ``rigid``, ``person_height`` and ``fuse``: see :func:`reconstruct`."""
    path = Path(path)
    if not path.exists():
        raise PoseliftError("file not found", path)
    if not _is_video(path):
        raise PoseliftError(f"not a video file (expected one of {', '.join(sorted(VIDEO_SUFFIXES))})", path)
    return _run(path, out_dir, dict(person=person), dict(checkpoint=checkpoint, focal=focal, trajectory=trajectory,
                                                         rigid=rigid, person_height=person_height, fuse=fuse),
                video=render, gif=gif, overwrite=overwrite, progress=progress)
