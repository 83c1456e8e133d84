"""``infer`` and ``train`` killed with SIGINT, SIGTERM and SIGKILL at random points of their
progress leave no partial output, and after the next run no leftover either; two runs into one
folder: the second fails at once with one line, the first writes its whole set."""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from poselift.transaction import LOCK_NAME, STAGE_PREFIX

from helpers import write_cmu_train
from test_transaction import coco_file, infer_args

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or sys.platform == "win32", reason="POSIX signals")

EXPORTS = sorted(["dets.npz", "dets.json", "dets_camera.csv", "dets_world.csv", "dets_2d.csv", "dets.bvh",
                  "dets.html"])
RUN = sorted(["config.json", "last.json", "last.safetensors", "model.json", "model.safetensors"])
TRAIN_ARGS = ["-arc", "3,3", "-ch", "16", "-b", "64", "--samples", "2560", "--checkpoint-every", "1",
              "--threads", "1", "--seed", "3", "-q"]
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def start(args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "poselift", *map(str, args)], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def names(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


def staged_files(folder: Path) -> int:
    """Files in the staging folders of ``folder`` (how far the writing has got)."""
    n = 0
    for name in names(folder):
        if name.startswith(STAGE_PREFIX):
            n += len(names(folder / name))
    return n


def kill_at_a_random_point(proc, folder: Path, sig: int, rng: random.Random, progress) -> str:
    """Send ``sig`` at a random moment (a random time in, or once ``progress()`` has reached a
    random step); what was chosen, for the failure message."""
    if rng.random() < 0.4:
        when = rng.uniform(0.3, 4.0)
        point = f"after {when:.2f} s"
        end = time.time() + when
        while time.time() < end and proc.poll() is None:
            time.sleep(0.005)
    else:
        step = rng.randint(0, 6)
        point = f"at progress step {step}"
        end = time.time() + 120
        while proc.poll() is None and progress() < step and time.time() < end:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.004))
    if proc.poll() is None:
        proc.send_signal(sig)
    else:
        point += " (the run had ended)"
    proc.wait(timeout=120)
    return point


def one_line_or_none(proc) -> str:
    err = proc.stderr.read()
    proc.stderr.close()
    return err


def check_infer_output(out: Path, src: Path, after: str) -> None:
    """No staging folder, lock or temporary file; the exports all there (from this input) or none."""
    got = names(out)
    assert got in ([], EXPORTS), f"{after}: {got}"
    if got:
        z = np.load(out / "dets.npz")
        doc = json.loads((out / "dets.json").read_text())
        assert len(z["positions_cam"]) == len(doc["frames"]) == len(json.loads(src.read_text())), after
        assert (out / "dets.html").read_text().rstrip().endswith("</html>"), after


def check_run_folder(run: Path, after: str) -> dict | None:
    """A run folder holds nothing, or one whole checkpoint (the model files and last.* of the same step)."""
    got = names(run)
    assert got in ([], RUN), f"{after}: {got}"
    if not got:
        return None
    last = json.loads((run / "last.json").read_text())
    assert json.loads((run / "model.json").read_text())["state"] == last["state"], after
    return last["state"]


def signal_order(rng):
    order = [signal.SIGINT, signal.SIGTERM]
    rng.shuffle(order)
    return order + [signal.SIGKILL]  # the SIGKILL's leftovers are cleared by the run after it


def run_infer_kills(tmp_path, seed):
    rng = random.Random(seed)
    src = coco_file(tmp_path / "in" / "dets.json", frames=80)
    out = tmp_path / "out"
    for sig in signal_order(rng):
        proc = start(infer_args(src, out, "--overwrite"))
        point = kill_at_a_random_point(proc, out, sig, rng, lambda: staged_files(out))
        err = one_line_or_none(proc)
        after = f"infer, {signal.Signals(sig).name} {point}, exit {proc.returncode}: {err[-500:]}"
        assert proc.returncode in (0, 128 + sig, -sig), after
        if proc.returncode == 128 + sig:
            assert "Traceback" not in err and err.strip().startswith("poselift: "), after
        if sig != signal.SIGKILL:
            check_infer_output(out, src, after)
    proc = start(infer_args(src, out, "--overwrite"))  # the next run: recovers, then writes the whole set
    proc.wait(timeout=300)
    err = one_line_or_none(proc)
    assert proc.returncode == 0, err
    check_infer_output(out, src, "the run after the kills")
    assert names(out) == EXPORTS


def run_train_kills(tmp_path, seed):
    rng = random.Random(seed)
    train = write_cmu_train(tmp_path / "train", frames=200)
    run = tmp_path / "run"
    args = ["train", "--train-dir", train, "-c", run, *TRAIN_ARGS, "--resume"]

    def progress():  # even steps: checkpoints past a number of clips; odd ones: a checkpoint being written then
        try:
            drawn = json.loads((run / "last.json").read_text())["state"]["drawn"]
        except (OSError, ValueError, KeyError):
            drawn = 0
        return 2 * (drawn // 640) + (staged_files(run) > 0)

    for sig in signal_order(rng):
        proc = start(args)
        point = kill_at_a_random_point(proc, run, sig, rng, progress)
        err = one_line_or_none(proc)
        after = f"train, {signal.Signals(sig).name} {point}, exit {proc.returncode}: {err[-500:]}"
        assert proc.returncode in (0, 128 + sig, -sig), after
        if sig != signal.SIGKILL:
            check_run_folder(run, after)
    proc = start(args)
    proc.wait(timeout=300)
    err = one_line_or_none(proc)
    assert proc.returncode == 0, err
    state = check_run_folder(run, "the run after the kills")
    assert state["finished"] and state["drawn"] == 2560


def test_infer_killed_at_random_points(tmp_path):
    run_infer_kills(tmp_path, seed=20240517)


def test_train_killed_at_random_points(tmp_path):
    run_train_kills(tmp_path, seed=20240517)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_more_random_kills(tmp_path, seed):
    run_infer_kills(tmp_path / "infer", seed)
    run_train_kills(tmp_path / "train", seed)


def wait_for_lock(proc, folder: Path, timeout=120):
    end = time.time() + timeout
    while not (folder / LOCK_NAME).exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < end
        time.sleep(0.005)


@contextlib.contextmanager
def stopped(proc):
    """``proc`` held still (SIGSTOP) inside the block, its folder locked however fast it would
    have finished, and let go on after it."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGCONT)


def test_two_infer_runs_into_one_folder(tmp_path):
    a = coco_file(tmp_path / "a" / "dets.json", frames=60, seed=1)
    b = coco_file(tmp_path / "b" / "dets.json", frames=60, seed=2)  # other keypoints, the same output names
    out = tmp_path / "out"
    first = start(["infer", a, "--out", out, "--width", "1000", "--height", "800", "-q"])
    wait_for_lock(first, out)
    with stopped(first):
        second = start(infer_args(b, out, "--overwrite"))
        second.wait(timeout=300)
    err = one_line_or_none(second)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert second.returncode == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"poselift: error: {out}: another poselift run is writing here"), err
    first.wait(timeout=300)
    assert first.returncode == 0, one_line_or_none(first)
    assert names(out) == sorted(EXPORTS + ["dets_3d.mp4"])  # the first run's whole set, nothing of the second
    z = np.load(out / "dets.npz")
    mine = np.array([f["instances"][0]["keypoints"] for f in json.loads(a.read_text())])
    assert np.allclose(z["keypoints_2d"], mine, atol=1e-3)
    csv_2d = np.genfromtxt(out / "dets_2d.csv", delimiter=",", skip_header=1)
    assert np.allclose(csv_2d[:, 3:5], mine[:, 0], atol=0.01)


@pytest.mark.slow
def test_two_train_runs_into_one_folder(tmp_path):
    train = write_cmu_train(tmp_path / "train", frames=200)
    run = tmp_path / "run"
    args = ["train", "--train-dir", train, "-c", run, "-arc", "3,3", "-ch", "16", "-b", "64", "--samples", "20000",
            "--threads", "1", "-q"]
    first = start(args)
    wait_for_lock(first, run)
    with stopped(first):
        second = start(args + ["--resume"])
        second.wait(timeout=300)
    err = one_line_or_none(second)
    assert second.returncode == 2 and err.strip() == f"poselift: error: {run}: another poselift run is writing here" \
        f" (process {first.pid}): wait for it to finish or choose another folder", err
    first.wait(timeout=300)
    assert first.returncode == 0
    assert check_run_folder(run, "after both")["finished"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_render_leaves_nothing(tmp_path, sig):
    """The issue's case: interrupted while the mp4 is being encoded (six exports written by then)."""
    src = coco_file(tmp_path / "in" / "dets.json", frames=60)
    out = tmp_path / "out"
    proc = start(["infer", src, "--out", out, "--width", "1000", "--height", "800", "-q"])

    def rendering():
        return any(".dets_3d.mp4." in n for s in names(out) if s.startswith(STAGE_PREFIX) for n in names(out / s))

    end = time.time() + 120
    while not rendering():
        assert proc.poll() is None and time.time() < end, one_line_or_none(proc)
        time.sleep(0.002)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    err = one_line_or_none(proc)
    assert proc.returncode == 128 + sig and "Traceback" not in err, err
    assert err.strip() == ("poselift: interrupted" if sig == signal.SIGINT else "poselift: stopped by SIGTERM")
    assert names(out) == []  # not even the folder it made
    assert not out.exists()
