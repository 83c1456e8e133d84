"""Where the files bundled with the package (``src/poselift/assets``) are."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import PoseliftError


def asset_path(name: str) -> Path:
    """Path of the bundled file ``name``; a clear error if the installation lacks it."""
    path = Path(str(resources.files("poselift") / "assets" / name))
    if not path.exists():
        raise PoseliftError("bundled file is missing from the installation", path)
    return path
