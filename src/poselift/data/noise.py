"""Synthetic 2D detector noise for training on exact projections.

A stand-in for a good detector, after the description of the CMU-17 benchmark's synthetic
detections: per joint, temporally correlated jitter with a standard deviation of a few
pixels (an AR(1) process, so the error drifts smoothly as a real detector's does), plus
rare bursts of large error lasting a few frames. Pixel figures refer to a 1000 px wide
image and scale with the image width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DetectorNoise:
    sigma_px: tuple[float, float] = (3.0, 6.0)  # per-joint jitter std, drawn uniformly
    correlation: float = 0.8  # AR(1) coefficient from frame to frame (50 Hz)
    burst_rate: float = 0.002  # burst starts per joint per frame
    burst_px: tuple[float, float] = (15.0, 40.0)
    burst_frames: tuple[int, int] = (2, 8)
    reference_width: float = 1000.0

    def sample(self, rng: np.random.Generator, frames: int, joints: int, width: float = 1000.0) -> np.ndarray:
        """Noise (frames, joints, 2) in pixels for an image ``width`` pixels wide."""
        scale = width / self.reference_width
        sigma = rng.uniform(*self.sigma_px, size=(1, joints, 1)) * scale
        rho = self.correlation
        innov = rng.normal(size=(frames, joints, 2)) * np.sqrt(1 - rho**2)
        noise = np.empty((frames, joints, 2))
        noise[0] = rng.normal(size=(joints, 2))
        for t in range(1, frames):
            noise[t] = rho * noise[t - 1] + innov[t]
        noise *= sigma
        starts = np.argwhere(rng.random((frames, joints)) < self.burst_rate)
        for t, j in starts:
            n = int(rng.integers(self.burst_frames[0], self.burst_frames[1] + 1))
            amp = rng.uniform(*self.burst_px) * scale
            ang = rng.uniform(0, 2 * np.pi)
            noise[t : t + n, j] += amp * np.array([np.cos(ang), np.sin(ang)])
        return noise.astype(np.float32)


def add_detector_noise(keypoints_px: np.ndarray, rng: np.random.Generator, width: float,
                       model: DetectorNoise | None = None) -> np.ndarray:
    """``keypoints_px`` (T, J, 2) plus a fresh noise track."""
    model = model or DetectorNoise()
    return keypoints_px + model.sample(rng, keypoints_px.shape[0], keypoints_px.shape[1], width)


@dataclass
class DetectorErrors:
    """Failure modes of real 2D detectors beyond jitter, for training inputs.

    * **keypoint offsets**: a detector's keypoint is not a motion-capture joint centre (a
      COCO hip sits on the side of the pelvis, a wrist at the crease). Each joint of each
      sequence gets a constant offset in the body's own frame (right, up, forward), normal
      with ``offset_sd`` metres per axis, so the 2D disagrees with the joint centres in a
      consistent way that the lifter must learn to tolerate.
    * **left/right swaps**: the whole body's left and right keypoints exchanged for a run of
      frames (a detector reading a person from behind as facing it); ``swap_rate`` runs start
      per frame, each ``swap_frames`` long.
    * **missed joints**: a joint lost for a run of frames and bridged by linear interpolation,
      as :func:`~poselift.detect.fill.fill_gaps` does at inference; ``miss_rate`` runs start
      per joint and frame, each ``miss_frames`` long.

    The rates are orders of magnitude chosen before any measurement (a few per cent of frames
    swapped, under one per cent of joints missed), not fitted to any clip.
    """

    offset_sd: float = 0.02
    swap_rate: float = 0.001
    swap_frames: tuple[int, int] = (4, 30)
    miss_rate: float = 0.002
    miss_frames: tuple[int, int] = (2, 15)

    def offset_keypoints(self, points: np.ndarray, rng: np.random.Generator, right: np.ndarray,
                         up: np.ndarray, fwd: np.ndarray) -> np.ndarray:
        """3D keypoints (T, J, 3) shifted by per-joint constant offsets in the body frame given
        by unit vectors ``right``, ``up`` and ``fwd`` (T, 3) (see :func:`poselift.bones.body_axes`)."""
        o = rng.normal(0.0, self.offset_sd, size=(points.shape[1], 3))  # (J, 3) along right, up, forward
        B = np.stack([right, up, fwd], axis=-2)  # (T, 3 axes, 3)
        return points + np.einsum("ja,tab->tjb", o, B)

    def corrupt_2d(self, px: np.ndarray, rng: np.random.Generator, flip_permutation) -> np.ndarray:
        """Pixels (T, J, 2) with left/right swap runs and interpolated missed joints."""
        px = np.array(px, dtype=np.float64)
        T, J = px.shape[:2]
        perm = list(flip_permutation)
        for t in np.flatnonzero(rng.random(T) < self.swap_rate):
            n = int(rng.integers(self.swap_frames[0], self.swap_frames[1] + 1))
            px[t:t + n] = px[t:t + n][:, perm]
        for t, j in np.argwhere(rng.random((T, J)) < self.miss_rate):
            n = int(rng.integers(self.miss_frames[0], self.miss_frames[1] + 1))
            a, b = t - 1, min(t + n, T)  # last good frame before, first good frame after
            if a < 0 and b >= T:
                continue
            if a < 0:  # lost from the start: held at its first good position, as fill_gaps does
                px[t:b, j] = px[b, j]
            elif b >= T:
                px[t:b, j] = px[a, j]
            else:
                w = (np.arange(t, b) - a)[:, None] / (b - a)
                px[t:b, j] = (1 - w) * px[a, j] + w * px[b, j]
        return px
