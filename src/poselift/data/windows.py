"""Clip sampling for training and sequence padding for inference.

Sequences of any length are concatenated into one array; a training clip is a row of
indices into it. Indices outside a sequence are clamped to its first/last frame, which is
replicate padding at the sequence ends (and only there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton, flip_pose


def pad_sequence(x: np.ndarray, receptive_field: int, causal_shift: int = 0) -> np.ndarray:
    """Replicate-pad a sequence (T, ...) along time so the dilated model outputs T frames."""
    pad = (receptive_field - 1) // 2
    widths = [(pad + causal_shift, pad - causal_shift)] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, widths, mode="edge")


def pad_sequence_torch(x: torch.Tensor, receptive_field: int, causal_shift: int = 0, dim: int = 1) -> torch.Tensor:
    """Replicate-pad a tensor along ``dim`` (torch twin of :func:`pad_sequence`)."""
    pad = (receptive_field - 1) // 2
    left, right = pad + causal_shift, pad - causal_shift
    n = x.shape[dim]
    idx = torch.clamp(torch.arange(-left, n + right, device=x.device), 0, n - 1)
    return x.index_select(dim, idx)


@dataclass
class Batch:
    inputs_2d: torch.Tensor  # (B, L_in, J_in, 2)
    targets_3d: torch.Tensor | None  # (B, L_out, J_out, 3)
    index: np.ndarray  # (B,) pair indices, for bookkeeping


class ClipSampler:
    """Draws training clips from all sequences, shuffled across sequences each epoch.

    ``inputs`` and ``targets`` are lists of per-sequence arrays (T_i, J, 2) and (T_i, J, 3).
    Each clip predicts ``chunk`` consecutive frames (1 for the strided twin) from
    ``receptive_field + chunk - 1`` input frames. With ``flip`` each clip also appears as
    its mirrored copy (so an epoch holds twice as many clips). ``frame_stride`` keeps every
    n-th target frame only. The order of an epoch depends on ``(seed, epoch)`` only, so
    training can resume mid-epoch exactly.
    """

    def __init__(
        self,
        inputs: list[np.ndarray],
        targets: list[np.ndarray] | None,
        receptive_field: int,
        causal_shift: int = 0,
        chunk: int = 1,
        flip: bool = True,
        frame_stride: int = 1,
        skeleton_in: Skeleton = H36M17,
        skeleton_out: Skeleton = H36M17,
    ):
        if not inputs:
            raise PoseliftError("no training sequences")
        if targets is not None and len(targets) != len(inputs):
            raise PoseliftError(f"{len(inputs)} input sequences but {len(targets)} target sequences")
        lengths = np.array([len(s) for s in inputs], dtype=np.int64)
        if targets is not None:
            for i, (a, b) in enumerate(zip(inputs, targets)):
                if len(a) != len(b):
                    raise PoseliftError(f"sequence {i}: {len(a)} 2D frames but {len(b)} 3D frames")
        self.inputs = torch.from_numpy(np.ascontiguousarray(np.concatenate(inputs).astype(np.float32)))
        self.targets = (
            None if targets is None else torch.from_numpy(np.ascontiguousarray(np.concatenate(targets).astype(np.float32)))
        )
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.lengths = lengths
        self.receptive_field = receptive_field
        self.pad = (receptive_field - 1) // 2
        self.causal_shift = causal_shift
        self.chunk = chunk
        self.flip = flip
        self.skeleton_in, self.skeleton_out = skeleton_in, skeleton_out
        seq, t = [], []
        for i, n in enumerate(lengths):
            frames = np.arange(0, n, chunk * frame_stride)
            seq.append(np.full(len(frames), i))
            t.append(frames)
        seq, t = np.concatenate(seq), np.concatenate(t)
        if flip:
            self.pairs_seq = np.concatenate([seq, seq])
            self.pairs_t = np.concatenate([t, t])
            self.pairs_flip = np.concatenate([np.zeros(len(t), bool), np.ones(len(t), bool)])
        else:
            self.pairs_seq, self.pairs_t, self.pairs_flip = seq, t, np.zeros(len(t), bool)
        self.in_offsets = np.arange(-self.pad - causal_shift, chunk + self.pad - causal_shift)
        self.out_offsets = np.arange(chunk)

    @property
    def num_frames(self) -> int:
        return int(self.lengths.sum())

    def __len__(self) -> int:
        """Clips per epoch (flipped copies included)."""
        return len(self.pairs_seq)

    def batches_per_epoch(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def epoch_order(self, seed: int, epoch: int) -> np.ndarray:
        return np.random.default_rng([seed, epoch]).permutation(len(self))

    def _gather(self, pair_idx: np.ndarray, offsets: np.ndarray, data: torch.Tensor) -> torch.Tensor:
        seq = self.pairs_seq[pair_idx]
        t = self.pairs_t[pair_idx][:, None] + offsets[None, :]
        t = np.clip(t, 0, self.lengths[seq][:, None] - 1) + self.starts[seq][:, None]
        return data[torch.from_numpy(t)]

    def batch(self, pair_idx: np.ndarray) -> Batch:
        x = self._gather(pair_idx, self.in_offsets, self.inputs)
        y = None if self.targets is None else self._gather(pair_idx, self.out_offsets, self.targets)
        flip = torch.from_numpy(self.pairs_flip[pair_idx])
        if flip.any():
            x[flip] = flip_pose(x[flip], self.skeleton_in)
            if y is not None:
                y[flip] = flip_pose(y[flip], self.skeleton_out)
        return Batch(x, y, pair_idx)

    def iter_epoch(self, seed: int, epoch: int, batch_size: int, start_batch: int = 0, limit: int | None = None):
        """Yield the batches of one epoch from ``start_batch``; at most ``limit`` clips in all."""
        order = self.epoch_order(seed, epoch)
        drawn = 0
        for b in range(start_batch, self.batches_per_epoch(batch_size)):
            idx = order[b * batch_size : (b + 1) * batch_size]
            if limit is not None:
                if drawn >= limit:
                    return
                idx = idx[: limit - drawn]
            drawn += len(idx)
            yield b, self.batch(idx)
