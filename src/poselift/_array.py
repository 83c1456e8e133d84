"""Tiny helpers so pure functions accept numpy arrays and torch tensors alike."""

from __future__ import annotations

import numpy as np


def is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def as_like(value, ref):
    """``value`` (array-like) as the same kind, dtype and device as ``ref``.

    An integer ``ref`` gives a floating result (numpy float64 / torch default dtype), so
    float constants such as rotations are not truncated to integers.
    """
    if is_torch(ref):
        import torch

        dtype = ref.dtype if ref.dtype.is_floating_point or ref.dtype.is_complex else torch.get_default_dtype()
        return torch.as_tensor(np.asarray(value) if not is_torch(value) else value, dtype=dtype, device=ref.device)
    dtype = ref.dtype if np.issubdtype(ref.dtype, np.inexact) else np.float64
    return np.asarray(value, dtype=dtype)


def clip(x, lo, hi):
    if is_torch(x):
        return x.clamp(lo, hi)
    return np.clip(x, lo, hi)


def norm(x, axis=-1, keepdims=False):
    if is_torch(x):
        return x.norm(dim=axis, keepdim=keepdims)
    return np.linalg.norm(x, axis=axis, keepdims=keepdims)




def swap_last2(x):
    if is_torch(x):
        return x.transpose(-1, -2)
    return np.swapaxes(x, -1, -2)


def sum_keep(x, axis=-1):
    """Sum over ``axis`` keeping the dimension (numpy ``keepdims`` / torch ``keepdim``)."""
    if is_torch(x):
        return x.sum(dim=axis, keepdim=True)
    return x.sum(axis=axis, keepdims=True)


def mean_keep(x, axis=-1):
    if is_torch(x):
        return x.mean(dim=axis, keepdim=True)
    return x.mean(axis=axis, keepdims=True)
