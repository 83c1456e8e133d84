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

Precision: the streams run in bf16 by default (``precision``, ``--precision``), every layer
but the output one, which stays fp32 (bf16 steps are 1/256 of a value: 3 cm at a root 5 m
away). The lifting is memory-bound at batch 2 (the weights are read once per frame), and bf16
halves what is read: 2.7x faster on this CPU, 0.02 mm MPJPE on the bundled demo sequence
(``benchmarks/realtime_precision.py``). ``int8`` (:class:`~poselift.stream.Stream`) reads a
quarter of fp32's bytes with more rounding.

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

import re
import sys
import time
from pathlib import Path

import numpy as np

from .checks import dumps
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
                 flip: bool = True, trajectory: str = "auto", min_score: float = 0.3, threads: int | None = 1,
                 precision: str = "bf16"):
        from .encode import encoder_for, intrinsic_encoder
        from .infer import Lifter, TrajectoryModel
        from .models.bundled import trajectory_checkpoint
        from .stream import PRECISIONS, Stream, check_threads

        from .checks import image_size, in_range

        self.threads = check_threads(threads)
        width, height = image_size(width, height)
        min_score = in_range("min_score", min_score, 0, 1)
        if precision not in PRECISIONS:
            raise PoseliftError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = precision

        self.layout, self.width, self.height, self.flip = layout, width, height, flip
        lifter = Lifter(checkpoint, layout=layout)  # checks the model is a Human3.6M-17 pose lifter
        if lifter.layout_in != layout:
            raise PoseliftError(f"the model takes {lifter.layout_in} keypoints but the input is {layout}", lifter.path)
        batch = 2 if flip else 1
        self.pose = Stream(lifter.model, batch=batch, precision=precision)
        traj_path = trajectory_checkpoint(layout, trajectory)
        traj = None if traj_path is None else TrajectoryModel(traj_path)
        self.trajectory = None if traj is None else Stream(traj.model, batch=batch, precision=precision)
        if self.trajectory is not None and self.trajectory.latency != self.pose.latency:
            raise PoseliftError("the trajectory and pose models differ in latency")
        # each model's input encoding (its checkpoint's input_norm); reprojection's (px - c) / f
        self.reprojection = intrinsic_encoder(width, height, focal)  # checks the focal length
        self.f, self.c = self.reprojection.focal, self.reprojection.center
        self.encode_pose = encoder_for(lifter.meta, width, height, focal)
        self.encode_root = None if traj is None else encoder_for(traj.meta, width, height, focal)
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

        uv = self.reprojection.encode(kp.astype(np.float64), dtype=None)
        return pose + root_by_reprojection(pose[None], uv[None], np.ones((1, len(kp))), self.layout)[0]

    def _emit(self, pose, root) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        kp, sc, filled = self.recent.pop(0)
        pose = self._unflip(pose, self.skeleton_out)
        pose = pose - pose[:1]  # the root where the root model puts it, as offline
        root = None if root is None else self._unflip(root, ROOT1)
        return self._place(pose, root, kp), kp, sc, filled

    def push(self, keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """One frame's pixels (J, 2) and scores (J,); (3D pose (17, 3), its filled 2D, its
        scores, which of its 2D joints were filled (J,)) of the frame ``latency`` frames back,
        once one is due."""
        from .stream import torch_threads

        with torch_threads(self.threads):
            return self._push(keypoints, scores)

    def _push(self, keypoints, scores):
        from .checks import as_array

        keypoints, scores = as_array("keypoints", keypoints), as_array("scores", scores)
        n = self.skeleton.num_joints
        if keypoints.shape != (n, 2) or scores.shape != (n,):
            raise PoseliftError(f"a frame is keypoints ({n}, 2) and scores ({n},) in {self.layout}, got "
                                f"{keypoints.shape} and {scores.shape}")
        kp = self.fill(keypoints, scores)
        if kp is None:
            return None
        usable = np.isfinite(keypoints).all(-1) & (scores >= self.fill.min_score)
        self.recent.append((kp, scores, ~usable))
        x = self.encode_pose.encode(kp)
        pose = self.pose.push(self._batch(x, self.skeleton))
        root = None
        if self.trajectory is not None:
            uv = self.encode_root.encode(kp)
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
    from .data.filetype import is_video
    from .infer import load_input

    path = Path(source)
    live = LIVE.match(source) is not None and not path.exists()
    if not live and not path.exists():
        raise PoseliftError("file not found", path)
    if live or is_video(path):
        return _detected_frames(source, live, person=person, detector=detector)
    seq = load_input(path, allow_pickle=allow_pickle, person=person, layout=layout)
    info = {"layout": seq.layout, "width": seq.width, "height": seq.height, "fps": seq.fps or 30.0,
            "frames": len(seq)}
    return info, zip(seq.keypoints, seq.scores)


def open_frames(source: str, live: bool):
    """(iterator of RGB frames, {width, height, fps, frames}) of a video file or a live source;
    the first SIGINT/SIGTERM ends a live stream (what came is kept)."""
    from .video import iter_frames, iter_live_frames, probe

    if live:
        from .transaction import until_stopped

        frames, meta = iter_live_frames(source)
        return until_stopped(frames), meta
    vi = probe(source)
    return iter_frames(source), {"width": vi.width, "height": vi.height, "fps": vi.fps, "frames": vi.frames}


def _detected_frames(source: str, live: bool, person, detector: str):
    from .detect.base import PersonTracker, frame_detections, get_detector

    det = get_detector(detector)
    frames, meta = open_frames(source, live)
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


def stream_transaction(names):
    """Decorates a realtime run ``fn(source, out_dir, *, checkpoint, jsonl, overwrite, ...)``:
    before the first frame its exports (``names(stem)`` in ``out_dir``) and the folder of its
    JSON lines file are opened as transactions (:mod:`poselift.transaction`; one when they are
    the same folder): names checked, folders locked, everything committed together at the end
    or removed on failure or interruption. The JSON lines are the one file written as the run
    goes: into ``<file>.part`` (:func:`open_sink`), renamed onto ``<file>`` in the commit."""
    import functools
    import inspect

    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            from contextlib import ExitStack

            from .models.bundled import user_checkpoint
            from .transaction import transaction

            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            v = bound.arguments
            src = Path(str(v["source"]))
            inputs = [src if src.exists() else None, user_checkpoint(v.get("checkpoint"))]
            with ExitStack() as stack:
                if v["out_dir"] is not None:
                    stack.enter_context(transaction(v["out_dir"], names(src.stem if src.exists() else "stream"),
                                                    overwrite=v["overwrite"], inputs=inputs))
                if v["jsonl"] and str(v["jsonl"]) != "-":
                    stack.enter_context(transaction(Path(v["jsonl"]).parent, overwrite=v["overwrite"],
                                                    inputs=inputs))
                return fn(*args, **kwargs)

        return run

    return wrap


def open_sink(jsonl, overwrite: bool = False):
    """Where JSON lines go: None, stdout for ``-``, or a file (an existing one is refused unless
    ``overwrite``). Inside a run (:func:`stream_transaction`) the file is written as
    ``<file>.part`` and becomes ``<file>`` when the run has succeeded."""
    if jsonl == "-":
        return sys.stdout
    if jsonl:
        from .transaction import active

        tx = active(Path(jsonl).parent)
        if tx is not None:
            return open(tx.part(Path(jsonl).name, overwrite), "w", encoding="utf-8")
        if Path(jsonl).exists() and not overwrite:
            raise PoseliftError("exists already (use --overwrite to replace it)", jsonl)
        return open(jsonl, "w", encoding="utf-8")
    return None


class GapGate:
    """Causal honest gaps for one emitted stream: a frame whose 2D was mostly filled (fewer than
    :func:`~poselift.detect.fill.seen_joints` detected joints) extends a run of unseen frames;
    once that run is longer than ``limit`` frames the frame is left out (NaN pose and 2D)."""

    def __init__(self, num_joints: int, limit: int):
        from .detect.fill import seen_joints

        self.need, self.limit, self.run = seen_joints(num_joints), limit, 0

    def __call__(self, pose, kp, sc, filled):
        self.run = 0 if (~filled).sum() >= self.need else self.run + 1
        if self.run > self.limit:  # too long without the person: nothing is invented
            return np.full_like(pose, np.nan), np.full_like(kp, np.nan), np.zeros_like(sc)
        return pose, kp, sc


class FrameLines:
    """The JSON lines of a stream (docs/formats.md): a header before the first frame (the
    metadata of the JSON export plus ``header`` extras), then one line per emitted frame."""

    def __init__(self, sink, fps: float, layout: str, floor: "OnlineFloor", focal_px: float, focal_source: str,
                 **header):
        from .skeleton import get_skeleton

        self.sink, self.fps, self.layout, self.floor = sink, fps, layout, floor
        self.layout_2d = get_skeleton(layout)
        self.info = {"focal_px": round(focal_px, 2), "focal_source": focal_source}
        self.header, self.started = header, False

    def write(self, pose, kp, sc, filled, frame: int, **extra) -> None:
        from .infer import output_flags
        from .render.export import Motion, frame_records, metadata

        if self.sink is None:
            return
        m = Motion(pose[None], self.fps, keypoints_2d=kp[None], scores=np.asarray(sc)[None],
                   layout_2d=self.layout_2d, filled=output_flags(filled[None], self.layout), filled_2d=filled[None],
                   frames=[frame],
                   world_rotation=self.floor.R, world_origin=self.floor.origin, info=self.info)
        if not self.started:
            head = {k: v for k, v in metadata(m).items() if k not in ("num_frames", "world_from_camera")}
            self.sink.write(dumps({"type": "header", **head, **self.header}) + "\n")
            self.started = True
        rec = next(frame_records(m))
        self.sink.write(dumps({"type": "frame", **extra, **rec, "world_fixed": self.floor.fixed}) + "\n")
        self.sink.flush()


class OnlineFloor:
    """The world frame of a stream: :func:`~poselift.render.export.floor_transform` of the poses
    so far, refitted with every frame until ``settle`` frames (one second) are in, then fixed."""

    def __init__(self, settle: int):
        self.settle = max(1, int(settle))
        self.poses: list[np.ndarray] = []
        self.R, self.origin = np.eye(3), np.zeros(3)

    @property
    def fixed(self) -> bool:
        return len(self.poses) >= self.settle

    def update(self, pose: np.ndarray) -> None:
        from .render.export import floor_transform

        if self.fixed or not np.isfinite(pose).all():
            return
        self.poses.append(pose)
        self.R, self.origin = floor_transform(np.stack(self.poses))


def _export_names(stem: str) -> list[str]:
    from .infer import output_names

    return output_names(stem, video=False)


@stream_transaction(_export_names)
def run_realtime(source, out_dir=None, *, checkpoint=None, allow_pickle: bool = False, person=0, layout=None,
                 width=None, height=None, fps=None, focal=None, fov=None, trajectory: str = "auto",
                 min_score: float = 0.3, max_gap: int | None = None, jsonl=None, overwrite: bool = False,
                 progress: bool = True, detector: str = "mediapipe", flip: bool = True, threads: int | None = 1,
                 precision: str = "bf16", smooth: str = "none"):
    """Lift ``source`` frame by frame; optionally write JSON lines to ``jsonl`` (a path, or
    ``-`` for stdout) as they are produced (a header, then one line per frame; docs/formats.md),
    and the usual exports at the end. The person held missing for more than ``max_gap`` frames
    (default :data:`~poselift.detect.fill.MAX_GAP`) is left out (NaN) until seen again; shorter
    gaps are held from the past and flagged filled. ``smooth`` "one-euro" filters each pose as
    it is emitted (:class:`~poselift.smooth.OneEuroFilter`; a left-out frame restarts it); the
    zero-phase Butterworth needs the future and is refused. ``threads`` and ``precision``:
    :class:`RealtimeLifter`. Returns the :class:`~poselift.infer.Reconstruction` and the timing
    figures. Renders (mp4) are not made in this mode: run the offline ``infer`` on a recording
    for them."""
    import torch
    from tqdm.auto import tqdm

    from .checks import whole
    from .detect.fill import MAX_GAP
    from .infer import Reconstruction, image_and_rate, output_flags, resolve_focal, write_outputs

    source = str(source)
    info, frames = _frames(source, allow_pickle=allow_pickle, person=person, layout=layout, detector=detector)
    w, h, frame_rate = image_and_rate(width, height, fps, info.get("width"), info.get("height"), info.get("fps"),
                                      source)
    f_px, f_from = resolve_focal(int(w), int(h), focal, fov, source if Path(source).is_file() else None)
    rt = RealtimeLifter(info["layout"], int(w), int(h), checkpoint=checkpoint, focal=f_px, flip=flip,
                        trajectory=trajectory, min_score=min_score, threads=threads, precision=precision)
    if smooth not in ("none", "one-euro"):
        raise PoseliftError(f"realtime smoothing is 'none' or 'one-euro' (causal), got {smooth!r}")
    from .smooth import OneEuroFilter

    smoother = OneEuroFilter() if smooth == "one-euro" else None
    limit = MAX_GAP if max_gap is None else whole("max_gap", max_gap, 0)
    layout_2d = get_skeleton(info["layout"])
    gate = GapGate(layout_2d.num_joints, limit)
    floor = OnlineFloor(round(frame_rate))
    sink = open_sink(jsonl, overwrite)
    lines = FrameLines(sink, frame_rate, info["layout"], floor, f_px, f_from, latency_frames=rt.latency)
    poses, kps, scores, flags, lift_ms, skipped = [], [], [], [], [], 0
    t_start = time.perf_counter()

    def out(results):
        for pose, kp, sc, filled in results:
            t = skipped + len(poses)
            pose, kp, sc = gate(pose, kp, sc, filled)
            if smoother is not None:
                pose = smoother(pose, t / frame_rate)
            floor.update(pose)
            poses.append(pose)
            kps.append(kp)
            scores.append(sc)
            flags.append(filled)
            lines.write(pose, kp, sc, filled, t)

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
        if hasattr(frames, "close"):  # a live source's reader (and its signal handling) ends here
            frames.close()
        if sink is not None and sink is not sys.stdout:
            sink.close()
    if not poses:
        raise PoseliftError("no person found in any frame", source)
    elapsed = time.perf_counter() - t_start
    timing = {"frames": len(poses) + skipped, "frames_lifted": len(poses), "frames_before_first_person": skipped,
              "latency_frames": rt.latency, "latency_s": rt.latency / frame_rate,
              "lift_ms_median": float(np.median(lift_ms)), "lift_ms_p95": float(np.percentile(lift_ms, 95)),
              "torch_threads": threads if threads is not None else torch.get_num_threads(),
              "precision": precision, "frames_per_s": (len(poses) + skipped) / elapsed}
    left_out = int(sum(not np.isfinite(p).all() for p in poses))
    report = (f"realtime: {len(poses)} frames lifted as they came ({skipped} before the person appeared, "
              f"{left_out} left out after more than {limit} frames without them), "
              f"{rt.fill.filled} joints filled from the past; answer {rt.latency} frames late "
              f"({timing['latency_s']:.2f} s), lifting {timing['lift_ms_median']:.2f} ms per frame (median, "
              f"{precision}); focal {f_px:.0f} px ({f_from})" + ("; smoothed (one-euro)" if smoother else ""))
    filled_2d = np.stack(flags)
    rec = Reconstruction(np.stack(poses), np.stack(kps).astype(np.float32), np.stack(scores).astype(np.float32),
                         info["layout"], int(w), int(h), frame_rate, rt.how, report, str(checkpoint or "default"),
                         filled=output_flags(filled_2d, info["layout"]), filled_2d=filled_2d,
                         frames=np.arange(skipped, skipped + len(poses)), world_rotation=floor.R,
                         world_origin=floor.origin, focal=f_px, focal_source=f_from)
    if out_dir is not None:
        stem = Path(source).stem if Path(source).exists() else "stream"
        rec.outputs = write_outputs(rec, out_dir, stem, video_path=None, video=False, overwrite=overwrite,
                                    progress=progress)
    return rec, timing
