"""Clip sampling for training and sequence padding for inference.

Sequences of any length are concatenated into one array; a training clip is a row of
indices into it. Indices outside a sequence are clamped to its first/last frame, which is
replicate padding at the sequence ends (and only there).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ..camera import flip_intrinsics
from ..errors import PoseliftError
from ..skeleton import H36M17, ROOT1, Skeleton, flip_pose


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
    roots_3d: torch.Tensor | None = None  # (B, L_out, 1, 3) camera-frame root, when the sampler has them
    intrinsics: torch.Tensor | None = None  # (B, 9) normalised camera intrinsics, when the sampler has them

    def __len__(self) -> int:
        return len(self.index)

    def take(self, rows: int | slice) -> "Batch":
        """The first ``rows`` clips (or a slice of them)."""
        sl = slice(0, rows) if isinstance(rows, int) else rows
        cut = (lambda t: None if t is None else t[sl])
        return Batch(self.inputs_2d[sl], cut(self.targets_3d), self.index[sl], cut(self.roots_3d),
                     cut(self.intrinsics))


def to_device(batch, device: torch.device):
    """A batch (any dataclass of tensors and arrays) with its tensors on ``device``."""
    if device.type == "cpu":
        return batch
    moved = {f.name: getattr(batch, f.name).to(device, non_blocking=True)
             for f in dataclasses.fields(batch) if isinstance(getattr(batch, f.name), torch.Tensor)}
    return dataclasses.replace(batch, **moved)


class ClipSampler:
    """Draws training clips from all sequences, shuffled across sequences each epoch.

    ``inputs`` and ``targets`` are lists of per-sequence arrays (T_i, J, 2) and (T_i, J, 3).
    Each clip predicts ``chunk`` consecutive frames (1 for the strided twin) from
    ``receptive_field + chunk - 1`` input frames. With ``flip`` each clip also appears as
    its mirrored copy (so an epoch holds twice as many clips). ``frame_stride`` keeps every
    n-th target frame only. The order of an epoch depends on ``(seed, epoch)`` only, so
    training can resume mid-epoch exactly. Optional ``roots`` (per-sequence (T_i, 1, 3)) and
    ``intrinsics`` (per-sequence (9,)) travel with each clip, mirrored with it.
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
        roots: list[np.ndarray] | None = None,
        intrinsics: list[np.ndarray] | None = None,
    ):
        if not inputs:
            raise PoseliftError("no training sequences")
        for name, other in (("target", targets), ("root", roots), ("camera", intrinsics)):
            if other is not None and len(other) != len(inputs):
                raise PoseliftError(f"{len(inputs)} input sequences but {len(other)} {name} sequences")
        lengths = np.array([len(s) for s in inputs], dtype=np.int64)
        if targets is not None:
            for i, (a, b) in enumerate(zip(inputs, targets)):
                if len(a) != len(b):
                    raise PoseliftError(f"sequence {i}: {len(a)} 2D frames but {len(b)} 3D frames")
        self.inputs = torch.from_numpy(np.ascontiguousarray(np.concatenate(inputs).astype(np.float32)))
        concat = (lambda seqs: None if seqs is None else
                  torch.from_numpy(np.ascontiguousarray(np.concatenate(seqs).astype(np.float32))))
        self.targets = concat(targets)
        self.roots = concat(roots)
        if roots is not None and len(self.roots) != len(self.inputs):
            raise PoseliftError("root trajectories and 2D inputs differ in length")
        self.intrinsics = (None if intrinsics is None else
                           torch.from_numpy(np.stack(intrinsics).astype(np.float32)))
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

    def _gather(self, seq: np.ndarray, t0: np.ndarray, offsets: np.ndarray, data: torch.Tensor) -> torch.Tensor:
        t = t0[:, None] + offsets[None, :]
        t = np.clip(t, 0, self.lengths[seq][:, None] - 1) + self.starts[seq][:, None]
        return data[torch.from_numpy(t)]

    def windows(self, seq: np.ndarray, t: np.ndarray, flip: np.ndarray) -> tuple:
        """Clips predicting frame(s) ``t`` of sequences ``seq``, mirrored where ``flip``:
        (inputs, targets or None, roots or None, intrinsics or None)."""
        x = self._gather(seq, t, self.in_offsets, self.inputs)
        y = None if self.targets is None else self._gather(seq, t, self.out_offsets, self.targets)
        root = None if self.roots is None else self._gather(seq, t, self.out_offsets, self.roots)
        cam = None if self.intrinsics is None else self.intrinsics[torch.from_numpy(seq)]
        flip = torch.from_numpy(np.asarray(flip, dtype=bool))
        if flip.any():
            x[flip] = flip_pose(x[flip], self.skeleton_in)
            if y is not None:
                y[flip] = flip_pose(y[flip], self.skeleton_out)
            if root is not None:
                root[flip] = flip_pose(root[flip], ROOT1)
            if cam is not None:
                cam[flip] = flip_intrinsics(cam[flip])
        return x, y, root, cam

    def batch(self, pair_idx: np.ndarray) -> Batch:
        x, y, root, cam = self.windows(self.pairs_seq[pair_idx], self.pairs_t[pair_idx], self.pairs_flip[pair_idx])
        return Batch(x, y, pair_idx, root, cam)

    def batch_number(self, seed: int, k: int, batch_size: int) -> Batch:
        """The ``k``-th batch of an endless stream of epochs (epoch ``k // batches_per_epoch``).

        Used for the unlabeled stream of semi-supervised training, whose position is then a
        single counter that a checkpoint can hold.
        """
        per = self.batches_per_epoch(batch_size)
        epoch, b = divmod(k, per)
        order = self.epoch_order(seed, epoch)
        return self.batch(order[b * batch_size : (b + 1) * batch_size])

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
