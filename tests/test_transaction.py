"""Outputs as a transaction (poselift.transaction): all files or none, a lock per folder, user files
never touched, leftovers of killed runs recovered. The kill tests and the concurrent-runs test run
the command line in subprocesses: tests/test_transaction_kill.py."""

import errno
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from poselift import transaction as T
from poselift.cli import main
from poselift.errors import PoseliftError

from helpers import random_motion, write_cmu_train


def coco_file(path, frames=40, seed=0):
    """An MMPose-style JSON of one person's COCO-17 pixels in a 1000x800 image."""
    from poselift.camera import look_at_camera
    from poselift.skeleton import coco17_from_h36m17

    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    kp = cam.project(coco17_from_h36m17(cam.world_to_camera(random_motion(frames, seed).astype(np.float64))),
                     distortion=False)
    doc = [{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(), "keypoint_scores": [1.0] * 17}]}
           for i in range(frames)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def infer_args(src, out, *extra):
    return ["infer", str(src), "--out", str(out), "--width", "1000", "--height", "800", "--no-video", "-q", *extra]


def everything(folder):
    """Every path under ``folder`` (hidden ones too) -> its bytes (None for folders)."""
    return {p: (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def assert_refused(argv, root, capsys, expect: str, names=None):
    """Exit 2, one line naming ``names``, no traceback, every file as it was, nothing new under ``root``."""
    before = everything(root)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("poselift: error: ") and "Traceback" not in err, err
    assert expect in lines[0], lines[0]
    if names is not None:
        assert f"{names}: " in lines[0], lines[0]
    assert everything(root) == before  # nothing changed, nothing removed, nothing new (hidden files too)
    return lines[0]


# ----------------------------------------------------------------------------- the module


def test_files_appear_together_at_the_end(tmp_path):
    out = tmp_path / "a" / "b"
    with T.transaction(out, ["x.txt"]) as tx:
        tx.path("x.txt").write_text("x")
        tx.path("y.txt").write_text("y")
        (tx.stage / "z.txt").write_text("z")  # written without a claim: checked at the commit
        assert not out.joinpath("x.txt").exists()
        assert (out / T.LOCK_NAME).exists() and T.active(out) is tx
    assert sorted(p.name for p in out.iterdir()) == ["x.txt", "y.txt", "z.txt"]  # no lock, no staging folder
    assert T.active(out) is None


def test_failure_leaves_nothing_and_touches_nothing(tmp_path):
    (tmp_path / "mine.txt").write_text("mine")
    before = everything(tmp_path)
    with pytest.raises(RuntimeError):
        with T.transaction(tmp_path / "new" / "out", ["r.txt"]) as tx:
            tx.path("r.txt").write_text("half")
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        with T.transaction(tmp_path, ["mine.txt"], overwrite=True) as tx:
            tx.path("mine.txt").write_text("replaced")
            raise RuntimeError("boom")
    assert everything(tmp_path) == before  # the folders the run made are gone too


def test_existing_files_need_overwrite_and_inputs_never_replaced(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "clip.npz").write_text("user's")
    with pytest.raises(PoseliftError, match="exists already") as e:
        with T.transaction(tmp_path / "out", ["clip.npz"]):
            pass
    assert e.value.path == str(tmp_path / "out" / "clip.npz")
    src = tmp_path / "out" / "clip.json"
    src.write_text("[]")
    for name in ("clip.json",):
        with pytest.raises(PoseliftError, match="input of this run") as e:
            with T.transaction(tmp_path / "out", [name], overwrite=True, inputs=[src]):
                pass
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "out")
    with pytest.raises(PoseliftError, match="input of this run"):  # the same file by another path
        with T.transaction(link, ["clip.json"], overwrite=True, inputs=[src]):
            pass
    folder_input = tmp_path / "openpose"
    folder_input.mkdir()
    with pytest.raises(PoseliftError, match="input of this run"):  # into an input folder
        with T.transaction(folder_input, ["clip.npz"], overwrite=True, inputs=[folder_input]):
            pass
    (tmp_path / "out" / "clip.csv").mkdir()
    with pytest.raises(PoseliftError, match="is a folder"):
        with T.transaction(tmp_path / "out", ["clip.csv"], overwrite=True):
            pass
    with pytest.raises(PoseliftError, match="file name too long") as e:
        with T.transaction(tmp_path / "out", ["n" * 300 + ".npz"]):
            pass
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.csv", "clip.json", "clip.npz"]
    with T.transaction(tmp_path / "out", ["clip.npz"], overwrite=True) as tx:
        tx.path("clip.npz").write_text("new")
    assert (tmp_path / "out" / "clip.npz").read_text() == "new"


def test_a_file_that_appears_meanwhile_is_not_replaced(tmp_path):
    with pytest.raises(PoseliftError, match="exists already"):
        with T.transaction(tmp_path, ["r.txt"]) as tx:
            tx.path("r.txt").write_text("mine")
            (tmp_path / "r.txt").write_text("the user's, written while the run went on")
    assert (tmp_path / "r.txt").read_text().startswith("the user's")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]


def test_a_second_run_into_a_locked_folder_fails_at_once(tmp_path):
    import fcntl

    tmp_path.joinpath(T.LOCK_NAME).write_text("12345\n")
    fd = os.open(tmp_path / T.LOCK_NAME, os.O_RDWR)  # another open file: as another process would hold it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(PoseliftError, match="another poselift run is writing here .process 12345.") as e:
            with T.transaction(tmp_path, ["x.txt"]):
                pass
        assert e.value.path == str(tmp_path)
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == [T.LOCK_NAME]  # the holder's lock file is left alone
    with T.transaction(tmp_path, ["x.txt"]) as tx:  # free again (the file was not removed under us)
        with T.transaction(tmp_path, ["y.txt"]) as inner:  # the same thread joins the open transaction
            assert inner is tx
            inner.path("y.txt").write_text("y")
        tx.path("x.txt").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt", "y.txt"]


def test_leftovers_of_killed_runs_are_recovered(tmp_path):
    pid = dead_pid()
    (tmp_path / "old.txt").write_text("user's")
    stale = tmp_path / f"{T.STAGE_PREFIX}{pid}-0a1b2c3d"  # killed while writing: removed
    stale.mkdir()
    (stale / "x.npz").write_bytes(b"partial")
    (stale / T.PARTS_NAME).write_text(json.dumps(["s.jsonl"]))
    (tmp_path / "s.jsonl.part").write_text('{"type": "header"}\n')
    done = tmp_path / f"{T.STAGE_PREFIX}{pid}-deadbeef"  # killed while renaming: finished
    done.mkdir()
    (done / "b.csv").write_text("b")
    (done / "old.txt").write_text("not over the user's file")
    (done / T.COMMIT_NAME).write_text(json.dumps({"files": ["a.csv", "b.csv", "old.txt"], "parts": [],
                                                  "overwrite": False}))
    (tmp_path / "a.csv").write_text("a")  # renamed before the kill
    with T.transaction(tmp_path, ["new.txt"]) as tx:
        tx.path("new.txt").write_text("n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "new.txt", "old.txt"]
    assert (tmp_path / "old.txt").read_text() == "user's"


def test_progressive_file_is_renamed_at_the_end_or_removed(tmp_path):
    with T.transaction(tmp_path) as tx:
        part = tx.part("s.jsonl")
        assert part.name == "s.jsonl.part"
        part.write_text("line\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl"]
    with pytest.raises(KeyboardInterrupt):
        with T.transaction(tmp_path, overwrite=True) as tx:
            tx.part("s.jsonl").write_text("other\n")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl"] and (tmp_path / "s.jsonl").read_text() == "line\n"
    with pytest.raises(PoseliftError, match="written twice"):
        with T.transaction(tmp_path / "o", ["s.json"]) as tx:
            tx.part("s.json")


def test_sigterm_unwinds_and_a_signal_during_the_renames_waits(tmp_path, monkeypatch):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(T.Signalled) as e:
        with T.transaction(tmp_path / "o", ["x.txt"]) as tx:
            tx.path("x.txt").write_text("x")
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
    assert e.value.signum == signal.SIGTERM and not (tmp_path / "o").exists()
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored
    replace = os.replace
    calls = []

    def replace_and_signal(a, b):
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)
        calls.append(b)
        replace(a, b)

    monkeypatch.setattr(T.os, "replace", replace_and_signal)
    with pytest.raises(KeyboardInterrupt):
        with T.transaction(tmp_path / "o", ["x.txt", "y.txt"]) as tx:
            tx.path("x.txt").write_text("x")
            tx.path("y.txt").write_text("y")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["x.txt", "y.txt"]  # the set, whole


def test_until_stopped_ends_a_live_stream_at_the_first_signal():
    got = []
    for i in T.until_stopped(range(100)):
        got.append(i)
        if i == 3:
            os.kill(os.getpid(), signal.SIGINT)  # the stream ends after this frame, as if the source had
    assert got == [0, 1, 2, 3]
    got = []
    for i in T.until_stopped(range(100)):
        got.append(i)
        if i == 5:
            os.kill(os.getpid(), signal.SIGTERM)
    assert got == [0, 1, 2, 3, 4, 5]
    with pytest.raises(T.Signalled):  # a second signal aborts
        for i in T.until_stopped(range(100)):
            if i == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):
                    pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_atomic_writer_removes_temporary_files_of_dead_processes(tmp_path):
    from poselift.data.formats import save_json

    pid = dead_pid()
    stale = tmp_path / f".r.json.{pid}.abcd1234.tmp"
    live = tmp_path / f".r.json.{os.getppid()}.abcd1234.tmp"  # a live process: left alone
    stale.write_text("{")
    live.write_text("{")
    save_json(tmp_path / "r.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "r.json"]
    long = "x" * 250 + ".json"  # a name near the limit still has a temporary file
    save_json(tmp_path / long, {})
    assert (tmp_path / long).exists()


# ------------------------------------------------------------------------- bad cases, CLI


def test_overwrite_never_replaces_the_input(tmp_path, capsys, monkeypatch):
    src = coco_file(tmp_path / "dets.json")
    (tmp_path / "dets.bvh").write_text("a user's file")
    monkeypatch.chdir(tmp_path)
    assert_refused(infer_args("dets.json", ".", "--overwrite"), tmp_path, capsys, "input of this run",
                   names="dets.json")
    assert src.exists()


def test_jsonl_onto_the_input_or_an_export_is_refused(tmp_path, capsys):
    src = coco_file(tmp_path / "dets.json")
    args = ["infer", str(src), "--realtime", "--width", "1000", "--height", "800", "-q", "--overwrite"]
    assert_refused(args + ["--jsonl", str(src)], tmp_path, capsys, "input of this run", names=src)
    assert_refused(args + ["--out", str(tmp_path / "o"), "--jsonl", str(tmp_path / "o" / "dets.json")], tmp_path,
                   capsys, "written twice", names=tmp_path / "o" / "dets.json")


def test_output_folder_held_by_another_run(tmp_path, capsys):
    import fcntl

    src = coco_file(tmp_path / "dets.json")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / T.LOCK_NAME).write_text("")
    fd = os.open(tmp_path / "out" / T.LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert_refused(infer_args(src, tmp_path / "out"), tmp_path, capsys, "another poselift run is writing here",
                       names=tmp_path / "out")
        write_cmu_train(tmp_path / "train", subjects=("01",))
        assert_refused(["train", "--train-dir", str(tmp_path / "train"), "-c", str(tmp_path / "out"), "--samples", "64",
                        "-q"],
                       tmp_path, capsys, "another poselift run is writing here", names=tmp_path / "out")
    finally:
        os.close(fd)


def test_file_name_too_long(tmp_path, capsys):
    src = coco_file(tmp_path / ("d" * 245 + ".json"))  # the input's name fits; "<stem>_camera.csv" does not
    line = assert_refused(infer_args(src, tmp_path / "out"), tmp_path, capsys, "file name too long")
    assert str(tmp_path / "out" / ("d" * 245)) in line


def test_disk_full_while_writing(tmp_path, capsys, monkeypatch):
    import poselift.render.html as html

    src = coco_file(tmp_path / "dets.json")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("the user's")
    real = html.write_html

    def full_disk(path, *a, **k):  # the sixth of seven exports: half written, then the disk is full
        with open(path, "wb") as fh:
            fh.write(b"<html>" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(html, "write_html", full_disk)
    assert_refused(infer_args(src, tmp_path / "out"), tmp_path, capsys, "cannot write the outputs (No space left "
                   "on device); nothing was written", names=tmp_path / "out")
    monkeypatch.setattr(html, "write_html", real)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE")
def test_file_size_limit_in_a_real_process(tmp_path):
    """A real write failure (RLIMIT_FSIZE: EFBIG after 1 MB) in the command line: one line, nothing left."""
    import resource

    src = coco_file(tmp_path / "dets.json", frames=60)
    (tmp_path / "out").mkdir()

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    p = subprocess.run([sys.executable, "-m", "poselift", *infer_args(src, tmp_path / "out")], capture_output=True,
                       text=True, preexec_fn=limit, timeout=300)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith(f"poselift: error: {tmp_path / 'out'}") and "File too large" in lines[0]
    assert list((tmp_path / "out").iterdir()) == []


def test_train_refuses_a_folder_of_user_files(tmp_path, capsys):
    write_cmu_train(tmp_path / "train", subjects=("01",))
    run = tmp_path / "mine"
    run.mkdir()
    (run / "model.safetensors").write_bytes(b"my own model")
    (run / "config.json").write_text('{"mine": true}')
    args = ["train", "--train-dir", str(tmp_path / "train"), "-c", str(run), "-arc", "3", "-ch", "8",
            "--samples", "64", "-q"]
    for extra in ([], ["--overwrite"], ["--resume"]):
        assert_refused(args + extra, tmp_path, capsys, "holds files that are not a poselift training run "
                       "(config.json, model.safetensors)", names=run)


def test_train_into_an_empty_folder_then_resume_and_restart(tmp_path, capsys):
    write_cmu_train(tmp_path / "train", subjects=("01",))
    run = tmp_path / "run"
    run.mkdir()
    args = ["train", "--train-dir", str(tmp_path / "train"), "-c", str(run), "-arc", "3", "-ch", "8", "-b", "32",
            "--samples", "64", "--checkpoint-every", "1", "-q"]
    assert main(args) == 0
    files = ["config.json", "last.json", "last.safetensors", "model.json", "model.safetensors"]
    assert sorted(p.name for p in run.iterdir()) == files
    model, last = json.loads((run / "model.json").read_text()), json.loads((run / "last.json").read_text())
    assert model["state"] == last["state"] and last["state"]["finished"]  # one checkpoint, one set
    assert_refused(args, tmp_path, capsys, "holds a training run already", names=run)
    pid = dead_pid()
    (run / f".last.safetensors.{pid}.abcdefgh.tmp").write_bytes(b"x" * 1000)  # a killed writer's, old style
    (run / ".model.safetensors.qwertyui.tmp").write_bytes(b"x" * 1000)
    (run / f"{T.STAGE_PREFIX}{pid}-00000000").mkdir()
    assert main(args + ["--resume"]) == 0
    assert sorted(p.name for p in run.iterdir()) == files
    assert main(args + ["--overwrite"]) == 0
    assert sorted(p.name for p in run.iterdir()) == files


def test_train_interrupted_before_its_first_checkpoint_leaves_nothing(tmp_path, monkeypatch):
    from poselift.train.supervised import Trainer

    write_cmu_train(tmp_path / "train", subjects=("01",))

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train", interrupted)
    assert main(["train", "--train-dir", str(tmp_path / "train"), "-c", str(tmp_path / "a" / "run"), "-arc", "3",
                 "-ch", "8", "--samples", "64", "-q"]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train"]


# --------------------------------------------------------------------- a live stream's end


class _Fake:
    """A detector that sees one person (fixed pixels) and sends SIGINT to this process at frame ``stop_at``."""

    name, layout = "fake", "coco17"

    def __init__(self, keypoints, stop_at=None):
        self.kp, self.stop_at, self.seen = keypoints, stop_at, 0

    def detect(self, frame):
        self.seen += 1
        if self.seen == self.stop_at:
            os.kill(os.getpid(), signal.SIGINT)
        return [(self.kp[(self.seen - 1) % len(self.kp)].astype(np.float32), np.ones(17, np.float32))]

    def close(self):
        pass


@pytest.mark.skipif(sys.platform != "linux", reason="signals")
@pytest.mark.parametrize("people", ["one", "all"])
def test_the_first_signal_ends_a_live_stream_and_its_outputs_are_committed(tmp_path, people, monkeypatch):
    """A live source (here a file:// URL: frames as they are decoded) ends at Ctrl-C like a stream
    that ends by itself: the frames so far are exported and the JSON lines renamed into place."""
    pytest.importorskip("av")
    from poselift.detect import base
    from poselift.camera import look_at_camera
    from poselift.skeleton import coco17_from_h36m17

    from helpers import write_mp4

    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(320, 240), fov_deg=60)
    kp = cam.project(coco17_from_h36m17(cam.world_to_camera(random_motion(60).astype(np.float64))),
                     distortion=False)
    write_mp4(tmp_path / "cam.mp4", frames=60, height=240, width=320)
    fake = _Fake(kp, stop_at=25)
    monkeypatch.setitem(base._FACTORIES, "test-fake", lambda **_: fake)
    url = "file://" + str(tmp_path / "cam.mp4")
    out, lines = tmp_path / "out", tmp_path / "lines" / "live.jsonl"
    if people == "one":
        from poselift.realtime import run_realtime

        rec, timing = run_realtime(url, out, jsonl=lines, detector="test-fake", progress=False)
        frames = timing["frames"]
    else:
        from poselift.realtime_people import run_realtime_people

        recs, timing = run_realtime_people(url, out, jsonl=lines, detector="test-fake", progress=False)
        frames = timing["frames"]
    assert frames == 25 and fake.seen == 25  # the frame being read when the signal came is the last
    assert sorted(p.name for p in lines.parent.iterdir()) == ["live.jsonl"]
    body = [json.loads(ln) for ln in lines.read_text().splitlines()]
    assert body[0]["type"] == "header" and body[-1]["frame"] == 24
    stem = "stream"
    expected = ([f"{stem}.npz", f"{stem}.json", f"{stem}_camera.csv", f"{stem}_world.csv", f"{stem}_2d.csv",
                 f"{stem}.bvh", f"{stem}.html"] if people == "one" else
                [f"{stem}_people.json", f"{stem}.html"] + [f"{stem}_id0{s}" for s in (".npz", ".json", "_camera.csv",
                                                                                       "_world.csv", "_2d.csv",
                                                                                       ".bvh", ".html")])
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(sys.platform != "linux", reason="signals")
def test_an_interrupted_file_stream_leaves_nothing(tmp_path, capsys):
    """A file replayed with --realtime is no live source: an interruption aborts, the .part goes too."""
    import poselift.realtime as rt

    src = coco_file(tmp_path / "dets.json", frames=60)
    real = rt.RealtimeLifter.push
    count = [0]

    def push(self, kp, sc):
        count[0] += 1
        if count[0] == 30:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, kp, sc)

    rt.RealtimeLifter.push = push
    try:
        before = everything(tmp_path)
        assert main(["infer", str(src), "--realtime", "--out", str(tmp_path / "out"), "--jsonl",
                     str(tmp_path / "s.jsonl"), "--width", "1000", "--height", "800", "-q"]) == 128 + signal.SIGTERM
    finally:
        rt.RealtimeLifter.push = real
    assert "poselift: stopped by SIGTERM" in capsys.readouterr().err
    assert everything(tmp_path) == before


def test_one_file_commands_never_replace_their_input(tmp_path, capsys):
    src = tmp_path / "data_3d_h36m.npz"
    src.write_bytes(b"PK\x03\x04 the user's data")
    ck = tmp_path / "model.safetensors"
    ck.write_bytes(b"weights")
    assert_refused(["prepare", "h36m", "--source", str(src), "--out", str(src), "--overwrite", "-q"], tmp_path,
                   capsys, "input of this run", names=src)
    assert_refused(["export", "--checkpoint", str(ck), "--onnx", str(ck), "--overwrite"], tmp_path, capsys,
                   "input of this run", names=ck)
    assert_refused(["evaluate", "--checkpoint", str(ck), "--bench", str(tmp_path), "--json", str(ck), "--overwrite",
                    "-q"], tmp_path, capsys, "input of this run", names=ck)


def test_renames_that_fail_half_way_are_finished_by_the_next_run(tmp_path, monkeypatch):
    replace = os.replace
    done = []

    def failing(a, b):
        if str(b).endswith(".txt") and done:  # the second file's rename fails (after the first)
            raise OSError(errno.EIO, "Input/output error", str(b))
        if str(b).endswith(".txt"):
            done.append(b)
        replace(a, b)

    monkeypatch.setattr(T.os, "replace", failing)
    with pytest.raises(PoseliftError, match="cannot write the outputs"):
        with T.transaction(tmp_path, ["a.txt", "b.txt"]) as tx:
            tx.path("a.txt").write_text("a")
            tx.path("b.txt").write_text("b")
    monkeypatch.setattr(T.os, "replace", replace)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["a.txt"]
    with T.transaction(tmp_path, ["c.txt"]) as tx:  # the next run finishes the set first
        tx.path("c.txt").write_text("c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]
