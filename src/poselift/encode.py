"""The model input encoding: pixels → the 2D a network takes, and back.

One encoder for training data, evaluation and every inference path, chosen by the
checkpoint's recorded ``input_norm`` (:func:`encoder_for`):

* ``"screen"``: the image width maps to [-1, 1], the aspect kept
  (:func:`~poselift.camera.normalize_screen_coordinates`; the pose lifters' input);
* ``"intrinsic"``: ``(px - c) / f``, image coordinates independent of focal length and
  resolution (the trajectory models' input, and root placement by reprojection).

Pure arithmetic on arrays: the formulas (and so the numbers, to the bit) are those the
training data was made with. Without a calibration the intrinsics are a default field of
view across the image's long side (:func:`default_intrinsics`).
"""

from __future__ import annotations

import math

import numpy as np

from .camera import Camera, image_coordinates, normalize_screen_coordinates
from .errors import PoseliftError

__all__ = ["DEFAULT_FOV_DEG", "NORMS", "InputEncoder", "default_intrinsics", "encoder_for", "input_norm",
           "intrinsic_encoder"]

#: The input normalisations a checkpoint may record (``input_norm``).
NORMS = ("screen", "intrinsic")

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
    from .checks import image_size, in_range, positive

    width, height = image_size(width, height)
    if focal is not None:  # 0 is no focal length: refused, never replaced by the default
        focal = positive("focal length", focal, unit="pixels")
    fov_deg = in_range("field of view", fov_deg, 5, 170, unit="degrees")
    f = focal if focal is not None else max(width, height) / 2 / math.tan(math.radians(fov_deg) / 2)
    return np.array([f, f], dtype=np.float64), np.array([width / 2, height / 2], dtype=np.float64)


def input_norm(meta: dict) -> str:
    """A checkpoint's input normalisation: the recorded ``input_norm``, else the convention of
    the checkpoints that predate the key (screen for pose models, intrinsic for trajectory
    models, :attr:`poselift.config.TrainConfig.input_norm`)."""
    norm = meta.get("input_norm")
    if norm is None:
        norm = "intrinsic" if meta.get("target", "pose") == "trajectory" else "screen"
    if norm not in NORMS:
        raise PoseliftError(f"unknown input normalisation {norm!r:.40} (screen or intrinsic)")
    return norm


class InputEncoder:
    """Pixels (..., 2) of a ``width`` x ``height`` image ↔ a model's normalised 2D.

    ``norm`` "screen" uses the image size only; "intrinsic" the ``focal`` length(s) and
    principal point ``center`` in pixels (default: the image centre). :meth:`encode` keeps
    the arithmetic of the training data (float64 pixels give float64 before the cast to
    ``dtype``; ``dtype=None`` keeps the result's own type).
    """

    def __init__(self, norm: str, width: int, height: int, focal=None, center=None):
        if norm not in NORMS:
            raise PoseliftError(f"unknown input normalisation {norm!r:.40} (screen or intrinsic)")
        if norm == "intrinsic" and focal is None:
            raise PoseliftError("intrinsics normalisation needs a focal length")
        self.norm, self.width, self.height = norm, width, height
        self.focal = None if focal is None else np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,))
        self.center = (np.array([width / 2, height / 2], dtype=np.float64) if center is None
                       else np.broadcast_to(np.asarray(center, dtype=np.float64), (2,)))

    @classmethod
    def for_camera(cls, norm: str, camera: Camera) -> "InputEncoder":
        """The encoder of a calibrated camera (its resolution, focal length and centre)."""
        return cls(norm, camera.res_w, camera.res_h, camera.focal, camera.center)

    def encode(self, px, dtype=np.float32):
        """Pixels (..., 2) → normalised 2D (..., 2), as ``dtype`` (None: uncast)."""
        if self.norm == "screen":
            out = normalize_screen_coordinates(px, self.width, self.height)
        else:
            out = (px - self.center) / self.focal
        return out if dtype is None else out.astype(dtype)

    __call__ = encode

    def decode(self, x, dtype=None):
        """Normalised 2D (..., 2) → pixels: the inverse of :meth:`encode`."""
        if self.norm == "screen":
            out = image_coordinates(x, self.width, self.height)
        else:
            out = x * self.focal + self.center
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        extra = "" if self.norm == "screen" else f", focal={self.focal.tolist()}, center={self.center.tolist()}"
        return f"InputEncoder({self.norm!r}, {self.width}, {self.height}{extra})"


def encoder_for(meta: dict, width: int, height: int, focal: float | None = None, center=None) -> InputEncoder:
    """The encoder of a checkpoint (its metadata ``meta``, :func:`input_norm`) for pixels of a
    ``width`` x ``height`` image: with intrinsics normalisation the ``focal`` length in pixels
    (default: :func:`default_intrinsics`) and principal point ``center`` (default: the centre)."""
    if input_norm(meta) == "screen":
        return InputEncoder("screen", width, height)
    return intrinsic_encoder(width, height, focal, center)


def intrinsic_encoder(width: int, height: int, focal: float | None = None, center=None) -> InputEncoder:
    """``(px - c) / f`` for a ``width`` x ``height`` image: the trajectory models' input and
    the coordinates of root placement by reprojection (:mod:`poselift.root`); ``focal``
    pixels (default: :func:`default_intrinsics`, which also checks the size and the focal)."""
    f, c = default_intrinsics(width, height, focal)
    return InputEncoder("intrinsic", width, height, f, c if center is None else center)
