"""Data-parallel training on PyTorch's own distributed engine.

Launch with ``torchrun --nproc_per_node=N -m poselift train ...`` (add ``--nnodes`` and a
rendezvous for several machines). Each process draws the same global batch of
``batch_size`` clips (the clip order depends on the seed and epoch only) and trains on its
contiguous share; :class:`~torch.nn.parallel.DistributedDataParallel` averages the
gradients. So that N processes compute what one process computes on the whole batch:

* the loss of a share is scaled by ``N · share / batch``, so the averaged gradient is the
  gradient of the mean over the global batch, also when the last batch does not divide;
* batch norm uses statistics over the global batch (sums all-reduced, with gradients
  through the reduction: :func:`~poselift.models.fast.global_batch_norm`), in the fast engine
  that distributed training requires.

Dropout masks differ per process (each seeds its own generator), as with any data-parallel
run; rank 0 alone writes checkpoints and shows progress. Backends: ``gloo`` on CPU,
``nccl`` on CUDA (one GPU per process, ``LOCAL_RANK``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import PoseliftError
from ..models.fast import global_batch_norm  # noqa: F401  (the op lives with the fast path it serves)


@dataclass
class DistContext:
    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """Started by torchrun (or another launcher that sets the environment) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str) -> DistContext | None:
    """Join the process group the launcher describes; None when running alone."""
    if not launched():
        return None
    if not dist.is_available():
        raise PoseliftError("this torch build has no distributed support")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), local)


def barrier() -> None:
    dist.barrier()


def finish() -> None:
    """Wait for every process (rank 0 writes the last checkpoint), then leave the group."""
    dist.barrier()
    dist.destroy_process_group()


def current() -> DistContext | None:
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def share(n: int, ctx: DistContext) -> slice:
    """Rows of a global batch of ``n`` that process ``ctx.rank`` trains on."""
    return slice(ctx.rank * n // ctx.world, (ctx.rank + 1) * n // ctx.world)


def wrap(model: torch.nn.Module, device: torch.device, ctx: DistContext):
    """The model as DistributedDataParallel, its batch norms on global statistics."""
    strided = [m for m in model.modules() if hasattr(m, "fast") and hasattr(m, "sync_bn")]
    if not strided or not all(m.fast for m in strided):
        raise PoseliftError("distributed training runs the strided twin on the fast engine "
                            "(drop --engine reference and --stride)")
    for m in strided:
        m.sync_bn = True
    others = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)
              and not any(m in set(s.modules()) for s in strided)]
    if others:
        raise PoseliftError("distributed training does not support this model's extra batch norms (pose embedders)")
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else ctx.local_rank] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)


def reduce_mean(values: dict[str, float], weight: float, device: torch.device) -> dict[str, float]:
    """Sum of ``value · weight`` over processes (weight = share of the global batch)."""
    keys = sorted(values)
    t = torch.tensor([values[k] * weight for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist()))
