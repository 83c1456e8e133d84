"""The pretrained models bundled with the package (``src/poselift/assets``), and which
checkpoint a job uses: a file the user gave, or the bundled one for the input layout."""

from __future__ import annotations

from pathlib import Path

from ..assets_path import asset_path
from ..errors import PoseliftError

__all__ = ["DEFAULT_CHECKPOINTS", "DEFAULT_TRAJECTORY", "default_checkpoint", "default_trajectory_checkpoint",
           "resolve_checkpoint", "trajectory_checkpoint", "user_checkpoint"]

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
    """The checkpoint file: ``checkpoint``, or (None or "default") the bundled pose model for ``layout``."""
    if checkpoint is None or str(checkpoint) == "default":
        return default_checkpoint(layout)
    return Path(checkpoint)


def user_checkpoint(checkpoint) -> Path | None:
    """A checkpoint file the user gave (an input no output may replace), else None."""
    return None if checkpoint is None or str(checkpoint) == "default" else Path(checkpoint)


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
