"""Training killed with SIGKILL at a random moment resumes and ends as an uninterrupted run."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from poselift.cli import main

from helpers import write_cmu_train

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

ARGS = ["-arc", "3,3", "-ch", "16", "-b", "64", "--samples", "12000", "--threads", "1", "--checkpoint-every", "5",
        "--seed", "11", "-q"]


def _state(folder):
    return json.loads((folder / "last.json").read_text())["state"]


def test_sigkill_at_a_random_moment_then_resume_gives_the_uninterrupted_result(tmp_path):
    train = write_cmu_train(tmp_path / "train", frames=200)
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "poselift", "train", "--train-dir", str(train), "-c", str(killed), *ARGS]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rng = random.Random(os.getpid())
    target = rng.uniform(0.1, 0.6) * 12000  # kill once the run is this far, at a random moment
    deadline = time.time() + 120
    while True:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline
        if (killed / "last.json").exists() and _state(killed)["drawn"] >= target:
            break
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.05))  # somewhere between two checkpoints
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    state = _state(killed)  # the checkpoint left behind is whole (atomic writes) and mid-run
    assert 0 < state["drawn"] < 12000 and not state["finished"]
    epoch_size = json.loads((killed / "last.json").read_text())["epoch_size"]
    assert main(["train", "--train-dir", str(train), "-c", str(killed), *ARGS, "--resume"]) == 0
    assert main(["train", "--train-dir", str(train), "-c", str(tmp_path / "whole"), *ARGS]) == 0
    a = load_file(str(killed / "model.safetensors"))
    b = load_file(str(tmp_path / "whole" / "model.safetensors"))
    for k in b:
        assert torch.equal(a[k], b[k]), k
    assert _state(killed)["finished"] and _state(killed)["drawn"] == 12000
    # what a kill loses is the steps since the last checkpoint (at most 5 here), under an epoch
    assert epoch_size > 5 * 64


def test_a_run_saved_before_a_setting_existed_still_resumes(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    train = write_cmu_train(tmp_path / "train")
    args = ["train", "--train-dir", str(train), "-c", str(tmp_path / "run"), "-arc", "3", "-ch", "8", "-b", "32",
            "--samples", "256", "--checkpoint-every", "2", "-q"]
    assert main(args) == 0
    last = tmp_path / "run" / "last.safetensors"
    with safe_open(str(last), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    doc = json.loads(meta["poselift"])
    for cfg in (doc["model"], doc["train_config"]["model"]):  # as written by an older poselift
        cfg.pop("pose_from")
    doc["train_config"].pop("engine")
    doc["state"]["finished"], doc["state"]["drawn"] = False, 128
    save_file(tensors, str(last), metadata={"poselift": json.dumps(doc)})
    assert main(args + ["--resume"]) == 0
    assert _state(tmp_path / "run")["finished"]
