"""Real-time lifting of several people (``poselift infer --realtime --people all``).

Each frame goes through the several-person detector (``blazepose-multi``) and the online
tracker (:class:`~poselift.detect.multitrack.PeopleTracker`: ids that survive crossings and
short absences); every tracked id gets its own :class:`~poselift.realtime.RealtimeLifter`
(causal gap filling, pose and trajectory streams), created when the id is first confirmed.
While an id is unseen its stream is fed nothing new (the filler holds the last pose, flagged
filled); after more than ``max_gap`` frames the id's poses are left out (NaN) and its stream
is closed; if the tracker gives the id back later, a new stream starts. All people share one
world frame (:class:`~poselift.realtime.OnlineFloor` over everyone's poses).

JSON lines: a header (as for one person, plus ``"people": "all"``), then one line per
person and lifted frame with ``"person"``: the id (docs/formats.md). At the end the usual
several-person exports (:func:`~poselift.people.write_people_outputs`, no render).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .errors import PoseliftError
from .realtime import stream_transaction


class _PersonStream:
    """One id's lifter and what it emitted: rows ``{frame: (pose, keypoints, scores, filled)}``."""

    def __init__(self, lifter, start: int, gate):
        self.rt, self.start, self.emitted, self.unseen, self.gate = lifter, start, 0, 0, gate


def _fixed_names(stem: str) -> list[str]:
    from .people import output_paths

    return [p.name for p in output_paths(".", stem, [], video=False, gif=False).values()]


@stream_transaction(_fixed_names)
def run_realtime_people(source, out_dir=None, *, checkpoint=None, width=None, height=None, fps=None, focal=None,
                        fov=None, trajectory: str = "auto", min_score: float = 0.3, max_gap: int | None = None,
                        jsonl=None, overwrite: bool = False, progress: bool = True, detector: str | None = None,
                        threads: int | None = 1, precision: str = "bf16", smooth: str = "none"):
    """Lift everyone in ``source`` (a video file, a camera index or a stream URL) frame by
    frame (module docs). Returns ({id: :class:`~poselift.infer.Reconstruction`}, timing);
    ``out_dir``: the several-person exports are written there at the end."""
    from tqdm.auto import tqdm

    from .detect.base import MULTI_DETECTOR, get_detector
    from .checks import whole
    from .detect.fill import MAX_GAP
    from .detect.multitrack import PeopleTracker
    from .data.filetype import is_video
    from .infer import Reconstruction, image_and_rate, output_flags, resolve_focal
    from .realtime import LIVE, FrameLines, GapGate, OnlineFloor, RealtimeLifter, open_frames, open_sink
    from .skeleton import get_skeleton
    from .smooth import OneEuroFilter

    source = str(source)
    path = Path(source)
    live = LIVE.match(source) is not None and not path.exists()
    if not live and not path.exists():
        raise PoseliftError("file not found", path)
    if not live and not is_video(path):
        raise PoseliftError("--people all needs a video, a camera or a stream", path)
    if smooth not in ("none", "one-euro"):
        raise PoseliftError(f"realtime smoothing is 'none' or 'one-euro' (causal), got {smooth!r}")
    frames, meta = open_frames(source, live)
    w, h, rate = image_and_rate(width, height, fps, meta.get("width"), meta.get("height"), meta.get("fps"), source)
    f_px, f_from = resolve_focal(w, h, focal, fov, None if live else source)
    det = get_detector(detector or MULTI_DETECTOR)
    layout = getattr(det, "layout", "coco17")
    layout_2d = get_skeleton(layout)
    limit = MAX_GAP if max_gap is None else whole("max_gap", max_gap, 0)
    tracker = PeopleTracker(rate, layout=layout)
    floor = OnlineFloor(round(rate))
    streams: dict[int, _PersonStream] = {}
    rows: dict[int, dict[int, tuple]] = {}
    smoothers: dict[int, OneEuroFilter] = {}
    sink = open_sink(jsonl, overwrite)
    lines = FrameLines(sink, rate, layout, floor, f_px, f_from, people="all")
    lift_ms, t_start, t, how = [], time.perf_counter(), -1, "model"

    def emit(pid: int, st: _PersonStream, results) -> None:
        for pose, kp, sc, filled in results:
            frame = st.start + st.emitted
            st.emitted += 1
            pose, kp, sc = st.gate(pose, kp, sc, filled)
            if smooth == "one-euro":
                pose = smoothers.setdefault(pid, OneEuroFilter())(pose, frame / rate)
            floor.update(pose)
            rows.setdefault(pid, {})[frame] = (pose, kp, sc, filled)
            lines.header.setdefault("latency_frames", st.rt.latency)
            lines.write(pose, kp, sc, filled, frame, person=pid)

    try:
        with tqdm(total=meta.get("frames"), unit="frame", desc="realtime, everyone", disable=not progress,
                  leave=False) as bar:
            for t, frame in enumerate(frames):
                dets = [(np.asarray(k, np.float64), np.asarray(s, np.float64)) for k, s in det.detect(frame)]
                assigned = dict(tracker.update(dets, frame))
                for pid in assigned:
                    if pid not in streams:
                        streams[pid] = _PersonStream(RealtimeLifter(
                            layout, w, h, checkpoint=checkpoint, focal=f_px, trajectory=trajectory,
                            min_score=min_score, threads=threads, precision=precision), t,
                            GapGate(layout_2d.num_joints, limit))
                        how = streams[pid].rt.how
                start = time.perf_counter()
                for pid, st in list(streams.items()):
                    if pid in assigned:
                        kp, sc = dets[assigned[pid]]
                        st.unseen = 0
                    else:
                        kp, sc = np.full((layout_2d.num_joints, 2), np.nan), np.zeros(layout_2d.num_joints)
                        st.unseen += 1
                    result = st.rt.push(kp, sc)
                    emit(pid, st, [result] if result is not None else [])
                    if st.unseen > limit:  # gone: close the stream (the tracker may give the id back later)
                        emit(pid, st, st.rt.flush())
                        del streams[pid]
                lift_ms.append(1000 * (time.perf_counter() - start))
                bar.update(1)
        for pid, st in streams.items():
            emit(pid, st, st.rt.flush())
    finally:
        det.close()
        if hasattr(frames, "close"):  # a live source's reader (and its signal handling) ends here
            frames.close()
        if sink is not None and sink is not sys.stdout:
            sink.close()
    total = t + 1
    if not rows:
        raise PoseliftError("no person found in any frame", source)
    recs = {}
    for pid, got in sorted(rows.items()):
        T = total
        pos = np.full((T, 17, 3), np.nan)
        kps = np.full((T, layout_2d.num_joints, 2), np.nan)
        scs = np.zeros((T, layout_2d.num_joints))
        fl2 = np.zeros((T, layout_2d.num_joints), bool)
        for frame, (pose, kp, sc, filled) in got.items():
            if frame < T:
                pos[frame], kps[frame], scs[frame], fl2[frame] = pose, kp, sc, filled
        lifted = int(np.isfinite(pos).all((-1, -2)).sum())
        recs[pid] = Reconstruction(pos, kps.astype(np.float32), scs.astype(np.float32), layout, w, h, rate, how,
                                   f"realtime, id {pid}: {lifted} frames lifted as they came",
                                   str(checkpoint or "default"), filled=output_flags(fl2, layout), filled_2d=fl2,
                                   frames=np.arange(T), world_rotation=floor.R, world_origin=floor.origin,
                                   focal=f_px, focal_source=f_from, person_id=pid)
    timing = {"frames": total, "people": len(recs), "lift_ms_median": float(np.median(lift_ms)) if lift_ms else 0.0,
              "lift_ms_p95": float(np.percentile(lift_ms, 95)) if lift_ms else 0.0, "precision": precision,
              "frames_per_s": total / (time.perf_counter() - t_start)}
    if out_dir is not None:
        from .people import write_people_outputs

        stem = path.stem if path.exists() else "stream"
        outputs = write_people_outputs(list(recs.values()), out_dir, stem, video_path=None, video=False,
                                       overwrite=overwrite, progress=progress)
        for rec in recs.values():
            rec.outputs = outputs
    return recs, timing
