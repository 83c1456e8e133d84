"""Virtual cameras for training: the Human3.6M calibrations and random placements.

The CMU-17 benchmark uses the cameras of Human3.6M subject S9, so training never uses
them: the default training rigs are those of S1, S5, S6, S7 and S8, assigned to the
training subjects round-robin in sorted order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..camera import Camera, load_calibration_json, look_at_camera
from ..errors import PoseliftError

TRAIN_RIGS = ("S1", "S5", "S6", "S7", "S8")
BENCHMARK_RIG = "S9"


def default_calibration_path() -> Path:
    return Path(str(resources.files("poselift") / "assets" / "h36m_cameras.json"))


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
    """Ranges for random camera placement around the subject (metres, degrees)."""

    distance: tuple[float, float] = (3.5, 6.5)
    height: tuple[float, float] = (0.8, 2.2)
    yaw: tuple[float, float] = (-180.0, 180.0)
    fov: tuple[float, float] = (35.0, 65.0)
    target_height: tuple[float, float] = (0.7, 1.1)
    res: tuple[int, int] = (1000, 1000)


def random_camera(rng: np.random.Generator, spec: RandomCameraSpec = RandomCameraSpec(), centre=(0.0, 0.0)) -> Camera:
    """A distortion-free camera at a random distance, height and yaw, looking at the subject."""
    d = rng.uniform(*spec.distance)
    yaw = math.radians(rng.uniform(*spec.yaw))
    eye = (centre[0] + d * math.cos(yaw), centre[1] + d * math.sin(yaw), rng.uniform(*spec.height))
    target = (centre[0], centre[1], rng.uniform(*spec.target_height))
    return look_at_camera(eye, target, res=spec.res, fov_deg=rng.uniform(*spec.fov), cam_id="random")
