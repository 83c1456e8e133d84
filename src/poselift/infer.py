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

from .data.filetype import VIDEO_SUFFIXES, is_video
from .encode import DEFAULT_FOV_DEG, default_intrinsics, encoder_for, intrinsic_encoder
from .errors import PoseliftError
from .models.bundled import (DEFAULT_CHECKPOINTS, DEFAULT_TRAJECTORY, default_checkpoint,
                             default_trajectory_checkpoint, resolve_checkpoint, trajectory_checkpoint,
                             user_checkpoint)
from .predict import load_model, predict_sequence

# Moved below the pipelines (checkpoint lookup: models.bundled; the input kind: data.filetype;
# the input encoding and default intrinsics: encode); still importable from here.
__all__ = ["DEFAULT_CHECKPOINTS", "DEFAULT_FOV_DEG", "DEFAULT_TRAJECTORY", "VIDEO_SUFFIXES", "default_checkpoint",
           "default_intrinsics", "default_trajectory_checkpoint", "is_video", "resolve_checkpoint",
           "trajectory_checkpoint", "user_checkpoint"]
_is_video = is_video
_user_checkpoint = user_checkpoint


def _check_keypoints(kp: np.ndarray, joints: int, path=None, model: str | None = None) -> np.ndarray:
    """Keypoints (T, J, 2) as float64, for a model (file name ``model``) of ``joints`` joints;
    errors name ``path``, the keypoints' source."""
    from .checks import as_array

    kp = as_array("keypoints", kp, np.float64, path)  # also tensors that require grad; ragged lists refused
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise PoseliftError(f"keypoints must be (frames, joints, 2), got shape {kp.shape}", path)
    if kp.shape[1] != joints:
        raise PoseliftError(f"keypoints have {kp.shape[1]} joints but the model takes {joints}"
                            + (f" ({model})" if model else ""), path)
    if not np.isfinite(kp).all():
        raise PoseliftError("keypoints contain NaN or inf (fill missing joints first)", path)
    return kp


#: Keypoints farther than this many image sizes outside the image are not pixel coordinates.
FAR_OUT = 10


def check_pixels(kp: np.ndarray, width: int, height: int, path=None) -> None:
    """Refuse keypoints that look normalised (all within [-1.5, 1.5]) where pixels are expected,
    or that lie far outside the image (more than :data:`FAR_OUT` image sizes: 1e30, -1e9...)."""
    finite = kp[np.isfinite(kp)]
    side = max(width, height)
    if finite.size and np.abs(finite).max() > FAR_OUT * side:
        worst = finite[np.argmax(np.abs(finite))]
        raise PoseliftError(f"a keypoint coordinate is {worst:.3g}, far outside the {width}x{height} image "
                            "(pixel coordinates expected)", path)
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

    def lift(self, keypoints: np.ndarray, width: int, height: int, source=None,
             focal: float | None = None) -> np.ndarray:
        """Pixels (T, J, 2) → root-relative camera-frame 3D (T, J_out, 3), metres. Errors name
        ``source`` (where the keypoints came from) when given. ``focal`` (pixels) is used only
        by a model trained on intrinsics-normalised input (:mod:`poselift.encode`)."""
        from .checks import image_size
        from .skeleton import get_skeleton

        width, height = image_size(width, height, source)
        kp = _check_keypoints(keypoints, self.joints_in, source, self.path.name)
        check_pixels(kp, width, height, source)
        x = encoder_for(self.meta, width, height, focal).encode(kp)
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
        # the checkpoint's input encoding; checks the image size and the focal length
        uv = encoder_for(self.meta, width, height, focal).encode(kp)
        with torch.inference_mode():
            return predict_sequence(self.model, uv, self.flip_test, skeleton_in=get_skeleton(self.layout_in),
                                    skeleton_out=ROOT1, device=self.device)


def lift(keypoints: np.ndarray, width: int, height: int, layout: str = "coco17", checkpoint=None,
         flip_test: bool = True) -> np.ndarray:
    """One call: pixels (T, 17, 2) in ``layout`` (coco17 or h36m17) → Human3.6M-17 3D (T, 17, 3),
    metres, root-relative, camera frame."""
    from .checks import image_size

    width, height = image_size(width, height)  # before the model is loaded
    return Lifter(checkpoint, flip_test=flip_test, layout=layout).lift(keypoints, width, height)


# ------------------------------------------------------------------------ whole pipeline

def estimate_trajectory(pose_rel: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, layout: str,
                        width: int, height: int, focal: float | None = None) -> np.ndarray:
    """Root positions (T, 1, 3) in the camera frame by reprojection of the lifted pose onto the
    pixel keypoints (:func:`~poselift.root.root_by_reprojection`), with the given focal
    length or a default field of view."""
    from .root import root_by_reprojection

    uv = intrinsic_encoder(width, height, focal).encode(
        np.asarray(keypoints, dtype=np.float64), dtype=None)
    return root_by_reprojection(pose_rel, uv, scores, layout)


@dataclass
class Reconstruction:
    """3D motion of one person, with the 2D it was lifted from.

    ``positions_cam`` (T, 17, 3) Human3.6M-17 joints in the camera frame (metres, x right,
    y down, z forward), NaN in frames and joints left out (nobody seen, or a gap longer than
    ``max_gap``); ``keypoints``/``scores`` the gap-filled 2D input (pixels, ``layout``);
    ``filled`` (T, 17) / ``filled_2d`` (T, J) the positions invented over short gaps;
    ``frames`` (T,) the video frame number of each row; ``world_rotation``/``world_origin``
    the floor-aligned world frame (see :mod:`poselift.render.export`).
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
    filled: np.ndarray | None = None
    filled_2d: np.ndarray | None = None
    frames: np.ndarray | None = None
    world_rotation: np.ndarray | None = None
    world_origin: np.ndarray | None = None
    focal: float | None = None  # pixels
    focal_source: str = ""
    person_id: int | None = None  # the tracker's identity when several people were tracked
    times: np.ndarray | None = None  # (T,) seconds of each row, from the video's frame times when it has them

    @property
    def summary(self) -> str:
        """One line: the gap filling, the root placement and the focal length."""
        return f"{self.report}; root from the {self.trajectory}"

    @property
    def motion(self):
        """The :class:`~poselift.render.export.Motion` that the exports write."""
        from .render.export import Motion
        from .skeleton import get_skeleton

        info = {"checkpoint": Path(self.checkpoint).name, "layout_2d": self.layout, "image_size": [self.width,
                self.height], "root": self.trajectory, "report": self.report}
        if self.focal:
            info.update(focal_px=round(float(self.focal), 2), focal_source=self.focal_source)
        if self.person_id is not None:
            info["person_id"] = int(self.person_id)
        return Motion(self.positions_cam, self.fps, keypoints_2d=self.keypoints, scores=self.scores,
                      layout_2d=get_skeleton(self.layout), filled=self.filled, filled_2d=self.filled_2d,
                      frames=self.frames, world_rotation=self.world_rotation, world_origin=self.world_origin,
                      info=info, times=self.times)

    @property
    def positions_world(self) -> np.ndarray:
        """Floor-aligned world frame (Z up, feet on z = 0), metres, NaN where left out."""
        return self.motion.positions_world


def output_flags(flags: np.ndarray, layout: str, rule: str = "any") -> np.ndarray:
    """Per-joint flags of the 2D input (T, J) in ``layout`` → flags of the Human3.6M-17 output
    joints (T, 17): an output joint is flagged when ``rule`` "any" (or "all") of the 2D joints it
    is computed from are. Layouts without a joint correspondence flag whole frames."""
    F = np.asarray(flags, dtype=bool)
    if layout == "h36m17":
        return F.copy()
    if layout == "coco17":
        from .skeleton import h36m17_from_coco17

        s = (~F if rule == "any" else F).astype(np.float64)
        out = h36m17_from_coco17(np.zeros(F.shape + (1,)), s)[1] > 0.5  # a joint scores its sources' minimum
        return ~out if rule == "any" else out
    per_frame = F.any(1) if rule == "any" else F.all(1)
    return np.repeat(per_frame[:, None], 17, axis=1)


def check_focal(focal: float | None = None, fov: float | None = None) -> None:
    """Refuse a focal length (pixels) or field of view (degrees) that cannot be one."""
    if focal is not None and fov is not None:
        raise PoseliftError("give --focal or --fov, not both")
    from .checks import is_number

    if focal is not None and not (is_number(focal) and np.isfinite(focal) and focal > 0):
        raise PoseliftError(f"--focal must be a positive number of pixels, got {focal!r:.40}")
    # 5 degrees: a 400 mm lens (full frame)
    if fov is not None and not (is_number(fov) and np.isfinite(fov) and 5 <= fov <= 170):
        raise PoseliftError(f"--fov must be degrees across the image's long side, 5-170, got {fov!r:.40}")


def resolve_focal(width: int, height: int, focal: float | None = None, fov: float | None = None,
                  video=None) -> tuple[float, str]:
    """The focal length in pixels and where it came from: ``focal`` (pixels) if given, else a
    field of view ``fov`` (degrees across the long side), else the video file's metadata (a
    35 mm-equivalent focal length, :func:`~poselift.video.focal_from_metadata`), else the
    default :data:`DEFAULT_FOV_DEG`."""
    check_focal(focal, fov)
    if focal is not None:
        return float(focal), "given with --focal"
    if fov is not None:
        return float(default_intrinsics(width, height, None, fov)[0][0]), f"--fov {fov:g}° across the long side"
    if video is not None and is_video(Path(video)):
        from .video import focal_from_metadata

        # a phone's 35 mm-equivalent focal describes its 4:3 sensor, which a 16:9 video crops
        found = focal_from_metadata(video, width, height, sensor_aspect=4 / 3)
        if found is not None:
            return float(found[0]), found[1]
    return (float(default_intrinsics(width, height)[0][0]),
            f"the default {DEFAULT_FOV_DEG:g}° across the long side; --focal or --fov set it")


def image_and_rate(width, height, fps, input_width, input_height, input_fps, source=None) -> tuple[int, int, float]:
    """(width, height, frame rate) of a clip: the given ones (checked, errors naming them), else
    the input's (checked, errors naming ``source``); a frame rate of 0 or None in a file means
    unknown: 30 frames per second. Nothing is ever silently replaced: a given 0 is an error."""
    from .checks import MAX_IMAGE_SIDE, frame_rate, image_size, optional, whole

    w = optional(whole, "width", width, 1, MAX_IMAGE_SIDE, unit="pixels")
    h = optional(whole, "height", height, 1, MAX_IMAGE_SIDE, unit="pixels")
    w, h = w or input_width, h or input_height
    if not w or not h:
        raise PoseliftError("image size unknown for these keypoints: give --width and --height", source)
    w, h = image_size(w, h, source)
    rate = optional(frame_rate, "fps", fps)
    if rate is None:
        rate = frame_rate("the input's frame rate", input_fps, source) if input_fps else 30.0
    return w, h, rate


def reconstruct(seq, *, checkpoint=None, width: int | None = None, height: int | None = None,
                fps: float | None = None, focal: float | None = None, fov: float | None = None,
                trajectory: str = "auto", min_score: float = 0.3, source=None, rigid: bool = True,
                person_height: float | None = None, fuse: bool = True, max_gap: int | None = None,
                trim: bool = False, smooth: str = "none", pin_feet: bool = False,
                detector_size: bool = True, device: str = "cpu") -> Reconstruction:
    """A :class:`~poselift.detect.keypoints.KeypointSequence` → :class:`Reconstruction`.

    Decides which frames to lift (:func:`~poselift.detect.fill.plan_gaps`: frames showing the
    person and gaps of at most ``max_gap`` frames between them, default
    :data:`~poselift.detect.fill.MAX_GAP`; other frames are left out, NaN, and with ``trim``
    the rows before the first and after the last lifted frame are dropped), fills the gaps,
    picks the bundled model for the keypoints' layout (or uses ``checkpoint``), lifts each run
    of kept frames, and places the root: ``trajectory`` "model" (the bundled trajectory model
    for the layout), "reprojection" (solve for the root that reprojects the lifted pose onto
    the keypoints) or "auto" (the model where one is bundled). The focal length: ``focal``
    pixels, or ``fov`` degrees across the long side, or the video's metadata, or the default
    (:func:`resolve_focal`). With ``rigid`` the person is one rigid articulated body
    (:func:`~poselift.bones.fix_bone_lengths`: each bone its median length over the clip);
    ``person_height`` (metres, standing) scales that body to the known height and moves the
    root along its line of sight by the same factor (a bigger person seen at the same size is
    farther away). With ``fuse`` and a detector that gave its own 3D (``seq.world``, e.g.
    BlazePose's world landmarks), the lift and that 3D are averaged
    (:func:`~poselift.fuse.fuse_detector_3d`) before the body is made rigid, and with
    ``detector_size`` (and ``fuse``) the rigid body takes the detector's size
    (:func:`~poselift.fuse.detector_size_ratio`: a lift's size is its training subjects', the
    detector's is read from the image); the root stays where the root model put it. ``smooth``:
    "none", "butterworth" (zero-phase, 6 Hz) or "one-euro" (:mod:`poselift.smooth`), applied to
    the placed joints. With ``pin_feet`` each ankle is held still while its foot is on the floor
    (:mod:`poselift.contact`). The report gives the foot skate either way. ``device``: where
    the models run (cpu, cuda, cuda:N or auto; :func:`~poselift.predict.resolve_device`).
    """
    from .checks import in_range, number, optional, whole
    from .detect.fill import MAX_GAP, fill_gaps, plan_gaps
    from .predict import resolve_device

    w, h, rate = image_and_rate(width, height, fps, seq.width, seq.height, seq.fps, source)
    device = resolve_device(device)
    min_score = in_range("min_score", min_score, 0, 1)
    max_gap = optional(whole, "max_gap", max_gap, 0)
    person_height = optional(number, "person_height", person_height, 0.3, 3.0, lo_open=True, hi_open=True,
                             unit="metres (a standing height)")
    traj_path = trajectory_checkpoint(seq.layout, trajectory)
    f_px, f_from = resolve_focal(w, h, focal, fov, source)
    plan = plan_gaps(seq, min_score, MAX_GAP if max_gap is None else max_gap)
    full, report = fill_gaps(seq, min_score=min_score)  # every joint of every frame: the lifter needs them
    layout = seq.layout
    lifter = Lifter(checkpoint, device=device, layout=layout)
    kp_pose, sc_pose, layout_pose = full.keypoints, full.scores, layout
    notes = [plan.summary()]
    if lifter.layout_in != layout:
        if (layout, lifter.layout_in) != ("coco17", "h36m17"):
            raise PoseliftError(f"the model takes {lifter.layout_in} keypoints but the input is {layout}", lifter.path)
        from .skeleton import h36m17_from_coco17  # approximate spine and head

        kp_pose, sc_pose = h36m17_from_coco17(kp_pose, sc_pose)
        layout_pose = "h36m17"
        notes.append("COCO-17 converted to Human3.6M-17 for this model")
    T, kept = len(seq), plan.kept
    pose_rel = np.full((T, 17, 3), np.nan)
    root = np.full((T, 1, 3), np.nan)
    traj = TrajectoryModel(traj_path, device=device) if traj_path is not None else None
    for a, b in plan.segments:  # each run of kept frames is a sequence of its own
        rel = lifter.lift(kp_pose[a:b], w, h, source=source, focal=f_px)
        pose_rel[a:b] = rel - rel[:, :1]  # the root where the root model puts it (the lift's is ~0 already)
        if traj is not None:
            root[a:b] = traj.predict(full.keypoints[a:b], w, h, f_px)
    filled_2d = ~plan.usable & kept[:, None]
    notes.append(f"filled {int(filled_2d.sum())} joint positions in lifted frames, longest gap "
                 f"{report.longest_gap} frames")
    if report.never_seen:
        notes.append(f"never seen, copied from the other side: {', '.join(report.never_seen)}")
    rel = pose_rel[kept]
    if fuse and seq.world is not None:
        from .fuse import WEIGHT, fuse_detector_3d

        rel = fuse_detector_3d(rel, seq.world[kept], seq.layout)
        n = int(np.isfinite(seq.world[kept]).all((-1, -2)).sum())
        notes.append(f"averaged with the detector's own 3D in {n} of {len(rel)} frames (weight {WEIGHT:g})")
    size = 1.0  # how much the body was scaled to the person's given height
    if rigid or person_height is not None:
        from .bones import fix_bone_lengths, sequence_lengths, standing_height

        before = standing_height(sequence_lengths(rel))
        height, from_detector = person_height, False
        if height is None and fuse and detector_size and seq.world is not None:  # its size, read from the image
            from .fuse import detector_size_ratio

            ratio = detector_size_ratio(rel, seq.world[kept], seq.layout)
            if ratio is not None:
                height, from_detector = before * ratio, True
                notes.append(f"body scaled to the detector's 3D size (x{ratio:.2f}: {height:.2f} m tall)")
        rel = fix_bone_lengths(rel, height=height)
        # a known height moves the root with the size; the detector's size corrects the lift's
        # proportions only (the root model's depth does not rest on the lift's body)
        size = 1.0 if from_detector else standing_height(sequence_lengths(rel)) / before
    if traj is not None:
        how = "model"
        root_k = root[kept]
    else:
        from .root import root_by_reprojection

        uv = intrinsic_encoder(w, h, f_px).encode(
            np.asarray(kp_pose[kept], dtype=np.float64), dtype=None)
        root_k = root_by_reprojection(rel, uv, sc_pose[kept], layout_pose)
        how, size = "reprojection", 1.0  # reprojection already placed the scaled body
    positions = np.full((T, 17, 3), np.nan)
    positions[kept] = rel + root_k * size
    notes.append(f"focal {f_px:.0f} px ({f_from})")
    if smooth != "none":
        from .smooth import smooth as smooth_motion

        positions = smooth_motion(positions, rate, smooth)  # each run of lifted frames on its own
        notes.append(f"smoothed ({smooth})")

    from .render.export import floor_transform

    R, origin = floor_transform(positions[kept])  # from every lifted frame, before joints are left out
    positions, contact_note = _feet(positions, R, origin, rate, pin_feet)
    notes.append(contact_note)
    filled = output_flags(filled_2d, layout)
    positions[output_flags(plan.long_gap, layout, "all")] = np.nan
    frames = np.arange(T)
    keypoints, scores = full.keypoints.astype(np.float64), full.scores.astype(np.float64)
    keypoints[~kept] = np.nan
    scores[~kept] = 0.0
    rows = slice(None)
    if trim:
        first, last = plan.segments[0][0], plan.segments[-1][1]
        rows = slice(first, last)
        notes.append(f"trimmed to frames {first}-{last - 1}")
    return Reconstruction(positions[rows], keypoints[rows], scores[rows], layout, int(w), int(h), rate, how,
                          "; ".join(notes), str(lifter.path),
                          filled=filled[rows], filled_2d=filled_2d[rows], frames=frames[rows], world_rotation=R,
                          world_origin=origin, focal=f_px, focal_source=f_from, person_id=seq.person_id,
                          times=None if seq.times is None else seq.times[rows])


def _feet(positions: np.ndarray, R: np.ndarray, origin: np.ndarray, fps: float, pin: bool) -> tuple[np.ndarray, str]:
    """Camera-frame ``positions`` with the feet pinned while on the floor (``pin``), and a
    report of the foot skate: how fast the ankles slide while low on the floor (within
    :data:`~poselift.contact.HEIGHT_TOL` of their standing height, whatever their speed)."""
    from .contact import foot_contacts, foot_skate, pin_feet

    world = (positions - origin) @ R.T
    note = ""
    if pin:
        contacts = foot_contacts(world, fps)
        world = pin_feet(world, contacts)
        positions = world @ R + origin
        note = f"feet pinned in {int(contacts.any(1).sum())} frames with a foot on the floor; "
    skate = foot_skate(world, foot_contacts(world, fps, speed_tol=None), fps)
    if skate["skate_mean_mps"] is None:
        return positions, note + "foot skate: no foot on the floor"
    share = np.nanmean([skate[f"{side}_contact_fraction"] or 0.0 for side in ("left", "right")])
    return positions, note + (f"foot skate {skate['skate_mean_mps']:.2f} m/s mean, {skate['skate_max_mps']:.2f} max "
                              f"while a foot is on the floor ({100 * share:.0f}% of frames)")


def load_input(source, *, allow_pickle: bool = False, person=None, layout: str | None = None,
               progress: bool = True, detector: str = "mediapipe"):
    """A video (through the 2D detector) or a keypoint file → KeypointSequence.

    Videos: without ``person`` the single-person BlazePose tracker follows the most visible
    person at the start (the fast path); with ``person`` (an id, or a box x, y, w, h) everyone
    is detected and tracked (:func:`~poselift.detect.base.detect_people`) and that person is
    returned (:func:`~poselift.detect.base.choose_person`). Keypoint files: ``person`` k picks
    the k-th most visible person (default 0)."""
    from .data.filetype import check_exists

    source = Path(source)
    check_exists(source)
    if is_video(source):
        from .detect.base import MULTI_DETECTOR, choose_person, detect_people, detect_video, get_detector

        if person is None:
            det = get_detector(detector)
            try:
                return detect_video(source, det, person=0, progress=progress)
            finally:
                det.close()
        det = get_detector(MULTI_DETECTOR if detector == "mediapipe" else detector)
        try:
            people = detect_people(source, det, progress=progress)
        finally:
            det.close()
        return choose_person(people, person, source)
    from .detect.importers import load_keypoints

    if person is not None and not isinstance(person, (int, np.integer)):
        raise PoseliftError("a person box selects someone in a video; in a keypoint file give the person's rank "
                            "(0 = the most visible)", source)
    return load_keypoints(source, allow_pickle=allow_pickle, person=person or None, layout=layout)


def _render_paths(out_dir, stem: str, video: bool, gif: bool) -> dict[str, Path]:
    """Render file names."""
    out_dir = Path(out_dir)
    paths = {"mp4": out_dir / f"{stem}_3d.mp4"} if video else {}
    if video and gif:
        paths["gif"] = out_dir / f"{stem}_3d.gif"
    return paths


def output_names(stem: str, video: bool = True, gif: bool = False) -> list[str]:
    """The names of the files :func:`write_outputs` writes."""
    from .render.export import export_paths

    return [p.name for p in list(export_paths(".", stem).values()) + list(_render_paths(".", stem, video,
                                                                                          gif).values())]


def write_outputs(rec: Reconstruction, out_dir, stem: str, *, video_path=None, video: bool = True, gif: bool = False,
                  overwrite: bool = False, progress: bool = True) -> dict[str, str]:
    """Exports (npz, json, csv, bvh, html; :func:`~poselift.render.export.export_all`) and
    renders (mp4, gif) of a reconstruction, as one transaction (:mod:`poselift.transaction`):
    every file appears, or none; without ``overwrite`` nothing is written if any exists."""
    from .render.export import export_all
    from .skeleton import get_skeleton
    from .transaction import transaction

    renders = _render_paths(out_dir, stem, video, gif)
    with transaction(out_dir, output_names(stem, video, gif), overwrite=overwrite) as tx:
        motion = rec.motion
        # the exports in this thread, not beside the render: a signal can leave the interpreter's
        # import lock held by this thread, and a helper thread that then imports (plotly, on
        # its first page) would wait for it for ever; they take 0.07 s of the demo's 3.8
        outputs = dict(export_all(out_dir, stem, motion, overwrite=overwrite))
        if video:
            from .render.video import render_video

            render_video(tx.path(renders["mp4"].name), video_path, rec.keypoints, get_skeleton(rec.layout),
                         motion.positions_world, rec.fps, gif_path=tx.path(renders["gif"].name) if gif else None,
                         progress=progress, image_size=(rec.width, rec.height), frames=motion.frames,
                         filled=motion.filled, filled_2d=motion.filled_2d)
            outputs.update(renders)
    return {k: str(v) for k, v in outputs.items()}


def _run(source: Path, out_dir, load: dict, recon: dict, *, video: bool, gif: bool, overwrite: bool,
         progress: bool) -> Reconstruction:
    """Input → :class:`Reconstruction`, then (with ``out_dir``) its exports and renders: one
    transaction (:mod:`poselift.transaction`) from before the (slow) detection on, so that the
    output names are checked and the folder locked first, and nothing is left if it fails."""
    from contextlib import nullcontext

    from .transaction import transaction

    stem = source.stem if source.is_file() else source.name
    outputs = nullcontext() if out_dir is None else transaction(
        out_dir, output_names(stem, video, gif), overwrite=overwrite,
        inputs=[source, _user_checkpoint(recon.get("checkpoint"))])
    with outputs:
        seq = load_input(source, progress=progress, **load)
        rec = reconstruct(seq, source=source, **recon)
        if out_dir is not None:
            rec.outputs = write_outputs(rec, out_dir, stem, video_path=source if _is_video(source) else None,
                                        video=video, gif=gif, overwrite=overwrite, progress=progress)
    return rec


def infer(source, out_dir, *, checkpoint=None, allow_pickle: bool = False, person=None, layout: str | None = None,
          width: int | None = None, height: int | None = None, fps: float | None = None, focal: float | None = None,
          fov: float | None = None, overwrite: bool = False, video: bool = True, gif: bool = False,
          progress: bool = True, min_score: float = 0.3, trajectory: str = "auto", rigid: bool = True,
          person_height: float | None = None, fuse: bool = True, max_gap: int | None = None,
          trim: bool = False, smooth: str = "none", pin_feet: bool = False, detector_size: bool = True,
          device: str = "cpu") -> dict:
    """Video or 2D keypoint file in; 3D motion, renders and exports out.

    Returns ``{kind: path}`` for everything written plus ``"report"`` (a one-line summary of
    the gap filling, the root placement and the focal length). Keypoint files may be COCO
    JSON, OpenPose JSON folders, MMPose JSON or (with ``allow_pickle``) VideoPose3D npz;
    videos go through the 2D detector. The other options: see :func:`reconstruct`.
    """
    rec = _run(Path(source), out_dir, dict(allow_pickle=allow_pickle, person=person, layout=layout),
               dict(checkpoint=checkpoint, width=width, height=height, fps=fps, focal=focal, fov=fov,
                    trajectory=trajectory, min_score=min_score, rigid=rigid, person_height=person_height,
                    fuse=fuse, max_gap=max_gap, trim=trim, smooth=smooth, pin_feet=pin_feet,
                    detector_size=detector_size, device=device),
               video=video, gif=gif, overwrite=overwrite, progress=progress)
    return dict(rec.outputs, report=rec.summary)


def infer_video(path, out_dir=None, *, person=None, focal: float | None = None, fov: float | None = None,
                checkpoint=None, trajectory: str = "auto", overwrite: bool = False, render: bool = True,
                gif: bool = False, progress: bool = True, rigid: bool = True, person_height: float | None = None,
                fuse: bool = True, max_gap: int | None = None, trim: bool = False, smooth: str = "none",
                pin_feet: bool = False, detector_size: bool = True, device: str = "cpu") -> Reconstruction:
    """One call: a video → :class:`Reconstruction` (3D joints per frame, camera and world
    frames); with ``out_dir`` also every export and render (see :func:`write_outputs`).
    The options: see :func:`reconstruct`."""
    path = Path(path)
    if not path.exists():
        raise PoseliftError("file not found", path)
    if not _is_video(path):
        raise PoseliftError(f"not a video file (expected one of {', '.join(sorted(VIDEO_SUFFIXES))})", path)
    return _run(path, out_dir, dict(person=person),
                dict(checkpoint=checkpoint, focal=focal, fov=fov, trajectory=trajectory, rigid=rigid,
                     person_height=person_height, fuse=fuse, max_gap=max_gap, trim=trim, smooth=smooth,
                     pin_feet=pin_feet, detector_size=detector_size, device=device),
                video=render, gif=gif, overwrite=overwrite, progress=progress)
