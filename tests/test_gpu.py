"""The CUDA paths on a GPU: training (fp32, bf16), evaluation, lifting, and data-parallel
training across GPUs with NCCL. Marked ``gpu``: deselected by default (CI has no GPU); run
``python -m pytest -m gpu tests/test_gpu.py`` on a machine with CUDA (``benchmarks/gpu_check.sh``
runs it with the GPU speed figures). Each test also skips where this torch sees no GPU.
``POSELIFT_TEST_DEVICE=cpu`` runs the same checks with the CPU in the GPU's place (two gloo
processes for the data-parallel one): a dry run of this file where there is no GPU.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from poselift.cli import main
from poselift.evaluate import evaluate_checkpoint
from poselift.infer import default_checkpoint

from helpers import write_bench, write_cmu_train

DEVICE = os.environ.get("POSELIFT_TEST_DEVICE", "cuda")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(),
                                                  reason="this torch sees no CUDA device")]

TRAIN = ["-arc", "3,3", "-ch", "64", "-b", "128", "--samples", "12800", "--checkpoint-every", "0", "--seed", "3",
         "--dropout", "0", "-q"]


def train(folder, data, *extra) -> tuple[float, float]:
    """Train a small model on ``data``: its last training loss and its MPJPE on a bench file (mm)."""
    assert main(["train", "--train-dir", str(data / "train"), "-c", str(folder), *TRAIN, *extra]) == 0
    loss = json.loads((folder / "last.json").read_text())["state"]["history"][-1]["loss_mm"]
    return loss, evaluate_checkpoint(folder / "model.safetensors", data / "bench", progress=False)["mpjpe"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu_data")
    write_cmu_train(root / "train", frames=200)
    write_bench(root / "bench" / "bench_09.npz")
    return root


def test_training_on_the_gpu_learns_as_on_the_cpu(tmp_path, data):
    """fp32 on CUDA ends where fp32 on the CPU does (Adam's first steps follow the gradients'
    signs, so the weights differ a little, the error hardly); bf16 autocast learns too."""
    cpu = train(tmp_path / "cpu", data, "--device", "cpu")
    gpu = train(tmp_path / "gpu", data, "--device", DEVICE)
    bf16 = train(tmp_path / "bf16", data, "--device", DEVICE, "--precision", "bf16")
    first = train(tmp_path / "none", data, "--device", "cpu", "--samples", "128")  # one batch
    assert gpu == pytest.approx(cpu, rel=0.05), (cpu, gpu)  # (loss, MPJPE)
    assert bf16 == pytest.approx(cpu, rel=0.10), (cpu, bf16)
    assert max(cpu[0], gpu[0], bf16[0]) < 0.3 * first[0], (first, cpu, gpu, bf16)


def test_evaluation_on_the_gpu_matches_the_cpu(data):
    ck = default_checkpoint("h36m17")
    cpu = evaluate_checkpoint(ck, data / "bench", progress=False)
    gpu = evaluate_checkpoint(ck, data / "bench", progress=False, device=DEVICE)
    assert gpu["device"].startswith(DEVICE) and cpu["device"] == "cpu"
    for k in ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve"):
        assert gpu[k] == pytest.approx(cpu[k], abs=0.01), k  # mm
    bf16 = evaluate_checkpoint(ck, data / "bench", progress=False, device=DEVICE, precision="bf16")
    assert bf16["mpjpe"] == pytest.approx(cpu["mpjpe"], abs=0.5)


def test_lifting_on_the_gpu_matches_the_cpu(tmp_path):
    from poselift.detect.importers import load_keypoints
    from poselift.infer import reconstruct

    from bad_inputs import _mmpose, _pixels

    src = _mmpose(tmp_path / "dets.json", _pixels(frames=120))
    seq = load_keypoints(src)
    cpu = reconstruct(seq, width=1000, height=1000, fps=30)
    gpu = reconstruct(seq, width=1000, height=1000, fps=30, device=DEVICE)
    np.testing.assert_allclose(gpu.positions_cam, cpu.positions_cam, atol=1e-3)  # metres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(DEVICE == "cuda" and torch.cuda.device_count() < 2,
                    reason="data-parallel training needs two GPUs (one per process)")
def test_two_gpus_equal_one_gpu_with_the_same_global_batch(tmp_path, data):
    """torchrun with NCCL, one GPU per process, against one process on the same global batch
    (batch norm over the global batch: the same model to rounding)."""
    from safetensors.torch import load_file

    args = ["--train-dir", str(data / "train"), *TRAIN, "--samples", "1280", "--device", DEVICE]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "poselift", "train", "-c", str(tmp_path / "two"), *args]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert main(["train", "-c", str(tmp_path / "one"), *args]) == 0
    one, two = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("one", "two"))
    for k in one:
        assert torch.allclose(one[k].float(), two[k].float(), atol=1e-3), k
