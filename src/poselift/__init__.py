"""poselift: 3D human pose estimation in video with dilated temporal convolutions."""

__version__ = "0.1.0"

from .errors import PoseliftError  # noqa: E402

__all__ = ["PoseliftError", "__version__", "lift", "infer_video", "Lifter", "Reconstruction", "Stream", "Motion",
           "read_motion"]

_LAZY = {"lift": "infer", "infer_video": "infer", "Lifter": "infer", "Reconstruction": "infer", "Stream": "stream",
         "Motion": "render.export", "read_motion": "render.export"}


def __getattr__(name):  # the one-call API, imported on first use (keeps ``import poselift`` light)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'poselift' has no attribute {name!r}")


def __dir__():  # the lazy names are part of the API: list them
    return sorted(set(globals()) | set(__all__))
