"""Reading a motion-capture text file (ASF, AMC, BVH): a regular file of sane size, not binary."""

from __future__ import annotations

from pathlib import Path

from ..errors import PoseliftError
from .filetype import check_input_file


def read_text(path, what: str = "a text file") -> str:
    """The text of ``path`` (undecodable bytes replaced); a :class:`PoseliftError` naming it when
    it is missing, not a regular file, over 1 GiB, unreadable or binary (a NUL byte near the start).
    ``what`` says what was expected ("a BVH file")."""
    path = Path(path)
    check_input_file(path, what, max_bytes=1 << 30)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror})", path) from None
    if b"\0" in data[:4096]:
        raise PoseliftError("binary file, expected text", path)
    return data.decode("utf-8", errors="replace")
