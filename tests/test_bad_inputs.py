"""Every bad input of ``bad_inputs.CASES`` gets one clear line, exit code 2, and loses nothing."""

import importlib.util
import os

import pytest

from poselift.cli import main

from bad_inputs import CASES
from helpers import Planted


def _snapshot(folder):
    """Every path under ``folder``: a file's bytes, None for anything else (folders, FIFOs, links)."""
    out = {}
    for p in folder.rglob("*"):
        out[p] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_line_naming_the_file(case, tmp_path, capsys):
    if case.needs and importlib.util.find_spec(case.needs) is None:
        pytest.skip(f"needs {case.needs}")
    if not case.as_root and os.geteuid() == 0:
        pytest.skip("file permissions do not stop root")
    argv = case.build(tmp_path)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("poselift: error: ") and "Traceback" not in err
    assert case.expect in lines[0]
    if case.names:
        assert f"{tmp_path / case.names}: " in lines[0]
    after = _snapshot(tmp_path)
    for path, data in before.items():  # nothing the user had was changed or removed
        assert path in after and after[path] == data, path
    assert not set(after) - set(before), f"left behind: {sorted(map(str, set(after) - set(before)))}"


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="file not found"):
        main(["--debug", "infer", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")])


def test_planted_pickles_never_run_in_any_npz_loader(tmp_path):
    import numpy as np

    from poselift.data.cmu import load_bench_file, load_train_file
    from poselift.data.prepared import load_prepared
    from poselift.detect.importers import load_keypoints
    from poselift.errors import PoseliftError

    marker = tmp_path / "pwned"
    payload = np.array(Planted(marker), dtype=object)
    keys = {"cmu_01.npz": "positions", "bench_09.npz": "positions_3d_camera", "prepared.npz": "dataset",
            "keypoints.npz": "positions_2d"}
    loaders = {"cmu_01.npz": load_train_file, "bench_09.npz": load_bench_file, "prepared.npz": load_prepared,
               "keypoints.npz": load_keypoints}
    for name, key in keys.items():
        path = tmp_path / name
        np.savez(path, **{key: payload})
        with pytest.raises(PoseliftError) as e:
            loaders[name](path)
        assert e.value.path == str(path)
    assert not marker.exists()
