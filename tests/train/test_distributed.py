"""Data-parallel training: two CPU processes (gloo) against one process on the same global batch."""

import os
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from poselift.cli import main
from poselift.train import distributed

from helpers import write_cmu_train

ARGS = ["-arc", "3,3", "-ch", "16", "-b", "63", "--samples", "500", "--threads", "1", "--checkpoint-every", "0",
        "--seed", "5", "-q"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(train, out, *extra):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "poselift", "train", "--train-dir", str(train), "-c", str(out), *ARGS, *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    train = write_cmu_train(tmp_path / "train")
    run = _torchrun(train, tmp_path / "two", "--dropout", "0")
    assert run.returncode == 0, run.stderr[-3000:]
    assert main(["train", "--train-dir", str(train), "-c", str(tmp_path / "one"), *ARGS, "--dropout", "0"]) == 0
    one, two = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("one", "two"))
    assert one.keys() == two.keys()
    for k in one:  # 8 batches of 63 (uneven shares 31 / 32, a last batch of 59), BN over the global batch
        assert torch.allclose(one[k].float(), two[k].float(), atol=1e-5), k
    # the run is really different from a single process on half the batch
    assert main(["train", "--train-dir", str(train), "-c", str(tmp_path / "half"), *ARGS, "--dropout", "0",
                 "-b", "32", "--overwrite"]) == 0
    half = load_file(str(tmp_path / "half" / "model.safetensors"))
    assert max((half[k].float() - one[k].float()).abs().max() for k in one) > 1e-3


def test_reference_engine_is_refused_in_distributed_runs(tmp_path):
    train = write_cmu_train(tmp_path / "train")
    run = _torchrun(train, tmp_path / "ref", "--engine", "reference")
    assert run.returncode != 0
    assert "poselift: error: distributed training runs the strided twin on the fast engine" in run.stderr


def test_shares_cover_the_batch():
    for world in (1, 2, 3, 8):
        for n in (1, 7, 63, 1024):
            rows = [distributed.share(n, distributed.DistContext(r, world, r)) for r in range(world)]
            assert [i for sl in rows for i in range(n)[sl]] == list(range(n))
