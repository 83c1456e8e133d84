"""poselift: 3D human pose estimation in video with dilated temporal convolutions."""

__version__ = "0.1.0"

from .errors import PoseliftError  # noqa: E402

__all__ = ["PoseliftError", "__version__"]
