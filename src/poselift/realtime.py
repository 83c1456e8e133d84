"""Real-time lifting (``poselift infer --realtime``): each frame is lifted as it arrives.

Frames come from a video file, a camera (``0`` → ``/dev/video0``), a network stream
(``rtsp://...``, ``http://...``) or a keypoint file replayed frame by frame. Each frame goes
through the 2D detector (videos), a causal gap filler (a missing joint keeps its last seen
position, or its mirrored partner's until it has one), and two :class:`~poselift.stream.Stream`
s: the pose lifter and, where one is bundled for the layout, the root trajectory model —
with flip averaging as a batch of two. A symmetric model answers ``latency`` frames late
(13 frames, 0.43 s at 30 fps, for the bundled 27-frame models); a causal one at once.

Without gaps the result equals the offline pipeline's to rounding (tested): the streams
pad the start and the end as the offline padding does.

Threads: the lifting runs on one torch thread by default (``threads=1``, ``--threads``): a
frame's work is too small to share, and with more threads it stalls whenever other work
keeps the cores busy (:mod:`poselift.stream`; ``benchmarks/realtime_load.py``). The torch
setting is changed only while a frame is lifted and restored after it. Video sources bring
threads that torch's setting does not reach: FFmpeg's frame-threaded decoding, and the
MediaPipe detector's (each of its two graphs runs a scheduler pool of one thread per core;
the legacy API has no setting for it). The detector returns a frame's keypoints before the
frame is lifted, but its threads and the decoder's can still be at work meanwhile: on the bundled
clip the lifting took 7-10 ms per frame (p95) with one thread against 14-15 ms with two.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from .camera import normalize_screen_coordinates
from .errors import PoseliftError
from .skeleton import ROOT1, flip_pose, get_skeleton

LIVE = re.compile(r"^(\d+|[a-z][a-z0-9+.-]*://.+)$")


class CausalFill:
    """Missing joints (NaN or score below ``min_score``) from the past only."""

    def __init__(self, layout: str, min_score: float = 0.3):
        self.skeleton = get_skeleton(layout)
        self.min_score = min_score
        self.last: np.ndarray | None = None  # (J, 2), NaN where never seen
        self.filled = 0  # joints filled so far

    def __call__(self, kp: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
        """The frame's keypoints with every joint set, or None until anyone has been seen."""
        usable = np.isfinite(kp).all(-1) & (scores >= self.min_score)
        if self.last is None:
            if not usable.any():
                return None
            self.last = np.full_like(kp, np.nan, dtype=np.float64)
        out = np.where(usable[:, None], kp, self.last)
        missing = ~np.isfinite(out).all(-1)
        if missing.any():  # never seen yet: the mirrored joint, else the mean of the seen ones
            partner = np.asarray(self.skeleton.flip_permutation)
            out[missing] = out[partner][missing]
            still = ~np.isfinite(out).all(-1)
            out[still] = np.nanmean(out[~still], axis=0)
        self.filled += int((~usable).sum())
        self.last = np.where(usable[:, None], kp, self.last)
        return out


class RealtimeLifter:
    """Pixels of one frame in; the camera-frame 3D pose (root placed) of frame ``t - latency`` out.

    ``threads``: torch threads while a frame is lifted (None: torch's own setting). The
    default 1 is the fast one for this work: a frame is a few small matrix products (batch 2
    with flip averaging) of a 27-frame model, too small to split across threads; with more,
    each product waits for every thread at a barrier, and on a busy machine (a detector, a
    decoder, another process on every core) a thread that has lost its core stalls the frame
    for a scheduler time slice (``benchmarks/realtime_load.py``, 2 cores each kept busy by
    another process: 15-95 ms per frame median with two threads, 6-11 ms with one). The
    caller's thread count is restored after each :meth:`push` and :meth:`flush`, so offline
    work in the same process is not affected; the numbers do not depend on it beyond float
    rounding.
    """

    def __init__(self, layout: str, width: int, height: int, checkpoint=None, focal: float | None = None,
                 flip: bool = True, trajectory: str = "auto", min_score: float = 0.3, threads: int | None = 1):
        from .infer import Lifter, TrajectoryModel, default_intrinsics, trajectory_checkpoint
        from .stream import Stream, check_threads

        self.threads = check_threads(threads)

        self.layout, self.width, self.height, self.flip = layout, width, height, flip
        lifter = Lifter(checkpoint, layout=layout)  # checks the model is a Human3.6M-17 pose lifter
        if lifter.layout_in != layout:
            raise PoseliftError(f"the model takes {lifter.layout_in} keypoints but the input is {layout}", lifter.path)
        batch = 2 if flip else 1
        self.pose = Stream(lifter.model, batch=batch)
        traj_path = trajectory_checkpoint(layout, trajectory)
        self.trajectory = None if traj_path is None else Stream(TrajectoryModel(traj_path).model, batch=batch)
        if self.trajectory is not None and self.trajectory.latency != self.pose.latency:
            raise PoseliftError("the trajectory and pose models differ in latency")
        self.f, self.c = default_intrinsics(width, height, focal)
        self.skeleton = get_skeleton(layout)
        self.skeleton_out = get_skeleton("h36m17")
        self.latency = self.pose.latency
        self.fill = CausalFill(layout, min_score)
        self.recent: list[tuple[np.ndarray, np.ndarray]] = []  # inputs awaiting their output (latency)
        self.how = "model" if self.trajectory else "reprojection"

    def _batch(self, x: np.ndarray, skeleton) -> np.ndarray:
        return np.stack([x, flip_pose(x, skeleton)]) if self.flip else x

    def _unflip(self, y: np.ndarray, skeleton) -> np.ndarray:
        return (y[0] + flip_pose(y[1], skeleton)) / 2 if self.flip else y

    def _place(self, pose: np.ndarray, root: np.ndarray | None, kp: np.ndarray) -> np.ndarray:
        if root is not None:
            return pose + root
        from .root import root_by_reprojection

        uv = (kp.astype(np.float64) - self.c) / self.f
        return pose + root_by_reprojection(pose[None], uv[None], np.ones((1, len(kp))), self.layout)[0]

    def _emit(self, pose, root) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        kp, sc = self.recent.pop(0)
        pose = self._unflip(pose, self.skeleton_out)
        pose = pose - pose[:1]  # the root where the root model puts it, as offline
        root = None if root is None else self._unflip(root, ROOT1)
        return self._place(pose, root, kp), kp, sc

    def push(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """One frame's pixels (J, 2) and scores (J,); (3D pose (17, 3), its filled 2D, its
        scores) of the frame ``latency`` frames back, once one is due."""
        from .stream import torch_threads

        with torch_threads(self.threads):
            return self._push(keypoints, scores)

    def _push(self, keypoints, scores):
        kp = self.fill(np.asarray(keypoints, dtype=np.float64), np.asarray(scores, dtype=np.float64))
        if kp is None:
            return None
        self.recent.append((kp, scores))
        x = normalize_screen_coordinates(kp, self.width, self.height).astype(np.float32)
        pose = self.pose.push(self._batch(x, self.skeleton))
        root = None
        if self.trajectory is not None:
            uv = ((kp - self.c) / self.f).astype(np.float32)
            root = self.trajectory.push(self._batch(uv, self.skeleton))
        return None if pose is None else self._emit(pose, root)

    def flush(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The last ``latency`` frames, their future padded with the last frame."""
        from .stream import torch_threads

        with torch_threads(self.threads):
            poses = self.pose.flush()
            roots = self.trajectory.flush() if self.trajectory is not None else [None] * len(poses)
            return [self._emit(p, r) for p, r in zip(poses, roots)]


def _frames(source: str, *, allow_pickle: bool, person, layout, detector: str):
    """(info dict, iterator of (keypoints, scores) per frame) for any source."""
    from .infer import _is_video, load_input

    path = Path(source)
    live = LIVE.match(source) is not None and not path.exists()
    if not live and not path.exists():
        raise PoseliftError("file not found", path)
    if live or _is_video(path):
        return _detected_frames(source, live, person=person, detector=detector)
    seq = load_input(path, allow_pickle=allow_pickle, person=person, layout=layout)
    info = {"layout": seq.layout, "width": seq.width, "height": seq.height, "fps": seq.fps or 30.0,
            "frames": len(seq)}
    return info, zip(seq.keypoints, seq.scores)


def _detected_frames(source: str, live: bool, person, detector: str):
    from .detect.base import PersonTracker, frame_detections, get_detector
    from .video import iter_frames, iter_live_frames, probe

    det = get_detector(detector)
    if live:
        frames, meta = iter_live_frames(source)
    else:
        vi = probe(source)
        frames, meta = iter_frames(source), {"width": vi.width, "height": vi.height, "fps": vi.fps, "frames": vi.frames}
    if isinstance(det, PersonTracker):
        det.start(person, fps=meta.get("fps"))
    layout = getattr(det, "layout", "coco17")
    n = get_skeleton(layout).num_joints

    def gen():
        try:
            for frame in frames:
                dets = frame_detections(det, frame, n)
                yield dets[0] if dets else (np.full((n, 2), np.nan), np.zeros(n))
        finally:
            det.close()

    return dict(meta, layout=layout), gen()


def run_realtime(source, out_dir=None, *, checkpoint=None, allow_pickle: bool = False, person=0, layout=None,
                 width=None, height=None, fps=None, focal=None, trajectory: str = "auto", min_score: float = 0.3,
                 jsonl=None, overwrite: bool = False, progress: bool = True, detector: str = "mediapipe",
                 flip: bool = True, threads: int | None = 1):
    """Lift ``source`` frame by frame; optionally write one JSON line per frame to ``jsonl``
    (a path, or ``-`` for stdout) as it is produced, and the usual exports at the end.
    ``threads``: torch threads for the lifting (:class:`RealtimeLifter`; None: torch's own).
    Returns the :class:`~poselift.infer.Reconstruction` and the timing figures. Renders
    (mp4) are not made in this mode: run the offline ``infer`` on a recording for them."""
    import torch
    from tqdm.auto import tqdm

    from .infer import Reconstruction, write_outputs

    source = str(source)
    info, frames = _frames(source, allow_pickle=allow_pickle, person=person, layout=layout, detector=detector)
    w, h = width or info.get("width"), height or info.get("height")
    if not w or not h:
        raise PoseliftError("image size unknown for these keypoints: give --width and --height", source)
    rt = RealtimeLifter(info["layout"], int(w), int(h), checkpoint=checkpoint, focal=focal, flip=flip,
                        trajectory=trajectory, min_score=min_score, threads=threads)
    sink = None
    if jsonl == "-":
        sink = sys.stdout
    elif jsonl:
        if Path(jsonl).exists() and not overwrite:
            raise PoseliftError("exists already (use --overwrite to replace it)", jsonl)
        sink = open(jsonl, "w", encoding="utf-8")
    poses, kps, scores, lift_ms, skipped = [], [], [], [], 0
    t_start = time.perf_counter()

    def out(results):
        for pose, kp, sc in results:
            poses.append(pose)
            kps.append(kp)
            scores.append(sc)
            if sink is not None:
                sink.write(json.dumps({"frame": skipped + len(poses) - 1,
                                       "joints_cam": np.round(pose, 5).tolist()}) + "\n")
                sink.flush()

    try:
        bar = tqdm(total=info.get("frames"), unit="frame", desc="realtime", disable=not progress, leave=False)
        with bar:
            for kp, sc in frames:
                t = time.perf_counter()
                result = rt.push(kp, sc)
                lift_ms.append(1000 * (time.perf_counter() - t))
                if rt.fill.last is None:
                    skipped += 1
                out([result] if result is not None else [])
                bar.update(1)
        out(rt.flush())
    finally:
        if sink is not None and sink is not sys.stdout:
            sink.close()
    if not poses:
        raise PoseliftError("no person found in any frame", source)
    elapsed = time.perf_counter() - t_start
    frame_rate = float(fps or info.get("fps") or 30.0)
    timing = {"frames": len(poses) + skipped, "frames_lifted": len(poses), "frames_before_first_person": skipped,
              "latency_frames": rt.latency, "latency_s": rt.latency / frame_rate,
              "lift_ms_median": float(np.median(lift_ms)), "lift_ms_p95": float(np.percentile(lift_ms, 95)),
              "torch_threads": threads if threads is not None else torch.get_num_threads(),
              "frames_per_s": (len(poses) + skipped) / elapsed}
    report = (f"realtime: {len(poses)} frames lifted as they came ({skipped} before the person appeared), "
              f"{rt.fill.filled} joints filled from the past; answer {rt.latency} frames late "
              f"({timing['latency_s']:.2f} s), lifting {timing['lift_ms_median']:.2f} ms per frame (median)")
    keypoints = np.stack(kps).astype(np.float32)
    rec = Reconstruction(np.stack(poses), keypoints, np.stack(scores).astype(np.float32), info["layout"],
                         int(w), int(h), frame_rate, rt.how, report, str(checkpoint or "default"))
    if out_dir is not None:
        stem = Path(source).stem if Path(source).exists() else "stream"
        rec.outputs = write_outputs(rec, out_dir, stem, video_path=None, video=False, overwrite=overwrite,
                                    progress=progress)
    return rec, timing
