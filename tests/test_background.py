import importlib.util
import re
import threading
import time

import numpy as np
import pytest

from poselift.background import Behind, ahead, queue_depth
from poselift.errors import PoseliftError


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("poselift-")}


def test_ahead_keeps_order_and_runs_in_a_thread():
    seen = []

    def items():
        for k in range(50):
            seen.append(threading.current_thread().name)
            yield k

    assert list(ahead(items(), depth=3, name="t")) == list(range(50))
    assert set(seen) == {"poselift-t"}
    assert list(ahead(items(), depth=0)) == list(range(50))  # depth 0: in the caller's thread
    assert seen[-1] == threading.current_thread().name


def test_ahead_stays_at_most_depth_ahead():
    made = []

    def items():
        for k in range(100):
            made.append(k)
            yield k

    it = ahead(items(), depth=2)
    assert next(it) == 0
    time.sleep(0.2)
    assert len(made) <= 1 + 2 + 1  # the one taken, two queued, one waiting to be put
    it.close()


def test_an_error_in_the_thread_reaches_the_caller_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise PoseliftError("cannot decode frame 2", "clip.mp4")

    got = []
    with pytest.raises(PoseliftError, match="cannot decode frame 2"):
        for k in ahead(items(), depth=4):
            got.append(k)
    assert got == [1, 2]
    assert not _threads()


def test_stopping_early_stops_the_thread_and_closes_the_source():
    closed = threading.Event()

    def items():
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            closed.set()

    for k in ahead(items(), depth=2, name="early"):
        if k == 5:
            break
    assert closed.wait(2) and "poselift-early" not in _threads()


def test_behind_calls_in_order_in_a_thread_and_raises_errors():
    got, where = [], set()

    def fn(k):
        got.append(k)
        where.add(threading.current_thread().name)

    with Behind(fn, depth=2, name="w") as sink:
        for k in range(30):
            sink.put(k)
    assert got == list(range(30)) and where == {"poselift-w"}

    def bad(k):
        if k == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with Behind(bad, depth=2) as sink:
            for k in range(10):
                sink.put(k)
                time.sleep(0.01)
    assert not _threads()


def test_behind_drops_what_waits_when_the_caller_fails():
    got = []
    with pytest.raises(ValueError):
        with Behind(lambda k: (time.sleep(0.02), got.append(k)), depth=8) as sink:
            for k in range(8):
                sink.put(k)
            raise ValueError("the drawing failed")
    assert len(got) < 8 and not _threads()


def test_queue_depth_from_the_environment(monkeypatch):
    monkeypatch.delenv("POSELIFT_QUEUE_DEPTH", raising=False)
    assert queue_depth() == 4
    monkeypatch.setenv("POSELIFT_QUEUE_DEPTH", "0")
    assert queue_depth() == 0
    for bad in ("-1", "many"):
        monkeypatch.setenv("POSELIFT_QUEUE_DEPTH", bad)
        with pytest.raises(PoseliftError, match="POSELIFT_QUEUE_DEPTH"):
            queue_depth()


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("av", "mediapipe", "cv2")),
                    reason="video extra not installed")
def test_the_pipelined_video_path_writes_what_the_sequential_one_writes(tmp_path, monkeypatch):
    """`poselift infer` on the demo clip with its stages overlapping (decoding beside the
    detector, the render's decoding and encoding beside its drawing) and with every stage one
    after another (POSELIFT_QUEUE_DEPTH=0): the same files, byte for byte (the npz's arrays value for value: a zip records when it was written; the
    page's plot element has a random id)."""
    from poselift.demo import demo_clip_path
    from poselift.infer import infer

    runs = {}
    for name, depth in (("sequential", "0"), ("pipelined", "4")):
        monkeypatch.setenv("POSELIFT_QUEUE_DEPTH", depth)
        runs[name] = tmp_path / name
        infer(demo_clip_path(), runs[name], progress=False)
    files = sorted(p.name for p in runs["sequential"].iterdir())
    assert files == sorted(p.name for p in runs["pipelined"].iterdir())
    assert {"demo_clip.npz", "demo_clip_3d.mp4", "demo_clip.html", "demo_clip.bvh"} <= set(files)
    for name in files:
        a, b = (runs[k] / name for k in ("sequential", "pipelined"))
        if name.endswith(".npz"):
            x, y = np.load(a, allow_pickle=False), np.load(b, allow_pickle=False)
            assert sorted(x.files) == sorted(y.files)
            for key in x.files:
                assert x[key].dtype == y[key].dtype
                assert np.array_equal(x[key], y[key], equal_nan=x[key].dtype.kind == "f"), key
        elif name.endswith(".html"):
            ids = [re.search(r'<div id="([0-9a-f-]+)"', p.read_text()).group(1) for p in (a, b)]
            assert a.read_text().replace(ids[0], "ID") == b.read_text().replace(ids[1], "ID")
        else:
            assert a.read_bytes() == b.read_bytes(), name
