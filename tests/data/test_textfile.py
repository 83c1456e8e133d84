"""Reading motion-capture text files: text in, a clear error naming the file otherwise."""

from __future__ import annotations

import pytest

from poselift.data.textfile import read_text
from poselift.errors import PoseliftError


def test_reads_text_and_replaces_undecodable_bytes(tmp_path):
    path = tmp_path / "walk.bvh"
    path.write_bytes(b"HIERARCHY\nROOT Hips \xff\xfe\n")
    text = read_text(path, "a BVH file")
    assert text.startswith("HIERARCHY\nROOT Hips ") and "\ufffd" in text


@pytest.mark.parametrize("case", ["missing", "folder", "binary"])
def test_refuses_what_is_not_a_text_file(tmp_path, case):
    path = tmp_path / "walk.amc"
    if case == "folder":
        path.mkdir()
    elif case == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(100))
    with pytest.raises(PoseliftError) as e:
        read_text(path, "an AMC file")
    assert str(e.value.path) == str(path) and str(e.value).startswith(str(path))
    assert {"missing": "not found", "folder": "folder", "binary": "binary file, expected text"}[case] in str(e.value)
