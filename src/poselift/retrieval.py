"""View-invariant pose retrieval: queries from one camera, gallery from the others.

A retrieval is a **hit** when the retrieved frame's 3D pose is within ``threshold`` (0.1)
of the query's after both are normalised (centred, scaled to unit root-mean-square joint
distance from their centroid) and the retrieved one is Procrustes-aligned (rotation,
translation, scale) to the query: the NP-MPJPE of the Pr-VIPE benchmark (Sun et al.,
ECCV 2020). Hit@k: at least one hit among the k nearest gallery embeddings. Also the mean
P-MPJPE (mm) of the top-1 retrieval. The embeddings compared may be a pose embedder's
(:class:`~poselift.models.embedding.PoseEmbedder`) or raw normalised 2D keypoints (the
floor any learned embedding must beat).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .data.bench import BenchSubject
from .data.windows import pad_sequence_torch
from .errors import PoseliftError
from .metrics import p_mpjpe_frames, procrustes_align

KS = (1, 10, 20)
THRESHOLD = 0.1


def normalize_pose(p: np.ndarray) -> np.ndarray:
    """Centre poses (..., J, D) on their centroid and scale to unit RMS joint distance."""
    p = np.asarray(p, dtype=np.float64)
    p = p - p.mean(-2, keepdims=True)
    rms = np.sqrt((p**2).sum(-1).mean(-1))[..., None, None]
    return p / np.maximum(rms, 1e-9)


def np_mpjpe(query: np.ndarray, retrieved: np.ndarray) -> np.ndarray:
    """NP-MPJPE per pair (...): normalised, ``retrieved`` Procrustes-aligned to ``query``."""
    q, r = normalize_pose(query), normalize_pose(retrieved)
    return np.linalg.norm(procrustes_align(r, q) - q, axis=-1).mean(-1)


def keypoint_embedding(x2d: np.ndarray) -> np.ndarray:
    """The floor: 2D keypoints (T, J, 2) normalised per frame, flattened (T, 2J)."""
    return normalize_pose(x2d).reshape(len(x2d), -1).astype(np.float32)


@torch.no_grad()
def embed_sequence(model, x2d: np.ndarray) -> np.ndarray:
    """Unit embeddings (T, D) of a normalised 2D sequence (T, J, 2), one per frame
    (replicate-padded ends, as for lifting)."""
    x = torch.as_tensor(np.asarray(x2d, dtype=np.float32))
    if x.ndim != 3 or len(x) == 0:
        raise PoseliftError(f"expected a sequence (frames, joints, 2), got {tuple(x.shape)}")
    x = pad_sequence_torch(x, model.receptive_field, model.total_causal_shift, dim=0)[None]
    return model.embed(x)[0].numpy()


@dataclass
class Gallery:
    """Per-frame embeddings of every camera view: ``embeddings[c]`` (F, D), ``poses`` (F, J, 3)."""

    embeddings: list[np.ndarray]
    poses: np.ndarray  # 3D in one frame shared by all cameras (world), metres


def bench_gallery(subjects: list[BenchSubject], embed, input_kind: str = "gt", progress: bool = True,
                  layout: str = "h36m17") -> Gallery:
    """Embeddings of every frame of every camera of the benchmark subjects (all clips
    concatenated, each clip embedded on its own). ``embed`` maps a normalised 2D clip
    (T, J, 2) in ``layout`` to (T, D). All subjects must have the same number of cameras."""
    from .evaluate import bench_inputs

    n_cams = {len(s.cameras) for s in subjects}
    if len(n_cams) != 1:
        raise PoseliftError(f"subjects have different camera counts ({sorted(n_cams)})")
    per_cam: list[list[np.ndarray]] = [[] for _ in range(n_cams.pop())]
    poses = []
    jobs = [(s, ci, sl) for s in subjects for ci, *_, sl in s.clip_slices()]
    for subj, _, sl in tqdm(jobs, desc=f"embed ({input_kind})", disable=not progress, dynamic_ncols=True):
        world = subj.positions_3d_world[sl] if subj.positions_3d_world is not None else None
        if world is None:  # the camera-frame pose of camera 0 (retrieval aligns by rotation anyway)
            world = subj.positions_3d_camera[0, sl]
        poses.append(np.asarray(world, dtype=np.float32))
        for c in range(len(subj.cameras)):
            per_cam[c].append(embed(bench_inputs(subj, c, sl, input_kind, layout)))
    return Gallery([np.concatenate(e).astype(np.float32) for e in per_cam], np.concatenate(poses))


def nearest(queries: np.ndarray, gallery: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Indices (Q, k) of the ``k`` gallery rows nearest to each query (Euclidean)."""
    g = torch.from_numpy(np.ascontiguousarray(gallery))
    g2 = (g * g).sum(1)
    out = []
    for i in range(0, len(queries), chunk):
        q = torch.from_numpy(np.ascontiguousarray(queries[i : i + chunk]))
        d = g2[None, :] - 2 * q @ g.T  # |q|^2 is constant per row
        out.append(torch.topk(d, k, dim=1, largest=False).indices.numpy())
    return np.concatenate(out)


def retrieval_scores(gallery: Gallery, ks=KS, threshold: float = THRESHOLD, query_stride: int = 1) -> dict:
    """Hit@k per query camera and averaged, and the top-1 retrieval's P-MPJPE (mm).

    Queries: every ``query_stride``-th frame of camera c; gallery: every frame of the others."""
    n_cams = len(gallery.embeddings)
    if n_cams < 2:
        raise PoseliftError("retrieval needs at least two cameras")
    n = len(gallery.poses)
    per_camera = {}
    for c in range(n_cams):
        others = [o for o in range(n_cams) if o != c]
        g_emb = np.concatenate([gallery.embeddings[o] for o in others])
        frames = np.tile(np.arange(n), len(others))  # gallery row → frame (for its 3D pose)
        q_idx = np.arange(0, n, query_stride)
        top = nearest(gallery.embeddings[c][q_idx], g_emb, max(ks))
        q_pose = gallery.poses[q_idx]
        err = np.stack([np_mpjpe(q_pose, gallery.poses[frames[top[:, j]]]) for j in range(top.shape[1])], 1)
        hit = err < threshold
        scores = {f"hit@{k}": float(hit[:, :k].any(1).mean() * 100) for k in ks}
        scores["top1_p_mpjpe"] = float(p_mpjpe_frames(gallery.poses[frames[top[:, 0]]], q_pose).mean() * 1000)
        scores["queries"] = len(q_idx)
        per_camera[str(c)] = scores
    keys = [f"hit@{k}" for k in ks] + ["top1_p_mpjpe"]
    mean = {k: float(np.mean([v[k] for v in per_camera.values()])) for k in keys}
    return {**mean, "per_camera": per_camera, "threshold": threshold}


def same_instant_hit_rate(views: list[np.ndarray], tolerance: int = 2) -> dict:
    """Cross-view retrieval of the same instant in synchronised views ``views[c]`` (T, D):
    for each frame of each view, the nearest frame among the other views' frames; a hit
    when it is the same instant within ``tolerance`` frames. Hit@1 per query view and mean."""
    lengths = {len(v) for v in views}
    if len(lengths) != 1:
        raise PoseliftError(f"synchronised views differ in length ({sorted(lengths)})")
    n = lengths.pop()
    per_view = {}
    for c in range(len(views)):
        others = [o for o in range(len(views)) if o != c]
        g = np.concatenate([views[o] for o in others])
        frames = np.tile(np.arange(n), len(others))
        top = nearest(views[c], g, 1)[:, 0]
        per_view[str(c)] = float((np.abs(frames[top] - np.arange(n)) <= tolerance).mean() * 100)
    return {"hit@1": float(np.mean(list(per_view.values()))), "per_view": per_view, "tolerance": tolerance}


def video_inputs(path, layout: str = "coco17", progress: bool = False, norm: str = "screen") -> np.ndarray:
    """A video through the 2D detector, gaps filled, in ``layout``, normalised as ``norm`` says
    (the embedder's ``input_norm``, :mod:`poselift.encode`): (T, J, 2)."""
    from .detect.fill import fill_gaps
    from .encode import InputEncoder
    from .infer import load_input
    from .skeleton import h36m17_from_coco17

    seq, _ = fill_gaps(load_input(path, progress=progress))
    kp = seq.keypoints
    if layout != seq.layout:
        if (seq.layout, layout) != ("coco17", "h36m17"):
            raise PoseliftError(f"cannot convert {seq.layout} keypoints to {layout}", path)
        kp, _ = h36m17_from_coco17(kp, seq.scores)
    return InputEncoder(norm, seq.width, seq.height).encode(kp)
