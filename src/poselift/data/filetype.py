"""What a file is, from its type on disk and its first bytes, before anything reads it.

:func:`check_input_file` refuses what is not a regular file (a folder, a named pipe, which
would block a reader forever, a character device such as ``/dev/zero``, which never ends, a
socket) and files too large to read, with a :class:`PoseliftError` naming the file.
:func:`describe` names well-known formats by their magic bytes, so that a PNG given as
keypoints is called a PNG image rather than "not valid JSON".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import PoseliftError

#: Bytes :func:`read_head` reads by default: enough for every signature below, a whole Git
#: LFS pointer, and to tell text from binary data.
HEAD_BYTES = 4096


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


#: Wording of the operating system's errors (errno name -> what to say).
ERRNO_WORDS = {
    "ENOSPC": "no space left on the device (free some space, or write elsewhere)",
    "EDQUOT": "disk quota exceeded (free some space, or write elsewhere)",
    "EFBIG": "file too large for this file system",
    "ENAMETOOLONG": "file name too long (at most 255 bytes per folder or file name)",
    "EACCES": "permission denied",
    "EPERM": "operation not permitted",
    "EROFS": "read-only file system",
    "ENOENT": "not found",
    "ENOTDIR": "a part of the path is a file, not a folder",
    "EISDIR": "is a folder",
    "ELOOP": "too many levels of symbolic links",
    "EMFILE": "too many open files",
    "ENFILE": "too many open files in the system",
    "EIO": "input/output error (a failing disk or a lost network drive?)",
    "ENXIO": "no such device",
    "ENODEV": "no such device",
    "EBUSY": "device or resource busy",
    "ETXTBSY": "text file busy",
    "EXDEV": "cannot move across file systems",
    "ESTALE": "stale network file handle",
}


def errno_name(e: OSError) -> str:
    import errno

    return errno.errorcode.get(e.errno, "") if isinstance(e.errno, int) else ""


def os_error_text(e: OSError) -> str:
    """What an OSError means, in the words of :data:`ERRNO_WORDS` (else the system's)."""
    return ERRNO_WORDS.get(errno_name(e)) or (e.strerror or str(e) or type(e).__name__).strip()


def check_exists(path, missing: str = "file not found") -> os.stat_result:
    """``os.stat`` of ``path``; a :class:`PoseliftError` naming it when it is missing (or a
    broken symbolic link) or cannot be looked at (a name too long, a loop of links...)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise PoseliftError(f"is a broken symbolic link (to {os.readlink(path)})", path) from None
        raise PoseliftError(missing, path) from None
    except NotADirectoryError:
        raise PoseliftError(f"{missing} (a part of the path is a file, not a folder)", path) from None
    except OSError as e:
        raise PoseliftError(os_error_text(e), path) from None
    except ValueError as e:  # a NUL byte in the name
        raise PoseliftError(f"not a usable file name ({e})", path) from None


def check_input_file(path, what: str = "a file", max_bytes: int | None = None,
                     missing: str = "file not found") -> os.stat_result:
    """``os.stat`` of ``path`` once it is known to be a regular file that may be read.

    Raises :class:`PoseliftError` naming ``path`` when it does not exist (``missing``), is a
    folder, a named pipe (FIFO), a device, a socket, larger than ``max_bytes`` or cannot be
    looked at (no permission on a folder above it, a name too long, ...). ``what`` says what
    was expected ("a JSON file"). Nothing is opened, so a FIFO or a device cannot block.
    """
    path = Path(path)
    st = check_exists(path, missing)
    mode = st.st_mode
    if stat.S_ISREG(mode):
        if max_bytes is not None and st.st_size > max_bytes:
            raise PoseliftError(f"is {_size(st.st_size)}, too large to read as {what} "
                                f"(the limit is {_size(max_bytes)})", path)
        return st
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO), which poselift does not read from (it would wait for a writer)"
    elif stat.S_ISCHR(mode):
        kind = "a character device (like /dev/zero or a terminal), not a file"
    elif stat.S_ISBLK(mode):
        kind = "a block device (a disk), not a file"
    elif stat.S_ISSOCK(mode):
        kind = "a socket, not a file"
    else:
        kind = "not a regular file"
    raise PoseliftError(f"is {kind}; expected {what}", path)


def read_head(path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (a regular file: check it first)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except FileNotFoundError:
        raise PoseliftError("file not found", path) from None
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror or e})", path) from None


# (prefix, offset, description); checked in order, the first match wins
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"\x93NUMPY", 0, "a NumPy .npy file (one array, not an .npz archive)"),
    (b"PK\x03\x04", 0, "a zip archive"),
    (b"PK\x05\x06", 0, "an empty zip archive"),
    (b"\x1f\x8b", 0, "a gzip-compressed file (decompress it first)"),
    (b"BZh", 0, "a bzip2-compressed file (decompress it first)"),
    (b"\xfd7zXZ\x00", 0, "an xz-compressed file (decompress it first)"),
    (b"(\xb5/\xfd", 0, "a zstd-compressed file (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"),
    (b"Rar!\x1a\x07", 0, "a RAR archive"),
    (b"%PDF", 0, "a PDF document"),
    (b"\x89HDF\r\n\x1a\n", 0, "an HDF5 file (.h5, or a MATLAB v7.3 .mat)"),
    (b"MATLAB 5.0 MAT-file", 0, "a MATLAB .mat file"),
    (b"\x1a\x45\xdf\xa3", 0, "a Matroska / WebM video"),
    (b"OggS", 0, "an Ogg media file"),
    (b"fLaC", 0, "a FLAC audio file"),
    (b"ID3", 0, "an MP3 audio file"),
    (b"\x7fELF", 0, "a program (ELF executable)"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"SQLite format 3\x00", 0, "an SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "a Microsoft Office (OLE) document"),
)

#: The first line of a Git LFS pointer: a small text file standing in for the real one in a
#: clone made without ``git lfs`` (or a download of the pointer from a web page).
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


def lfs_pointer_size(head: bytes) -> int | None:
    """The size in bytes of the real file when ``head`` is a Git LFS pointer (-1 when the
    pointer states none), else None."""
    if not head.startswith(LFS_POINTER):
        return None
    import re

    m = re.search(rb"^size (\d+)\s*$", head, re.MULTILINE)
    return int(m.group(1)) if m else -1


def lfs_pointer_message(head: bytes) -> str | None:
    """The one-line message for a Git LFS pointer given where a real file is expected, or
    None when ``head`` is not one."""
    size = lfs_pointer_size(head)
    if size is None:
        return None
    real = f"the real file ({size:,} bytes)" if size >= 0 else "the real file"
    return f"is a Git LFS pointer: {real} is not here; fetch it with 'git lfs pull' or download the file itself"


def refuse_lfs_pointer(head: bytes, path) -> None:
    """Raise :class:`PoseliftError` naming ``path`` when ``head`` is a Git LFS pointer."""
    message = lfs_pointer_message(head)
    if message:
        raise PoseliftError(message, path)


_RIFF = {b"AVI ": "an AVI video", b"WAVE": "a WAV audio file", b"WEBP": "a WebP image"}
_FTYP_IMAGES = {b"heic", b"heix", b"mif1", b"msf1", b"avif"}


def describe(head: bytes) -> str | None:
    """What the file starting with ``head`` is, in words ("a PNG image", "an empty file",
    "UTF-16 text", "binary data", ...), or None for text that may be what was asked for."""
    if not head:
        return "an empty file"
    if head.startswith(LFS_POINTER):
        return "a Git LFS pointer, not the file itself (fetch it with 'git lfs pull')"
    for magic, offset, text in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return text
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "a HEIF / AVIF image" if brand in _FTYP_IMAGES else "an MP4 / QuickTime video"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle"
    if len(head) >= 10 and head[8:10] == b'{"' and int.from_bytes(head[:8], "little") < 100 << 20:
        return "a safetensors file (model weights)"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16 text"
    if b"\x00" in head:
        # JSON in UTF-16 / UTF-32 without a byte-order mark: NUL bytes next to ASCII ones
        if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
            return "UTF-16 text"
        if len(head) >= 4 and not head[0] and head[1] and not head[2] and head[3]:
            return "UTF-16 text"
        return "binary data"
    return None


#: File name suffixes read as videos (whatever their content).
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


def is_video(path) -> bool:
    """The input kind: a video by its suffix (:data:`VIDEO_SUFFIXES`), or by its content (an
    MP4, Matroska / WebM or AVI file with another suffix); never opens what is not a regular
    file. Anything else is read as keypoints."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(64)
    except (OSError, ValueError):
        return False
    return "video" in (describe(head) or "")
