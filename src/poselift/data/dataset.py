"""Training and evaluation sequences: 3D motion seen through cameras.

A :class:`SequenceSet` is what the trainer and the evaluator consume: per-sequence 2D
inputs (normalised screen coordinates), root-relative 3D targets in the camera frame
(metres), and per-sequence metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..camera import Camera
from ..encode import InputEncoder
from ..errors import PoseliftError
from . import cmu
from .proportions import random_body
from .virtual import RandomCameraSpec, assign_rigs, h36m_rigs, random_camera_facing


@dataclass
class SequenceSet:
    """Per-sequence model inputs and targets.

    ``inputs_2d`` (T, J_in, 2) normalised 2D; ``targets_3d`` (T, J_out, 3) root-relative
    camera-frame 3D, metres; ``roots_3d`` (T, 1, 3) the root joint in the camera frame
    (targets of the trajectory model), when known; ``intrinsics`` (9,) each sequence's
    camera in normalised screen units (:meth:`~poselift.camera.Camera.normalized_intrinsics`),
    when known (semi-supervised training projects through them).
    """

    inputs_2d: list[np.ndarray] = field(default_factory=list)
    targets_3d: list[np.ndarray] = field(default_factory=list)
    meta: list[dict] = field(default_factory=list)
    roots_3d: list[np.ndarray] = field(default_factory=list)
    intrinsics: list[np.ndarray] = field(default_factory=list)
    skeleton_in: str = "h36m17"  # layout of the 2D inputs
    skeleton_out: str = "h36m17"  # layout of the 3D targets

    def append(self, x2d, y3d, root=None, intrinsics=None, **meta):
        self.inputs_2d.append(np.asarray(x2d, dtype=np.float32))
        self.targets_3d.append(np.asarray(y3d, dtype=np.float32))
        if root is not None:
            self.roots_3d.append(np.asarray(root, dtype=np.float32))
        if intrinsics is not None:
            self.intrinsics.append(np.asarray(intrinsics, dtype=np.float32))
        self.meta.append(meta)

    def __len__(self):
        return len(self.inputs_2d)

    @property
    def num_frames(self) -> int:
        return int(sum(len(s) for s in self.inputs_2d))


def root_relative(x: np.ndarray) -> np.ndarray:
    """Subtract the root joint (index 0) from every joint; the root becomes zero."""
    return x - x[..., :1, :]


def intrinsic_normalize(px: np.ndarray, camera: Camera) -> np.ndarray:
    """Pixels → (px - c) / f: image coordinates independent of focal length and resolution.

    The trajectory model takes these, so that the root's depth follows from the pose's
    apparent size the same way for any camera (given its intrinsics, or a default field
    of view). The ``"intrinsic"`` :class:`~poselift.encode.InputEncoder` of ``camera``.
    """
    return InputEncoder.for_camera("intrinsic", camera).encode(px)


@dataclass
class ViewOptions:
    """How training 2D inputs are made from 3D motion."""

    input_layout: str = "h36m17"  # "h36m17" or "coco17" (face joints synthesised)
    input_norm: str = "screen"  # "screen" (width → [-1, 1]) or "intrinsic" ((px - c) / f)
    detector_noise: bool = False  # add synthetic detector noise (seeded, one track per view)
    detector_errors: bool = False  # also keypoint offsets, left/right swaps, missed joints (noise.DetectorErrors)
    body_proportions: bool = False  # each view on a body of its own (proportions.BodyProportions)


def downsample_clip(positions: np.ndarray, factor: int) -> np.ndarray:
    return positions[::factor] if factor > 1 else positions


def make_view(camera: Camera, positions_world: np.ndarray, opts: ViewOptions, rng: np.random.Generator):
    """World 3D (T, 17, 3) seen by ``camera``: (model input 2D, root-relative 3D, root 3D)."""
    from ..skeleton import coco17_from_h36m17, get_skeleton
    from .noise import DetectorErrors, add_detector_noise

    cam3d = camera.world_to_camera(positions_world.astype(np.float64))
    if np.any(cam3d[..., 2] <= 0.1):
        raise PoseliftError(f"camera {camera.id}: the subject is behind or too close to the camera")
    if opts.input_layout == "coco17":
        src = coco17_from_h36m17(cam3d)
    elif opts.input_layout == "h36m17":
        src = cam3d
    else:
        raise PoseliftError(f"unknown input layout {opts.input_layout!r} (h36m17 or coco17)")
    errors = DetectorErrors() if opts.detector_errors else None
    if errors:
        from ..bones import body_axes

        src = errors.offset_keypoints(src, rng, *body_axes(cam3d))
    px = camera.project(src)
    if opts.detector_noise:
        px = add_detector_noise(px, rng, camera.res_w)
    if errors:
        px = errors.corrupt_2d(px, rng, get_skeleton(opts.input_layout).flip_permutation)
    x2d = InputEncoder.for_camera(opts.input_norm, camera).encode(px)  # the checkpoint's input_norm
    return x2d, root_relative(cam3d).astype(np.float32), cam3d[:, :1].astype(np.float32)


def build_cmu_training_set(
    train_dir,
    calibration=None,
    downsample: int = 1,
    random_cameras: int = 0,
    seed: int = 1234,
    camera_spec: RandomCameraSpec | None = None,
    subjects: list[str] | None = None,
    view: ViewOptions | None = None,
    rig_cameras: bool = True,
    subset: float = 1.0,
) -> SequenceSet:
    """Project every training clip through its subject's Human3.6M rig (and random cameras).

    Rigs come from S1, S5, S6, S7, S8, assigned round-robin over the sorted subject ids of
    the whole folder (so a subject keeps its rig whichever subjects are selected).
    ``random_cameras`` adds that many random virtual cameras per clip (seeded); ``view``
    chooses the input layout, normalisation and synthetic detector noise. ``subset`` keeps a
    contiguous, seeded fraction of each clip, the same stretch for all of its cameras, so
    the labeled frames counted are 3D poses.
    """
    view = view or ViewOptions()
    clips = cmu.load_train_dir(train_dir)
    rigs = assign_rigs(sorted({c.subject for c in clips}), h36m_rigs(calibration))
    if subjects is not None:
        missing = sorted(set(subjects) - {c.subject for c in clips})
        if missing:
            raise PoseliftError(f"no clips of subject(s) {', '.join(missing)}", train_dir)
        clips = [c for c in clips if c.subject in set(subjects)]
    rng = np.random.default_rng([seed, 7])
    noise_rng = np.random.default_rng([seed, 11])
    body_rng = np.random.default_rng([seed, 13])
    spec = camera_spec or RandomCameraSpec()
    out = SequenceSet(skeleton_in=view.input_layout)
    for clip in clips:
        pos = clip.positions[subset_slice(len(clip.positions), subset, f"{clip.subject}/{clip.name}", seed)]
        pos = downsample_clip(pos, downsample)
        cams = list(rigs[clip.subject]) if rig_cameras else []
        cams += [random_camera_facing(rng, pos, spec) for _ in range(random_cameras)]
        if not cams:
            raise PoseliftError("no cameras: enable the rigs or ask for random cameras")
        for cam in cams:
            body = random_body(pos, body_rng) if view.body_proportions else pos
            x2d, y3d, root = make_view(cam, body, view, noise_rng)
            out.append(x2d, y3d, root=root, intrinsics=cam.normalized_intrinsics(), subject=clip.subject,
                       clip=clip.name, description=clip.description, camera=cam.id)
    return out


def subset_slice(n: int, subset: float, key: str, seed: int) -> slice:
    """A contiguous ``subset`` fraction of ``n`` frames at a start fixed by (seed, key)."""
    if subset >= 1.0:
        return slice(0, n)
    keep = max(1, int(round(n * subset)))
    start = int(np.random.default_rng([seed, *key.encode()]).integers(0, n - keep + 1))
    return slice(start, start + keep)


def build_prepared_training_set(path, subjects: list[str], source: str, actions: list[str] | None = None,
                                subset: float = 1.0, downsample: int = 1, seed: int = 1234,
                                input_norm: str = "screen") -> SequenceSet:
    """Training sequences from a prepared dataset file (``poselift prepare``).

    Every clip of every subject in ``subjects`` (only ``actions``, if given) seen by each of
    its cameras is one sequence: the 2D of ``source`` normalised with that camera, the
    camera-frame 3D root-relative. ``subset`` keeps a contiguous fraction of each clip (the
    reference release's ``--subset``), ``downsample`` every n-th frame. Camera views whose 2D
    has missing values are left out with a warning.
    """
    import warnings

    from .prepared import load_prepared

    blocks = load_prepared(path, subjects=subjects, source=source)
    if not blocks:
        raise PoseliftError(f"no training clips with 2D source {source!r}", path)
    out = SequenceSet(skeleton_in=blocks[0].layout_2d(source), skeleton_out=blocks[0].skeleton)
    skipped = 0
    for subj in blocks:
        for _, name, desc, sl in subj.clip_slices():
            if actions and desc not in actions:
                continue
            for c, cam in enumerate(subj.cameras):
                px = subj.positions_2d[source][c, sl].astype(np.float64)
                cam3d = subj.positions_3d_camera[c, sl].astype(np.float64)
                keep = subset_slice(len(px), subset, f"{subj.subject}/{name}/{cam.id}", seed)
                px, cam3d = downsample_clip(px[keep], downsample), downsample_clip(cam3d[keep], downsample)
                if not np.isfinite(px).all():
                    skipped += 1
                    continue
                x2d = InputEncoder.for_camera(input_norm, cam).encode(px)
                out.append(x2d, root_relative(cam3d), root=cam3d[:, :1], intrinsics=cam.normalized_intrinsics(),
                           subject=subj.subject, clip=name, description=desc, camera=cam.id)
    if skipped:
        warnings.warn(f"{path}: left out {skipped} camera views with missing {source} 2D", stacklevel=2)
    if not len(out):
        raise PoseliftError(f"no training clips left (subjects {', '.join(subjects)}, "
                            f"actions {', '.join(actions or ['all'])})", path)
    return out
