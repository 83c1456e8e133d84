"""Fast training path of the strided lifter: the same weights, computed as matrix products.

A strided convolution whose stride equals its width sees every input frame exactly once,
so it is a reshape followed by one matrix product: (N, T, C) → (N, T/w, w·C) @ (w·C, C').
Activations stay channels-last (N, T, C) throughout, batch norm runs over the rows of a
(N·T, C) matrix (in distributed training with statistics over every process's rows,
:func:`global_batch_norm`), and ReLU + dropout are one autograd node that keeps only its output for
the backward pass. The dropout masks come from random bytes (``keep = byte >= 256·p``),
which is exact for p = 0.25 and any multiple of 1/256 and about 10x cheaper than
``torch.bernoulli``; other rates fall back to :func:`torch.nn.functional.dropout`.

The parameters are the model's own (``nn.Conv1d`` weights, read through a permuted view),
so a model trained this way saves the same ``state_dict`` as the reference path.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F


class _ReluDropout(torch.autograd.Function):
    """y = relu(x) · keep / (1 - p); the backward needs only y (y > 0 ⇔ kept and positive)."""

    @staticmethod
    def forward(ctx, x, keep, scale):
        y = torch.relu(x)
        if keep is not None:
            y.masked_fill_(keep.logical_not_(), 0.0).mul_(scale)
        ctx.save_for_backward(y)
        ctx.scale = scale
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(grad, y, 0.0).mul_(ctx.scale), None, None


def _keep_mask(shape, p: float, device) -> torch.Tensor | None:
    """keep = random byte >= 256·p; the bytes come 8 at a time from full-range int64 draws
    (3x cheaper than one draw per byte)."""
    threshold = round(p * 256)
    if threshold == 0:
        return None
    n = math.prod(shape)
    words = torch.empty((n + 7) // 8, dtype=torch.int64, device=device).random_(-(2**63), None)
    return words.view(torch.uint8)[:n].view(shape) >= threshold


def relu_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """ReLU then dropout (rate ``p``) as one step; in eval mode just ReLU."""
    if not training or p == 0:
        return torch.relu(x)
    if abs(p * 256 - round(p * 256)) > 1e-9 or p >= 1:
        return F.dropout(torch.relu(x), p, True)
    return _ReluDropout.apply(x, _keep_mask(x.shape, p, x.device), 1.0 / (1.0 - p))


def frame_major(model: torch.nn.Module) -> torch.nn.Module:
    """Store each convolution weight (C', C, w) frame-major in memory, i.e. as the (C', w, C)
    array :func:`_matrix` reads, so that reading it is a view and its gradients come back in
    the parameter's own layout (no copies; DistributedDataParallel's buckets match). Shapes,
    names and values are unchanged."""
    for m in model.modules():
        if isinstance(m, torch.nn.Conv1d) and m.kernel_size[0] > 1:
            m.weight.data = m.weight.data.permute(0, 2, 1).contiguous().permute(0, 2, 1)
    return model


def _matrix(conv: torch.nn.Conv1d) -> torch.Tensor:
    """Conv1d weight (C', C, w) as the (C', w·C) matrix that multiplies frame-major windows."""
    w = conv.weight
    if w.shape[2] == 1:
        return w.flatten(1)
    return w.permute(0, 2, 1).reshape(w.shape[0], -1)


def _bn(x: torch.Tensor, bn: torch.nn.BatchNorm1d, training: bool, sync: bool = False) -> torch.Tensor:
    """Batch norm over the rows of channels-last activations (N, T, C); ``sync``: with
    statistics over the rows of every process (distributed training)."""
    flat = x.reshape(-1, x.shape[-1])
    if training and sync:
        return global_batch_norm(flat, bn).view(x.shape)
    y = F.batch_norm(flat, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                     training, bn.momentum if bn.momentum is not None else 0.0, bn.eps)
    return y.view(x.shape)


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) with its gradient: the sum of the gradients over processes."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def global_batch_norm(flat: torch.Tensor, bn: torch.nn.BatchNorm1d) -> torch.Tensor:
    """Training-mode batch norm of (rows, C) with statistics over every process's rows."""
    x = flat.float()
    c = x.shape[1]
    local = torch.cat([x.sum(0), (x * x).sum(0), x.new_tensor([x.shape[0]])])
    total = _SumOverProcesses.apply(local)
    n = total[-1]
    mean = total[:c] / n
    var = (total[c:2 * c] / n - mean * mean).clamp_min(0)
    with torch.no_grad():
        m = bn.momentum if bn.momentum is not None else 0.0
        bn.running_mean.lerp_(mean.detach(), m)
        bn.running_var.lerp_(var.detach() * n / (n - 1).clamp_min(1), m)
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    return (x * scale + (bn.bias - mean * scale)).to(flat.dtype)


def _update_bn_count(bn: torch.nn.BatchNorm1d, training: bool) -> None:
    if training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)


def strided_features(model, x: torch.Tensor) -> torch.Tensor:
    """The trunk of a :class:`~.temporal.TemporalModelStrided` on clips (N, rf, J, 2),
    channels-last: features (N, 1, C) of the one output frame."""
    training = model.training
    p = model.cfg.dropout
    n, t = x.shape[:2]
    fw = model.filter_widths

    def conv_bn_act(x, conv, bn, w):
        y = F.linear(x.reshape(n, x.shape[1] // w, w * x.shape[2]), _matrix(conv))
        _update_bn_count(bn, training)
        return relu_dropout(_bn(y, bn, training, model.sync_bn), p, training)

    x = conv_bn_act(x.reshape(n, t, -1), model.expand_conv, model.expand_bn, fw[0])
    for i, w in enumerate(fw[1:]):
        res = x[:, model.causal_shifts[i + 1] + w // 2 :: w]
        x = conv_bn_act(x, model.layers_conv[2 * i], model.layers_bn[2 * i], w)
        x = res + conv_bn_act(x, model.layers_conv[2 * i + 1], model.layers_bn[2 * i + 1], 1)
    return x


def strided_forward(model, x: torch.Tensor) -> torch.Tensor:
    """The whole strided lifter on the fast path: (N, rf, J_in, 2) → (N, 1, J_out, 3)."""
    model._check_input(x)
    f = strided_features(model, x)
    y = F.linear(f, _matrix(model.shrink), model.shrink.bias)
    return y.reshape(x.shape[0], 1, model.cfg.joints_out, 3)
