"""Training and evaluation sequences: 3D motion seen through cameras.

A :class:`SequenceSet` is what the trainer and the evaluator consume: per-sequence 2D
inputs (normalised screen coordinates), root-relative 3D targets in the camera frame
(metres), and per-sequence metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..camera import Camera
from ..errors import PoseliftError
from . import cmu
from .virtual import RandomCameraSpec, assign_rigs, h36m_rigs, random_camera


@dataclass
class SequenceSet:
    inputs_2d: list[np.ndarray] = field(default_factory=list)  # (T, J, 2) normalised
    targets_3d: list[np.ndarray] = field(default_factory=list)  # (T, J, 3) root-relative, metres
    meta: list[dict] = field(default_factory=list)

    def append(self, x2d, y3d, **meta):
        self.inputs_2d.append(np.asarray(x2d, dtype=np.float32))
        self.targets_3d.append(np.asarray(y3d, dtype=np.float32))
        self.meta.append(meta)

    def __len__(self):
        return len(self.inputs_2d)

    @property
    def num_frames(self) -> int:
        return int(sum(len(s) for s in self.inputs_2d))


def root_relative(x: np.ndarray) -> np.ndarray:
    """Subtract the root joint (index 0) from every joint; the root becomes zero."""
    return x - x[..., :1, :]


def view_through(camera: Camera, positions_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World 3D (T, J, 3) → (normalised 2D (T, J, 2), camera-frame 3D (T, J, 3))."""
    cam3d = camera.world_to_camera(positions_world.astype(np.float64))
    if np.any(cam3d[..., 2] <= 0.1):
        raise PoseliftError(f"camera {camera.id}: the subject is behind or too close to the camera")
    px = camera.project(cam3d)
    return camera.normalize(px).astype(np.float32), cam3d.astype(np.float32)


def downsample_clip(positions: np.ndarray, factor: int) -> np.ndarray:
    return positions[::factor] if factor > 1 else positions


def build_cmu_training_set(
    train_dir,
    calibration=None,
    downsample: int = 1,
    random_cameras: int = 0,
    seed: int = 1234,
    camera_spec: RandomCameraSpec | None = None,
    subjects: list[str] | None = None,
) -> SequenceSet:
    """Project every training clip through its subject's Human3.6M rig (and random cameras).

    Rigs come from S1, S5, S6, S7, S8, assigned round-robin over the sorted subject ids.
    ``random_cameras`` adds that many random virtual cameras per clip (seeded).
    """
    clips = cmu.load_train_dir(train_dir)
    if subjects is not None:
        clips = [c for c in clips if c.subject in set(subjects)]
        if not clips:
            raise PoseliftError(f"no clips of subject(s) {', '.join(subjects)}", train_dir)
    rigs = assign_rigs(sorted({c.subject for c in clips}), h36m_rigs(calibration))
    rng = np.random.default_rng([seed, 7])
    spec = camera_spec or RandomCameraSpec()
    out = SequenceSet()
    for clip in clips:
        pos = downsample_clip(clip.positions, downsample)
        cams = list(rigs[clip.subject])
        centre = pos[:, 0, :2].mean(0)
        cams += [random_camera(rng, spec, centre=centre) for _ in range(random_cameras)]
        for cam in cams:
            x2d, x3d = view_through(cam, pos)
            out.append(x2d, root_relative(x3d), subject=clip.subject, clip=clip.name,
                       description=clip.description, camera=cam.id)
    return out
