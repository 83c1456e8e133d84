"""Frame-to-frame association of several people's 2D keypoints into per-person tracks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Detection = tuple[np.ndarray, np.ndarray]
"""One person in one frame: keypoints (J, 2) with NaN where missing, scores (J,)."""


@dataclass
class Track:
    """One person followed over all T frames of the input.

    ``keypoints`` (T, J, 2) float32, NaN in frames where the track has no detection;
    ``scores`` (T, J) float32, 0 there.
    """

    keypoints: np.ndarray
    scores: np.ndarray

    @property
    def total_score(self) -> float:
        """Sum of all keypoint scores: the "how visible is this person" ranking key."""
        return float(self.scores.sum())

    @property
    def frames(self) -> np.ndarray:
        """Indices of the frames in which this track has a detection."""
        return np.flatnonzero(np.isfinite(self.keypoints).any(axis=(1, 2)))


def keypoint_box(keypoints: np.ndarray) -> np.ndarray | None:
    """(x1, y1, x2, y2) of the finite keypoints of a (J, 2) array, or None if there are none."""
    pts = keypoints[np.isfinite(keypoints).all(-1)]
    if len(pts) == 0:
        return None
    return np.concatenate([pts.min(0), pts.max(0)]).astype(np.float64)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes; 0 for degenerate boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


class _Open:
    """A track under construction: its detections so far and where it was last seen."""

    def __init__(self, first_frame: int):
        self.first_frame = first_frame
        self.detections: dict[int, Detection] = {}
        self.box = np.zeros(4)
        self.centre = np.zeros(2)

    def add(self, t: int, det: Detection, box: np.ndarray, centre: np.ndarray) -> None:
        self.detections[t] = det
        self.box, self.centre = box, centre

    @property
    def size(self) -> float:
        return max(float(np.hypot(self.box[2] - self.box[0], self.box[3] - self.box[1])), 1e-9)


def _centre(keypoints: np.ndarray, box: np.ndarray, hip_joints: Sequence[int] | None) -> np.ndarray:
    if hip_joints:
        hips = keypoints[list(hip_joints)]
        hips = hips[np.isfinite(hips).all(-1)]
        if len(hips):
            return hips.mean(0).astype(np.float64)
    return (box[:2] + box[2:]) / 2


def build_tracks(
    frames: Sequence[Sequence[Detection]],
    *,
    hip_joints: Sequence[int] | None = None,
    max_distance: float = 1.0,
) -> list[Track]:
    """Link the people detected in each frame into tracks, most visible first.

    ``frames[t]`` lists the detections of frame t in any order, each a pair
    ``(keypoints (J, 2), scores (J,))`` with NaN keypoints where a joint is missing; every
    detection must have the same J. A frame may be empty; detections without any finite
    keypoint are ignored.

    Each frame is matched greedily against the box (of the finite keypoints) each track had
    where it was last seen: first by box IoU, best pairs first, so a track never moves to
    a detection that does not overlap its box while a free one that does is left; then the
    tracks and detections still unmatched are paired by the distance between hip centres
    (mean of ``hip_joints``, or the box centre) divided by the track's box diagonal, nearest
    first, up to ``max_distance``. Detections left over start new tracks.

    Returns tracks spanning all ``len(frames)`` frames, sorted by total keypoint score
    (descending; ties: earliest first). No detections at all gives an empty list.
    """
    tracks: list[_Open] = []
    num_joints = None
    for t, detections in enumerate(frames):
        dets, boxes, centres = [], [], []
        for kp, sc in detections:
            kp = np.asarray(kp, dtype=np.float32)
            sc = np.nan_to_num(np.asarray(sc, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
            if kp.ndim != 2 or kp.shape[1] != 2 or sc.shape != kp.shape[:1]:
                raise ValueError(f"frame {t}: expected keypoints (J, 2) and scores (J,), got {kp.shape}, {sc.shape}")
            if num_joints is None:
                num_joints = len(kp)
            elif len(kp) != num_joints:
                raise ValueError(f"frame {t}: detection with {len(kp)} joints, earlier ones had {num_joints}")
            box = keypoint_box(kp)
            if box is None:
                continue
            dets.append((kp, sc))
            boxes.append(box)
            centres.append(_centre(kp, box, hip_joints))

        free_tracks = set(range(len(tracks)))
        free_dets = set(range(len(dets)))

        def assign(pairs, accept):
            for key, i, d in sorted(pairs):
                if accept(key) and i in free_tracks and d in free_dets:
                    tracks[i].add(t, dets[d], boxes[d], centres[d])
                    free_tracks.discard(i)
                    free_dets.discard(d)

        assign([(-box_iou(tracks[i].box, boxes[d]), i, d) for i in free_tracks for d in free_dets],
               lambda neg_iou: neg_iou < 0)
        assign([(float(np.linalg.norm(tracks[i].centre - centres[d])) / tracks[i].size, i, d)
                for i in free_tracks for d in free_dets],
               lambda dist: dist <= max_distance)
        for d in sorted(free_dets):
            track = _Open(t)
            track.add(t, dets[d], boxes[d], centres[d])
            tracks.append(track)

    out = []
    for track in tracks:
        kp = np.full((len(frames), num_joints, 2), np.nan, dtype=np.float32)
        sc = np.zeros((len(frames), num_joints), dtype=np.float32)
        for t, (k, s) in track.detections.items():
            kp[t], sc[t] = k, s
        out.append((track.first_frame, Track(kp, sc)))
    out.sort(key=lambda item: (-item[1].total_score, item[0]))
    return [track for _, track in out]
