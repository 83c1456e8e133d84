"""Multi-view consistent semi-supervised training (MCSS; Mitra et al., CVPR 2020) on 2D keypoints.

Synchronised views of the same motion give free supervision: the same instant seen by two
cameras is the same pose. A :class:`~poselift.models.embedding.PoseEmbedder` maps a 2D
window to a unit vector and regresses the 3D pose from it. Each step draws instants; each
instant is seen from two different cameras (anchor and positive), and

* the **multi-view loss** pulls anchor and positive together and pushes the anchor away
  from its hardest negative in the batch: the closest embedding (of either view) of an
  instant of another clip, or of the same clip more than ``window`` frames away (frames
  close in time look alike and are not true negatives) that is still farther than the
  positive (semi-hard; ``mining="hardest"`` drops that condition and collapses). Triplet hinge with ``margin`` on
  squared distances of unit vectors. It sees embeddings, clip ids and frame numbers only:
  never a camera parameter (the views may be uncalibrated);
* the **pose loss** (MPJPE) applies to the labeled instants only: a contiguous, seeded
  stretch of ``label_fraction`` of each clip, drawn in batches of their own (so the pose
  head sees as many labeled clips per step whatever the fraction).

With ``multiview_weight`` 0 the same network is trained on the labeled batches alone
(the supervised-only baseline, at the same budget of labeled clips). With ``back_projection`` a trajectory model trains beside
the embedder and the unlabeled instants of each batch also get the back-projection terms
of :mod:`.backprojection` (as in :mod:`.semi`: reprojection through the intrinsics, bone length) after ``warmup`` epochs. Clips and their mirrored copies (both views mirrored)
come in an order fixed by (seed, epoch), views by (seed, epoch, batch), so ``resume`` is
exact, as for every trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import TrainConfig
from ..data.dataset import SequenceSet, subset_slice
from ..data.windows import ClipSampler, to_device
from ..errors import PoseliftError
from ..metrics import mpjpe
from ..models.temporal import causal_shift, receptive_field
from ..skeleton import get_skeleton
from .backprojection import BackProjection, build_pair, labeled_terms, pair_exports
from .supervised import Trainer


@dataclass
class MultiviewBatch:
    """``B`` instants seen twice: rows 0..B-1 the anchors' view, B..2B-1 the positives'."""

    inputs_2d: torch.Tensor  # (2B, L_in, J_in, 2)
    targets_3d: torch.Tensor  # (2B, L_out, J_out, 3); meaningful where ``labeled``
    labeled: torch.Tensor  # (2B,) bool
    clip: torch.Tensor  # (2B,) clip (group) id
    frame: torch.Tensor  # (2B,) frame number within the clip
    index: np.ndarray  # (B,) item indices, for bookkeeping
    intrinsics: torch.Tensor | None = None  # (2B, 9): back-projection only, never the multi-view loss
    roots_3d: torch.Tensor | None = None  # (2B, L_out, 1, 3) camera-frame root; meaningful where ``labeled``

    def __len__(self) -> int:
        return len(self.index)

    def take(self, n: int) -> "MultiviewBatch":
        b = len(self)
        rows = torch.cat([torch.arange(n), torch.arange(b, b + n)])
        pick = (lambda t: None if t is None else t[rows])
        return MultiviewBatch(self.inputs_2d[rows], self.targets_3d[rows], self.labeled[rows], self.clip[rows],
                              self.frame[rows], self.index[:n], pick(self.intrinsics), pick(self.roots_3d))


def group_views(data: SequenceSet) -> list[list[int]]:
    """Sequence indices of each clip's synchronised views (same subject and clip name)."""
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(data.meta):
        groups.setdefault((m.get("subject"), m.get("clip")), []).append(i)
    out = list(groups.values())
    for g in out:
        if len({len(data.inputs_2d[i]) for i in g}) != 1:
            raise PoseliftError(f"the views of clip {data.meta[g[0]].get('clip')} differ in length")
    return out


class MultiviewSampler:
    """Instants of synchronised multi-view clips, each drawn with two different views."""

    def __init__(self, data: SequenceSet, cfg: TrainConfig, labeled_only: bool = False):
        self.groups = [g for g in group_views(data) if len(g) >= 2]
        if not self.groups:
            raise PoseliftError("multi-view training needs clips seen by at least two cameras")
        rf = receptive_field(cfg.model.filter_widths)
        self.clips = ClipSampler(
            data.inputs_2d, data.targets_3d, rf, causal_shift(cfg.model.filter_widths, cfg.model.causal),
            flip=False, skeleton_in=get_skeleton(data.skeleton_in), skeleton_out=get_skeleton(data.skeleton_out),
            intrinsics=data.intrinsics if len(data.intrinsics) == len(data) else None,
            roots=data.roots_3d if len(data.roots_3d) == len(data) else None)
        self.views = [np.array(g) for g in self.groups]
        lengths = [len(data.inputs_2d[g[0]]) for g in self.groups]
        gid, frame, labeled = [], [], []
        for g, (seqs, n) in enumerate(zip(self.groups, lengths)):
            m = data.meta[seqs[0]]
            mask = np.zeros(n, bool)
            mask[subset_slice(n, cfg.label_fraction, f"{m.get('subject')}/{m.get('clip')}", cfg.seed)] = True
            keep = np.flatnonzero(mask) if labeled_only else np.arange(n)
            gid.append(np.full(len(keep), g))
            frame.append(keep)
            labeled.append(mask[keep])
        gid, frame, labeled = np.concatenate(gid), np.concatenate(frame), np.concatenate(labeled)
        copies = 2 if cfg.flip else 1
        self.item_group = np.tile(gid, copies)
        self.item_frame = np.tile(frame, copies)
        self.item_labeled = np.tile(labeled, copies)
        self.item_flip = np.repeat(np.arange(copies) == 1, len(gid))
        self.labeled_frames = int(labeled.sum())
        self.num_frames = len(gid)  # instants (each seen by every view of its clip)

    def __len__(self) -> int:
        return len(self.item_group)

    def batches_per_epoch(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def batch(self, items: np.ndarray, rng: np.random.Generator) -> MultiviewBatch:
        g = self.item_group[items]
        n_views = np.array([len(self.views[k]) for k in g])
        first = rng.integers(0, n_views)
        second = (first + 1 + rng.integers(0, n_views - 1)) % n_views  # another view
        seq = np.concatenate([[self.views[k][v] for k, v in zip(g, first)],
                              [self.views[k][v] for k, v in zip(g, second)]]).astype(np.int64)
        t = np.tile(self.item_frame[items], 2)
        flip = np.tile(self.item_flip[items], 2)
        x, y, root, cam = self.clips.windows(seq, t, flip)
        return MultiviewBatch(x, y, torch.from_numpy(np.tile(self.item_labeled[items], 2)),
                              torch.from_numpy(np.tile(g, 2)), torch.from_numpy(t), items, cam, root)

    def _batch_at(self, order: np.ndarray, seed: int, epoch: int, b: int, batch_size: int) -> MultiviewBatch:
        rng = np.random.default_rng([seed, epoch, b, 1])  # the views drawn
        return self.batch(order[b * batch_size : (b + 1) * batch_size], rng)

    def iter_epoch(self, seed: int, epoch: int, batch_size: int, start_batch: int = 0):
        order = np.random.default_rng([seed, epoch]).permutation(len(self))
        for b in range(start_batch, self.batches_per_epoch(batch_size)):
            yield b, self._batch_at(order, seed, epoch, b, batch_size)

    def batch_number(self, seed: int, k: int, batch_size: int) -> MultiviewBatch:
        """The ``k``-th batch of an endless stream of epochs (its position: one counter)."""
        epoch, b = divmod(k, self.batches_per_epoch(batch_size))
        return self._batch_at(np.random.default_rng([seed, epoch]).permutation(len(self)), seed, epoch, b, batch_size)


MINING = ("semihard", "hardest")


def hardest_negatives(anchors: torch.Tensor, candidates: torch.Tensor, clip_a: torch.Tensor, frame_a: torch.Tensor,
                      clip_c: torch.Tensor, frame_c: torch.Tensor, window: int,
                      beyond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each anchor (A, D), the closest candidate (C, D) that is a valid negative: not of
    the same clip within ``window`` frames. With ``beyond`` (A,) (semi-hard mining) only
    candidates farther than that squared distance count, where an anchor has any; the
    hardest valid one otherwise. Returns (squared distances (A,), indices (A,)); distance
    ``inf`` (index 0) where an anchor has no valid negative."""
    d = torch.cdist(anchors, candidates).square()
    near = (clip_c[None, :] == clip_a[:, None]) & ((frame_c[None, :] - frame_a[:, None]).abs() <= window)
    d = d.masked_fill(near, float("inf"))
    if beyond is None:
        return d.min(dim=1)
    far = d.masked_fill(d <= beyond[:, None], float("inf")).min(dim=1)
    hard = d.min(dim=1)
    use_far = torch.isfinite(far.values)
    return torch.where(use_far, far.values, hard.values), torch.where(use_far, far.indices, hard.indices)


def multiview_loss(embeddings: torch.Tensor, clip: torch.Tensor, frame: torch.Tensor, window: int,
                   margin: float, mining: str = "semihard") -> torch.Tensor:
    """Triplet loss over a batch of 2B unit embeddings (anchors, then their positives).

    The anchor's positive is the same instant in the other view; its negative the hardest
    valid one among all 2B embeddings (``hardest``), or the hardest that is still farther
    than the positive (``semihard``, FaceNet's rule; the hardest where there is none).
    Hardest-only mining from the first step collapses the embedding here: every distance
    shrinks towards 0 and the loss sits at the margin (``benchmarks/multiview.py`` prints
    the distances)."""
    if mining not in MINING:
        raise PoseliftError(f"mining must be one of {', '.join(MINING)}, got {mining!r}")
    b = embeddings.shape[0] // 2
    anchors, positives = embeddings[:b], embeddings[b:]
    d_pos = (anchors - positives).square().sum(-1)
    beyond = d_pos.detach() if mining == "semihard" else None
    d_neg, _ = hardest_negatives(anchors, embeddings, clip[:b], frame[:b], clip, frame, window, beyond)
    ok = torch.isfinite(d_neg)
    if not ok.any():
        return embeddings.sum() * 0.0
    return torch.relu(d_pos[ok] - d_neg[ok] + margin).mean()


class MultiviewTrainer(Trainer):
    """Joint training of the embedding (multi-view loss) and its pose head (labeled instants).

    Each step takes a batch of labeled instants (pose loss; the epoch is one pass over them,
    as in semi-supervised training) and, unless ``multiview_weight`` is 0, the next batch
    of the endless stream of all instants (multi-view loss; with ``back_projection`` also
    the back-projection terms on its unlabeled instants after ``warmup`` epochs). Both go
    through the network as one batch (shared batch-norm statistics).
    """

    distributed_ok = False

    def __init__(self, cfg: TrainConfig, data: SequenceSet | None = None, progress: bool = True):
        if cfg.model.embed_dim < 1:
            raise PoseliftError("multi-view training needs an embedding size: --embed-dim N")
        if cfg.target != "pose":
            raise PoseliftError("multi-view training trains a pose embedder: drop --target")
        super().__init__(cfg, data, progress)
        self.stream = MultiviewSampler(self.data, cfg) if self.uses_stream else None
        if cfg.back_projection:
            self.back_projection = BackProjection(cfg, self.data.skeleton_in, self.data.skeleton_out)

    @property
    def uses_stream(self) -> bool:
        return self.cfg.multiview_weight > 0 or self.cfg.back_projection

    def make_sampler(self):
        return MultiviewSampler(self.data, self.cfg, labeled_only=True)

    def build_network(self):
        if self.cfg.back_projection:
            return build_pair(self.cfg)
        return super().build_network()

    def exports(self):
        if self.cfg.back_projection:
            return pair_exports(self)
        return super().exports()

    def _meta(self) -> dict:
        return dict(super()._meta(), training="multiview", labeled_frames=self.sampler.labeled_frames,
                    instants=self.stream.num_frames if self.stream else self.sampler.num_frames)

    def stream_batch(self) -> MultiviewBatch:
        k = self.state.unlabeled_batches
        self.state.unlabeled_batches += 1
        return to_device(self.stream.batch_number(self.cfg.seed + 1, k, self.cfg.batch_size), self.device)

    def losses(self, batch: MultiviewBatch) -> dict[str, torch.Tensor]:
        """The raw terms: pose (and with back-projection trajectory, reprojection, bone length)
        and, unless ``multiview_weight`` is 0, the multi-view loss, unweighted (weighted by
        :meth:`~poselift.train.supervised.Trainer.loss_weights` in :meth:`step`)."""
        cfg, bp = self.cfg, self.cfg.back_projection
        mv = self.stream_batch() if self.uses_stream else None
        x = batch.inputs_2d if mv is None else torch.cat([batch.inputs_2d, mv.inputs_2d])
        n = len(batch.inputs_2d)  # labeled rows (both views)
        embedder = self.model.pose if bp else self.model
        emb, pose = embedder.embed_and_pose(x)  # (N, 1, D), (N, 1, J, 3)
        if bp:
            K = batch.intrinsics if mv is None else torch.cat([batch.intrinsics, mv.intrinsics])
            traj = self.model.trajectory(BackProjection.trajectory_input(x, K))
            terms = labeled_terms(pose[:n], traj[:n], batch.targets_3d, batch.roots_3d)
            un = ~mv.labeled
            if self.state.epoch >= cfg.warmup and un.any():
                terms.update(self.back_projection.terms(pose[:n], pose[n:][un], traj[n:][un], mv.intrinsics[un],
                                                        mv.inputs_2d[un]))
        else:
            terms = {"pose": mpjpe(pose[:n], batch.targets_3d)}
        if cfg.multiview_weight > 0:  # raw: Trainer.step weighs it by multiview_weight (loss_weights)
            terms["multiview"] = multiview_loss(emb[n:, 0], mv.clip, mv.frame, cfg.window, cfg.margin, cfg.mining)
        return terms
