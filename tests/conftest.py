"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (``$POSELIFT_DATA`` or ``<repo>/../shared/data``); skips when absent."""
    env = os.environ.get("POSELIFT_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    if not root.is_dir():
        pytest.skip(f"shared data folder not found: {root}")
    return root.resolve()
