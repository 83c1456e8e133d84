"""Outputs as a transaction: a run's files appear together, or not at all.

Every command that writes a set of files (``infer``, ``infer --people all``, ``infer --realtime``,
each checkpoint of ``train``) writes them through an :class:`OutputTransaction` on the
destination folder:

* **A lock per folder.** ``<folder>/.poselift.lock`` is taken with ``flock`` (non-blocking): a
  second run into the same folder fails at once, with one line naming the folder. The lock is
  re-entrant within a process (a command and the writers it calls share it) and the lock file
  is removed when the last holder releases it.
* **Checks before any work.** Each output name is checked when it is claimed (the commands claim
  theirs before the slow detection): an existing file is refused without ``--overwrite``;
  a name that is one of the run's inputs (or lies inside an input folder) is refused even with
  ``--overwrite``; so are names too long for the file system and names of folders.
* **A private staging folder.** Writers write plain files into
  ``<folder>/.poselift-tmp-<pid>-<random>/`` (same file system: the final move is a rename).
* **Commit.** When the whole run has succeeded, a manifest (``COMMIT.json``) is written into
  the staging folder and every file is renamed into place (``os.replace``), the run's own
  bookkeeping last (for checkpoints: ``last.safetensors``, which says how far a run got, is
  renamed after the model files); then the staging folder is removed.
* **Abort.** On any error or signal (SIGINT, SIGTERM and SIGHUP raise :class:`Signalled` in the
  main thread so that every ``with`` block unwinds; while files are being renamed or removed a
  signal waits until that is done) the staging folder is removed, progressive files
  (``.part``) too, and an output folder the run created is removed again if it is empty:
  nothing the run wrote remains, and nothing that was there before is touched. ``OSError``
  while writing (a full disk, a quota) becomes one :class:`~poselift.errors.PoseliftError`
  line naming the folder or file.
* **Recovery.** A run killed with SIGKILL cannot clean up; the next run that takes the folder's
  lock does: a staging folder of a dead run is removed (its ``.part`` files with it), or, if
  it holds a ``COMMIT.json`` (killed while renaming), its remaining files are renamed into
  place (roll forward: the set was complete), never over a file that appeared since unless
  that run had ``--overwrite``.

Live streams (``--jsonl FILE``): the JSON lines are the one file written progressively, into
``FILE.part`` (follow it with ``tail -f`` while the run goes on); it is renamed onto ``FILE``
in the commit, after the exports. An interrupted or failed run removes it like any other
output. For a live source (a camera, a stream URL) the first SIGINT/SIGTERM is the normal end
of the stream (:func:`until_stopped`): the frames so far are finished, exported and
committed; a second signal aborts.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import PoseliftError

LOCK_NAME = ".poselift.lock"
STAGE_PREFIX = ".poselift-tmp-"
COMMIT_NAME = "COMMIT.json"  # inside a staging folder: the set is complete, being renamed into place
PARTS_NAME = "PARTS.json"  # inside a staging folder: progressive files (.part) beside it
PART_SUFFIX = ".part"
_STAGE = re.compile(re.escape(STAGE_PREFIX) + r"(\d+)-[0-9a-f]+$")
_BOOKKEEPING = (COMMIT_NAME, PARTS_NAME, COMMIT_NAME + ".new")
# OSErrors of writing that a user can cause and fix (full disk, quota, read-only medium...)
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                 errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EMLINK, errno.ENOENT}


# ------------------------------------------------------------------------------- signals


class Signalled(KeyboardInterrupt):
    """Raised in the main thread by SIGINT, SIGTERM or SIGHUP while a transaction is open
    (a KeyboardInterrupt, so code that handles Ctrl-C handles these the same way)."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(signal.Signals(signum).name)


class StopRequest:
    """Set by the first signal while :func:`until_stopped` iterates (``requested``: its number)."""

    requested: int | None = None


class _SignalState:
    depth = 0
    saved: dict = {}
    critical = 0
    pending: int | None = None
    stops: list[StopRequest] = []


_sig = _SignalState()
_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _on_signal(signum, frame):  # noqa: ARG001 - the signal module's signature
    if _sig.stops and _sig.stops[-1].requested is None:
        _sig.stops[-1].requested = signum  # a live stream ends as if it had ended by itself
        return
    if _sig.critical:
        _sig.pending = _sig.pending or signum  # raised when the renames or removals are done
        return
    raise Signalled(signum)


@contextmanager
def unwinding_signals():
    """SIGINT, SIGTERM and SIGHUP raise :class:`Signalled` inside the block (main thread only;
    a signal the process ignores, or one with a handler of its own, is left alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _sig.depth == 0:
        _sig.saved = {}
        for s in _SIGNALS:
            prev = signal.getsignal(s)
            if prev is signal.SIG_DFL or prev is signal.default_int_handler:
                _sig.saved[s] = prev
                signal.signal(s, _on_signal)
    _sig.depth += 1
    try:
        yield
    finally:
        _sig.depth -= 1
        if _sig.depth == 0:
            for s, prev in _sig.saved.items():
                signal.signal(s, prev)
            _sig.saved = {}


@contextmanager
def critical():
    """A block that signals do not interrupt: one that arrives meanwhile is raised at its end
    (unless the block fails: its error goes on)."""
    _sig.critical += 1
    failed = True
    try:
        yield
        failed = False
    finally:
        _sig.critical -= 1
        if _sig.critical == 0 and _sig.pending is not None:
            signum, _sig.pending = _sig.pending, None
            if not failed:
                raise Signalled(signum)


def until_stopped(frames):
    """Iterate ``frames`` (a live source) until it ends or the first SIGINT/SIGTERM/SIGHUP
    arrives, which ends it as if the source had stopped (the frame being read is still
    delivered); a second signal raises :class:`Signalled` as usual. Closes ``frames``."""
    it = iter(frames)
    req = StopRequest()
    with unwinding_signals():
        _sig.stops.append(req)
        try:
            for item in it:
                yield item
                if req.requested is not None:
                    return
        finally:
            if req in _sig.stops:
                _sig.stops.remove(req)
            close = getattr(it, "close", None)
            if close is not None:
                close()


# ----------------------------------------------------------------------------------- lock

_locks: dict[str, list] = {}  # realpath -> [fd, holders, path, real]
_locks_guard = threading.Lock()

try:  # pragma: no cover - every POSIX system has it
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, recovery by process ids only
    fcntl = None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _lock_owner(path: Path) -> str:
    try:
        pid = path.read_text().split()[0]
        return f" (process {int(pid)})"
    except (OSError, IndexError, ValueError):
        return ""


def acquire_lock(folder) -> bool:
    """Take ``folder``'s lock (the folder must exist); True when this process did not hold it
    already (and stale files were recovered). PoseliftError when another process holds it."""
    folder = Path(folder)
    key = os.path.realpath(folder)
    with _locks_guard:
        if key in _locks:
            _locks[key][1] += 1
            return False
        path = folder / LOCK_NAME
        real = fcntl is not None
        for _ in range(20):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as e:
                raise PoseliftError(f"cannot write here ({e.strerror})", folder) from None
            if fcntl is None:
                break
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise PoseliftError(f"another poselift run is writing here{_lock_owner(path)}: wait for it to "
                                    "finish or choose another folder", folder) from None
            except OSError:  # a file system without locks: go on unlocked
                real = False
                break
            try:  # the holder before us may have removed the file after we opened it: lock the one that is there
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:  # pragma: no cover - twenty races in a row
            raise PoseliftError("another poselift run is writing here: wait for it to finish", folder)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        _locks[key] = [fd, 1, path, real]
    recover(folder, locked=real)
    return True


def release_lock(folder) -> None:
    key = os.path.realpath(folder)
    with _locks_guard:
        entry = _locks.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _locks[key]
        fd, _, path, _ = entry
        try:
            os.unlink(path)  # while still holding it (see acquire_lock)
        except OSError:
            pass
        os.close(fd)


def holds_lock(folder) -> bool:
    return os.path.realpath(folder) in _locks


@contextmanager
def folder_lock(folder):
    """The lock of an existing ``folder`` for the block (see :func:`acquire_lock`)."""
    acquire_lock(folder)
    try:
        yield
    finally:
        release_lock(folder)


# ------------------------------------------------------------------------------- recovery


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def recover(folder, locked: bool = True) -> list[str]:
    """Finish or remove what killed runs left in ``folder``: staging folders of other processes
    (all of them when ``locked``: this process holds the folder's lock; else those of dead
    processes). Returns what was done, for tests and logs."""
    folder = Path(folder)
    done = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return done
    for entry in entries:
        m = _STAGE.match(entry.name)
        if not m or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(m.group(1))
        stage = Path(entry.path)
        if pid == os.getpid():
            if any(tx.stage == stage for tx in list(_active.values())):
                continue  # this process's own, open
        elif not locked and pid_alive(pid):
            continue
        manifest = _read_json(stage / COMMIT_NAME)
        parts = _read_json(stage / PARTS_NAME) or []
        with critical():
            if isinstance(manifest, dict):  # killed while renaming a complete set: finish it
                overwrite = bool(manifest.get("overwrite"))
                for name in manifest.get("files", []):
                    src, dst = stage / name, folder / name
                    if src.is_file() and (overwrite or not dst.exists()):
                        os.replace(src, dst)
                for name in manifest.get("parts", []):
                    src, dst = folder / (name + PART_SUFFIX), folder / name
                    if src.is_file() and (overwrite or not dst.exists()):
                        os.replace(src, dst)
                done.append(f"finished {entry.name}")
            else:
                done.append(f"removed {entry.name}")
            for name in parts:  # the progressive files of a run that never finished
                if isinstance(name, str) and "/" not in name:
                    _unlink(folder / (name + PART_SUFFIX))
            shutil.rmtree(stage, ignore_errors=True)
    return done


# ---------------------------------------------------------------------------- transaction


def make_folders(folder) -> list[Path]:
    """Create ``folder`` and its missing parents; the folders created, outermost first (for
    :func:`remove_folders`). PoseliftError naming ``folder`` if it cannot be a folder."""
    folder = Path(folder)
    missing, created = [], []
    p = folder
    while not p.exists() and not p.is_symlink() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
    except OSError as e:
        remove_folders(created)
        raise PoseliftError(f"cannot write here ({e.strerror})", folder) from None
    if not folder.is_dir():
        raise PoseliftError("cannot write here (not a folder)", folder)
    return created


def remove_folders(created: list[Path]) -> None:
    """Remove the folders :func:`make_folders` created, innermost first, while they are empty."""
    for d in reversed(created):
        try:
            d.rmdir()
        except OSError:
            break

_active: dict[tuple[str, int], "OutputTransaction"] = {}


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


INPUT_REFUSED = "is an input of this run: an output may not replace it, even with --overwrite"


def refuse_input(path, inputs) -> None:
    """Refuse the output file ``path`` when it is one of the run's ``inputs`` (the same file by
    any path), with or without ``--overwrite`` (for commands that write one file)."""
    if path is None:
        return
    for inp in inputs:
        if inp is not None and str(inp) not in ("", "-", "default") and _same(Path(path), Path(inp)):
            raise PoseliftError(INPUT_REFUSED, path)


def _same(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


class OutputTransaction:
    """The outputs of one run into ``out_dir`` (module docs). Use :func:`transaction`, which
    joins the transaction already open on the folder in this thread, if any.

    ``names``: files claimed at once (checked before any work); ``inputs``: the run's input
    files and folders, which no output may replace; ``overwrite``: existing files may be
    replaced. Inside, :meth:`path` claims a name and gives the file to write it to,
    :meth:`part` a progressive file, :attr:`stage` the staging folder.
    """

    def __init__(self, out_dir, names=(), *, overwrite: bool = False, inputs=()):
        self.out_dir = Path(out_dir)
        self.overwrite = bool(overwrite)
        self.inputs: list[Path] = []
        self.add_inputs(inputs)
        self._initial = list(names)
        self.claimed: dict[str, bool] = {}  # name -> overwrite allowed
        self.parts: dict[str, bool] = {}
        self.stage: Path | None = None
        self._created: list[Path] = []
        self._locked = False
        self._committing = False
        self._signals = None
        self._key = None

    # ---------------------------------------------------------------- checks
    def add_inputs(self, inputs) -> None:
        for p in inputs or ():
            if p is not None and str(p) not in ("", "-"):
                self.inputs.append(Path(p))

    def _input_of(self, final: Path) -> Path | None:
        real = os.path.realpath(final)
        for inp in self.inputs:
            if _same(final, inp):
                return inp
            if inp.is_dir() and real.startswith(os.path.realpath(inp).rstrip(os.sep) + os.sep):
                return inp
        return None

    def _check(self, name: str, overwrite: bool) -> Path:
        if not name or "/" in name or os.sep in name or name in (".", ".."):
            raise ValueError(f"an output name is a plain file name, got {name!r}")
        final = self.out_dir / name
        limit = _name_max(self.out_dir if self.out_dir.exists() else self.out_dir.parent)
        size = len(os.fsencode(name))
        if size > limit:
            raise PoseliftError(f"file name too long ({size} bytes; this file system takes at most {limit}): "
                                "use a shorter input name or rename the input", final)
        if name == LOCK_NAME or name.startswith(STAGE_PREFIX):
            raise PoseliftError("is a name poselift keeps for itself", final)
        if self._input_of(final) is not None:
            raise PoseliftError(INPUT_REFUSED + " (write the outputs to another folder)", final)
        if final.is_dir():
            raise PoseliftError("is a folder; an output file cannot replace it", final)
        if (final.exists() or final.is_symlink()) and not overwrite:
            raise PoseliftError("exists already (use --overwrite to replace it)", final)
        return final

    def claim(self, *names: str, overwrite: bool | None = None) -> None:
        """Check ``names`` as outputs of this run (before any is written)."""
        ok = self.overwrite if overwrite is None else (self.overwrite and overwrite)
        for name in names:
            if name in self.parts:
                raise PoseliftError("is written twice by this run (as the stream and as an export)",
                                    self.out_dir / name)
            if name not in self.claimed:
                self._check(name, ok)
                self.claimed[name] = ok

    def path(self, name: str, overwrite: bool | None = None) -> Path:
        """Claim ``name``; the staging file to write it to."""
        self.claim(name, overwrite=overwrite)
        return self.stage / name

    def final(self, path) -> Path:
        """A staging file's final path (other paths unchanged)."""
        path = Path(path)
        if self.stage is not None and path.parent == self.stage:
            return self.out_dir / path.name
        return path

    def part(self, name: str, overwrite: bool | None = None) -> Path:
        """Claim ``name`` as a progressive file: written as ``<name>.part`` beside its final place
        (others may read it as it grows), renamed onto ``name`` in the commit."""
        ok = self.overwrite if overwrite is None else (self.overwrite and overwrite)
        if name in self.claimed:
            raise PoseliftError("is written twice by this run (as the stream and as an export)", self.out_dir / name)
        self._check(name, ok)
        part = self._check(name + PART_SUFFIX, ok)
        self.parts[name] = ok
        tmp = self.stage / (PARTS_NAME + ".new")
        tmp.write_text(json.dumps(sorted(self.parts)), encoding="utf-8")
        os.replace(tmp, self.stage / PARTS_NAME)  # recorded before the file exists: recovery removes it
        return part

    # ------------------------------------------------------------- lifecycle
    def _make_out_dir(self) -> None:
        self._created = make_folders(self.out_dir)

    def __enter__(self) -> "OutputTransaction":
        self._signals = unwinding_signals()
        self._signals.__enter__()
        try:
            with critical():
                self._make_out_dir()
                acquire_lock(self.out_dir)
                self._locked = True
                self.claim(*self._initial)
                stage = self.out_dir / f"{STAGE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
                try:
                    stage.mkdir()
                except OSError as e:
                    raise PoseliftError(f"cannot write here ({e.strerror})", self.out_dir) from None
                self.stage = stage
                self._key = (os.path.realpath(self.out_dir), threading.get_ident())
                _active[self._key] = self
        except BaseException:
            self._abort()
            self._close_signals()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                try:
                    self.commit()
                except BaseException as e:
                    self._abort()
                    public = self._public(e)
                    if public is e:
                        raise
                    raise public from None
            else:
                self._abort()
                public = self._public(exc)
                if public is not exc:
                    raise public from None
        finally:
            self._close_signals()
        return False

    def _close_signals(self) -> None:
        if self._signals is not None:
            s, self._signals = self._signals, None
            s.__exit__(None, None, None)

    def _public(self, e: BaseException) -> BaseException:
        """An error as the user should read it: paths in the staging folder named by their final
        place; OSError of writing as a PoseliftError."""
        if isinstance(e, PoseliftError) and e.path:
            where = self._public_path(Path(e.path))
            return e if where is None else PoseliftError(e.message, where)
        if isinstance(e, OSError) and not isinstance(e, (BlockingIOError, InterruptedError)):
            name = e.filename if isinstance(e.filename, (str, bytes, os.PathLike)) else None
            where = self.out_dir
            if name is not None:
                p = Path(os.fsdecode(name))
                where = self._public_path(p)
                if where is None:
                    if p != self.out_dir and self.out_dir not in p.parents:
                        return e  # not about the outputs
                    where = p
            elif e.errno not in _WRITE_ERRORS:
                return e
            return PoseliftError(f"cannot write the outputs ({e.strerror or e}); nothing was written", where)
        return e

    def _public_path(self, p: Path) -> Path | None:
        """Where a path in the staging folder will be (the folder itself for the staging
        folder and temporary files); None for other paths."""
        if self.stage is None or (p != self.stage and self.stage not in p.parents):
            return None
        if p == self.stage:
            return self.out_dir
        name = p.relative_to(self.stage).parts[0]
        return self.out_dir if name.startswith(".") or name in _BOOKKEEPING else self.out_dir / name

    def commit(self) -> None:
        """Rename every staged file (and progressive file) into place (module docs)."""
        with critical():
            staged = {p.name for p in self.stage.iterdir() if p.is_file() and p.name not in _BOOKKEEPING}
            for name in sorted(staged - set(self.claimed)):  # written without being claimed: check them now
                self.claim(name)
            order = [n for n in self.claimed if n in staged]
            for name in order + list(self.parts):
                final = self.out_dir / name
                ok = self.claimed.get(name, self.parts.get(name))
                if (final.exists() or final.is_symlink()) and not ok:  # appeared while the run went on
                    raise PoseliftError("exists already (use --overwrite to replace it)", final)
            manifest = {"files": order, "parts": list(self.parts), "overwrite": self.overwrite,
                        "pid": os.getpid()}
            tmp = self.stage / (COMMIT_NAME + ".new")
            tmp.write_text(json.dumps(manifest), encoding="utf-8")
            os.replace(tmp, self.stage / COMMIT_NAME)
            self._committing = True  # from here on a failure is finished by recovery, not undone
            for name in order:
                os.replace(self.stage / name, self.out_dir / name)
            for name in self.parts:
                os.replace(self.out_dir / (name + PART_SUFFIX), self.out_dir / name)
            self.parts = {}
            shutil.rmtree(self.stage, ignore_errors=True)
            self._finish()

    def _finish(self) -> None:
        _active.pop(self._key, None)
        if self._locked:
            self._locked = False
            release_lock(self.out_dir)

    def _abort(self) -> None:
        with critical():
            _active.pop(self._key, None)
            if self._committing:  # renames failed half-way: the next run into the folder finishes them
                self._committing = False
                if self._locked:
                    self._locked = False
                    release_lock(self.out_dir)
                return
            if self.stage is not None:
                shutil.rmtree(self.stage, ignore_errors=True)
            for name in self.parts:
                _unlink(self.out_dir / (name + PART_SUFFIX))
            self.parts = {}
            if self._locked:
                self._locked = False
                release_lock(self.out_dir)
            remove_folders(self._created)  # folders this run made, if nothing else is in them
            self._created = []


def active(out_dir) -> OutputTransaction | None:
    """The transaction open on ``out_dir`` in this thread, if any."""
    return _active.get((os.path.realpath(out_dir), threading.get_ident()))


@contextmanager
def transaction(out_dir, names=(), *, overwrite: bool = False, inputs=()):
    """An :class:`OutputTransaction` on ``out_dir``: the one already open there in this thread
    (``names`` claimed in it, ``overwrite`` only narrowing it), else a new one."""
    tx = active(out_dir)
    if tx is not None:
        tx.add_inputs(inputs)
        tx.claim(*names, overwrite=overwrite)
        yield tx
        return
    with OutputTransaction(out_dir, names, overwrite=overwrite, inputs=inputs) as tx:
        yield tx
