"""Stages that overlap: an iterator read ahead by a thread, a sink written behind by one.

The video pipeline's heavy steps release Python's GIL (FFmpeg's decoding, scaling and
encoding through PyAV, OpenCV, MediaPipe's graph, torch), so one thread per stage lets
them run on separate cores; queues are bounded, so memory stays flat however long the video.

* :func:`ahead` runs an iterator in a thread, ``depth`` items ahead of its consumer.
* :class:`Behind` hands items to a function in a thread, at most ``depth`` waiting.

Both keep the order of the items, so a pipelined run computes exactly what the same steps
run one after another compute. An error in the thread is raised again in the caller (at its
next item, or when the stage is closed); a caller that stops early, or fails, stops the
thread and waits for it: no thread outlives its stage.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

from .errors import PoseliftError

QUEUE_DEPTH = 4  # items in flight between two stages (frames: a few MB)
_END = object()


def queue_depth() -> int:
    """Items in flight between two stages: ``POSELIFT_QUEUE_DEPTH`` if set (0 runs every stage
    in its caller's thread, one after another: the sequential path), else :data:`QUEUE_DEPTH`."""
    value = os.environ.get("POSELIFT_QUEUE_DEPTH", "").strip()
    if not value:
        return QUEUE_DEPTH
    try:
        depth = int(value)
    except ValueError:
        raise PoseliftError(f"POSELIFT_QUEUE_DEPTH must be a whole number >= 0, got {value!r:.20}") from None
    if depth < 0:
        raise PoseliftError(f"POSELIFT_QUEUE_DEPTH must be a whole number >= 0, got {depth}")
    return depth


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; False when stopped."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def ahead(items: Iterable, depth: int | None = None, name: str = "read-ahead") -> Iterator:
    """The items of ``items``, produced by a thread up to ``depth`` ahead of the caller.

    ``depth`` (default :func:`queue_depth`) 0 iterates in the caller's thread (nothing
    overlaps: the sequential path).
    Closing the returned generator (or leaving a ``for`` loop over it early) stops the thread
    and closes ``items`` if it is a generator."""
    depth = queue_depth() if depth is None else int(depth)
    if depth <= 0:
        yield from items
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not _put(q, item, stop):
                    break
            else:
                _put(q, _END, stop)
        except BaseException as e:  # handed to the consumer
            _put(q, _Failed(e), stop)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=f"poselift-{name}", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class Behind:
    """``with Behind(fn, depth) as sink: sink.put(item)`` calls ``fn(item)`` for each item, in
    order, in a thread, with at most ``depth`` items waiting (``put`` blocks when the queue is
    full). Leaving the block waits for every item to be handled; an error in ``fn`` is raised
    at the next ``put`` or on leaving (later items are dropped). ``depth`` (default
    :func:`queue_depth`) 0 calls ``fn`` in the caller's thread."""

    def __init__(self, fn: Callable, depth: int | None = None, name: str = "write-behind"):
        self.fn, self.depth, self.name = fn, queue_depth() if depth is None else int(depth), name
        self._q: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()

    def __enter__(self) -> "Behind":
        if self.depth > 0:
            self._q = queue.Queue(maxsize=self.depth)
            self._thread = threading.Thread(target=self._run, name=f"poselift-{self.name}", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if self._error is None and not self._stop.is_set():
                try:
                    self.fn(item)
                except BaseException as e:
                    self._error = e

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item) -> None:
        if self._thread is None:
            self.fn(item)
            return
        self._raise()
        if not _put(self._q, item, self._stop):
            raise RuntimeError("Behind.put() after the stage stopped")

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._thread is not None:
            if exc_type is not None:
                self._stop.set()  # the caller failed: drop what is waiting
                while True:
                    try:
                        self._q.get_nowait()
                    except queue.Empty:
                        break
            self._q.put(_END)
            self._thread.join()
            self._thread = None
            if exc_type is None:
                self._raise()
        return False
