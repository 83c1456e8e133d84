"""The folder of a training run (``poselift train -c DIR``): what it may hold, its lock, its leftovers.

A run writes only into a folder that is new, empty, or holds a poselift run
(``last.safetensors``): to go on with it (``--resume``) or to restart it (``--overwrite``). A
folder with other files in it (a user's ``model.safetensors`` and ``config.json``, say) is
refused, with or without ``--overwrite``: nothing in it is touched.

While the run goes on, its main process holds the folder's lock
(:mod:`poselift.transaction`): a second run into the same folder fails with one line. Each
checkpoint is a transaction of its own (:meth:`~poselift.train.supervised.Trainer.save`): the
files of a checkpoint are written into a private staging folder and renamed into place
together, so a kill at any moment leaves the previous checkpoint whole. What a killed run
left (a staging folder, temporary files of the checkpoint writer) is removed when the next
run takes the lock, before it resumes. A run that fails or is interrupted before its first
checkpoint leaves nothing; a folder it created is removed again.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from ..errors import PoseliftError

LAST = "last.safetensors"
#: every file a run writes (supervised, semi-supervised and multi-view runs)
RUN_FILES = ("last.safetensors", "last.json", "model.safetensors", "model.json", "trajectory.safetensors",
             "trajectory.json", "config.json")
# an atomic writer's temporary file (data.formats.atomic_path), with or without the writer's process id
_TEMP = re.compile(r"^\.(?P<name>.+?)\.(?:\d+\.)?[a-z0-9_]{8}\.tmp$")


def _leftover(name: str) -> bool:
    """A file poselift itself leaves in a run folder (its lock, a staging folder, a
    temporary file of a run file), never a user's."""
    from ..transaction import LOCK_NAME, STAGE_PREFIX

    if name == LOCK_NAME or name.startswith(STAGE_PREFIX):
        return True
    m = _TEMP.match(name)
    return bool(m) and m.group("name") in RUN_FILES


def check_run_folder(folder, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse a folder a run may not write into (module docs)."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise PoseliftError("is a file, not a folder for the run's checkpoints (-c/--checkpoint-dir)", folder)
    if (folder / LAST).exists():
        if not resume and not overwrite:
            raise PoseliftError("holds a training run already (use --resume to continue it or --overwrite to "
                                "restart)", folder)
        return
    try:
        others = sorted(n for n in os.listdir(folder) if not _leftover(n))
    except OSError as e:
        raise PoseliftError(f"cannot read the folder ({e.strerror})", folder) from None
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise PoseliftError(f"holds files that are not a poselift training run ({shown}): give an empty or new "
                            "folder with -c (--overwrite restarts a run, it never replaces other files)", folder)


def remove_leftovers(folder) -> list[str]:
    """Remove the temporary files of run files in ``folder`` (call with its lock held: no other
    run writes there then). Staging folders are recovered by the lock itself."""
    from ..transaction import STAGE_PREFIX, LOCK_NAME

    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if _leftover(name) and name != LOCK_NAME and not name.startswith(STAGE_PREFIX):
            try:
                os.unlink(Path(folder) / name)
                removed.append(name)
            except OSError:
                pass
    return removed


@contextmanager
def run_folder(folder, *, resume: bool = False, overwrite: bool = False, lock: bool = True):
    """The block runs with ``folder`` checked (:func:`check_run_folder`) and, with ``lock``
    (the main process of a run), created, locked and cleared of a killed run's leftovers;
    signals unwind the block (:func:`~poselift.transaction.unwinding_signals`). A folder the
    run created is removed if it is empty when the block ends."""
    from ..transaction import acquire_lock, make_folders, release_lock, remove_folders, unwinding_signals

    folder = Path(folder)
    if not lock:
        check_run_folder(folder, resume, overwrite)
        yield
        return
    with unwinding_signals():
        check_run_folder(folder, resume, overwrite)  # before anything is created
        created = make_folders(folder)
        try:
            acquire_lock(folder)  # recovers the staging folders of killed runs
            try:
                remove_leftovers(folder)
                check_run_folder(folder, resume, overwrite)  # again: another run may have written meanwhile
                yield
            finally:
                release_lock(folder)
        finally:
            remove_folders(created)
