"""The 2D detector interface, the registry of back-ends, and detection over a whole video.

A back-end is any object with the :class:`Detector` attributes: a ``name``, the joint
``layout`` of its keypoints (``coco17`` for all back-ends here), ``detect(frame_rgb)``
returning the people found in one frame, and ``close()``. :func:`detect_video` streams a
video through one and returns the chosen person's :class:`KeypointSequence`.

Two kinds of back-end are handled:

* multi-person detectors return everyone in each frame; :func:`detect_video` links the
  detections into tracks with :func:`~poselift.detect.track.build_tracks` and picks one;
* single-person trackers (:class:`PersonTracker`, e.g. BlazePose through MediaPipe) follow
  one person themselves and return at most that person each frame; they are told which
  person to follow through ``start(person, fps)`` before the first frame.

Back-ends are created by name with :func:`get_detector`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import PoseliftError
from ..skeleton import get_skeleton
from .keypoints import KeypointSequence
from .person import PersonChoice, box_from_xywh, parse_person
from .track import Detection, Track, box_iou, build_tracks, keypoint_box

__all__ = [
    "Detection", "Detector", "PersonTracker", "PersonChoice", "available_detectors", "detect_video",
    "get_detector", "register_detector", "parse_person", "detect_people", "choose_person",
]

@runtime_checkable
class Detector(Protocol):
    """A 2D keypoint detector.

    ``detect`` takes one RGB uint8 frame (H, W, 3) and returns one
    :data:`~poselift.detect.track.Detection` per person found: keypoints (J, 2) float32 in
    pixels of that frame, NaN where a joint is missing, and scores (J,) in [0, 1].
    """

    name: str
    layout: str

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]: ...

    def close(self) -> None: ...


@runtime_checkable
class PersonTracker(Detector, Protocol):
    """A detector that follows one person by itself and returns at most one detection.

    ``start`` is called once before the first frame with the person to follow (see
    :data:`PersonChoice`) and the video's frame rate; ``notes`` lists what the tracker
    wants recorded in the :class:`KeypointSequence` (e.g. identity switches it rejected).
    """

    def start(self, person: PersonChoice = 0, fps: float | None = None) -> None: ...

    def notes(self) -> list[str]: ...


# ------------------------------------------------------------------------------ registry

_FACTORIES: dict[str, Callable[..., Detector]] = {}
_ALIASES: dict[str, str] = {}
_UNAVAILABLE = {
    "rtmlib": "RTMPose through rtmlib downloads its ONNX weights at run time; install rtmlib and onnxruntime "
              "and make the weights available, then register an adapter",
    "rtmpose": "RTMPose (rtmlib or mmpose) needs its packages and model weights, which are not bundled",
    "mmpose": "MMPose needs mmpose, mmcv, mmdet and downloaded checkpoints; run it separately and import "
              "its predictions with `poselift` keypoint import (MMPose JSON)",
    "detectron2": "Detectron2 keypoint R-CNN needs detectron2 built for your torch and downloaded weights; run it "
                  "separately and import its COCO keypoint JSON",
    "openpose": "OpenPose is a separate program; run it and import its *_keypoints.json files",
}


def register_detector(name: str, factory: Callable[..., Detector], aliases: Sequence[str] = ()) -> None:
    """Make ``factory(**options)`` available as ``get_detector(name, **options)``."""
    _FACTORIES[name] = factory
    for alias in aliases:
        _ALIASES[alias] = name


def _mediapipe_factory(**options) -> Detector:
    from .mediapipe_pose import MediaPipePose

    return MediaPipePose(**options)


register_detector("mediapipe", _mediapipe_factory, aliases=("blazepose", "mediapipe-pose"))


def _blazepose_multi_factory(**options) -> Detector:
    from .blazepose_multi import BlazePoseMulti

    return BlazePoseMulti(**options)


register_detector("blazepose-multi", _blazepose_multi_factory, aliases=("mediapipe-multi",))


def available_detectors() -> list[str]:
    """Names accepted by :func:`get_detector` (whether or not their packages are installed)."""
    return sorted(_FACTORIES)


def get_detector(name: str, **options) -> Detector:
    """Create the back-end called ``name`` (``mediapipe``, alias ``blazepose``).

    Unknown names, and known back-ends that cannot run here (RTMPose/rtmlib, MMPose,
    Detectron2, OpenPose: they need packages and weights that are not bundled), raise a
    :class:`PoseliftError` listing what is available; so does a back-end whose package is
    not installed (with the command that installs it).
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key in _FACTORIES:
        return _FACTORIES[key](**options)
    available = ", ".join(available_detectors())
    if key in _UNAVAILABLE:
        raise PoseliftError(f"2D detector {name!r} is not available here: {_UNAVAILABLE[key]}. "
                            f"Available: {available}")
    raise PoseliftError(f"unknown 2D detector {name!r}; available: {available} "
                        f"(known but needing their own weights/packages: {', '.join(sorted(_UNAVAILABLE))})")


# ------------------------------------------------------------------------------ whole videos


def frame_detections(detector: Detector, frame_rgb: np.ndarray, num_joints: int) -> list[Detection]:
    """The detector's people in one frame as (keypoints (J, 2), scores (J,)) float32, those
    with no finite joint left out."""
    dets = []
    for kp, sc in detector.detect(frame_rgb):
        kp = np.asarray(kp, dtype=np.float32).reshape(num_joints, 2)
        sc = np.asarray(sc, dtype=np.float32).reshape(num_joints)
        if np.isfinite(kp).all(-1).any():
            dets.append((kp, sc))
    return dets


def detect_video(path, detector: Detector, person: PersonChoice = 0, progress: bool = True,
                 max_frames: int | None = None) -> KeypointSequence:
    """Run ``detector`` over the video ``path`` and return one person's keypoints.

    Frames are decoded and processed one at a time (memory: the keypoints only). The result
    has one entry per frame, NaN (score 0) where the person was not found, and carries the
    video's display size and frame rate, ``source=path`` and notes saying which detector
    ran, which person was followed and how many frames lack them.

    ``person`` (see :data:`PersonChoice`): for a :class:`PersonTracker` it is handed to the
    tracker; for a multi-person detector the detections are linked into tracks
    (:func:`~poselift.detect.track.build_tracks`, hips as centres) and the k-th track by
    total keypoint score is returned, or with a box the track that overlaps it most in the
    first frame where any does. Raises :class:`PoseliftError` naming ``path`` for
    unreadable videos, when nobody is found, or when the chosen person does not exist.
    """
    from tqdm.auto import tqdm

    from ..background import ahead
    from ..video import iter_timed_frames, probe

    path = Path(path)
    person = parse_person(person)
    info = probe(path)
    layout = getattr(detector, "layout", "coco17")
    num_joints = get_skeleton(layout).num_joints
    tracker = isinstance(detector, PersonTracker)
    total = info.frames if max_frames is None else min(info.frames, max_frames)
    frames: list[list[Detection]] = []
    times: list[float] = []  # each frame's time in the container
    world: list[np.ndarray] = []  # a tracker's own 3D of the followed person, when it gives one
    try:
        if tracker:
            detector.start(person, fps=info.fps)
        bar = tqdm(total=total, unit="frame", desc=f"2D {detector.name}", disable=not progress, leave=False)
        with bar:
            for frame, t in ahead(iter_timed_frames(path, max_frames=max_frames), name="decode"):  # decoded in a thread
                times.append(t)
                dets = frame_detections(detector, frame, num_joints)
                frames.append(dets[:1] if tracker else dets)
                w = getattr(detector, "world_landmarks", None) if tracker and dets else None
                world.append(np.full((num_joints, 3), np.nan, np.float32) if w is None else w)
                bar.update(1)
    except PoseliftError as e:
        if e.path is None:  # raised by the back-end about this video's content
            raise PoseliftError(e.message, path) from None
        raise
    notes = [f"2D keypoints: {detector.name} on {path.name} ({len(frames)} frames, "
             f"{info.width}x{info.height} at {info.fps:g} fps)"]
    if not frames:
        raise PoseliftError("video has no frames", path)
    if not any(frames):
        raise PoseliftError(f"no person found by {detector.name} in any of the {len(frames)} frames", path)

    if tracker:
        track = _single_track(frames, num_joints)
        notes += list(detector.notes())
    else:
        track, note = _choose_track(frames, layout, person, path)
        notes.append(note)
    seen = int(np.isfinite(track.keypoints).all(-1).any(-1).sum())
    if seen < len(frames):
        notes.append(f"person not found in {len(frames) - seen} of {len(frames)} frames (left missing)")
    has_world = tracker and any(np.isfinite(w).any() for w in world)
    notes += _timing_notes(times, info.fps)
    return KeypointSequence(track.keypoints, track.scores, layout=layout, width=info.width, height=info.height,
                            fps=info.fps, source=str(path), notes=notes,
                            world=np.stack(world) if has_world else None, times=np.asarray(times))


def _timing_notes(times: list[float], fps: float) -> list[str]:
    """A note when the frames' times in the container are not those of a constant frame rate."""
    if len(times) < 2:
        return []
    off = np.abs(np.asarray(times) - np.arange(len(times)) / fps).max()
    if off <= 0.5 / fps:
        return []
    return [f"variable frame rate: the frames' own times are kept (up to {off:.2f} s from {fps:g} fps uniform)"]


MULTI_DETECTOR = "blazepose-multi"  # the back-end that finds everyone in a frame


def detect_people(path, detector: Detector, progress: bool = True, max_frames: int | None = None,
                  min_frames: int | None = None) -> list[KeypointSequence]:
    """Everyone in the video ``path``: ``detector`` (one that returns every person in a frame)
    on each frame, the detections linked into identities by
    :func:`~poselift.detect.multitrack.track_people` (pose, motion and clothing colour: ids
    survive crossings, occlusions and leaving and coming back). Returns one
    :class:`KeypointSequence` per identity, ``person_id`` set, ids in order of first
    appearance (0 = the first person the tracker confirmed), each with the detector's own 3D
    where it gives one (``world_landmarks_all``, a list aligned with its detections). People
    seen in fewer than ``min_frames`` frames (default: a third of a second) are left out."""
    from tqdm.auto import tqdm

    from ..background import ahead
    from ..video import iter_timed_frames, probe
    from .multitrack import appearance, track_people

    path = Path(path)
    info = probe(path)
    layout = getattr(detector, "layout", "coco17")
    num_joints = get_skeleton(layout).num_joints
    total = info.frames if max_frames is None else min(info.frames, max_frames)
    frames: list[list[Detection]] = []
    times: list[float] = []
    looks: list[list[np.ndarray]] = []
    worlds: list[list[np.ndarray | None]] = []
    try:
        with tqdm(total=total, unit="frame", desc=f"2D {detector.name}, everyone", disable=not progress,
                  leave=False) as bar:
            for frame, t in ahead(iter_timed_frames(path, max_frames=max_frames), name="decode"):  # decoded in a thread
                times.append(t)
                raw = detector.detect(frame)
                world_all = list(getattr(detector, "world_landmarks_all", None) or [None] * len(raw))
                dets, world = [], []
                for (kp, sc), w in zip(raw, world_all):
                    kp = np.asarray(kp, dtype=np.float32).reshape(num_joints, 2)
                    sc = np.asarray(sc, dtype=np.float32).reshape(num_joints)
                    if np.isfinite(kp).all(-1).any():
                        dets.append((kp, sc))
                        world.append(w)
                frames.append(dets)
                looks.append([appearance(frame, kp, layout) for kp, _ in dets])
                worlds.append(world)
                bar.update(1)
    except PoseliftError as e:
        if e.path is None:
            raise PoseliftError(e.message, path) from None
        raise
    if not frames:
        raise PoseliftError("video has no frames", path)
    tracks = track_people(frames, info.fps, appearances=looks, layout=layout)
    least = max(1, round(info.fps / 3)) if min_frames is None else min_frames
    kept = [tr for tr in tracks if len(tr.frames) >= least]
    if not kept:
        raise PoseliftError(f"no person found by {detector.name} in any of the {len(frames)} frames", path)
    out = []
    for tr in kept:
        world = np.full((len(frames), num_joints, 3), np.nan, np.float32)
        for t, i in tr.detection_index.items():
            if worlds[t][i] is not None:
                world[t] = worlds[t][i]
        notes = [f"2D keypoints: {detector.name} on {path.name} ({len(frames)} frames, {info.width}x{info.height} "
                 f"at {info.fps:g} fps)", f"{len(kept)} people tracked; this is id {tr.id}, seen in "
                 f"{len(tr.frames)} frames ({tr.frames[0]}-{tr.frames[-1]})"] + _timing_notes(times, info.fps)
        out.append(KeypointSequence(tr.keypoints, tr.scores, layout=layout, width=info.width, height=info.height,
                                    fps=info.fps, source=str(path), notes=notes,
                                    world=world if np.isfinite(world).any() else None, person_id=tr.id,
                                    times=np.asarray(times)))
    return out


def choose_person(people: list[KeypointSequence], person: PersonChoice, path=None) -> KeypointSequence:
    """The tracked person ``person`` names: an id (see :func:`detect_people`), or a box (x, y,
    w, h) = the person overlapping it most in the first frame in which anyone overlaps it
    (a person who enters later is chosen by a box where they appear)."""
    person = parse_person(person)
    if isinstance(person, int):
        for seq in people:
            if seq.person_id == person:
                return seq
        ids = ", ".join(str(seq.person_id) for seq in people)
        raise PoseliftError(f"no person with id {person}; the tracked ids are {ids}", path)
    target = box_from_xywh(person)
    for t in range(len(people[0])):
        overlaps = [(box_iou(box, target), k) for k, seq in enumerate(people)
                    if (box := keypoint_box(seq.keypoints[t])) is not None]
        best = max(overlaps, default=(0.0, -1))
        if best[0] > 0:
            chosen = people[best[1]]
            chosen.notes.append(f"chosen by the box {_fmt_box(person)}: id {chosen.person_id}, frame {t}")
            return chosen
    raise PoseliftError(f"no tracked person overlaps the box {_fmt_box(person)} in any frame", path)


def _single_track(frames: list[list[Detection]], num_joints: int) -> Track:
    track = Track(np.full((len(frames), num_joints, 2), np.nan, np.float32),
                  np.zeros((len(frames), num_joints), np.float32))
    for t, dets in enumerate(frames):
        if dets:
            track.keypoints[t], track.scores[t] = dets[0]
    return track


def _choose_track(frames: list[list[Detection]], layout: str, person: PersonChoice, path: Path) -> tuple[Track, str]:
    num_joints = get_skeleton(layout).num_joints
    if max(len(dets) for dets in frames) == 1:  # never two people at once: nothing to associate
        tracks = [_single_track(frames, num_joints)]
    else:
        names = get_skeleton(layout).joint_names
        hips = [names.index(j) for j in ("l_hip", "r_hip") if j in names]
        tracks = build_tracks(frames, hip_joints=hips or None)
    if isinstance(person, int):
        if person >= len(tracks):
            raise PoseliftError(f"person {person} asked for, but only {len(tracks)} "
                                f"{'person was' if len(tracks) == 1 else 'people were'} tracked", path)
        return tracks[person], (f"{len(tracks)} people tracked; using person {person} "
                                "(ranked by total keypoint score)")
    target = box_from_xywh(person)
    for t in range(len(frames)):
        overlaps = []
        for i, track in enumerate(tracks):
            box = keypoint_box(track.keypoints[t])
            if box is not None:
                overlaps.append((box_iou(box, target), i))
        best = max(overlaps, default=(0.0, -1))
        if best[0] > 0:
            return tracks[best[1]], (f"{len(tracks)} people tracked; using the one overlapping box "
                                     f"{_fmt_box(person)} in frame {t}")
    raise PoseliftError(f"no detected person overlaps the box {_fmt_box(person)} in any frame", path)


def _fmt_box(box) -> str:
    return ",".join(f"{v:g}" for v in box)
