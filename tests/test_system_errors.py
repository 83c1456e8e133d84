"""The command line's boundary for the system's errors (no space, names too long, permissions,
memory), files recognised by their content, and special files refused before they are read."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest

from poselift.cli import main, system_error_message
from poselift.data.filetype import check_input_file, describe
from poselift.data.formats import load_json, load_npz, npz_dtypes
from poselift.errors import PoseliftError


def _keypoints(path, frames=20):
    kp = np.random.default_rng(0).uniform(200, 800, size=(frames, 17, 2))
    path.write_text(json.dumps([{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(),
                                                               "keypoint_scores": [1.0] * 17}]}
                                for i in range(frames)]))
    return path


def _infer_argv(src, out):
    return ["infer", str(src), "--out", str(out), "--width", "1000", "--height", "1000", "--no-video", "-q"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ----------------------------------------------------------------------------- the boundary


def _evaluate_raising(monkeypatch, tmp_path, error, json_out=True):
    """``poselift evaluate`` whose work raises ``error`` (evaluate writes no output transaction:
    what it raises reaches the command line's boundary as it is)."""
    import poselift.evaluate as evaluate

    def work(*args, **kwargs):
        raise error

    monkeypatch.setattr(evaluate, "evaluate_checkpoint", work)
    (tmp_path / "bench").mkdir(exist_ok=True)
    return ["evaluate", "--checkpoint", "default", "--bench", str(tmp_path / "bench"), "-q",
            *(["--json", str(tmp_path / "result.json")] if json_out else [])]


@pytest.mark.parametrize("code,words", [
    (errno.ENOSPC, "no space left on the device"), (errno.EDQUOT, "disk quota exceeded"),
    (errno.EROFS, "read-only file system"), (errno.EIO, "input/output error"),
])
def test_system_errors_without_a_file_name_name_the_flag(tmp_path, capsys, monkeypatch, code, words):
    """An OSError without a file name (as write() raises them): a full disk names the output
    flag's value, other errors the input's."""
    argv = _evaluate_raising(monkeypatch, tmp_path, OSError(code, os.strerror(code)))
    assert main(argv) == 2
    line = _one_line(capsys)
    flag = "result.json" if code != errno.EIO else "bench"
    assert line.startswith(f"poselift: error: {tmp_path / flag}: {words}"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]


def test_a_full_disk_in_the_outputs_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import poselift.render.export as export

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export, "export_all", full)
    src = _keypoints(tmp_path / "dets.json")
    before = src.read_bytes()
    assert main(_infer_argv(src, tmp_path / "out")) == 2
    line = _one_line(capsys)
    assert line.startswith(f"poselift: error: {tmp_path / 'out'}: ") and "no space left" in line.lower()
    assert src.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["dets.json"]


@pytest.mark.parametrize("code,words", [
    (errno.EACCES, "permission denied"), (errno.ENAMETOOLONG, "file name too long"),
    (errno.EMFILE, "too many open files"), (errno.ELOOP, "too many levels of symbolic links"),
])
def test_system_errors_naming_a_file_name_that_file(tmp_path, capsys, monkeypatch, code, words):
    import poselift.infer as infer

    bad = tmp_path / "somewhere" / "file.npz"

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(bad))

    monkeypatch.setattr(infer, "write_outputs", refuse)
    assert main(_infer_argv(_keypoints(tmp_path / "dets.json"), tmp_path / "out")) == 2
    assert _one_line(capsys).startswith(f"poselift: error: {bad}: {words}")


def test_running_out_of_memory_names_the_input(tmp_path, capsys, monkeypatch):
    import poselift.infer as infer

    def huge(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(infer, "reconstruct", huge)
    src = _keypoints(tmp_path / "dets.json")
    assert main(_infer_argv(src, tmp_path / "out")) == 2
    assert _one_line(capsys) == f"poselift: error: {src}: out of memory (the input is too large for this " \
                                "machine's memory)"


def test_debug_shows_the_system_error_traceback(tmp_path, monkeypatch):
    argv = _evaluate_raising(monkeypatch, tmp_path, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(OSError, match="No space left"):
        main(["--debug", *argv])
    with pytest.raises(MemoryError):
        main(["--debug", *_evaluate_raising(monkeypatch, tmp_path, MemoryError())])


def test_system_error_message_wording():
    class Args:
        source, out = "in.json", "results"

    assert system_error_message(OSError(errno.ENOSPC, "x"), Args()) == "results: no space left on the device " \
                                                                      "(free some space, or write elsewhere)"
    assert system_error_message(OSError(errno.ENOENT, "x"), Args()) == "in.json: not found"
    assert system_error_message(OSError(errno.EXDEV, "x", "a", None, "b")) == "a -> b: cannot move across file " \
                                                                             "systems"
    assert system_error_message(OSError(12345, "Odd error"), None) == "Odd error"
    assert system_error_message(MemoryError(), None).startswith("out of memory")


def test_real_name_too_long_in_the_output(tmp_path, capsys):
    src = _keypoints(tmp_path / "dets.json")
    out = tmp_path / ("y" * 300) / "out"
    assert main(_infer_argv(src, out)) == 2
    line = _one_line(capsys)
    assert str(tmp_path / ("y" * 300)) in line and "name too long" in line.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dets.json"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # numpy's ZipFile, cut off by ENOSPC
def test_a_really_full_disk(tmp_path, capsys):
    """ENOSPC for real, on a 64 KiB tmpfs (where mounting is allowed)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        src = _keypoints(tmp_path / "dets.json", frames=200)
        assert main(_infer_argv(src, disk / "out")) == 2
        line = _one_line(capsys)
        assert "no space left" in line.lower() and str(disk) in line
        assert not [p for p in disk.rglob("*") if p.is_file()]  # nothing half-written left on the disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
        import gc

        gc.collect()  # the half-written archive's ZipFile goes here, not in a later test


# ----------------------------------------------------------------------------- files by content


def test_describe_knows_the_common_formats():
    assert describe(b"") == "an empty file"
    assert describe(b'[{"frame_id": 0}]') is None
    assert describe(b"\xef\xbb\xbf[1]") is None
    assert describe("[1]".encode("utf-16-le")) == "UTF-16 text"
    assert describe(b"\xff\xfe[\x00") == "UTF-16 text"
    assert describe(b"PK\x03\x04rest") == "a zip archive"
    assert describe(b"\x00\x00\x00\x1cftypheic") == "a HEIF / AVIF image"
    assert describe(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "a WebP image"
    header = b'{"__metadata__":{}}'
    assert describe(len(header).to_bytes(8, "little") + header) == "a safetensors file (model weights)"


def test_check_input_file_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dir").mkdir()
    (tmp_path / "big").write_bytes(b"x" * 2048)
    for name, words in (("pipe", "named pipe"), ("dir", "is a folder"), ("missing", "file not found")):
        with pytest.raises(PoseliftError, match=words) as e:
            check_input_file(tmp_path / name)
        assert e.value.path == str(tmp_path / name)
    with pytest.raises(PoseliftError, match="character device"):
        check_input_file("/dev/zero")
    with pytest.raises(PoseliftError, match=r"is 2.0 KiB, too large to read as a JSON file \(the limit is 1.0 KiB\)"):
        check_input_file(tmp_path / "big", "a JSON file", max_bytes=1024)
    assert check_input_file(tmp_path / "big").st_size == 2048


def test_load_json_bounds_the_size(tmp_path, monkeypatch):
    import poselift.data.formats as formats

    path = tmp_path / "big.json"
    path.write_text("[" + "1," * 1000 + "1]")
    monkeypatch.setattr(formats, "MAX_JSON_BYTES", 1000)
    with pytest.raises(PoseliftError, match="too large"):
        load_json(path)


@pytest.mark.parametrize("dtype", [np.float16, np.int8, np.uint8, np.bool_, np.complex64, "<U4", "S3"])
def test_plain_npz_of_any_dtype_is_not_called_pickled(tmp_path, dtype):
    path = tmp_path / "a.npz"
    np.savez(path, a=np.zeros((3, 2), dtype=dtype), b=np.arange(4, dtype=np.int8))
    assert load_npz(path)["a"].dtype == np.dtype(dtype)
    assert not any(dt.hasobject for dt in npz_dtypes(path).values())


def test_object_arrays_are_pickled_and_only_wanted_ones_count(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, plain=np.zeros(3, np.float16), objects=np.array([{"x": 1}], dtype=object))
    assert npz_dtypes(path)["objects"].hasobject
    with pytest.raises(PoseliftError, match="pickled"):
        load_npz(path)
    assert set(load_npz(path, select=lambda k: k == "plain")) == {"plain"}  # the pickled array is never read
