import json
import os

import numpy as np
import pytest

from poselift.data.formats import atomic_path, load_json, load_npz, save_json, save_npz
from poselift.errors import PoseliftError


def assert_names_file(excinfo, path):
    err = excinfo.value
    assert err.path == os.fspath(path)
    assert os.fspath(path) in str(err)


def leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ------------------------------------------------------------------------ load_npz


def test_save_load_npz_round_trip(tmp_path):
    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "names": np.array(["x", "yz"]), "n": np.int64(7)}
    path = tmp_path / "sub" / "data.npz"  # parent folder is created
    save_npz(path, arrays)
    out = load_npz(path, required=("a", "names"))
    assert set(out) == {"a", "names", "n"}
    np.testing.assert_array_equal(out["a"], arrays["a"])
    assert out["a"].dtype == np.float32
    assert list(out["names"]) == ["x", "yz"]
    assert int(out["n"]) == 7
    assert leftovers(path.parent, {"data.npz"}) == []


def test_load_npz_missing_file(tmp_path):
    path = tmp_path / "missing.npz"
    with pytest.raises(PoseliftError, match="not found") as ei:
        load_npz(path)
    assert_names_file(ei, path)


def test_load_npz_folder(tmp_path):
    path = tmp_path / "folder.npz"
    path.mkdir()
    with pytest.raises(PoseliftError, match="folder") as ei:
        load_npz(path)
    assert_names_file(ei, path)


@pytest.mark.parametrize("content", [os.urandom(256), b"", b"PK\x03\x04 not really a zip"], ids=["random", "empty", "zip-magic"])
def test_load_npz_garbage(tmp_path, content):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    with pytest.raises(PoseliftError) as ei:
        load_npz(path)
    assert_names_file(ei, path)


def test_load_npz_truncated(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, a=np.random.default_rng(0).normal(size=(200, 17, 3)))
    data = good.read_bytes()
    for n in (len(data) // 2, len(data) - 10, 30):
        path = tmp_path / f"truncated_{n}.npz"
        path.write_bytes(data[:n])
        with pytest.raises(PoseliftError) as ei:
            load_npz(path)
        assert_names_file(ei, path)


def test_load_npz_corrupted_compressed_data(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, a=np.random.default_rng(1).normal(size=(2000,)))
    data = bytearray(good.read_bytes())
    for i in range(200, 1000, 50):  # damage the deflate stream, keep the zip directory
        data[i] ^= 0xFF
    path = tmp_path / "corrupt.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(PoseliftError) as ei:
        load_npz(path)
    assert_names_file(ei, path)


def test_load_npz_damaged_files_only_raise_poselift_error(tmp_path):
    """Damage in any part of the archive (header, deflate stream, zip directory) is
    reported as a PoseliftError, never as a stray zlib/zipfile/tokenize exception."""
    good = tmp_path / "good.npz"
    np.savez_compressed(good, a=np.random.default_rng(2).normal(size=(100, 17, 3)), b=np.array(["x", "y"]))
    data = good.read_bytes()
    rng = np.random.default_rng(3)
    path = tmp_path / "damaged.npz"
    for i in range(80):
        b = bytearray(data)
        if i % 4 == 3:
            b = b[: int(rng.integers(0, len(b)))]  # truncated
        else:
            # invert every 40th byte of a stretch near the start (npy header, deflate stream)
            for j in range(60 + 3 * i, 460 + 3 * i, 40):
                b[j] ^= 0xFF
        path.write_bytes(bytes(b))
        try:
            load_npz(path)
        except PoseliftError as e:
            assert e.path == os.fspath(path)


def test_load_npz_pickled_object_npz(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, a=np.array([{"x": 1}, None], dtype=object), b=np.zeros(3))
    with pytest.raises(PoseliftError, match="pickle") as ei:
        load_npz(path)
    assert_names_file(ei, path)


def test_load_npz_pickled_object_npy(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"x": 1}, [2, 3]], dtype=object), allow_pickle=True)
    with pytest.raises(PoseliftError, match="pickle") as ei:
        load_npz(path)
    assert_names_file(ei, path)


def test_load_npz_plain_npy_is_refused(tmp_path):
    path = tmp_path / "plain.npy"
    np.save(path, np.arange(5))
    with pytest.raises(PoseliftError, match="npz") as ei:
        load_npz(path)
    assert_names_file(ei, path)


def test_load_npz_missing_required_keys(tmp_path):
    path = tmp_path / "partial.npz"
    save_npz(path, {"a": np.zeros(2), "b": np.ones(2)})
    with pytest.raises(PoseliftError) as ei:
        load_npz(path, required=("a", "positions", "offsets"))
    assert_names_file(ei, path)
    msg = str(ei.value)
    assert "positions" in msg and "offsets" in msg
    assert "missing" in msg
    # present keys are not reported missing
    assert "missing key(s) positions, offsets" in msg


# ------------------------------------------------------------------ atomic writes


def test_save_npz_overwrite_false_keeps_existing(tmp_path):
    path = tmp_path / "keep.npz"
    save_npz(path, {"a": np.arange(3)})
    before = path.read_bytes()
    with pytest.raises(PoseliftError, match="exists") as ei:
        save_npz(path, {"a": np.arange(99)}, overwrite=False)
    assert_names_file(ei, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"keep.npz"}) == []
    # overwrite=True (the default) replaces it
    save_npz(path, {"a": np.arange(4)})
    np.testing.assert_array_equal(load_npz(path)["a"], np.arange(4))
    assert leftovers(tmp_path, {"keep.npz"}) == []


def test_save_json_round_trip_and_overwrite_false(tmp_path):
    path = tmp_path / "meta.json"
    obj = {"epoch": 3, "loss": [0.5, 0.25], "name": "run"}
    save_json(path, obj)
    assert json.loads(path.read_text()) == obj
    assert load_json(path) == obj
    assert leftovers(tmp_path, {"meta.json"}) == []
    before = path.read_text()
    with pytest.raises(PoseliftError, match="exists") as ei:
        save_json(path, {"other": 1}, overwrite=False)
    assert_names_file(ei, path)
    assert path.read_text() == before
    save_json(path, {"other": 1})
    assert load_json(path) == {"other": 1}
    assert leftovers(tmp_path, {"meta.json"}) == []


def test_failed_write_leaves_no_temp_and_old_file(tmp_path):
    path = tmp_path / "meta.json"
    save_json(path, {"ok": True})
    before = path.read_text()
    with pytest.raises(TypeError):
        save_json(path, {"bad": object()})  # not JSON serialisable: fails mid-write
    assert path.read_text() == before
    assert leftovers(tmp_path, {"meta.json"}) == []


def test_atomic_path_writes_to_temp_then_renames(tmp_path):
    path = tmp_path / "out.bin"
    with atomic_path(path) as tmp:
        assert tmp != path and tmp.parent == path.parent
        tmp.write_bytes(b"hello")
        assert not path.exists()  # nothing visible until the block succeeds
    assert path.read_bytes() == b"hello"
    assert leftovers(tmp_path, {"out.bin"}) == []
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"hello"
    assert leftovers(tmp_path, {"out.bin"}) == []


def test_atomic_path_unwritable_parent(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PoseliftError):
        save_json(blocker / "sub" / "meta.json", {})


# ----------------------------------------------------------------------- load_json


def test_load_json_errors(tmp_path):
    with pytest.raises(PoseliftError, match="not found") as ei:
        load_json(tmp_path / "none.json")
    assert_names_file(ei, tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(PoseliftError, match="JSON") as ei:
        load_json(bad)
    assert_names_file(ei, bad)
