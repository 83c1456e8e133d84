"""Virtual cameras for training: the Human3.6M calibrations and random placements.

The CMU-17 benchmark uses the cameras of Human3.6M subject S9, so training never uses
them: the default training rigs are those of S1, S5, S6, S7 and S8, assigned to the
training subjects round-robin in sorted order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..assets_path import asset_path
from ..camera import Camera, load_calibration_json, look_at_camera
from ..errors import PoseliftError

TRAIN_RIGS = ("S1", "S5", "S6", "S7", "S8")
BENCHMARK_RIG = "S9"


def default_calibration_path() -> Path:
    return asset_path("h36m_cameras.json")


def h36m_rigs(path=None, subjects=TRAIN_RIGS) -> dict[str, list[Camera]]:
    rigs = load_calibration_json(path or default_calibration_path())
    missing = [s for s in subjects if s not in rigs]
    if missing:
        raise PoseliftError(f"calibration lacks subject(s) {', '.join(missing)}", path or default_calibration_path())
    return {s: rigs[s] for s in subjects}


def assign_rigs(subjects: list[str], rigs: dict[str, list[Camera]]) -> dict[str, list[Camera]]:
    """Round-robin assignment of rigs to training subjects by sorted subject id."""
    names = list(rigs)
    return {s: rigs[names[i % len(names)]] for i, s in enumerate(sorted(subjects))}


@dataclass
class RandomCameraSpec:
    """Ranges for random camera placement around the subject (metres, degrees).

    The camera stands at a random distance, height and yaw around the clip's mean root
    position and aims at a point ``target_height`` above it, shifted sideways by
    ``aim_offset`` so that the subject is not always centred. The horizontal field of view
    and the image shape (landscape, portrait or square) are drawn too, which together span
    the person sizes in the image that phone and camera footage shows.
    """

    distance: tuple[float, float] = (3.0, 8.0)
    height: tuple[float, float] = (0.5, 2.5)
    yaw: tuple[float, float] = (-180.0, 180.0)
    fov: tuple[float, float] = (30.0, 75.0)
    target_height: tuple[float, float] = (0.6, 1.2)
    aim_offset: tuple[float, float] = (-0.8, 0.8)
    resolutions: tuple[tuple[int, int], ...] = ((1000, 1000), (1920, 1080), (1080, 1920))


def random_camera(rng: np.random.Generator, spec: RandomCameraSpec = RandomCameraSpec(), centre=(0.0, 0.0)) -> Camera:
    """A distortion-free camera at a random distance, height and yaw, looking at the subject."""
    d = rng.uniform(*spec.distance)
    yaw = math.radians(rng.uniform(*spec.yaw))
    eye = (centre[0] + d * math.cos(yaw), centre[1] + d * math.sin(yaw), rng.uniform(*spec.height))
    side = rng.uniform(*spec.aim_offset)  # along the image's horizontal axis
    target = (centre[0] - side * math.sin(yaw), centre[1] + side * math.cos(yaw), rng.uniform(*spec.target_height))
    res = spec.resolutions[int(rng.integers(len(spec.resolutions)))]
    return look_at_camera(eye, target, res=res, fov_deg=rng.uniform(*spec.fov), cam_id="random")


def random_camera_facing(rng: np.random.Generator, positions: np.ndarray, spec: RandomCameraSpec = RandomCameraSpec(),
                         min_depth: float = 1.0, tries: int = 50) -> Camera:
    """A random camera (see :func:`random_camera`) that has the whole clip ``positions``
    (F, J, 3, world) at least ``min_depth`` in front of it: clips that travel far can pass
    behind a close camera, so such draws are redrawn."""
    centre = positions[:, 0, :2].mean(0)
    for _ in range(tries):
        cam = random_camera(rng, spec, centre=centre)
        if cam.world_to_camera(positions)[..., 2].min() >= min_depth:
            return cam
    raise PoseliftError(f"no random camera keeps this clip {min_depth} m in front after {tries} tries")
