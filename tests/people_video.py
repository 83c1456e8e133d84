"""A synthetic video of two real people crossing, with exact ground truth, and a checker of
tracked identities against it (used by tests/test_people_video.py).

How the video is made (:func:`build_crossing_video`):

* **People**: two real people cut out of the shared clips, so that a real detector sees real
  humans: the woman who walks right to left in the Sports2D demo (frames 60-149, found
  through the hand-annotated boxes in ``tests/fixtures/sports2d_people_boxes.json``) and the
  man of Pose2Sim's ``cam01.mp4`` (portrait 1080x1920, 60 fps, his 100 frames resampled to
  90 = slow motion).
* **Cut-out**: a soft mask from MediaPipe Pose's own person segmentation (the legacy
  ``mediapipe.solutions.pose`` API with ``enable_segmentation=True``, run on each source
  frame, on a window around the woman in Sports2D since the man on the box must not be
  chosen there). It follows the silhouette (hair, clothes, feet), unlike a rectangle (which
  would drag a patch of the source background along, and a second person in it in Pose2Sim)
  or a hull of the keypoints (which cuts the head, hands and feet and adds the space
  between the legs). A median background does not work for Pose2Sim: the man is present in
  all its frames.
* **Placement**: each sprite's own translation in its source clip (a straight-line fit of its
  mask centroid x and its lowest mask row) is replaced by a straight path across the
  background, so the limbs move as they really did; the woman at the Sports2D scale, in front
  (feet lower in the picture), walking right to left at her own speed; the man smaller,
  behind, moving left to right, so that she passes in front of him mid-clip and hides him for
  a few frames.
* **Background**: Sports2D frame 229 (the same camera after both people have left), scaled to
  1280x720.

Ground truth per frame and sprite: the box of its placed mask (alpha > 0.5) and the fraction
of that mask left visible (the man's is covered by the woman's while they cross).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SPORTS2D = "video/sports2d/demo.mp4"
POSE2SIM = "video/pose2sim_single/cam01.mp4"
BACKGROUND_FRAME = 229  # Sports2D, nobody in it (annotated as empty)
WOMAN_FRAMES = range(60, 150)
WIDTH, HEIGHT, FPS, FRAMES = 1280, 720, 30.0, 90
NAMES = ("woman", "man")  # index 0 is in front


@dataclass
class Sprite:
    """One person in one source frame: colour and soft mask of a crop, where the crop is in
    the source frame, and the person's anchor (mask centroid x, lowest mask row) there."""

    rgb: np.ndarray  # (h, w, 3) uint8
    alpha: np.ndarray  # (h, w) float32 in [0, 1]
    offset: tuple[int, int]  # (x, y) of the crop's top-left in the source frame
    anchor: tuple[float, float]


@dataclass
class CrossingTruth:
    boxes: np.ndarray  # (2, T, 4) x1, y1, x2, y2 of each sprite's placed mask (alpha > 0.5), NaN if absent
    visible: np.ndarray  # (2, T) fraction of that mask not hidden by the sprite in front
    names: tuple[str, str] = NAMES

    @property
    def crossing(self) -> int:
        """The frame in which the two boxes' centres are closest horizontally."""
        cx = (self.boxes[..., 0] + self.boxes[..., 2]) / 2
        return int(np.nanargmin(np.abs(cx[0] - cx[1])))


# ----------------------------------------------------------------------------- cut-outs


def _segmenter():
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, enable_segmentation=True,
                                  smooth_segmentation=True, min_detection_confidence=0.5)


def _soft(mask: np.ndarray) -> np.ndarray:
    """MediaPipe's segmentation probabilities to an alpha: a ramp from 0.2 to 0.8, feathered."""
    import cv2

    alpha = np.clip((np.asarray(mask, np.float32) - 0.2) / 0.6, 0.0, 1.0)
    return cv2.GaussianBlur(alpha, (5, 5), 0)


def _sprite(image: np.ndarray, alpha: np.ndarray, origin: tuple[int, int]) -> Sprite | None:
    """Crop ``image`` to the mask's box; ``origin`` is ``image``'s top-left in the source frame."""
    rows, cols = np.nonzero(alpha > 0.02)
    if len(rows) == 0:
        return None
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    core = alpha > 0.5
    ys, xs = np.nonzero(core)
    if len(ys) == 0:
        return None
    anchor = (origin[0] + float(xs.mean()), origin[1] + float(ys.max()))
    return Sprite(image[y0:y1, x0:x1].copy(), alpha[y0:y1, x0:x1].copy(), (origin[0] + int(x0), origin[1] + int(y0)),
                  anchor)


def woman_sprites(frames: dict[int, np.ndarray]) -> list[Sprite]:
    """The Sports2D woman in ``WOMAN_FRAMES``: segmentation on a window around her annotated
    box (interpolated between the annotated frames), below the box the man stands on."""
    boxes = json.loads((FIXTURES / "sports2d_people_boxes.json").read_text())["frames"]
    known = sorted((int(t), b["woman"]) for t, b in boxes.items() if "woman" in b)
    ts = np.array([t for t, _ in known], float)
    bs = np.array([b for _, b in known], float)
    out = []
    with _segmenter() as seg:
        for t in WOMAN_FRAMES:
            box = [np.interp(t, ts, bs[:, k]) for k in range(4)]
            cx = (box[0] + box[2]) / 2
            frame = frames[t]
            h, w = frame.shape[:2]
            x0, x1 = int(max(0, cx - 280)), int(min(w, cx + 280))
            y0 = 470  # the man's feet on the box are above this line; her head below it
            window = np.ascontiguousarray(frame[y0:, x0:x1])
            result = seg.process(window)
            if result.segmentation_mask is None:
                continue
            sprite = _sprite(window, _soft(result.segmentation_mask), (x0, y0))
            if sprite is not None:
                out.append(sprite)
    return out


def man_sprites(frames: list[np.ndarray], count: int = FRAMES) -> list[Sprite]:
    """The Pose2Sim man: segmentation of the frames (halved, 540x960), ``count`` of them
    evenly resampled from the clip (slow motion)."""
    import cv2

    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    out = []
    with _segmenter() as seg:
        for i in picks:
            image = cv2.resize(frames[i], (frames[i].shape[1] // 2, frames[i].shape[0] // 2),
                               interpolation=cv2.INTER_AREA)
            result = seg.process(image)
            if result.segmentation_mask is None:
                continue
            sprite = _sprite(image, _soft(result.segmentation_mask), (0, 0))
            if sprite is not None:
                out.append(sprite)
    return out


# ----------------------------------------------------------------------------- compositing


def _place(canvas: np.ndarray, cover: np.ndarray, sprite: Sprite, scale: float, anchor_src, target,
           ) -> np.ndarray:
    """Paste ``sprite`` scaled by ``scale`` so that the source point ``anchor_src`` lands on
    ``target`` (canvas pixels); ``cover`` gets the pasted alpha. Returns the placed alpha > 0.5
    as a full-canvas boolean mask."""
    import cv2

    h, w = sprite.alpha.shape
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    rgb = cv2.resize(sprite.rgb, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(sprite.alpha, (sw, sh), interpolation=cv2.INTER_AREA)
    left = round(target[0] + scale * (sprite.offset[0] - anchor_src[0]))
    top = round(target[1] + scale * (sprite.offset[1] - anchor_src[1]))
    H, W = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, left), max(0, top), min(W, left + sw), min(H, top + sh)
    solid = np.zeros((H, W), bool)
    if cx0 >= cx1 or cy0 >= cy1:
        return solid
    a = alpha[cy0 - top:cy1 - top, cx0 - left:cx1 - left]
    region = canvas[cy0:cy1, cx0:cx1]
    region[:] = region * (1 - a[..., None]) + rgb[cy0 - top:cy1 - top, cx0 - left:cx1 - left] * a[..., None]
    cover[cy0:cy1, cx0:cx1] = np.maximum(cover[cy0:cy1, cx0:cx1], a)
    solid[cy0:cy1, cx0:cx1] = a > 0.5
    return solid


def _fitted_anchors(sprites: list[Sprite]) -> np.ndarray:
    """Each sprite's anchor with its source translation taken out: the straight-line fit over
    time of the anchors (what is left is the body's own motion)."""
    a = np.array([s.anchor for s in sprites], float)
    t = np.arange(len(a))
    return np.stack([np.polyval(np.polyfit(t, a[:, k], 1), t) for k in range(2)], -1)


def _mask_box(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return np.full(4, np.nan)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], float)


def compose(background: np.ndarray, woman: list[Sprite], man: list[Sprite], frames: int = FRAMES,
            source_scale: float = WIDTH / 1768):
    """Yield (frame, truth boxes (2, 4), visible (2,)) for the crossing, ``frames`` long.

    The woman: Sports2D scale, feet at y = 0.95 H, right to left at her own speed in the
    source (about 10 source px per frame). The man: about 0.9 of her height, feet at 0.86 H,
    left to right at the same speed; both paths cross at the middle of the picture."""
    n = min(frames, len(woman), len(man))
    wa, ma = _fitted_anchors(woman[:n]), _fitted_anchors(man[:n])
    speed = abs(wa[-1, 0] - wa[0, 0]) / max(n - 1, 1) * source_scale  # canvas px per frame
    half = speed * (n - 1) / 2
    mid = WIDTH / 2
    woman_h = np.median([s.alpha.shape[0] for s in woman[:n]]) * source_scale
    man_scale = 0.9 * woman_h / np.median([s.alpha.shape[0] for s in man[:n]])
    for t in range(n):
        u = t / max(n - 1, 1)
        canvas = background.astype(np.float32).copy()
        cover = np.zeros(background.shape[:2], np.float32)
        man_xy = (mid - half + 2 * half * u, 0.86 * HEIGHT)
        woman_xy = (mid + half - 2 * half * u, 0.95 * HEIGHT)
        man_solid = _place(canvas, cover, man[t], man_scale, ma[t], man_xy)  # behind: first
        front = np.zeros_like(cover)
        woman_solid = _place(canvas, front, woman[t], source_scale, wa[t], woman_xy)
        hidden = man_solid & (front > 0.5)
        visible = np.array([1.0, 1.0 - hidden.sum() / max(man_solid.sum(), 1)])
        boxes = np.stack([_mask_box(woman_solid), _mask_box(man_solid)])
        yield np.clip(canvas + 0.5, 0, 255).astype(np.uint8), boxes, visible


def build_crossing_video(shared_data: Path, path: Path, frames: int = FRAMES, keep: dict | None = None,
                         ) -> CrossingTruth:
    """Write the crossing video to ``path`` (H.264, 1280x720, 30 fps) and return its truth.
    ``keep`` (optional dict of frame index -> None) gets the composited frames of those indices."""
    import cv2

    from poselift.video import VideoWriter, iter_frames

    wanted = set(WOMAN_FRAMES) | {BACKGROUND_FRAME}
    sports = {t: f for t, f in enumerate(iter_frames(shared_data / SPORTS2D, max_frames=BACKGROUND_FRAME + 1))
              if t in wanted}
    background = cv2.resize(sports.pop(BACKGROUND_FRAME), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    woman = woman_sprites(sports)
    del sports
    man = man_sprites(list(iter_frames(shared_data / POSE2SIM)), frames)
    boxes, visible = [], []
    with VideoWriter(path, fps=FPS, width=WIDTH, height=HEIGHT, overwrite=True) as out:
        for t, (frame, b, v) in enumerate(compose(background, woman, man, frames)):
            out.write(frame)
            boxes.append(b)
            visible.append(v)
            if keep is not None and t in keep:
                keep[t] = frame
    return CrossingTruth(np.stack(boxes, 1), np.stack(visible, 1))


# ----------------------------------------------------------------------------- checking


def _centres(keypoints: np.ndarray) -> np.ndarray:
    """(T, 2) centre of each frame's keypoint box, NaN where no joint."""
    kp = np.asarray(keypoints, float)
    seen = np.isfinite(kp).all(-1)
    out = np.full((len(kp), 2), np.nan)
    for t in np.flatnonzero(seen.any(-1)):
        pts = kp[t][seen[t]]
        out[t] = (pts.min(0) + pts.max(0)) / 2
    return out


def _inside(point: np.ndarray, box: np.ndarray, margin: float) -> bool:
    if not (np.isfinite(point).all() and np.isfinite(box).all()):
        return False
    grow = margin * np.array([box[2] - box[0], box[3] - box[1]])
    return bool(box[0] - grow[0] <= point[0] <= box[2] + grow[0] and box[1] - grow[1] <= point[1] <= box[3] + grow[1])


def frame_ranges(frames) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    frames = sorted(int(f) for f in frames)
    parts, i = [], 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        parts.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ", ".join(parts) or "none"


@dataclass
class IdentityReport:
    matches: dict[int, dict[int, list[int]]]  # id -> sprite -> frames where the id's centre is in only that box
    stray: dict[int, list[int]]  # id -> frames where the id's centre is in neither box
    owner: dict[int, int]  # id -> the sprite it is on most
    found: np.ndarray  # (2, T) whether the sprite's owner is on it (centre inside its grown box)
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, names=NAMES) -> str:
        lines = []
        for pid, m in sorted(self.matches.items()):
            lines.append(f"id {pid}: on the {names[0]} in frames {frame_ranges(m[0])}; on the {names[1]} in "
                         f"frames {frame_ranges(m[1])}; on nobody in frames {frame_ranges(self.stray[pid])}")
        return "\n".join(lines + [f"problem: {p}" for p in self.problems])


def check_identities(people, truth: CrossingTruth, margin: float = 0.15, min_visible: float = 0.95,
                     min_found: float = 0.9, max_stray: int = 3) -> IdentityReport:
    """Compare tracked people (objects with ``.person_id`` and ``.keypoints`` (T, 17, 2)) with
    the truth. A person is *on* a sprite in a frame when the centre of their keypoint box lies
    in that sprite's box grown by ``margin`` of its size on each side (frames where it lies
    in both boxes, mid-crossing, decide nothing). An id *owns* the sprite it is on most.
    Problems reported:

    * an id on both sprites at different times (an identity switch, or one id jumping people);
    * a sprite owned by no id, or by more than one (e.g. a person given a new id after the
      crossing);
    * an id on neither sprite in more than ``max_stray`` frames (a phantom, or an id left behind);
    * a sprite whose owner is on it in fewer than ``min_found`` of the frames where at least
      ``min_visible`` of it is in sight (not hidden by the other).
    """
    T = truth.boxes.shape[1]
    matches: dict[int, dict[int, list[int]]] = {}
    stray: dict[int, list[int]] = {}
    inside: dict[int, np.ndarray] = {}  # id -> (2, T) centre inside each sprite's grown box
    for seq in people:
        pid = int(seq.person_id)
        centres = _centres(seq.keypoints)
        matches[pid], stray[pid] = {0: [], 1: []}, []
        inside[pid] = np.zeros((2, T), bool)
        for t in range(min(T, len(centres))):
            if not np.isfinite(centres[t]).all():
                continue
            on = [s for s in (0, 1) if _inside(centres[t], truth.boxes[s, t], margin)]
            inside[pid][on, t] = True
            if len(on) == 1:
                matches[pid][on[0]].append(t)
            elif not on:
                stray[pid].append(t)
    problems = []
    owner = {}
    for pid, m in matches.items():
        counts = [len(m[0]), len(m[1])]
        if max(counts) == 0:
            continue
        owner[pid] = int(np.argmax(counts))
        if min(counts) > 0:
            problems.append(f"id {pid} is on the {truth.names[0]} in frames {frame_ranges(m[0])} and on the "
                            f"{truth.names[1]} in frames {frame_ranges(m[1])}")
    for s in (0, 1):
        ids = sorted(pid for pid, o in owner.items() if o == s)
        if len(ids) != 1:
            problems.append(f"the {truth.names[s]} is owned by ids {ids} (expected exactly one)")
    for pid, frames in stray.items():
        if len(frames) > max_stray:
            problems.append(f"id {pid} is on nobody in {len(frames)} frames: {frame_ranges(frames)}")
    found = np.zeros((2, T), bool)
    for pid, s in owner.items():
        found[s] |= inside[pid][s]
    for s in (0, 1):
        sight = truth.visible[s] >= min_visible
        if sight.any() and found[s, sight].mean() < min_found:
            missed = np.flatnonzero(sight & ~found[s])
            problems.append(f"the {truth.names[s]} is found in only {found[s, sight].mean():.0%} of the "
                            f"{int(sight.sum())} frames where they are in sight (missed: {frame_ranges(missed)})")
    return IdentityReport(matches, stray, owner, found, problems)


def swapped_after(people, frame: int):
    """A copy of two tracked people with their keypoints (and scores) exchanged from ``frame``
    on: what an identity switch at ``frame`` looks like."""
    from dataclasses import replace

    a, b = people
    ka, kb = a.keypoints.copy(), b.keypoints.copy()
    sa, sb = a.scores.copy(), b.scores.copy()
    ka[frame:], kb[frame:] = b.keypoints[frame:], a.keypoints[frame:]
    sa[frame:], sb[frame:] = b.scores[frame:], a.scores[frame:]
    return [replace(a, keypoints=ka, scores=sa), replace(b, keypoints=kb, scores=sb)]


def split_after(people, person_id: int, frame: int, new_id: int):
    """A copy of ``people`` in which ``person_id`` from ``frame`` on is a separate person
    ``new_id``: what losing someone behind another and giving them a new id looks like."""
    from dataclasses import replace

    out = []
    for seq in people:
        if seq.person_id != person_id:
            out.append(seq)
            continue
        before, after = seq.keypoints.copy(), seq.keypoints.copy()
        sb, sa = seq.scores.copy(), seq.scores.copy()
        before[frame:], sb[frame:] = np.nan, 0
        after[:frame], sa[:frame] = np.nan, 0
        out += [replace(seq, keypoints=before, scores=sb), replace(seq, keypoints=after, scores=sa, person_id=new_id)]
    return out
