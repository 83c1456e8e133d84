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


def load_npz(path, required: tuple[str, ...] = (), select=None) -> dict[str, np.ndarray]:
    """Read an ``.npz`` without unpickling; the arrays are loaded eagerly (only those whose
    name passes ``select(name)`` when given: the others are never read).

    Raises :class:`PoseliftError` naming the file for a missing, unreadable, pickled or
    incomplete file.
    """
    path = Path(path)
    if not path.exists():
        raise PoseliftError("file not found", path)
    if path.is_dir():
        raise PoseliftError("is a folder, expected an .npz file", path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror})", path) from None
    if magic[:1] == b"\x80":
        raise PoseliftError(
            "holds pickled Python objects, which are not loaded by default (legacy files need --allow-pickle)", path
        )
    if magic[:4] != b"PK\x03\x04" and magic != b"\x93NUMPY":
        raise PoseliftError("not an .npz file (no zip archive header)", path)
    try:
        f = np.load(path, allow_pickle=False)
        if isinstance(f, np.ndarray):
            raise PoseliftError("holds a single array (.npy), expected an .npz archive", path)
        with f:
            out = {k: f[k] for k in f.files if select is None or k in required or select(k)}
    except PoseliftError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise PoseliftError(
                "holds pickled Python objects, which are not loaded by default (legacy files need --allow-pickle)",
                path,
            ) from None
        raise PoseliftError(f"not a valid .npz file ({e})", path) from None
    except Exception as e:  # damaged files fail in many ways: BadZipFile, zlib.error, EOFError, TokenError, ...
        raise PoseliftError(f"not a valid .npz file ({e.__class__.__name__}: {e})", path) from None
    missing = [k for k in required if k not in out]
    if missing:
        raise PoseliftError(f"missing key(s) {', '.join(missing)} (has {', '.join(sorted(out)) or 'none'})", path)
    return out


PICKLE_REFUSED = ("holds pickled Python objects (a legacy VideoPose3D file), which can run code when loaded; "
                  "pass --allow-pickle only if you trust this file")


def load_pickled_npz(path, keys: tuple[str, ...], allow_pickle: bool = False) -> dict[str, object]:
    """The objects stored under ``keys`` in a legacy ``.npz`` of pickled Python objects.

    Refused with a :class:`PoseliftError` naming ``--allow-pickle`` unless ``allow_pickle``
    (unpickling can run arbitrary code); nothing is unpickled before that check. When
    allowed, a warning says pickled data was loaded. 0-d object arrays (pickled dicts) come
    back as the object itself.
    """
    path = Path(path)
    if not path.is_file():
        raise PoseliftError("file not found" if not path.exists() else "expected an .npz file", path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":
        raise PoseliftError("not an .npz file (no zip archive header)", path)
    try:
        with np.load(path, allow_pickle=False) as f:  # lists the members; unpickles nothing
            names = set(f.files)
    except Exception as e:  # damaged archives fail in many ways
        raise PoseliftError(f"not a valid .npz file ({e.__class__.__name__}: {e})", path) from None
    missing = [k for k in keys if k not in names]
    if missing:
        raise PoseliftError(f"missing key(s) {', '.join(missing)} (has {', '.join(sorted(names)) or 'none'})", path)
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


def load_json(path):
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PoseliftError("file not found", path) from None
    except IsADirectoryError:
        raise PoseliftError("is a folder, expected a JSON file", path) from None
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror or e})", path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PoseliftError(f"not valid JSON ({e})", path) from None
    except RecursionError:
        raise PoseliftError("not valid JSON (nested too deeply)", path) from None
