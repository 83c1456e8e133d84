"""Filling missing and unreliable 2D keypoints by interpolation over time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..errors import PoseliftError
from ..skeleton import get_skeleton
from .keypoints import NO_PERSON, KeypointSequence


@dataclass
class FillReport:
    """What :func:`fill_gaps` did.

    ``filled_joints`` counts (frame, joint) positions that were filled, those of whole
    frames and never-seen joints included; ``filled_frames`` the frames without any usable
    joint that were filled whole; ``longest_gap`` the longest run of consecutive frames in
    which one joint (seen elsewhere) was missing; ``never_seen`` the joints missing in every
    frame, copied from their mirrored counterpart; ``unfilled`` the positions left missing
    because their gap is longer than ``max_gap``.
    """

    frames: int
    filled_joints: int = 0
    filled_frames: int = 0
    longest_gap: int = 0
    never_seen: list[str] = field(default_factory=list)
    unfilled: int = 0

    def summary(self) -> str:
        text = (f"filled {self.filled_joints} joint positions in {self.frames} frames "
                f"({self.filled_frames} whole frames), longest gap {self.longest_gap} frames")
        if self.never_seen:
            text += f"; never seen, copied from the other side: {', '.join(self.never_seen)}"
        if self.unfilled:
            text += f"; {self.unfilled} positions left missing (gaps too long)"
        return text


def fill_gaps(seq: KeypointSequence, min_score: float = 0.3,
              max_gap: int | None = None) -> tuple[KeypointSequence, FillReport]:
    """Fill missing joints of ``seq``; returns a new sequence and a report.

    A joint is missing where it is NaN or scores below ``min_score``. Each joint coordinate
    is interpolated linearly over time between the frames where the joint is usable; before
    the first and after the last such frame it keeps the nearest usable value. Frames with
    no usable joint are thus filled whole. A joint never usable is copied from its mirrored
    counterpart (left/right), and a :class:`PoseliftError` names it if it has none.
    With ``max_gap``, runs of more than ``max_gap`` missing frames are left missing (NaN).
    Filled positions score 0.
    """
    path = seq.source or None
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
        raise PoseliftError(f"min_score must be a number in [0, 1], got {min_score!r}")
    if max_gap is not None and (isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 0):
        raise PoseliftError(f"max_gap must be a whole number >= 0, got {max_gap!r}")
    if len(seq) == 0:
        raise PoseliftError(NO_PERSON, path)
    usable = np.isfinite(seq.keypoints).all(-1) & (seq.scores >= min_score)
    if not usable.any():
        raise PoseliftError(f"{NO_PERSON} (no joint scores {min_score} or more)", path)

    frames, num_joints = usable.shape
    skeleton = get_skeleton(seq.layout)
    report = FillReport(frames=frames)
    time = np.arange(frames)
    out = np.full(seq.keypoints.shape, np.nan)
    for j in range(num_joints):
        seen = np.flatnonzero(usable[:, j])
        if len(seen) == 0:
            continue
        for c in range(2):
            out[:, j, c] = np.interp(time, seen, seq.keypoints[seen, j, c].astype(np.float64))
        for start, stop in _runs(~usable[:, j]):
            report.longest_gap = max(report.longest_gap, stop - start)
            if max_gap is not None and stop - start > max_gap:
                out[start:stop, j] = np.nan

    never = [j for j in range(num_joints) if not usable[:, j].any()]
    for j in never:
        mirror = skeleton.flip_permutation[j]
        if mirror == j or mirror in never:
            raise PoseliftError(f"joint {skeleton.joint_names[j]!r} is never seen (score {min_score} or more) and "
                                "has no mirrored joint to copy it from", path)
        out[:, j] = out[:, mirror]
        report.never_seen.append(skeleton.joint_names[j])

    present = np.isfinite(out).all(-1)
    report.filled_joints = int((~usable & present).sum())
    report.unfilled = int((~present).sum())
    report.filled_frames = int((~usable.any(1) & present.all(1)).sum())
    scores = np.where(usable, seq.scores, 0.0)
    filled = dataclasses.replace(seq, keypoints=out.astype(np.float32), scores=scores,
                                 notes=[*seq.notes, report.summary()])
    return filled, report


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


# Gaps longer than this many frames are not invented: the same default as Sports2D's
# ``interp_gap_smaller_than = 10`` (its Config_demo.toml), 0.33 s at 30 fps.
MAX_GAP = 10
# A frame shows the person when at least this share of the joints is usable; a hand or a
# foot at the edge of the picture (a person entering or leaving) is not yet a person.
MIN_SEEN_SHARE = 1 / 3


def seen_joints(num_joints: int) -> int:
    """How many usable joints (of ``num_joints``) make a frame show the person."""
    return max(1, int(np.ceil(MIN_SEEN_SHARE * num_joints)))


@dataclass
class GapPlan:
    """Which frames of a track get a 3D pose (:func:`plan_gaps`).

    ``usable`` (T, J): joints detected with enough confidence; ``seen`` (T,): frames showing
    the person (at least ``MIN_SEEN_SHARE`` of the joints usable); ``kept`` (T,): frames that
    get a pose: the seen ones and the unseen ones inside a gap of at most ``max_gap`` frames
    between two seen frames (those are *filled*: invented by interpolation); ``long_gap`` (T, J):
    joints missing for more than ``max_gap`` frames in a row within kept frames (the lifter
    still needs them, so they are filled, but the 3D built on them is left out);
    ``segments``: (start, stop) of each run of kept frames, lifted separately.
    """

    usable: np.ndarray
    seen: np.ndarray
    kept: np.ndarray
    long_gap: np.ndarray
    segments: list[tuple[int, int]]
    max_gap: int

    @property
    def filled_frames(self) -> np.ndarray:
        """(T,) bool: kept frames without a detection of the person."""
        return self.kept & ~self.seen

    def summary(self) -> str:
        T = len(self.kept)
        left = int((~self.kept).sum())
        text = f"{int(self.seen.sum())} of {T} frames show the person"
        if self.filled_frames.any():
            text += f", {int(self.filled_frames.sum())} filled (gaps of at most {self.max_gap} frames)"
        if left:
            text += f", {left} left out (no one, or a gap longer than {self.max_gap} frames)"
        return text


def plan_gaps(seq: KeypointSequence, min_score: float = 0.3, max_gap: int | None = MAX_GAP) -> GapPlan:
    """Decide which frames of ``seq`` are lifted and which are left out (see :class:`GapPlan`).

    ``max_gap`` None fills every gap between the first and the last seen frame. Frames before
    the first and after the last seen frame are never kept: nothing was seen to hold there.
    """
    if max_gap is not None and (isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer))
                                or max_gap < 0):
        raise PoseliftError(f"max_gap must be a whole number of frames >= 0, got {max_gap!r}")
    usable = np.isfinite(seq.keypoints).all(-1) & (seq.scores >= min_score)
    seen = usable.sum(1) >= seen_joints(seq.num_joints)
    if not seen.any():
        raise PoseliftError(f"{NO_PERSON} (no frame with a third of the joints scoring {min_score} or more)",
                            seq.source or None)
    limit = len(seen) if max_gap is None else int(max_gap)
    first, last = np.flatnonzero(seen)[[0, -1]]
    kept = seen.copy()
    for start, stop in _runs(~seen):
        if start > first and stop <= last and stop - start <= limit:
            kept[start:stop] = True
    long_gap = np.zeros_like(usable)
    segments = _runs(kept)
    for a, b in segments:
        for j in range(usable.shape[1]):
            for start, stop in _runs(~usable[a:b, j]):
                if stop - start > limit:
                    long_gap[a + start:a + stop, j] = True
    return GapPlan(usable, seen, kept, long_gap, segments, limit)
