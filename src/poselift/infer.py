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
        x = normalize_screen_coordinates(kp, width, height).astype(np.float32)
        with torch.inference_mode():
            return predict_sequence(self.model, x, self.flip_test, device=self.device)


def lift(keypoints: np.ndarray, width: int, height: int, checkpoint=None, flip_test: bool = True) -> np.ndarray:
    """One call: pixels (T, J, 2) → 3D (T, J, 3), metres, root-relative camera frame."""
    return Lifter(checkpoint, flip_test=flip_test).lift(keypoints, width, height)
