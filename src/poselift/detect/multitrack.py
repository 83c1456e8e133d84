"""Multi-person tracking of 2D keypoints: identities that survive crossings, occlusions and exits.

:func:`~poselift.detect.track.build_tracks` links each frame to the box every track had
where it was last seen. That is enough for people who stay apart, but it swaps identities
when two people cross (the occluded one's stale box is where the other one now is) and
gives a new identity to anyone who leaves and comes back. This module is a real
multi-object tracker for people:

* **motion**: every track carries a constant-velocity Kalman filter over all its keypoints,
  so a person hidden behind another keeps moving in the prediction and is picked up again
  where they re-appear, not where they were last seen;
* **pose similarity**: detections are associated with the tracks' *predicted* keypoints by
  an OKS-like similarity (per-joint Gaussian of the distance, normalised by the person's
  size, averaged over the joints both have), gated by a radius that grows with the time
  a track has gone unseen;
* **appearance**: with the frames (or per-detection descriptors from :func:`appearance`:
  HSV colour histograms of the torso and the legs), a person who reappears after the motion
  gate has given them up (left the frame, or hidden for long) gets their old identity back
  when the clothes match, within :data:`REID_WINDOW_S` seconds;
* **confirmation**: a track needs :data:`CONFIRM_FRAMES` detections in quick succession
  before it gets an identity, so one-frame false positives never get one.

Library: `norfair <https://github.com/tryolabs/norfair>`_ 2.3 (BSD-3-Clause, Tryolabs) does
the per-track bookkeeping: the per-keypoint Kalman filters (only the joints detected in a
frame update the filter; joints never seen get their position, with zero velocity, when
first detected), hit counters for confirmation and coasting, and greedy association of the
cost matrix (best pairs first; confirmed tracks before new ones). It was chosen because it
is built for keypoint tracking with custom distances; its dependencies are light and
permissive (``filterpy`` MIT, ``rich`` MIT, ``scipy``; numpy ``<2``, which the video stack
pins anyway) and OpenCV is only an optional extra of its own. The alternatives did not fit:
``trackers`` (Apache-2.0) needs numpy >= 2 and non-headless ``opencv-python``;
``supervision``'s ByteTrack needs ``opencv-python`` and is box-only; BoxMOT is AGPL-3.0 and
needs torch and OpenCV; ``motpy`` is box-only and unmaintained since 2021.

norfair gets this module's cost through its documented ``Distance`` interface
(``get_distances(objects, candidates)``). The cost, the gates, re-identification and the
identity numbering are this module's: norfair's own ReID only tries to match a new track
during its first two or three frames, which for someone walking back in at the frame edge
(body cut off, no full appearance yet) is too early; here a new track may wait
:data:`REID_WAIT_S` for a full view before it is given a new identity.

Usage, online (a frame at a time)::

    tracker = PeopleTracker(fps=30)
    for frame in video:
        detections = detector.detect(frame)
        for person_id, index in tracker.update(detections, frame):
            ...  # detections[index] is person `person_id`

offline, when the caller streams the video once and keeps only keypoints: compute the
descriptors while detecting, ``descriptors_t = [appearance(frame, kp) for kp, _ in dets_t]``,
then ``track_people(frames, fps, appearances=descriptors)``; or pass ``images=`` (a list of
frames, or a callable ``t -> frame``) to have them computed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from norfair import Detection as _NfDetection
from norfair import Tracker as _NfTracker
from norfair.distances import Distance as _NfDistance

from .track import Detection, Track, keypoint_box

__all__ = [
    "PeopleTracker", "PersonTrack", "track_people", "appearance", "appearance_distance",
    "benchmark", "APPEARANCE_DIM",
]

# ----------------------------------------------------------------------------- constants
# Frame counts are given in frames where the reason is per frame (detector false positives),
# in seconds elsewhere, converted with the video's frame rate.

CONFIRM_FRAMES = 3
"""Detections a new track needs (in consecutive frames, one miss allowed) before it gets an
identity. Detector false positives are mostly single frames, sometimes two; three costs
only 0.1 s of delay at 30 fps, and the offline :func:`track_people` gives the track those
first frames back once it is confirmed."""

MAX_COAST_S = 1.0
"""Longest time (seconds) a confirmed track is kept on its Kalman prediction without any
detection and can still be picked up by motion alone. Occlusions by a passer-by last well
under a second; past that, a constant-velocity extrapolation says little about where the
person is, and re-identification by appearance takes over. (As in norfair, a track earns
this allowance by being seen: each detection adds two frames, each frame costs one, so a
track seen for only a few frames is given up sooner.)"""

REID_WINDOW_S = 10.0
"""How long (seconds) after a track was given up it can still be re-identified by appearance:
long enough for someone to walk out of the picture and back, short enough that the lost
tracks kept for comparison stay few and that a new person in similar clothes minutes later
is not taken for an old one."""

POSE_SIGMA = 0.1
"""Per-joint Gaussian falloff of the pose similarity, as a fraction of the track's size (the
diagonal of its keypoint box, about its height). One value for all joints: frame to frame,
the error is the motion prediction's (a swinging wrist), not the annotation ambiguity that
COCO's per-joint OKS constants model. 0.1 of ~200 px is 20 px: a prediction 20 px off on
every joint still scores 0.6."""

GATE_OKS = 0.1
"""A detection can only be associated with a track if their similarity, computed with the
widened gating falloff (:data:`GATE_GROWTH`), is at least this. 0.1 is a mean distance of
about 2.1 falloffs: ~0.2 of the person's size for a track seen in the last frame."""

GATE_GROWTH = 0.5
"""Growth of the gating falloff while a track goes unseen, in person sizes per second: the
Kalman prediction's error grows linearly with time (a velocity error of a fraction of a
body height per second). After 0.2 s the gate is twice as wide as for a fresh track."""

MIN_COMMON_JOINTS = 2
"""A detection and a track must share at least this many joints to be compared: one joint
gives a position but nothing of the pose."""

MISS_PENALTY = 0.05
"""Cost added per frame a track has gone unseen (up to :data:`MISS_PENALTY_FRAMES` frames),
like DeepSORT's matching cascade: when two tracks predict a detection equally well (two
people crossing, one of them hidden), the one that was seen last frame takes it. Only
tracks compete for a detection this way (confirmed tracks are matched before new ones), and
a wrong pose match costs far more (> 0.3), so it only breaks near-ties; 0.02 still let
8 px of per-joint jitter tip a crossing now and then in the tests, 0.05 did not."""

MISS_PENALTY_FRAMES = 4
"""Frames unseen after which :data:`MISS_PENALTY` stops growing (at 0.2), so that a
long-hidden track is still picked up by a good match."""

APPEARANCE_WEIGHT = 0.3
"""Weight of the appearance distance (0..1, :func:`appearance_distance`) in the association
cost, when both sides have descriptors. Enough to decide between two equally good pose
matches of differently dressed people (different clothes are > 0.5 apart), not enough to
override motion (lighting changes move the same person's descriptor by 0.1-0.3)."""

REID_MAX_DISTANCE = 0.35
"""Largest appearance distance at which a new track is taken to be a lost person. The same
clothes under the same lighting stay within ~0.3; different clothes are mostly > 0.5."""

REID_MAX_SPEED = 3.0
"""Fastest plausible displacement of a lost person, in their sizes per second (walking is
under one body height per second, running two or three): a re-identification further from
where the person was last seen than this allows (plus :data:`REID_MARGIN`) is refused, so
a look-alike across the picture does not take over someone hidden for a moment."""

REID_MARGIN = 1.0
"""Distance, in the lost person's sizes, always allowed for a re-identification (detection
jitter, scale change, re-appearing behind an occluder's far edge)."""

REID_WAIT_S = 0.5
"""How long (seconds) a confirmed new track whose appearance is incomplete (someone walking
in at the frame edge, body cut off) may wait for a full view before it is given a new
identity, while there are lost people it could be. Half a second is enough to step fully
into the picture at walking pace. Its detections in the meantime are not reported online
(they are given to it offline)."""

PAST_APPEARANCES = 8
"""Detections whose descriptors make up a track's appearance (spread by norfair over the
track's life, not the last few frames, so a partial occlusion just before the person left
does not dominate)."""

MIN_SCALE = 8.0
"""Smallest person size (pixels) used to normalise distances, so that a track with a few
bunched-up joints does not make every distance infinite."""

MIN_REGION_PIXELS = 16
"""Fewest pixels inside the picture a body region needs for its colour histogram; fewer
(a region cut off by the frame edge) and the region counts as unseen."""

_HUE_BINS = 8
_SAT_BINS = 3
_GREY_BINS = 4
_REGION_BINS = _HUE_BINS * _SAT_BINS + _GREY_BINS
_REGIONS = 2  # torso, legs
APPEARANCE_DIM = _REGIONS * _REGION_BINS
"""Length of an :func:`appearance` descriptor: two regions (torso, legs) of 8 hue x 3
saturation bins for coloured pixels plus 4 brightness bins for grey ones."""

_CHROMA_MIN = 0.2
"""Saturation and value below which a pixel's hue is noise: it goes to the grey bins."""

# COCO-17 joints the appearance regions are drawn between.
_COCO_SHOULDERS = (5, 6)
_COCO_HIPS = (11, 12)
_COCO_ELBOWS = (7, 8)
_COCO_LEGS = ((11, 13), (13, 15), (12, 14), (14, 16))  # hip-knee, knee-ankle, both sides


# ----------------------------------------------------------------------------- appearance


def _rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) RGB in 0..1 to (N, 3) HSV with hue in 0..1."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    v = rgb.max(1)
    c = v - rgb.min(1)
    s = np.where(v > 0, c / np.maximum(v, 1e-12), 0.0)
    safe = np.maximum(c, 1e-12)
    h = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = np.where(c > 0, (h / 6.0) % 1.0, 0.0)
    return np.stack([h, s, v], 1)


def _histogram(pixels: np.ndarray) -> np.ndarray:
    """Normalised colour histogram of (N, 3) uint8 RGB pixels; NaN if there are too few."""
    if len(pixels) < MIN_REGION_PIXELS:
        return np.full(_REGION_BINS, np.nan, np.float32)
    hsv = _rgb_to_hsv(pixels.astype(np.float64) / 255.0)
    h, s, v = hsv.T
    hist = np.zeros(_REGION_BINS)
    chroma = (s >= _CHROMA_MIN) & (v >= _CHROMA_MIN)
    # hue: soft (linear) binning on the circle, so a slight hue shift moves weight gradually
    pos = h[chroma] * _HUE_BINS - 0.5
    lo = np.floor(pos)
    frac = pos - lo
    sbin = np.minimum(((s[chroma] - _CHROMA_MIN) / (1 - _CHROMA_MIN) * _SAT_BINS).astype(int), _SAT_BINS - 1)
    for offset, weight in ((0, 1 - frac), (1, frac)):
        hbin = (lo.astype(int) + offset) % _HUE_BINS
        np.add.at(hist, hbin * _SAT_BINS + sbin, weight)
    gbin = np.minimum((v[~chroma] * _GREY_BINS).astype(int), _GREY_BINS - 1)
    np.add.at(hist, _HUE_BINS * _SAT_BINS + gbin, 1.0)
    return (hist / hist.sum()).astype(np.float32)


def _sample(frame: np.ndarray, points: np.ndarray) -> np.ndarray:
    """RGB of the pixels at (N, 2) points (x, y) that lie inside the frame."""
    h, w = frame.shape[:2]
    xy = np.round(points[np.isfinite(points).all(1)]).astype(np.int64)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    xy = xy[inside]
    return frame[xy[:, 1], xy[:, 0], :3]


_GRID = np.linspace(0.15, 0.85, 16)  # torso: inner 70 % of the shoulder-hip quadrilateral
_ALONG = np.linspace(0.1, 0.9, 16)  # limbs: inner 80 % of each bone
_ACROSS = np.linspace(-0.12, 0.12, 5)  # ... and across it, as a fraction of the bone's length


def _torso_points(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Points spread over the quadrilateral with top corners a, b and bottom corners c, d."""
    u, v = np.meshgrid(_GRID, _GRID)
    u, v = u.reshape(-1, 1), v.reshape(-1, 1)
    top = a * (1 - u) + b * u
    bottom = c * (1 - u) + d * u
    return top * (1 - v) + bottom * v


def _limb_points(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Points along the bone p-q and a little to either side."""
    direction = q - p
    normal = np.array([-direction[1], direction[0]])
    along = p + _ALONG[:, None] * direction
    return (along[:, None, :] + _ACROSS[None, :, None] * normal).reshape(-1, 2)


def _torso_corners(kp: np.ndarray) -> np.ndarray | None:
    """Left/right shoulder and hip of a COCO-17 pose, completed where one hip is missing (the
    parallelogram) or both are (the chest down to the elbows' depth, for an upright person
    seen from the waist up); None without both shoulders."""
    (sl, sr), (hl, hr) = kp[list(_COCO_SHOULDERS)], kp[list(_COCO_HIPS)]
    if not (np.isfinite(sl).all() and np.isfinite(sr).all()):
        return None
    fl, fr = np.isfinite(hl).all(), np.isfinite(hr).all()
    if fl and not fr:
        hr = sr + (hl - sl)
    elif fr and not fl:
        hl = sl + (hr - sr)
    elif not (fl or fr):
        arms = [np.linalg.norm(kp[e] - kp[s]) for s, e in zip(_COCO_SHOULDERS, _COCO_ELBOWS)
                if np.isfinite(kp[[s, e]]).all()]
        if not arms:
            return None
        down = np.array([0.0, max(arms)])
        hl, hr = sl + down, sr + down
    return np.stack([sl, sr, hl, hr])


def appearance(frame_rgb: np.ndarray, keypoints: np.ndarray, layout: str = "coco17") -> np.ndarray:
    """A cheap appearance descriptor of one person: colour histograms of torso and legs.

    ``frame_rgb`` (H, W, 3) uint8; ``keypoints`` (J, 2) pixels, NaN where missing. For
    ``coco17`` the torso is sampled over the shoulder-hip quadrilateral (completed when hips
    are missing) and the legs along the thighs and shins (so little background gets in,
    whichever way the person faces);
    for other layouts, the upper and lower halves of the keypoint box, shrunk by a fifth.
    Each region is an HSV histogram (hue x saturation for coloured pixels, brightness for
    grey ones; see :data:`APPEARANCE_DIM`) normalised to sum 1, or NaN where the region
    is not seen (joints missing, or mostly outside the frame).

    Returns (APPEARANCE_DIM,) float32. Compare two with :func:`appearance_distance`.
    """
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] < 3:
        raise ValueError(f"expected an RGB frame (H, W, 3), got {frame.shape}")
    kp = np.asarray(keypoints, dtype=np.float64)
    empty = np.empty((0, 2))
    if layout == "coco17" and len(kp) == 17:
        corners = _torso_corners(kp)
        torso = _torso_points(*corners) if corners is not None else empty
        bones = [_limb_points(kp[i], kp[j]) for i, j in _COCO_LEGS if np.isfinite(kp[[i, j]]).all()]
        legs = np.concatenate(bones) if bones else empty
    else:
        box = keypoint_box(kp)
        if box is None:
            torso = legs = empty
        else:
            x1, y1, x2, y2 = box
            dx, dy = (x2 - x1) * 0.1, (y2 - y1) * 0.1
            xs = np.linspace(x1 + dx, x2 - dx, 16)
            mid = (y1 + y2) / 2
            torso = np.stack(np.meshgrid(xs, np.linspace(y1 + dy, mid - dy / 2, 16)), -1).reshape(-1, 2)
            legs = np.stack(np.meshgrid(xs, np.linspace(mid + dy / 2, y2 - dy, 16)), -1).reshape(-1, 2)
    return np.concatenate([_histogram(_sample(frame, torso)), _histogram(_sample(frame, legs))])


def _regions(descriptor: np.ndarray) -> np.ndarray:
    return np.asarray(descriptor, dtype=np.float64).reshape(-1, _REGIONS, _REGION_BINS)


def appearance_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Distance in [0, 1] between two :func:`appearance` descriptors, NaN if not comparable.

    The Hellinger distance of each region's histograms, averaged over the regions both
    descriptors have (NaN when they share none, or either is None).
    """
    if a is None or b is None:
        return float("nan")
    return float(_appearance_distances(_regions(a), _regions(b))[0, 0])


def _appearance_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) distances between (N, R, B) and (M, R, B) region histograms; NaN: not comparable."""
    bc = np.sqrt(np.clip(a[:, None], 0, None) * np.clip(b[None], 0, None)).sum(-1)  # (N, M, R)
    seen = np.isfinite(bc)
    d = np.sqrt(np.clip(1.0 - np.where(seen, bc, 0.0), 0.0, 1.0))
    n = seen.sum(-1)
    with np.errstate(invalid="ignore"):
        return np.where(n > 0, (d * seen).sum(-1) / np.maximum(n, 1), np.nan)


def _mean_descriptor(descriptors: list[np.ndarray]) -> np.ndarray | None:
    """Region-wise mean of descriptors (ignoring unseen regions), renormalised; None if none."""
    if not descriptors:
        return None
    stack = _regions(np.stack(descriptors))  # (N, R, B)
    seen = np.isfinite(stack).all(-1)  # (N, R)
    if not seen.any():
        return None
    total = np.where(seen[..., None], stack, 0.0).sum(0)  # (R, B)
    count = seen.sum(0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return mean.reshape(-1)


# ----------------------------------------------------------------------------- tracker


@dataclass
class PersonTrack(Track):
    """One person's :class:`~poselift.detect.track.Track` with the tracker's identity ``id``;
    ``detection_index`` maps each frame with this person to the index of their detection in
    that frame's list (for what the detector gave besides keypoints, e.g. its own 3D)."""

    id: int = -1
    detection_index: dict[int, int] = field(default_factory=dict)


@dataclass
class _Info:
    """What this module attaches to each norfair detection (its ``data``)."""

    frame: int
    index: int  # into the caller's detections of that frame
    valid: np.ndarray  # (J,) bool: finite joints
    scale: float  # diagonal of the keypoint box
    centre: np.ndarray  # mean of the finite joints
    x1: float  # left edge of the keypoint box (tie-break for numbering)
    y1: float


class _PoseMotionAppearance(_NfDistance):
    """Association cost between norfair tracks (``objects``) and this frame's detections."""

    def __init__(self, owner: PeopleTracker):
        self.owner = owner

    def get_distances(self, objects, candidates):
        cost = np.full((len(candidates), len(objects)), np.inf, dtype=np.float64)
        if not objects or not candidates:
            return cost
        owner = self.owner
        est = np.stack([o.estimate for o in objects])  # (T, J, 2): Kalman-predicted keypoints
        tvalid = np.stack([o.last_detection.data.valid for o in objects])  # joints seen last time
        scale = np.array([owner._scale(o) for o in objects])
        missed = np.array([owner._frame - o.last_detection.data.frame - 1 for o in objects], np.float64)
        pts = np.stack([c.points for c in candidates])  # (D, J, 2), finite (missing filled)
        dvalid = np.stack([c.data.valid for c in candidates])

        common = dvalid[:, None, :] & tvalid[None, :, :]  # (D, T, J)
        n = common.sum(-1)
        d2 = ((pts[:, None] - est[None]) ** 2).sum(-1)  # (D, T, J)
        sigma = POSE_SIGMA * scale  # (T,)
        sigma_gate = sigma + GATE_GROWTH * scale * missed / owner.fps
        with np.errstate(invalid="ignore", divide="ignore"):
            oks = (np.exp(-d2 / (2 * sigma[None, :, None] ** 2)) * common).sum(-1) / n
            oks_gate = (np.exp(-d2 / (2 * sigma_gate[None, :, None] ** 2)) * common).sum(-1) / n
        cost = 1.0 - oks + MISS_PENALTY * np.minimum(missed, MISS_PENALTY_FRAMES)[None, :]

        track_app = [owner._descriptor(o) for o in objects]
        if any(a is not None for a in track_app) and any(c.embedding is not None for c in candidates):
            nan = np.full(APPEARANCE_DIM, np.nan)
            a = _regions(np.stack([c.embedding if c.embedding is not None else nan for c in candidates]))
            b = _regions(np.stack([t if t is not None else nan for t in track_app]))
            app = _appearance_distances(a, b)
            cost = cost + APPEARANCE_WEIGHT * np.nan_to_num(app, nan=0.0)

        gated = (n < MIN_COMMON_JOINTS) | ~(oks_gate >= GATE_OKS)
        cost[gated] = np.inf
        return cost


@dataclass
class _Lost:
    """An identity whose track is not following anyone now: what re-identification needs."""

    descriptor: np.ndarray | None
    centre: np.ndarray  # where it was last seen
    frame: int  # when
    scale: float


class PeopleTracker:
    """Online multi-person tracker of 2D keypoints (see the module docstring for the method).

    ``fps``: the video's frame rate (the time constants are in seconds). ``layout``: the
    joint layout of the detections, for :func:`appearance` (``coco17`` for every detector
    here). The other parameters override the module constants of the same name in
    lower case. ``keep_history``: remember every frame's assignment, including a track's
    frames before it got its identity (:attr:`history`); the offline :func:`track_people`
    uses it, an online caller need not pay for it.

    Call :meth:`update` once per frame, in order.
    """

    def __init__(
        self,
        fps: float,
        *,
        layout: str = "coco17",
        confirm_frames: int = CONFIRM_FRAMES,
        max_coast_s: float = MAX_COAST_S,
        reid_window_s: float = REID_WINDOW_S,
        reid_max_distance: float = REID_MAX_DISTANCE,
        reid_wait_s: float = REID_WAIT_S,
        keep_history: bool = False,
    ):
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps}")
        if confirm_frames < 1:
            raise ValueError(f"confirm_frames must be at least 1, got {confirm_frames}")
        self.fps = float(fps)
        self.layout = layout
        self.reid_max_distance = float(reid_max_distance)
        self._reid_window = reid_window_s * self.fps  # frames
        self._reid_wait = reid_wait_s * self.fps  # frames
        # norfair's hit counter: +2 per detection, -1 per frame, so after n detections in a
        # row it is n; a track is confirmed when it exceeds initialization_delay.
        delay = confirm_frames - 1
        self._tracker = _NfTracker(
            distance_function="euclidean",  # a placeholder, replaced below by our cost
            distance_threshold=1e6,  # our cost gates itself (inf); any finite cost may match
            hit_counter_max=max(int(round(max_coast_s * self.fps)), delay + 1),
            initialization_delay=delay,
            detection_threshold=0.0,  # joints are passed with score 0 exactly when missing
            past_detections_length=PAST_APPEARANCES,
        )
        # norfair 2.3's constructor takes only distance names or scalar callables (one Python
        # call per pair, and a logged warning); update() calls the documented Distance
        # interface, get_distances(objects, candidates), so ours is set directly.
        self._tracker.distance_function = _PoseMotionAppearance(self)
        self._frame = -1
        self._num_joints: int | None = None
        self._next_id = 0
        self._ids: dict[object, int] = {}  # norfair TrackedObject -> identity
        self._holder: dict[int, object] = {}  # identity -> the TrackedObject following it now
        self._lost: dict[int, _Lost] = {}  # identities whose track was given up, for ReID
        self._pending: dict[object, int] = {}  # confirmed, awaiting ReID -> frame confirmed
        self.keep_history = keep_history
        self._history: dict[object, dict[int, int]] = {}  # object -> {frame: detection index}

    # -- public

    @property
    def frame(self) -> int:
        """Index of the last frame given to :meth:`update` (-1 before the first)."""
        return self._frame

    @property
    def num_ids(self) -> int:
        """How many identities have been given out so far (ids are 0 .. num_ids - 1)."""
        return self._next_id

    @property
    def history(self) -> dict[int, dict[int, int]]:
        """``{id: {frame: detection index}}`` for every identity, including each track's
        frames before it got its identity (needs ``keep_history=True``)."""
        if not self.keep_history:
            raise RuntimeError("PeopleTracker(keep_history=True) is needed for history")
        out: dict[int, dict[int, int]] = {}
        for obj, pid in self._ids.items():
            frames = out.setdefault(pid, {})
            for t, i in self._history.get(obj, {}).items():
                frames.setdefault(t, i)
        return {pid: dict(sorted(frames.items())) for pid, frames in sorted(out.items())}

    def update(
        self,
        detections: Sequence[Detection],
        frame_rgb: np.ndarray | None = None,
        *,
        appearances: Sequence[np.ndarray | None] | None = None,
    ) -> list[tuple[int, int]]:
        """Track one frame; returns ``(person id, index into detections)`` pairs, by id.

        ``detections``: this frame's people, each ``(keypoints (J, 2), scores (J,))`` with
        NaN keypoints where a joint is missing (a detection without any finite keypoint is
        ignored). Only detections assigned to a track that has its identity are listed: a
        new track gets one on its :data:`CONFIRM_FRAMES`-th detection, or, while it could be
        a lost person but its appearance is incomplete, up to :data:`REID_WAIT_S` later.
        Ids are 0, 1, ... in order of assignment (ties within a frame: left to right) and
        a track's id never changes.

        Appearance, for re-identification and as a tie-breaker: ``appearances`` gives one
        :func:`appearance` descriptor (or None) per detection; otherwise, if ``frame_rgb``
        is given, they are computed from it here. Without either, identities are kept by
        motion and pose only, and a person given up by the motion gate comes back as new.
        """
        self._frame += 1
        t = self._frame
        nf_dets = self._detections(t, detections, frame_rgb, appearances)
        before = list(self._tracker.tracked_objects)
        self._tracker.update(nf_dets)
        alive = {id(o) for o in self._tracker.tracked_objects}

        if self.keep_history:
            for obj in self._tracker.tracked_objects:
                info = obj.last_detection.data
                if info.frame == t:
                    self._history.setdefault(obj, {}).setdefault(t, info.index)
        for obj in before:  # tracks norfair gave up this frame
            if id(obj) in alive:
                continue
            self._pending.pop(obj, None)
            pid = self._ids.get(obj)
            if pid is None:
                self._history.pop(obj, None)
            elif self._holder.get(pid) is obj:
                self._lost[pid] = self._lost_record(obj)
                del self._holder[pid]
                if not self.keep_history:
                    del self._ids[obj]
        for pid in [p for p, lost in self._lost.items() if t - lost.frame > self._reid_window]:
            del self._lost[pid]

        seen = [o for o in self._tracker.get_active_objects() if o.last_detection.data.frame == t]
        for obj in seen:
            if obj not in self._ids:
                self._pending.setdefault(obj, t)
        self._resolve([o for o in seen if o in self._pending], t)
        return sorted((self._ids[o], o.last_detection.data.index) for o in seen if o in self._ids)

    # -- steps

    def _detections(self, t, detections, frame_rgb, appearances) -> list[_NfDetection]:
        if appearances is not None and len(appearances) != len(detections):
            raise ValueError(f"frame {t}: {len(appearances)} appearances for {len(detections)} detections")
        out = []
        for i, (kp, sc) in enumerate(detections):
            kp = np.asarray(kp, dtype=np.float64)
            sc = np.asarray(sc, dtype=np.float64)
            if kp.ndim != 2 or kp.shape[1] != 2 or sc.shape != kp.shape[:1]:
                raise ValueError(f"frame {t}: expected keypoints (J, 2) and scores (J,), got {kp.shape}, {sc.shape}")
            if self._num_joints is None:
                self._num_joints = len(kp)
            elif len(kp) != self._num_joints:
                raise ValueError(f"frame {t}: detection with {len(kp)} joints, earlier ones had {self._num_joints}")
            valid = np.isfinite(kp).all(1)
            if not valid.any():
                continue
            box = keypoint_box(kp)
            centre = kp[valid].mean(0)
            points = np.where(valid[:, None], kp, centre)  # norfair needs finite points
            if appearances is not None:
                emb = None if appearances[i] is None else np.asarray(appearances[i], dtype=np.float64)
                if emb is not None and emb.shape != (APPEARANCE_DIM,):
                    raise ValueError(f"frame {t}: appearance of shape {emb.shape}, expected ({APPEARANCE_DIM},)")
            elif frame_rgb is not None:
                emb = appearance(frame_rgb, kp, self.layout).astype(np.float64)
            else:
                emb = None
            if emb is not None and not np.isfinite(emb).any():
                emb = None
            info = _Info(frame=t, index=i, valid=valid, centre=centre, x1=float(box[0]), y1=float(box[1]),
                         scale=float(max(np.hypot(box[2] - box[0], box[3] - box[1]), MIN_SCALE)))
            out.append(_NfDetection(points, scores=valid.astype(np.float64), data=info, embedding=emb))
        return out

    def _lost_record(self, obj) -> _Lost:
        info = obj.last_detection.data
        return _Lost(self._descriptor(obj), info.centre, info.frame, self._scale(obj))

    def _resolve(self, pending: list, t: int) -> None:
        """Give the confirmed tracks awaiting an identity an old one (ReID) or a new one.

        Candidates are the identities whose track was given up within the ReID window and
        those whose track goes unseen this frame. A pending track takes the candidate with
        the closest appearance, if within the ReID distance and reach (best pairs first);
        the others get new identities, except that one without a complete appearance
        (body cut off by the frame edge) waits up to the ReID wait for a better look while
        there are candidates it could be.
        """
        if not pending:
            return
        pending.sort(key=lambda o: (o.last_detection.data.x1, o.last_detection.data.y1))
        candidates = dict(self._lost)
        for pid, obj in self._holder.items():
            if obj.last_detection.data.frame < t:  # coasting: unseen this frame
                candidates[pid] = self._lost_record(obj)
        candidates = {pid: c for pid, c in candidates.items() if c.descriptor is not None}
        descriptors = [self._descriptor(o) for o in pending]
        pairs = []
        for k, (obj, desc) in enumerate(zip(pending, descriptors)):
            if desc is None:
                continue
            now = obj.last_detection.data
            for pid, c in candidates.items():
                d = appearance_distance(desc, c.descriptor)
                reach = c.scale * (REID_MARGIN + REID_MAX_SPEED * (now.frame - c.frame) / self.fps)
                if d <= self.reid_max_distance and np.linalg.norm(now.centre - c.centre) <= reach:
                    pairs.append((d, k, pid))
        taken_objs, taken_ids = set(), set()
        for d, k, pid in sorted(pairs):
            if k in taken_objs or pid in taken_ids:
                continue
            taken_objs.add(k)
            taken_ids.add(pid)
            self._assign(pending[k], pid)
        for k, obj in enumerate(pending):
            if k in taken_objs:
                continue
            desc = descriptors[k]
            complete = desc is not None and np.isfinite(desc).all()
            if complete or not candidates or t - self._pending[obj] >= self._reid_wait:
                self._assign(obj, None)

    def _assign(self, obj, pid: int | None) -> None:
        """Give ``obj`` identity ``pid`` (an old one), or a new one if None."""
        del self._pending[obj]
        if pid is None:
            pid = self._next_id
            self._next_id += 1
        else:
            self._lost.pop(pid, None)
            old = self._holder.get(pid)
            if old is not None:  # a coasting track re-identified elsewhere: retire it
                self._tracker.tracked_objects.remove(old)
                if not self.keep_history:
                    del self._ids[old]
        self._ids[obj] = pid
        self._holder[pid] = obj

    # -- used by the cost

    @staticmethod
    def _scale(obj) -> float:
        """A track's size: median keypoint-box diagonal over its remembered detections."""
        dets = list(obj.past_detections) + [obj.last_detection]
        return float(np.median([d.data.scale for d in dets]))

    @staticmethod
    def _descriptor(obj) -> np.ndarray | None:
        """A track's appearance: mean descriptor of its remembered detections, or None."""
        dets = list(obj.past_detections)
        if obj.last_detection not in dets:
            dets.append(obj.last_detection)
        return _mean_descriptor([d.embedding for d in dets if d.embedding is not None])


# ----------------------------------------------------------------------------- offline


def track_people(
    frames: Sequence[Sequence[Detection]],
    fps: float,
    images: Sequence[np.ndarray] | Callable[[int], np.ndarray] | None = None,
    *,
    appearances: Sequence[Sequence[np.ndarray | None]] | None = None,
    layout: str = "coco17",
    **options,
) -> list[PersonTrack]:
    """Track everyone through a whole video; one :class:`PersonTrack` per identity, by id.

    ``frames[t]``: the detections of frame t, each ``(keypoints (J, 2), scores (J,))`` with
    NaN where a joint is missing (all detections must have the same J). Appearance, for
    re-identifying people who left or were hidden for long, from either:

    * ``appearances[t][i]``: an :func:`appearance` descriptor (or None) of detection i of
      frame t, computed by the caller while it had the frame (the way to go when the video
      is streamed once); or
    * ``images``: the RGB frames, as a sequence or a callable ``t -> frame``.

    ``options`` are passed to :class:`PeopleTracker`. Each track spans all ``len(frames)``
    frames: keypoints (T, J, 2) float32, NaN where the person has no detection, scores
    (T, J) float32, 0 there; it includes the frames before the track was confirmed. No
    confirmed person gives an empty list.
    """
    if images is not None and appearances is not None:
        raise ValueError("give images or appearances, not both")
    if appearances is not None and len(appearances) != len(frames):
        raise ValueError(f"{len(appearances)} frames of appearances for {len(frames)} frames")
    tracker = PeopleTracker(fps, layout=layout, keep_history=True, **options)
    num_joints = None
    for t, dets in enumerate(frames):
        frame_rgb = None
        if images is not None and len(dets):
            frame_rgb = images(t) if callable(images) else images[t]
        tracker.update(dets, frame_rgb, appearances=None if appearances is None else appearances[t])
        if num_joints is None and len(dets):
            num_joints = len(dets[0][0])
    out = []
    for pid, assigned in sorted(tracker.history.items()):
        kp = np.full((len(frames), num_joints, 2), np.nan, dtype=np.float32)
        sc = np.zeros((len(frames), num_joints), dtype=np.float32)
        for t, i in assigned.items():
            k, s = frames[t][i]
            k = np.asarray(k, dtype=np.float32)
            s = np.nan_to_num(np.asarray(s, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
            missing = ~np.isfinite(k).all(1)
            kp[t] = np.where(missing[:, None], np.nan, k)
            sc[t] = np.where(missing, 0.0, s)
        out.append(PersonTrack(kp, sc, id=pid, detection_index=dict(assigned)))
    return out


# ----------------------------------------------------------------------------- speed


def benchmark(people: Sequence[int] = (2, 10), frames: int = 300, fps: float = 30.0,
              with_appearance: bool = True, seed: int = 0) -> dict[int, float]:
    """Milliseconds per frame of :meth:`PeopleTracker.update` for synthetic crowds.

    Each count in ``people`` walks at random through a 1920 x 1080 picture for ``frames``
    frames (COCO-17 stick figures, jitter, a few missed joints), with random appearance
    descriptors when ``with_appearance`` (descriptor computation itself, ~0.3 ms a person on
    a 1080p frame, is the caller's and not counted). Returns ``{people: ms per frame}``.
    """
    rng = np.random.default_rng(seed)
    template = np.array([[0, -150], [-6, -156], [6, -156], [-12, -152], [12, -152], [-30, -110], [30, -110],
                         [-38, -60], [38, -60], [-40, -15], [40, -15], [-15, 0], [15, 0], [-16, 48], [16, 48],
                         [-17, 50], [17, 50]], dtype=np.float64)
    out = {}
    for n in people:
        pos = rng.uniform([100, 300], [1820, 1000], (n, 2))
        vel = rng.normal(0, 4, (n, 2))
        looks = [np.abs(rng.normal(size=(_REGIONS, _REGION_BINS))) for _ in range(n)]
        looks = [(x / x.sum(1, keepdims=True)).reshape(-1) for x in looks]
        tracker = PeopleTracker(fps)
        elapsed = 0.0
        for _ in range(frames):
            pos += vel
            vel = np.where((pos < [50, 200]) | (pos > [1870, 1050]), -vel, vel)
            dets = []
            for p in range(n):
                kp = template + pos[p] + rng.normal(0, 2, template.shape)
                kp[rng.random(17) < 0.1] = np.nan
                dets.append((kp, np.full(17, 0.9)))
            apps = looks if with_appearance else None
            start = time.perf_counter()
            tracker.update(dets, appearances=apps)
            elapsed += time.perf_counter() - start
        out[n] = 1000.0 * elapsed / frames
    return out
