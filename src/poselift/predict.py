"""The inference core: a checkpoint's model, the device it runs on, and a whole 2D sequence
lifted through it.

Shared by evaluation (:mod:`poselift.evaluate`) and inference (:mod:`poselift.infer`,
:mod:`poselift.stream`, ONNX export), below all of them: inference is not part of evaluation.
Long sequences go through the dilated model in chunks with their receptive field of context
(memory bounded, output as in one pass), with test-time flip averaging.
"""

from __future__ import annotations

import numpy as np
import torch

from .data.windows import pad_sequence_torch
from .errors import PoseliftError
from .models.build import build_model
from .models.checkpoint import load_checkpoint, model_config, read_meta
from .models.temporal import TemporalModel
from .skeleton import H36M17, Skeleton, flip_pose

__all__ = ["CHUNK", "load_model", "predict_sequence", "resolve_device"]


def resolve_device(name: str, dist=None) -> torch.device:
    """``cpu``, ``cuda[:i]`` or ``auto`` (CUDA when there is one); distributed: this process's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if dist and name == "cuda":
        name = f"cuda:{dist.local_rank}"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise PoseliftError(f"--device {name}: unknown device (cpu, cuda, cuda:N or auto)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PoseliftError(f"--device {name}: this torch sees no CUDA device (a CPU-only build, or no GPU here)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise PoseliftError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def load_model(path, device: str = "cpu") -> tuple[TemporalModel, dict]:
    """The dilated model of a checkpoint, in eval mode."""
    meta = read_meta(path)  # the metadata's schema and sizes checked before anything is built
    model = build_model(model_config(meta, path))
    load_checkpoint(path, model)
    return model.to(device).eval(), meta


CHUNK = 8192  # output frames per pass: activations stay at a few tens of MB however long the sequence


@torch.no_grad()
def predict_sequence(
    model: TemporalModel, inputs_2d: np.ndarray, flip_test: bool = True, skeleton_in: Skeleton = H36M17,
    skeleton_out: Skeleton = H36M17, device: str = "cpu", chunk: int = CHUNK,
) -> np.ndarray:
    """Normalised 2D (T, J_in, 2) → 3D (T, J_out, 3), one output per input frame.

    Long sequences go through the model ``chunk`` output frames at a time, each chunk with
    its receptive field of context, so memory is bounded and the output is the same as in
    one pass (every output frame sees the same inputs)."""
    x = torch.as_tensor(np.asarray(inputs_2d, dtype=np.float32), device=device)
    if x.ndim != 3 or x.shape[0] == 0:
        raise PoseliftError(f"expected a sequence (frames, joints, 2) with at least one frame, got {tuple(x.shape)}")
    n = x.shape[0]
    rf = model.receptive_field
    x = pad_sequence_torch(x, rf, model.total_causal_shift, dim=0)[None]
    out = None
    for start in range(0, n, chunk):
        part = x[:, start:start + min(chunk, n - start) + rf - 1]
        if flip_test:
            part = torch.cat([part, flip_pose(part, skeleton_in)])
        y = model(part)
        y = (y[0] + flip_pose(y[1], skeleton_out)) / 2 if flip_test else y[0]
        if out is None:
            out = np.empty((n, *y.shape[1:]), dtype=np.float32)
        out[start:start + len(y)] = y.cpu().numpy()
    return out
