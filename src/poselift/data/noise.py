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
