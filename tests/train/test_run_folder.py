import os

import pytest

from poselift.errors import PoseliftError
from poselift.train.run_folder import LAST, check_run_folder, remove_leftovers, run_folder
from poselift.transaction import LOCK_NAME, STAGE_PREFIX, holds_lock


def test_new_empty_and_run_folders_are_taken(tmp_path):
    check_run_folder(tmp_path / "new")  # not there yet: fine
    check_run_folder(tmp_path)  # empty
    (tmp_path / LAST).write_bytes(b"x")
    with pytest.raises(PoseliftError, match="--resume.*--overwrite") as e:
        check_run_folder(tmp_path)
    assert str(e.value.path) == str(tmp_path)
    check_run_folder(tmp_path, resume=True)
    check_run_folder(tmp_path, overwrite=True)


def test_a_folder_of_other_files_is_refused_even_with_overwrite(tmp_path):
    for name in ("model.safetensors", "config.json", "notes.txt", "a", "b"):
        (tmp_path / name).write_text("mine")
    for kw in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(PoseliftError, match=r"not a poselift training run \(a, b, config.json and 2 more\)"):
            check_run_folder(tmp_path, **kw)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(PoseliftError, match="is a file"):
        check_run_folder(f)


def test_only_poselift_leftovers_are_removed(tmp_path):
    ours = [".last.safetensors.1234.abcd1234.tmp", ".config.json.k9x2m1q0.tmp"]
    theirs = [".notes.txt.1234.abcd1234.tmp", "model.safetensors.tmp", ".last.safetensors.tmp"]
    for name in ours + theirs:
        (tmp_path / name).write_text("x")
    (tmp_path / f"{STAGE_PREFIX}99-ab").mkdir()
    check_run_folder(tmp_path / "empty")
    assert sorted(remove_leftovers(tmp_path)) == sorted(ours)
    assert sorted(os.listdir(tmp_path)) == sorted(theirs + [f"{STAGE_PREFIX}99-ab"])  # staging: the lock's job


def test_run_folder_locks_and_removes_a_folder_it_made_if_empty(tmp_path):
    folder = tmp_path / "runs" / "a"
    with run_folder(folder):
        assert folder.is_dir() and holds_lock(folder) and (folder / LOCK_NAME).exists()
    assert not (tmp_path / "runs").exists()  # nothing was written: the folders it made are gone
    with run_folder(folder):
        (folder / "model.safetensors").write_bytes(b"w")
    assert (folder / "model.safetensors").exists() and not (folder / LOCK_NAME).exists()
