"""Shared test fixtures."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest


def pytest_configure(config):
    """The signal tests send SIGINT to this process and to the commands it starts: a shell that
    starts the suite in the background (``pytest &``) hands it SIGINT ignored, which the
    children would inherit; give it Python's usual handler back."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (``$POSELIFT_DATA`` or ``<repo>/../shared/data``); skips when absent."""
    env = os.environ.get("POSELIFT_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    if not root.is_dir():
        pytest.skip(f"shared data folder not found: {root}")
    return root.resolve()
