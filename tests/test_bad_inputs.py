"""Every bad input of ``bad_inputs.CASES`` gets one clear line, exit code 2, and loses nothing."""

import importlib.util

import pytest

from poselift.cli import main

from bad_inputs import CASES


def _snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_line_naming_the_file(case, tmp_path, capsys):
    if case.needs and importlib.util.find_spec(case.needs) is None:
        pytest.skip(f"needs {case.needs}")
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
        assert after.get(path) == data, path


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="file not found"):
        main(["--debug", "infer", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")])
