"""BlazePose (MediaPipe) as a 2D keypoint back-end, with an identity guard for multi-person video.

Model: BlazePose "full" (``model_complexity=1``), the model bundled in the
``mediapipe==0.10.21`` wheel, used through the legacy ``mediapipe.solutions.pose.Pose``
API. It returns 33 landmarks for one person; the 17 COCO joints are landmarks
``MEDIAPIPE_TO_COCO17`` = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28).
Keypoints are in pixels of the full frame; a landmark that falls outside the image is
reported missing (NaN). **Score = landmark visibility**: MediaPipe's estimate (0..1) that
the joint is visible, i.e. neither occluded nor out of the frame. It is not a localisation
confidence; joints hidden behind the body still get a position, with a low score.

Install: ``pip install -r requirements-video.txt`` then
``pip install --no-deps mediapipe==0.10.21`` (its declared dependencies pull in jax).

How one person is followed
--------------------------
BlazePose tracks a single person: after a detection it predicts the next region of interest
from the landmarks and only runs its person detector again when tracking is lost, at which
point it takes whoever its detector scores highest, which can be somebody else. So:

* **Choosing the person** (``start(person)``). People are found in a frame by running a
  fresh static-image Pose repeatedly, blanking the box of each person found before the next
  run (up to ``max_people``). ``person=k`` ranks the people found in the *first frame in
  which anyone is found* by keypoint-box area × mean visibility and follows the k-th
  (0 = most visible); a :class:`PoseliftError` says so if fewer are there. ``person=(x, y,
  w, h)`` (pixels) follows the person whose box overlaps that box most, from the first
  frame in which anyone overlaps it (earlier frames stay empty).
* **Tracking**. The tracking Pose (``static_image_mode=False``) is fed a square crop around
  the person (``crop_scale`` × box size, clipped to the frame). The crop stays fixed while
  the person's box keeps a margin inside it, so BlazePose's own tracking works unchanged in
  crop coordinates; when the person nears its edge (or changes size a lot) a new crop is
  centred on them and the tracker is reset, so its detector then sees mainly this person.
* **Identity guard**. Each new detection is compared with the followed person's last good
  one: it is a *switch* when its box IoU with the last good box is below ``switch_iou``
  **and** its hip centre (mean of the hips) moved more than an allowance from the last good
  hip centre. The allowance is ``switch_jump`` × box size (max of box width and height) for
  consecutive frames and grows by ``max_speed`` box sizes per second while the person is
  missing. A switch is rejected (the frame gets no keypoints) and remembered as another
  person; a later detection closer (relative to the allowances) to a remembered other
  person than to the followed one is rejected too. After a rejection or a frame without a
  detection, people are searched for in the whole frame as above (the rejected person
  blanked out) and the followed person is re-acquired if one of them passes the guard;
  the tracker is then reset on a crop around them.

Thresholds (tuned on the Sports2D demo clip, 1768x994 at 30 fps: a man jumps off a box
with a flip while a woman walks across the foreground): ``switch_iou=0.1``,
``switch_jump=0.5``, ``max_speed=1.5`` box sizes per second, ``crop_scale=3``. On that clip
the followed man's hip centre moved a median 0.02 and at most 0.35 box sizes between
consecutive frames (the largest on poor detections mid-flip), while unguarded BlazePose,
losing him in the air at frame ~170, jumped to the woman 680 px (over 3 of his box sizes)
away and followed her until she left the frame. With the guard the man is followed
throughout (missing for about 12 frames of the flip) and the woman never; the outcome is the
same for ``switch_jump`` 0.3-1.0, ``max_speed`` 0.75-3 and ``crop_scale`` 2-3.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import numpy as np

from ..errors import PoseliftError
from .person import PersonChoice, box_from_xywh, parse_person
from .track import Detection, box_iou, keypoint_box

MEDIAPIPE_TO_COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
"""BlazePose landmark index of each COCO-17 joint (nose, l_eye, r_eye, l_ear, ...)."""

_HIPS = (11, 12)  # COCO-17 left and right hip
MEDIAPIPE_VERSION = "0.10.21"
INSTALL = ("pip install -r requirements-video.txt && "
           f"pip install --no-deps mediapipe=={MEDIAPIPE_VERSION}")


@contextlib.contextmanager
def _native_stderr_silenced():
    """Silence file descriptor 2 (the native library's notices) for the duration.

    MediaPipe's C++ side logs routine messages ("Created TensorFlow Lite XNNPACK delegate",
    "Feedback manager requires ...") when a graph is built and when its models first run;
    they are not errors and would bury the progress bars. Python-level errors still raise.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_pose_solution():
    try:
        import mediapipe as mp
    except ImportError as e:
        raise PoseliftError(f"the mediapipe detector needs the mediapipe package ({e}); install it with: "
                            f"{INSTALL}") from None
    try:
        return mp.solutions.pose
    except AttributeError:
        raise PoseliftError(f"this mediapipe ({getattr(mp, '__version__', '?')}) has no legacy "
                            f"mediapipe.solutions.pose; install mediapipe=={MEDIAPIPE_VERSION}: {INSTALL}") from None


@dataclass
class _Seen:
    """Where a person was last seen."""

    box: np.ndarray  # x1, y1, x2, y2
    hip: np.ndarray  # x, y
    frame: int

    @property
    def size(self) -> float:
        return max(float(max(self.box[2] - self.box[0], self.box[3] - self.box[1])), 1.0)


def _seen(det: Detection, frame: int) -> _Seen | None:
    box = keypoint_box(det[0])
    if box is None:
        return None
    hips = det[0][list(_HIPS)]
    hips = hips[np.isfinite(hips).all(-1)]
    hip = hips.mean(0).astype(np.float64) if len(hips) else (box[:2] + box[2:]) / 2
    return _Seen(box, hip, frame)


class MediaPipePose:
    """BlazePose full through MediaPipe: a :class:`~poselift.detect.base.PersonTracker`.

    ``detect(frame_rgb)`` returns ``[]`` or one COCO-17 detection of the followed person.
    See the module documentation for the person choice, the identity guard and the meaning
    of the thresholds. ``stats`` counts what the guard did. ``world_landmarks`` holds
    BlazePose's own 3D for the detection ``detect`` last returned (``pose_world_landmarks``
    at the COCO-17 joints: (17, 3) metres, origin between the hips, camera-aligned axes x
    right, y down, z away from the camera), or None; a peer's 3D to compare with.
    """

    name = "mediapipe"
    layout = "coco17"

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True,
                 switch_iou: float = 0.1, switch_jump: float = 0.5, max_speed: float = 1.5,
                 crop_scale: float = 3.0, max_people: int = 3, forget_after: float = 2.0):
        pose = _import_pose_solution()
        if model_complexity not in (0, 1, 2):
            raise PoseliftError(f"model_complexity must be 0, 1 or 2, got {model_complexity!r}")
        if model_complexity != 1:
            # 0 (lite) and 2 (heavy) are not inside the wheel; mediapipe would download them
            raise PoseliftError("only model_complexity=1 (BlazePose full) ships inside the mediapipe wheel")
        if crop_scale < 1.5:
            raise PoseliftError(f"crop_scale must be >= 1.5, got {crop_scale}")
        self.model_complexity = model_complexity
        self.switch_iou, self.switch_jump, self.max_speed = float(switch_iou), float(switch_jump), float(max_speed)
        self.crop_scale, self.max_people, self.forget_after = float(crop_scale), int(max_people), float(forget_after)
        common = dict(model_complexity=model_complexity, enable_segmentation=False,
                      min_detection_confidence=min_detection_confidence)
        with _native_stderr_silenced():
            self._tracker = pose.Pose(static_image_mode=False, smooth_landmarks=smooth_landmarks,
                                      min_tracking_confidence=min_tracking_confidence, **common)
            self._static = pose.Pose(static_image_mode=True, **common)
            blank = np.zeros((64, 64, 3), np.uint8)  # the graphs start (and log) on their first frame
            for graph in (self._tracker, self._static):
                graph.process(blank)
        self._tracker_used = False
        self._world: dict[int, np.ndarray] = {}  # id(keypoints) -> world landmarks, this frame
        self.world_landmarks: np.ndarray | None = None
        self.start()

    # ------------------------------------------------------------------ PersonTracker interface

    def start(self, person: PersonChoice = 0, fps: float | None = None) -> None:
        """Forget everything and follow ``person`` from the next frame; ``fps`` scales the guard."""
        self._person = parse_person(person)
        self._fps = float(fps) if fps and fps > 0 else 30.0
        self._t = -1
        self._target: _Seen | None = None
        self._others: list[_Seen] = []
        self._crop: tuple[int, int, int, int] | None = None
        self._reset_tracker = True
        self.stats = dict(started_at=None, people_at_start=0, switches_rejected=0, reacquired=0,
                          frames_without_person=0, tracker_resets=0, others_rejected=0)

    def notes(self) -> list[str]:
        s = self.stats
        who = (f"person {self._person} (ranked by box area x mean visibility among the {s['people_at_start']} "
               f"found in frame {s['started_at']})" if isinstance(self._person, int)
               else f"the person overlapping box {','.join(f'{v:g}' for v in self._person)}")
        notes = [f"BlazePose full (mediapipe {MEDIAPIPE_VERSION} legacy Pose, model_complexity="
                 f"{self.model_complexity}); score = landmark visibility",
                 f"followed {who}" if s["started_at"] is not None else "nobody was found to follow"]
        if s["switches_rejected"] or s["others_rejected"] or s["reacquired"]:
            notes.append(f"identity guard: rejected {s['switches_rejected']} jumps to another person and "
                         f"{s['others_rejected']} other detections of other people; re-acquired the person "
                         f"{s['reacquired']} times")
        return notes

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]:
        frame = np.asarray(frame_rgb)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.shape} {frame.dtype}")
        frame = np.ascontiguousarray(frame)
        self._t += 1
        self._world.clear()
        found = self._detect(frame)
        self.world_landmarks = self._world.get(id(found[0][0])) if found else None
        return found

    def _detect(self, frame: np.ndarray) -> list[Detection]:
        if self._target is None:
            return self._acquire(frame)

        self._forget_others()
        rejected = []
        det = self._track(frame)
        if det is not None:
            seen = _seen(det, self._t)
            if seen is not None:
                kind = self._classify(seen)
                if kind == "target":
                    self._accept(seen)
                    return [det]
                self.stats["switches_rejected" if kind == "switch" else "others_rejected"] += 1
                rejected.append(seen.box)
        # lost or switched: search the whole frame for the followed person
        best = None
        for cand in self._find_people(frame, masked=rejected):
            seen = _seen(cand, self._t)
            if seen is not None and self._classify(seen) == "target":
                d = self._distance(self._target, seen)
                if best is None or d < best[0]:
                    best = (d, cand, seen)
        if best is not None:
            self._accept(best[2])
            self._reset_tracker = True  # restart BlazePose tracking on a crop around them
            self.stats["reacquired"] += 1
            return [best[1]]
        self.stats["frames_without_person"] += 1
        return []

    def close(self) -> None:
        for pose in (self._tracker, self._static):
            try:
                pose.close()
            except Exception:  # noqa: BLE001 - already closed
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _run(self, pose, image: np.ndarray, offset=(0, 0), size=None) -> Detection | None:
        """One Pose call on ``image``; keypoints mapped into the full frame of size ``size``."""
        with _native_stderr_silenced():  # models inside the graph start (and log) on first use
            result = pose.process(image)
        if result.pose_landmarks is None:
            return None
        h, w = image.shape[:2]
        lm = result.pose_landmarks.landmark
        xy = np.array([[lm[i].x * w + offset[0], lm[i].y * h + offset[1]] for i in MEDIAPIPE_TO_COCO17],
                      dtype=np.float32)
        vis = np.clip(np.array([lm[i].visibility for i in MEDIAPIPE_TO_COCO17], dtype=np.float32), 0.0, 1.0)
        width, height = size if size is not None else (w, h)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] <= width - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= height - 1)
        inside &= np.isfinite(xy).all(-1)
        if not inside.any():
            return None
        kp = np.where(inside[:, None], xy, np.nan).astype(np.float32)
        if getattr(result, "pose_world_landmarks", None) is not None:
            wl = result.pose_world_landmarks.landmark
            self._world[id(kp)] = np.array([[wl[i].x, wl[i].y, wl[i].z] for i in MEDIAPIPE_TO_COCO17], np.float32)
        return kp, np.where(inside, vis, 0.0).astype(np.float32)

    def _find_people(self, frame: np.ndarray, masked=()) -> list[Detection]:
        """Everybody a static Pose finds, one run per person, blanking each one found."""
        image = frame
        height, width = frame.shape[:2]

        def blank(box):
            nonlocal image
            if image is frame:
                image = frame.copy()
            margin = 0.1 * max(box[2] - box[0], box[3] - box[1])
            x1, y1 = (max(int(v - margin), 0) for v in box[:2])
            x2, y2 = int(min(box[2] + margin, width - 1)) + 1, int(min(box[3] + margin, height - 1)) + 1
            image[y1:y2, x1:x2] = 0

        for box in masked:
            blank(box)
        people = []
        for _ in range(self.max_people):
            det = self._run(self._static, image)
            box = None if det is None else keypoint_box(det[0])
            if box is None:
                break
            people.append(det)
            blank(box)
        return people

    def _acquire(self, frame: np.ndarray) -> list[Detection]:
        people = self._find_people(frame)
        if not people:
            return []
        if isinstance(self._person, int):
            def visibility(det):
                box = keypoint_box(det[0])
                return (box[2] - box[0]) * (box[3] - box[1]) * float(det[1].mean())

            people.sort(key=visibility, reverse=True)
            if self._person >= len(people):
                raise PoseliftError(
                    f"person {self._person} asked for, but only {len(people)} "
                    f"{'person was' if len(people) == 1 else 'people were'} found in frame {self._t}, the first "
                    "frame with anybody (at most "
                    f"{self.max_people} are searched); choose the person with a box x,y,w,h instead")
            chosen = people[self._person]
        else:
            target = box_from_xywh(self._person)
            overlaps = [(box_iou(keypoint_box(det[0]), target), i) for i, det in enumerate(people)]
            iou, i = max(overlaps)
            if iou <= 0:
                return []
            chosen = people[i]
        for det in people:
            if det is not chosen:
                self._others.append(_seen(det, self._t))
        self.stats["started_at"] = self._t
        self.stats["people_at_start"] = len(people)
        self._accept(_seen(chosen, self._t))
        self._reset_tracker = True
        return [chosen]

    def _accept(self, seen: _Seen) -> None:
        self._target = seen
        # the followed person is not also another one: drop remembered others it overlaps
        self._others = [o for o in self._others if box_iou(o.box, seen.box) < 0.5]

    def _allowance(self, track: _Seen, t: int) -> float:
        gap = max(t - track.frame, 1)
        return track.size * (self.switch_jump + self.max_speed * (gap - 1) / self._fps)

    def _distance(self, track: _Seen, seen: _Seen) -> float:
        """Hip-centre distance in units of the allowance (<= 1: could be the same person)."""
        return float(np.linalg.norm(seen.hip - track.hip)) / self._allowance(track, seen.frame)

    def _matches(self, track: _Seen, seen: _Seen) -> bool:
        return box_iou(track.box, seen.box) >= self.switch_iou or self._distance(track, seen) <= 1.0

    def _classify(self, seen: _Seen) -> str:
        """'target', 'other' (closer to someone else seen before) or 'switch' (too far away)."""
        others = [(self._distance(o, seen), i) for i, o in enumerate(self._others) if self._matches(o, seen)]
        other = min(others, default=None)
        if self._matches(self._target, seen):
            if other is None or self._distance(self._target, seen) <= other[0]:
                return "target"
        if other is not None:
            self._others[other[1]] = seen
            return "other"
        self._others.append(seen)
        return "switch"

    def _forget_others(self) -> None:
        horizon = self.forget_after * self._fps
        self._others = [o for o in self._others if self._t - o.frame <= horizon]

    def _track(self, frame: np.ndarray) -> Detection | None:
        """The tracking Pose on the crop around the followed person."""
        height, width = frame.shape[:2]
        target = self._target
        if self._crop is None or self._reset_tracker or self._crop_outgrown(target.box, width, height):
            side = self.crop_scale * target.size
            cx, cy = (target.box[:2] + target.box[2:]) / 2
            x1, y1 = max(int(cx - side / 2), 0), max(int(cy - side / 2), 0)
            x2, y2 = min(int(cx + side / 2) + 1, width), min(int(cy + side / 2) + 1, height)
            if x2 - x1 < 32 or y2 - y1 < 32:
                x1, y1, x2, y2 = 0, 0, width, height
            self._crop = (x1, y1, x2, y2)
            if self._tracker_used:
                self._tracker.reset()
                self.stats["tracker_resets"] += 1
            self._reset_tracker = False
        x1, y1, x2, y2 = self._crop
        self._tracker_used = True
        return self._run(self._tracker, np.ascontiguousarray(frame[y1:y2, x1:x2]), offset=(x1, y1),
                         size=(width, height))

    def _crop_outgrown(self, box: np.ndarray, width: int, height: int) -> bool:
        x1, y1, x2, y2 = self._crop
        side = max(x2 - x1, y2 - y1)
        size = max(box[2] - box[0], box[3] - box[1])
        if size > 0.6 * side or size < 0.15 * side:
            return True
        margin = 0.1 * side
        # an edge of the crop that is also an edge of the frame needs no margin
        return ((x1 > 0 and box[0] < x1 + margin) or (y1 > 0 and box[1] < y1 + margin)
                or (x2 < width and box[2] > x2 - margin) or (y2 < height and box[3] > y2 - margin))
