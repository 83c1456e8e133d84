"""The set-up: a Python check first, and a torch step that resolves to no CUDA package."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _makefile_var(name: str) -> str:
    m = re.search(rf"^{name}\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert m, name
    return m.group(1)


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


def test_python_check_names_the_fix():
    script = ROOT / "scripts" / "check_python.py"
    assert subprocess.run([sys.executable, str(script)]).returncode == 0  # this Python is supported
    code = ("import runpy, sys; sys.version_info = (3, 13, 0, 'final', 0); "
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode != 0 and "needs Python 3.10-3.12" in r.stderr and "PYTHON=python3.12" in r.stderr


def test_torch_step_pulls_no_cuda_package(tmp_path):
    index = _makefile_var("TORCH_INDEX")
    if not _reachable(index.split("/")[2]):
        pytest.skip(f"{index} cannot be reached from here")
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                    "--report", str(report), "--index-url", index, _makefile_var("TORCH")], check=True, timeout=600)
    names = [item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]]
    assert "torch" in names
    assert not [n for n in names if n.startswith(("nvidia", "cuda", "triton"))], names
