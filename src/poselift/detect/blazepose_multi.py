"""Several-person BlazePose: MediaPipe's two BlazePose models run top-down, offline.

MediaPipe's legacy ``solutions.pose`` follows one person, and its Tasks ``PoseLandmarker``
(which takes ``num_poses``) will not load the models of the legacy wheel. But the
``mediapipe==0.10.21`` wheel ships both models of the pipeline as plain TFLite files, and
the person detector returns everyone. :class:`BlazePoseMulti` runs them with the LiteRT
interpreter (``ai-edge-litert``, see ``requirements-video.txt``), reimplementing the
pre- and post-processing of MediaPipe's graphs (``pose_detection_cpu.pbtxt``,
``pose_detection_to_roi.pbtxt``, ``pose_landmark_by_roi_cpu.pbtxt``,
``tensors_to_pose_landmarks_and_segmentation.pbtxt``, ``pose_landmarks_to_roi.pbtxt``):

1. **Person detection** (``modules/pose_detection/pose_detection.tflite``). The frame is
   letterboxed to 224x224 (square ROI around the frame, zero border, bilinear, RGB scaled
   to [-1, 1]). The SSD head gives 2254 boxes x 12 values (face box x, y, w, h, then 4
   keypoints x, y: 0 hip centre, 1 full-body size/rotation point, 2 shoulder centre,
   3 upper-body size/rotation point) and 2254 logits. Anchors (``SsdAnchorsCalculator``):
   ``num_layers=5``, strides 8, 16, 32, 32, 32 on a 224 input, offsets 0.5, fixed anchor
   size 1, aspect ratio 1 plus the interpolated-scale anchor = 2 anchors per cell per layer,
   the three stride-32 layers merged: 28²·2 + 14²·2 + 7²·6 = 2254. Decoding
   (``TensorsToDetectionsCalculator``): values divided by 224 (x/y/w/h scale) and added to
   the anchor centre; score = sigmoid(logit clipped to ±100), kept when >= ``min_score``
   (MediaPipe: 0.5, the Pose solution's ``min_detection_confidence``); then weighted
   non-maximum suppression (``NonMaxSuppressionCalculator``, IoU of the face boxes > 0.3:
   boxes and keypoints averaged, weighted by score; the top score kept).
2. **Region of interest** (``AlignmentPointsRectsCalculator`` + ``RectTransformationCalculator``):
   centre = keypoint 0, side = 2 x |keypoint 1 - keypoint 0| x 1.25 (square), rotation =
   90° - atan2(-(y1 - y0), x1 - x0) so the body stands upright in the crop.
3. **Landmarks** (``modules/pose_landmark/pose_landmark_full.tflite``). The rotated square
   is sampled to 256x256 (bilinear, replicated border, RGB in [0, 1]). Outputs: 39 x
   (x, y, z, visibility, presence) in crop pixels (visibility and presence through a
   sigmoid), the pose-presence score (kept when >= ``min_presence``; MediaPipe: 0.5), a
   64x64x39 heatmap that refines x, y (``RefineLandmarksFromHeatmapCalculator``: sigmoid
   heatmap, 7x7 window around the landmark, mean position weighted by confidence when the
   window's maximum is >= 0.5) and 39 x 3 world coordinates (metres, origin between the
   hips), rotated by the ROI rotation back to the camera's axes
   (``WorldLandmarkProjectionCalculator``). Landmarks 0-32 are the pose; 33 and 34 are the
   auxiliary hip-centre / size points from which the next frame's ROI can be made.

Output: COCO-17 keypoints (``MEDIAPIPE_TO_COCO17``) in frame pixels, NaN for landmarks
outside the frame, score = visibility (as :class:`~poselift.detect.mediapipe_pose.MediaPipePose`).

Beyond MediaPipe (its Pose graph keeps only the best detection):

* **Tiles** (``tiles=True``). On a frame whose long side exceeds 1.2x its short side the
  detector also runs on ceil(long / short) overlapping squares of the short side, where
  people are larger (the letterboxed 224 view of a 1768x994 frame shrinks people 8x; a
  person 440 px tall is then missed in most frames). All views' candidates go through one
  weighted NMS in frame pixels. ``tiles=False, track=False, min_new_presence=0.5`` is
  MediaPipe's static-image Pose, but for everyone.
* **Tracking** (``track=True``, the default; MediaPipe's own video mode does the same for
  one person). The ROIs of the people found in a frame are made from their auxiliary
  landmarks for the next frame, and the detector runs only every ``detect_every`` frames
  (or in any frame where no tracked person remains) to pick up newcomers. A person tracked
  from the last frame is kept while their presence is >= ``min_presence`` (MediaPipe's
  0.5); a person new from the detector needs ``min_new_presence`` (0.75: on the Sports2D
  clip spurious detections in foliage had presence 0.53-0.65, real people >= 0.88).
* **One person once.** A detection centred (its hip keypoint) within ``same_hip`` torso
  lengths of the hip centre of someone already found this frame is not run; two results
  whose hip centres are within ``same_hip`` torso lengths, or whose body landmarks (11-32)
  lie a mean ``same_body`` x the landmark-box diagonal apart, are one person (the first
  found: tracked people, then detections by score); so is a person new from the detector
  whose landmark box lies more than ``same_box`` (0.7) inside an already found person's. A
  newcomer right behind or in front of someone already found is therefore picked up only
  when they separate.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PoseliftError
from .mediapipe_pose import MEDIAPIPE_TO_COCO17, MEDIAPIPE_VERSION, _native_stderr_silenced
from .track import Detection

__all__ = [
    "BlazePoseMulti", "Person", "Roi", "ssd_anchors", "decode_detections", "weighted_nms",
    "roi_from_points", "roi_matrix", "decode_landmarks", "tile_views", "model_paths", "LITERT_INSTALL",
]

LITERT_INSTALL = "pip install ai-edge-litert==2.3.0 ml_dtypes==0.5.4 (or: pip install -r requirements-video.txt)"

# --- person detector (pose_detection_cpu.pbtxt) ---------------------------------------------
DETECTOR_SIZE = 224
ANCHOR_STRIDES = (8, 16, 32, 32, 32)
ANCHOR_OFFSET = 0.5
NUM_ANCHORS = 2254
NUM_COORDS = 12  # face box x, y, w, h + 4 keypoints x, y
BOX_SCALE = 224.0  # x_scale = y_scale = w_scale = h_scale
SCORE_CLIP = 100.0
MIN_SCORE = 0.5
NMS_IOU = 0.3
# --- ROI (pose_detection_to_roi.pbtxt, pose_landmarks_to_roi.pbtxt) ----------------------------
ROI_SCALE = 1.25
ROI_TARGET_ANGLE = math.pi / 2
# --- landmarks (pose_landmark_by_roi_cpu.pbtxt, tensors_to_pose_landmarks_and_segmentation) ----
LANDMARK_SIZE = 256
NUM_LANDMARKS = 39  # 33 pose + 2 auxiliary (hip centre, size point) + 4 unused
NUM_POSE_LANDMARKS = 33
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
MIN_PRESENCE = 0.5


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


# ---------------------------------------------------------------------------------- detector


def ssd_anchors(input_size: int = DETECTOR_SIZE, strides=ANCHOR_STRIDES, offset: float = ANCHOR_OFFSET) -> np.ndarray:
    """Anchor centres (N, 2) as (x, y) in [0, 1] of the detector input, in the detector's order.

    MediaPipe's ``SsdAnchorsCalculator`` with fixed anchor size (all w = h = 1, so only the
    centres matter) and aspect ratios [1.0] plus the default interpolated-scale anchor: two
    anchors per feature-map cell for each layer; consecutive layers with the same stride
    are merged (their anchors interleaved per cell). For the pose detector: 2254 anchors.
    """
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        n = int(math.ceil(input_size / strides[i]))
        ys, xs = np.meshgrid((np.arange(n) + offset) / n, (np.arange(n) + offset) / n, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], -1)
        out.append(np.repeat(cells, per_cell, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float = MIN_SCORE):
    """The detector's raw output as candidate people, before suppression.

    ``raw_boxes`` (N, 12), ``raw_scores`` (N,) or (N, 1) logits, ``anchors`` (N, 2). Returns
    ``scores`` (M,), ``boxes`` (M, 4) face boxes x1, y1, x2, y2 and ``keypoints`` (M, 4, 2),
    all in [0, 1] of the (letterboxed) detector input, for the M candidates with a score
    >= ``min_score``, best first.
    """
    raw_boxes = np.asarray(raw_boxes, np.float32).reshape(-1, NUM_COORDS)
    raw_scores = np.asarray(raw_scores, np.float32).reshape(-1)
    anchors = np.asarray(anchors, np.float32).reshape(-1, 2)
    if not len(raw_boxes) == len(raw_scores) == len(anchors):
        raise ValueError(f"{len(raw_boxes)} boxes, {len(raw_scores)} scores and {len(anchors)} anchors")
    scores = _sigmoid(np.clip(raw_scores, -SCORE_CLIP, SCORE_CLIP))
    keep = np.flatnonzero(scores >= min_score)
    raw, anc = raw_boxes[keep].astype(np.float64), anchors[keep].astype(np.float64)
    centre = raw[:, 0:2] / BOX_SCALE + anc
    size = raw[:, 2:4] / BOX_SCALE
    boxes = np.concatenate([centre - size / 2, centre + size / 2], -1)
    keypoints = raw[:, 4:12].reshape(-1, 4, 2) / BOX_SCALE + anc[:, None, :]
    ok = (size >= 0).all(-1) & np.isfinite(boxes).all(-1)
    order = np.argsort(-scores[keep][ok], kind="stable")
    return scores[keep][ok][order], boxes[ok][order], keypoints[ok][order]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    w = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    h = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou: float = NMS_IOU):
    """MediaPipe's weighted non-maximum suppression over candidates sorted best first.

    The best remaining candidate and all remaining ones whose box overlaps it by IoU > ``iou``
    are merged into one detection: boxes and keypoints averaged, weighted by score; the
    score is the best one's. Returns (scores, boxes, keypoints) of the merged detections.
    """
    remaining = np.arange(len(scores))
    out_s, out_b, out_k = [], [], []
    while len(remaining):
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining]) > iou
        overlap[0] = True
        group = remaining[overlap]
        w = scores[group][:, None]
        out_s.append(scores[top])
        out_b.append((boxes[group] * w).sum(0) / w.sum())
        out_k.append((keypoints[group] * w[:, :, None]).sum(0) / w.sum())
        remaining = remaining[~overlap]
    if not out_s:
        return np.zeros(0), np.zeros((0, 4)), np.zeros((0, 4, 2))
    return np.array(out_s), np.array(out_b), np.array(out_k)


# ---------------------------------------------------------------------------------- ROI


@dataclass(frozen=True)
class Roi:
    """A rotated square in frame pixels: centre, side, rotation (radians; positive turns the
    square's axes clockwise on screen, y pointing down)."""

    cx: float
    cy: float
    size: float
    rotation: float

    def corners(self) -> np.ndarray:
        """(4, 2) top-left, top-right, bottom-right, bottom-left of the upright crop, in the frame."""
        unit = np.array([[-.5, -.5], [.5, -.5], [.5, .5], [-.5, .5]])
        return self.to_frame(unit + 0.5)

    def to_frame(self, uv: np.ndarray) -> np.ndarray:
        """Points (..., 2) in [0, 1] of the crop to frame pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        d = (np.asarray(uv, np.float64) - 0.5) * self.size
        return np.stack([self.cx + c * d[..., 0] - s * d[..., 1], self.cy + s * d[..., 0] + c * d[..., 1]], -1)

    def box(self) -> np.ndarray:
        """Axis-aligned bounds (x1, y1, x2, y2) of the rotated square."""
        pts = self.corners()
        return np.concatenate([pts.min(0), pts.max(0)])


def _normalize_radians(a: float) -> float:
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def roi_from_points(centre, scale_point, scale: float = ROI_SCALE) -> Roi:
    """MediaPipe's pose ROI from two alignment points in pixels (detector keypoints 0, 1, or
    auxiliary landmarks 33, 34): centred on the first, side 2 x their distance x ``scale``,
    rotated so that the second point lies straight above the first in the crop."""
    x0, y0 = (float(v) for v in centre)
    x1, y1 = (float(v) for v in scale_point)
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * scale
    rotation = _normalize_radians(ROI_TARGET_ANGLE - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(x0, y0, side, rotation)


def roi_matrix(roi: Roi, out_size: int) -> np.ndarray:
    """2x3 affine map from frame pixels to crop pixels (corners of the ROI onto 0 and
    ``out_size``, as MediaPipe's ImageToTensorCalculator does), for ``cv2.warpAffine``."""
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    k = out_size / roi.size
    # crop = k * R^T (p - centre) + out_size / 2
    a = np.array([[c, s], [-s, c]]) * k
    t = np.array([out_size / 2, out_size / 2]) - a @ np.array([roi.cx, roi.cy])
    return np.concatenate([a, t[:, None]], 1).astype(np.float64)


def _inside_fraction(box: np.ndarray, other: np.ndarray) -> float:
    """The fraction of ``box``'s area inside ``other`` (both x1, y1, x2, y2)."""
    w = min(box[2], other[2]) - max(box[0], other[0])
    h = min(box[3], other[3]) - max(box[1], other[1])
    area = (box[2] - box[0]) * (box[3] - box[1])
    return float(w * h / area) if w > 0 and h > 0 and area > 0 else 0.0


def _hip_distance(x: float, y: float, person: "Person") -> float:
    """Distance of (x, y) from the person's hip centre, in units of their torso length
    (shoulder centre to hip centre)."""
    lm = person.landmarks[:, :2]
    hip = lm[23:25].mean(0)
    torso = max(float(np.linalg.norm(lm[11:13].mean(0) - hip)), 1.0)
    return float(np.hypot(x - hip[0], y - hip[1])) / torso


def tile_views(width: int, height: int, ratio: float = 1.2) -> list[Roi]:
    """Square views for the person detector: the whole (letterboxed) frame and, when its long
    side exceeds ``ratio`` x its short side, ceil(long / short) squares of the short side
    spread evenly (overlapping) along the long side, where people appear larger."""
    views = [Roi(width / 2, height / 2, float(max(width, height)), 0.0)]
    short, long = min(width, height), max(width, height)
    if short > 0 and long > ratio * short:
        n = int(math.ceil(long / short))
        for k in range(n):
            start = (long - short) * k / (n - 1)
            centre = start + short / 2
            views.append(Roi(centre, height / 2, float(short), 0.0) if width >= height
                         else Roi(width / 2, centre, float(short), 0.0))
    return views


# ---------------------------------------------------------------------------------- landmarks


def decode_landmarks(raw: np.ndarray, heatmap: np.ndarray | None, roi: Roi,
                     kernel: int = HEATMAP_KERNEL, min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """The landmark model's (39 x 5) output as (39, 5): x, y in frame pixels, z (crop-relative,
    scaled like x: pixels), visibility, presence (both after a sigmoid).

    ``heatmap`` (64, 64, 39) logits refines x, y as MediaPipe does (None: no refinement).
    """
    lm = np.asarray(raw, np.float64).reshape(NUM_LANDMARKS, 5).copy()
    uv = lm[:, :2] / LANDMARK_SIZE
    if heatmap is not None:
        uv = _refine_from_heatmap(uv, np.asarray(heatmap, np.float32).reshape(-1, *np.shape(heatmap)[-3:])[0],
                                  kernel, min_confidence)
    out = np.empty((NUM_LANDMARKS, 5))
    out[:, :2] = roi.to_frame(uv)
    out[:, 2] = lm[:, 2] / LANDMARK_SIZE * roi.size
    out[:, 3] = _sigmoid(lm[:, 3])
    out[:, 4] = _sigmoid(lm[:, 4])
    return out


def _refine_from_heatmap(uv: np.ndarray, heatmap: np.ndarray, kernel: int, min_confidence: float) -> np.ndarray:
    h, w, n = heatmap.shape
    uv = uv.copy()
    half = (kernel - 1) // 2
    for i in range(min(n, len(uv))):
        col, row = int(uv[i, 0] * w), int(uv[i, 1] * h)  # truncation toward zero, as in C++
        if not (0 <= col < w and 0 <= row < h) or not (np.isfinite(uv[i]).all()):
            continue
        r0, r1, c0, c1 = max(0, row - half), min(h, row + half + 1), max(0, col - half), min(w, col + half + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i])
        total = conf.sum()
        if conf.max() >= min_confidence and total > 0:
            rows, cols = np.mgrid[r0:r1, c0:c1]
            uv[i, 0] = (cols * conf).sum() / w / total
            uv[i, 1] = (rows * conf).sum() / h / total
    return uv


def _rotate_world(world: np.ndarray, rotation: float) -> np.ndarray:
    c, s = math.cos(rotation), math.sin(rotation)
    out = world.copy()
    out[:, 0] = c * world[:, 0] - s * world[:, 1]
    out[:, 1] = s * world[:, 0] + c * world[:, 1]
    return out


# ---------------------------------------------------------------------------------- models


def model_paths() -> tuple[Path, Path]:
    """The person detector and the full landmark model inside the installed mediapipe wheel
    (found without importing mediapipe)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise PoseliftError("the blazepose-multi detector needs the BlazePose models of the mediapipe wheel; "
                            f"install it with: pip install --no-deps mediapipe=={MEDIAPIPE_VERSION}")
    root = Path(list(spec.submodule_search_locations)[0])
    detector = root / "modules" / "pose_detection" / "pose_detection.tflite"
    landmark = root / "modules" / "pose_landmark" / "pose_landmark_full.tflite"
    for p in (detector, landmark):
        if not p.is_file():
            raise PoseliftError(f"{p} is missing from the installed mediapipe; install "
                                f"mediapipe=={MEDIAPIPE_VERSION}: pip install --no-deps mediapipe=={MEDIAPIPE_VERSION}")
    return detector, landmark


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # the older name of the same runtime
        return Interpreter
    except ImportError:
        raise PoseliftError(f"the blazepose-multi detector needs the LiteRT (TFLite) interpreter; install it "
                            f"with: {LITERT_INSTALL}") from None


class _Model:
    """One TFLite model: float32 NHWC input, outputs by shape."""

    def __init__(self, path: Path, num_threads: int | None):
        with _native_stderr_silenced():  # "Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = _interpreter_class()(model_path=str(path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self.input_index, self.input_shape = inp["index"], tuple(inp["shape"])
        self.outputs = [(o["index"], tuple(o["shape"])) for o in self.interpreter.get_output_details()]

    def __call__(self, tensor: np.ndarray) -> dict[tuple, np.ndarray]:
        self.interpreter.set_tensor(self.input_index, tensor.reshape(self.input_shape).astype(np.float32, copy=False))
        self.interpreter.invoke()
        return {shape: self.interpreter.get_tensor(index) for index, shape in self.outputs}


# ---------------------------------------------------------------------------------- detector class


@dataclass
class Person:
    """Everything known about one person found in a frame."""

    roi: Roi  # the crop the landmarks were read from
    landmarks: np.ndarray  # (33, 5) x, y (frame pixels), z, visibility, presence
    world: np.ndarray  # (33, 3) metres, origin between the hips, camera-aligned axes
    presence: float  # the landmark model's pose-presence score
    detection_score: float | None  # the person detector's score (None: ROI tracked from the last frame)
    next_roi: Roi | None = field(repr=False, default=None)  # from the auxiliary landmarks, for the next frame

    def box(self) -> np.ndarray:
        """(x1, y1, x2, y2) of the 33 landmarks, in frame pixels."""
        xy = self.landmarks[:, :2]
        return np.concatenate([xy.min(0), xy.max(0)])

    def coco17(self, width: int, height: int) -> Detection:
        xy = self.landmarks[list(MEDIAPIPE_TO_COCO17), :2]
        vis = np.clip(self.landmarks[list(MEDIAPIPE_TO_COCO17), 3], 0.0, 1.0)
        inside = (np.isfinite(xy).all(-1) & (xy[:, 0] >= 0) & (xy[:, 0] <= width - 1)
                  & (xy[:, 1] >= 0) & (xy[:, 1] <= height - 1))
        kp = np.where(inside[:, None], xy, np.nan).astype(np.float32)
        return kp, np.where(inside, vis, 0.0).astype(np.float32)


class BlazePoseMulti:
    """BlazePose for several people (a multi-person :class:`~poselift.detect.base.Detector`).

    ``detect(frame_rgb)`` returns one COCO-17 detection (keypoints (17, 2) pixels, NaN where
    outside the frame; scores = visibility) per person found, most confident first (the
    detector's score; tracked people first with ``track=True``). After each call:
    ``world_landmarks_all`` holds BlazePose's own 3D per returned detection ((17, 3) metres,
    origin between the hips, x right, y down, z away from the camera, COCO-17 order),
    ``world_landmarks`` the first one's (or None), ``people`` the :class:`Person` records
    (33 landmarks, ROI, scores) and ``stats`` counts the model runs so far.

    Options (see the module documentation): ``min_detection_confidence`` (person detector
    score, MediaPipe's 0.5), ``min_presence`` (pose presence to keep a tracked person,
    MediaPipe's 0.5), ``min_new_presence`` (to accept a person new from the detector, 0.75),
    ``nms_iou`` (0.3), ``max_people`` (at most this many people per frame), ``track`` and
    ``detect_every`` (reuse each person's landmarks as the next frame's ROI; run the
    detector every ``detect_every`` frames), ``tiles`` (detector also on square tiles of
    wide/tall frames), ``same_hip`` / ``same_body`` / ``same_box`` (when two results are one
    person),
    ``num_threads`` (interpreter threads; default min(CPUs, 4)). ``reset()`` forgets
    tracked people (call it between videos).
    """

    name = "blazepose-multi"
    layout = "coco17"

    def __init__(self, min_detection_confidence: float = MIN_SCORE, min_presence: float = MIN_PRESENCE,
                 min_new_presence: float = 0.75, nms_iou: float = NMS_IOU, max_people: int = 10,
                 track: bool = True, detect_every: int = 5, tiles: bool = True, same_hip: float = 0.5,
                 same_body: float = 0.15, same_box: float = 0.7, num_threads: int | None = None):
        for label, value in (("min_detection_confidence", min_detection_confidence),
                             ("min_presence", min_presence), ("min_new_presence", min_new_presence),
                             ("nms_iou", nms_iou)):
            if not 0.0 <= float(value) <= 1.0:
                raise PoseliftError(f"{label} must be in [0, 1], got {value!r}")
        if int(max_people) < 1 or int(detect_every) < 1:
            raise PoseliftError(f"max_people and detect_every must be >= 1, got {max_people!r}, {detect_every!r}")
        self.min_score, self.nms_iou = float(min_detection_confidence), float(nms_iou)
        self.min_presence, self.min_new_presence = float(min_presence), float(min_new_presence)
        self.max_people, self.track, self.detect_every = int(max_people), bool(track), int(detect_every)
        self.same_hip, self.same_body, self.same_box = float(same_hip), float(same_body), float(same_box)
        self.tiles = bool(tiles)
        detector_path, landmark_path = model_paths()
        threads = num_threads if num_threads is not None else min(os.cpu_count() or 1, 4)
        self._detector = _Model(detector_path, threads)
        self._landmarker = _Model(landmark_path, threads)
        self._anchors = ssd_anchors()
        if self._detector.input_shape != (1, DETECTOR_SIZE, DETECTOR_SIZE, 3) or len(self._anchors) != NUM_ANCHORS:
            raise PoseliftError(f"unexpected pose detector model: input {self._detector.input_shape}")
        if self._landmarker.input_shape != (1, LANDMARK_SIZE, LANDMARK_SIZE, 3):
            raise PoseliftError(f"unexpected pose landmark model: input {self._landmarker.input_shape}")
        self.people: list[Person] = []
        self.world_landmarks_all: list[np.ndarray] = []
        self.world_landmarks: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        """Forget tracked people (start of a new video)."""
        self._tracked: list[Roi] = []
        self._since_detect = 0
        self.stats = dict(frames=0, detector_runs=0, landmark_runs=0, people=0)

    # ------------------------------------------------------------------ Detector interface

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]:
        frame = np.asarray(frame_rgb)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        self.stats["frames"] += 1
        people: list[Person] = []
        for roi in self._tracked if self.track else ():  # last frame's people first
            self._add(people, self.landmarks(frame, roi), self.min_presence)
        self._since_detect += 1
        if not self.track or not people or self._since_detect >= self.detect_every:
            self._since_detect = 0
            for score, roi in self.find_people(frame):
                if len(people) >= self.max_people:
                    break
                # a detection centred on someone already found is that person (or hidden by them)
                if any(_hip_distance(roi.cx, roi.cy, p) < self.same_hip for p in people):
                    continue
                self._add(people, self.landmarks(frame, roi, score), self.min_new_presence, new=True)
        self._tracked = [p.next_roi for p in people if p.next_roi is not None]
        dets = [p.coco17(width, height) for p in people]
        keep = [i for i, (kp, _) in enumerate(dets) if np.isfinite(kp).all(-1).any()]
        self.people = [people[i] for i in keep]
        self.stats["people"] += len(keep)
        self.world_landmarks_all = [people[i].world[list(MEDIAPIPE_TO_COCO17)].astype(np.float32) for i in keep]
        self.world_landmarks = self.world_landmarks_all[0] if keep else None
        return [dets[i] for i in keep]

    def _add(self, people: list[Person], person: Person | None, min_presence: float, new: bool = False) -> None:
        if person is None or person.presence < min_presence or len(people) >= self.max_people:
            return
        if any(self._same(person, other) for other in people):
            return
        # a newcomer lying mostly inside someone already found is a second (worse) fit of them
        if new and any(_inside_fraction(person.box(), other.box()) > self.same_box for other in people):
            return
        people.append(person)

    def close(self) -> None:
        self._detector = self._landmarker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ stages

    def find_people(self, frame: np.ndarray) -> list[tuple[float, Roi]]:
        """Person detector on the frame (and its tiles, with ``tiles``): (score, ROI) per
        person, best first."""
        import cv2

        height, width = frame.shape[:2]
        views = tile_views(width, height) if self.tiles else tile_views(width, height)[:1]
        scores, boxes, keypoints = [], [], []
        for view in views:
            crop = cv2.warpAffine(frame, roi_matrix(view, DETECTOR_SIZE), (DETECTOR_SIZE, DETECTOR_SIZE),
                                  flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            out = self._detector(crop.astype(np.float32) * (2.0 / 255.0) - 1.0)
            self.stats["detector_runs"] += 1
            s, b, k = decode_detections(out[(1, NUM_ANCHORS, NUM_COORDS)], out[(1, NUM_ANCHORS, 1)],
                                        self._anchors, self.min_score)
            # view [0, 1] -> frame pixels (views are upright squares: a scale and a shift)
            scores.append(s)
            boxes.append(view.to_frame(b.reshape(-1, 2, 2)).reshape(-1, 4))
            keypoints.append(view.to_frame(k))
        scores, boxes, keypoints = (np.concatenate(x) for x in (scores, boxes, keypoints))
        order = np.argsort(-scores, kind="stable")
        scores, boxes, keypoints = weighted_nms(scores[order], boxes[order], keypoints[order], self.nms_iou)
        found = []
        for score, kps in zip(scores, keypoints):
            roi = roi_from_points(kps[0], kps[1])
            if roi.size >= 4:
                found.append((float(score), roi))
        return found

    def landmarks(self, frame: np.ndarray, roi: Roi, detection_score: float | None = None) -> Person | None:
        """The landmark model on one ROI."""
        import cv2

        if not (roi.size >= 4 and math.isfinite(roi.cx) and math.isfinite(roi.cy)):
            return None
        crop = cv2.warpAffine(frame, roi_matrix(roi, LANDMARK_SIZE), (LANDMARK_SIZE, LANDMARK_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out = self._landmarker(crop.astype(np.float32) * (1.0 / 255.0))
        self.stats["landmark_runs"] += 1
        presence = float(np.asarray(out[(1, 1)]).reshape(-1)[0])
        lm = decode_landmarks(out[(1, NUM_LANDMARKS * 5)], out[(1, 64, 64, NUM_LANDMARKS)], roi)
        world = np.asarray(out[(1, NUM_LANDMARKS * 3)], np.float64).reshape(NUM_LANDMARKS, 3)[:NUM_POSE_LANDMARKS]
        world = _rotate_world(world, roi.rotation)
        next_roi = roi_from_points(lm[33, :2], lm[34, :2]) if np.isfinite(lm[33:35, :2]).all() else None
        if next_roi is not None and next_roi.size < 4:
            next_roi = None
        return Person(roi, lm[:NUM_POSE_LANDMARKS], world, presence, detection_score, next_roi)

    def _same(self, a: Person, b: Person) -> bool:
        """Whether two results are one person: hip centres within ``same_hip`` torso lengths,
        or body landmarks (11-32) a mean ``same_body`` x the landmark-box diagonal apart."""
        hip = a.landmarks[23:25, :2].mean(0)
        if _hip_distance(hip[0], hip[1], b) < self.same_hip:
            return True
        pa, pb = a.landmarks[11:33, :2], b.landmarks[11:33, :2]
        size = max(float(np.hypot(*np.ptp(p, 0))) for p in (pa, pb))
        return float(np.linalg.norm(pa - pb, axis=-1).mean()) < self.same_body * max(size, 1.0)
