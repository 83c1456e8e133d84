"""Safe readers and atomic writers for the project's file formats (no pickle, ever)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import PoseliftError


PICKLED = "holds pickled Python objects, which are not loaded by default (legacy files need --allow-pickle)"


def _npy_header_dtype(fh) -> np.dtype | None:
    """The dtype in the header of the ``.npy`` data that ``fh`` is at (None if unreadable);
    the header is a Python literal, read without unpickling anything."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        return read(fh)[2]
    except Exception:  # not an .npy header, or a damaged one
        return None


def _npy_dtype_of(path) -> np.dtype | None:
    with open(path, "rb") as fh:
        return _npy_header_dtype(fh)


def npz_dtypes(path) -> dict[str, np.dtype | None]:
    """Array name -> dtype of each ``.npy`` member of the ``.npz`` ``path``, read from the
    arrays' headers only (None where a header cannot be read); {} if the archive cannot be
    listed. An object dtype means the array is pickled."""
    import zipfile

    out: dict[str, np.dtype | None] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                key = name[:-4] if name.endswith(".npy") else name
                try:
                    with zf.open(info) as fh:
                        out[key] = _npy_header_dtype(fh)
                except Exception:  # a damaged member: np.load will say so
                    out[key] = None
    except Exception:
        return {}
    return out


def _check_npz_archive(path: Path) -> None:
    """Refuse a zip archive that holds no NumPy arrays (a zip of other files), saying what it holds."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except Exception:  # damaged: np.load says how
        return
    if not any(n.endswith(".npy") for n in names):
        held = f"holds {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}" if names else "is empty"
        raise PoseliftError(f"is a zip archive that {held}, not an .npz of NumPy arrays", path)


def load_npz(path, required: tuple[str, ...] = (), select=None) -> dict[str, np.ndarray]:
    """Read an ``.npz`` without unpickling; the arrays are loaded eagerly (only those whose
    name passes ``select(name)`` when given: the others are never read).

    Raises :class:`PoseliftError` naming the file for a missing, unreadable, pickled or
    incomplete file.
    """
    from .filetype import check_input_file, describe, read_head, refuse_lfs_pointer

    path = Path(path)
    check_input_file(path, "an .npz file")
    magic = read_head(path, 512)
    refuse_lfs_pointer(magic, path)
    if magic[:6] == b"\x93NUMPY":
        if (_npy_dtype_of(path) or np.dtype(float)).hasobject:
            raise PoseliftError(PICKLED, path)
        raise PoseliftError("holds a single array (.npy), expected an .npz archive", path)
    if magic[:4] != b"PK\x03\x04":
        what = describe(magic)
        raise PoseliftError(f"not an .npz file (no zip archive header{f'; it is {what}' if what else ''})", path)
    _check_npz_archive(path)
    wanted = (lambda k: select is None or k in required or select(k))
    dtypes = npz_dtypes(path)  # from the arrays' headers: nothing is unpickled
    if any(dt is not None and dt.hasobject for k, dt in dtypes.items() if wanted(k)):
        raise PoseliftError(PICKLED, path)
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in f.files if wanted(k)}
    except ValueError as e:
        if "pickle" in str(e).lower() and any(dt is None or dt.hasobject for dt in dtypes.values()):
            raise PoseliftError(PICKLED, path) from None
        raise PoseliftError(f"not a valid .npz file ({e})", path) from None
    except MemoryError:
        raise PoseliftError("too large to read into memory", path) from None
    except Exception as e:  # damaged files fail in many ways: BadZipFile, zlib.error, EOFError, TokenError, ...
        raise PoseliftError(f"not a valid .npz file ({e.__class__.__name__}: {e})", path) from None
    missing = [k for k in required if k not in out]
    if missing:
        raise PoseliftError(f"missing key(s) {', '.join(missing)} (has {', '.join(sorted(out)) or 'none'})", path)
    return out


PICKLE_REFUSED = ("holds pickled Python objects (a legacy VideoPose3D file), which can run code when loaded; "
                  "pass --allow-pickle only if you trust this file")


def load_pickled_npz(path, keys: tuple[str, ...], allow_pickle: bool = False) -> dict[str, object]:
    """The objects stored under ``keys`` in a legacy ``.npz`` of pickled Python objects
    (plain arrays, as they are, when the file holds no object arrays under ``keys``).

    Refused with a :class:`PoseliftError` naming ``--allow-pickle`` unless ``allow_pickle``
    (unpickling can run arbitrary code); nothing is unpickled before that check. When
    allowed, a warning says pickled data was loaded. 0-d object arrays (pickled dicts) come
    back as the object itself.
    """
    from .filetype import check_input_file, describe, read_head, refuse_lfs_pointer

    path = Path(path)
    check_input_file(path, "an .npz file")
    magic = read_head(path, 512)
    refuse_lfs_pointer(magic, path)
    if magic[:4] != b"PK\x03\x04":
        what = describe(magic)
        raise PoseliftError(f"not an .npz file (no zip archive header{f'; it is {what}' if what else ''})", path)
    _check_npz_archive(path)
    try:
        with np.load(path, allow_pickle=False) as f:  # lists the members; unpickles nothing
            names = set(f.files)
    except Exception as e:  # damaged archives fail in many ways
        raise PoseliftError(f"not a valid .npz file ({e.__class__.__name__}: {e})", path) from None
    missing = [k for k in keys if k not in names]
    if missing:
        raise PoseliftError(f"missing key(s) {', '.join(missing)} (has {', '.join(sorted(names)) or 'none'})", path)
    dtypes = npz_dtypes(path)
    if all(dtypes.get(k) is not None and not dtypes[k].hasobject for k in keys):  # plain arrays: no pickles
        return load_npz(path, required=keys, select=lambda k: False)
    if not allow_pickle:
        raise PoseliftError(PICKLE_REFUSED, path)
    try:
        with np.load(path, allow_pickle=True) as f:
            out = {k: f[k] for k in keys}
    except Exception as e:  # whatever the pickles raise
        raise PoseliftError(f"cannot load the pickled data ({e.__class__.__name__}: {e})", path) from None
    warnings.warn(f"{path}: loaded pickled data (allowed by --allow-pickle); only do this with trusted files",
                  stacklevel=2)
    return {k: v.item() if v.dtype == object and v.ndim == 0 else v for k, v in out.items()}


def _temp_prefix(name: str) -> str:
    """The start of an atomic writer's temporary file names for ``name``: ``.<name>.``, the
    name cut short so that a name near the file system's limit still has a temporary file
    (then ``<pid>.<random>.tmp``)."""
    return f".{name[:48]}."


def _remove_stale_temps(parent: Path, prefix: str) -> None:
    """Remove temporary files of ``prefix`` left in ``parent`` by processes that are gone
    (killed while writing: SIGKILL runs no cleanup)."""
    from ..transaction import pid_alive

    pattern = re.compile(re.escape(prefix) + r"(\d+)\.[a-z0-9_]{8}\.tmp$")
    try:
        with os.scandir(parent) as entries:
            stale = [e.path for e in entries if e.name.startswith(prefix) and (m := pattern.match(e.name))
                     and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1)))]
    except OSError:
        return
    for p in stale:
        try:
            os.unlink(p)
        except OSError:
            pass


@contextmanager
def atomic_path(path, overwrite: bool = True):
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    With ``overwrite=False`` an existing ``path`` is refused before anything is written.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise PoseliftError("exists already (use --overwrite to replace it)", path)
    parent = path.parent
    prefix = _temp_prefix(path.name)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(parent, prefix)
        fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise PoseliftError(f"cannot write here ({e.strerror})", parent) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        # mkstemp makes 0600 (and some writers replace the file): give it the user's usual mode
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_npz(path, arrays: dict, overwrite: bool = True) -> None:
    """Write arrays to ``path`` atomically (compressed)."""
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def save_json(path, obj, overwrite: bool = True) -> None:
    with atomic_path(path, overwrite) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


#: JSON files larger than this are refused before reading (parsed JSON takes several times
#: its size in memory); the largest COCO keypoint file, person_keypoints_train2017, is 238 MB.
MAX_JSON_BYTES = 1 << 30


def load_json(path):
    """The parsed JSON of ``path`` (UTF-8, or UTF-16/32 as Python's ``json`` recognises them).

    Refused with a :class:`PoseliftError` naming the file, before reading, when it is not a
    regular file (folder, FIFO, device) or is larger than :data:`MAX_JSON_BYTES`; a file that
    is something else by its content (an image, a NumPy array, an archive...) is called so.
    """
    from .filetype import check_input_file, describe, refuse_lfs_pointer

    path = Path(path)
    check_input_file(path, "a JSON file", max_bytes=MAX_JSON_BYTES)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PoseliftError("file not found", path) from None
    except IsADirectoryError:
        raise PoseliftError("is a folder, expected a JSON file", path) from None
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror or e})", path) from None
    except MemoryError:
        raise PoseliftError("too large to read into memory", path) from None
    refuse_lfs_pointer(data[:4096], path)
    what = describe(data[:4096])
    if what is not None and what != "UTF-16 text":
        raise PoseliftError(f"is {what}, not a JSON file", path)
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PoseliftError(f"not valid JSON ({e})", path) from None
    except RecursionError:
        raise PoseliftError("not valid JSON (nested too deeply)", path) from None
    except MemoryError:
        raise PoseliftError("too large to read into memory", path) from None
