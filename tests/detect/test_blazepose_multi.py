"""Several-person BlazePose (poselift.detect.blazepose_multi): anchors, decoding, ROI geometry
on synthetic tensors, and the real models on a frame with two people and on a blank frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from poselift.detect import blazepose_multi as bm
from poselift.detect import base


def litert_and_models():
    pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (LiteRT) is not installed")
    try:
        bm.model_paths()
    except Exception as e:  # noqa: BLE001 - mediapipe wheel missing
        pytest.skip(f"BlazePose models not available: {e}")


# ----------------------------------------------------------------------------- anchors


def test_anchor_count_and_layout():
    anchors = bm.ssd_anchors()
    assert anchors.shape == (bm.NUM_ANCHORS, 2) == (2254, 2)
    assert ((anchors > 0) & (anchors < 1)).all()
    # stride 8: 28x28 cells, 2 anchors each, row-major, (x, y) = (col + 0.5, row + 0.5) / 28
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(anchors[1], anchors[0])
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(anchors[2 * 28], [0.5 / 28, 1.5 / 28], rtol=1e-6)
    # stride 16 starts after 28*28*2 anchors
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14], rtol=1e-6)
    # the three stride-32 layers are merged: 7x7 cells with 6 anchors each, last cell at (6.5, 6.5) / 7
    assert 1568 + 392 + 7 * 7 * 6 == 2254
    np.testing.assert_allclose(anchors[1960:1966], np.full((6, 2), 0.5 / 7), rtol=1e-6)
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7], rtol=1e-6)


# ----------------------------------------------------------------------------- decoding


def test_decode_synthetic_raw_tensor():
    anchors = bm.ssd_anchors()
    raw = np.zeros((bm.NUM_ANCHORS, 12), np.float32)
    logits = np.full(bm.NUM_ANCHORS, -10.0, np.float32)
    i = 1568 + 2 * (14 * 5 + 3)  # a stride-16 anchor at cell (row 5, col 3): centre (3.5, 5.5) / 14
    ax, ay = anchors[i]
    np.testing.assert_allclose([ax, ay], [3.5 / 14, 5.5 / 14], rtol=1e-6)
    raw[i, :4] = [22.4, -11.2, 44.8, 22.4]  # x, y offsets and w, h in 224-pixel units
    raw[i, 4:12] = [0, 0, 0, -56, 11.2, 11.2, -22.4, 0]  # 4 keypoints
    logits[i] = 2.0
    logits[7] = 500.0  # clipped at 100 before the sigmoid: still a valid score of 1
    scores, boxes, kps = bm.decode_detections(raw, logits[:, None], anchors, min_score=0.5)
    assert len(scores) == 2
    assert scores[0] == pytest.approx(1.0) and scores[1] == pytest.approx(1 / (1 + math.exp(-2)), rel=1e-6)
    cx, cy = ax + 0.1, ay - 0.05
    np.testing.assert_allclose(boxes[1], [cx - 0.1, cy - 0.05, cx + 0.1, cy + 0.05], atol=1e-6)
    np.testing.assert_allclose(kps[1], [[ax, ay], [ax, ay - 0.25], [ax + 0.05, ay + 0.05], [ax - 0.1, ay]], atol=1e-6)
    # below the threshold: nothing
    assert len(bm.decode_detections(raw, np.full(bm.NUM_ANCHORS, -1.0), anchors, 0.5)[0]) == 0


def test_weighted_nms_merges_overlaps_and_keeps_separate_people():
    scores = np.array([0.9, 0.6, 0.8])
    boxes = np.array([[0.10, 0.10, 0.20, 0.20], [0.11, 0.10, 0.21, 0.20], [0.60, 0.60, 0.70, 0.70]])
    kps = np.stack([np.full((4, 2), 0.15), np.full((4, 2), 0.30), np.full((4, 2), 0.65)])
    order = np.argsort(-scores)
    s, b, k = bm.weighted_nms(scores[order], boxes[order], kps[order], iou=0.3)
    assert len(s) == 2
    assert s[0] == pytest.approx(0.9) and s[1] == pytest.approx(0.8)
    np.testing.assert_allclose(b[0], (0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5)
    np.testing.assert_allclose(k[0], (0.9 * 0.15 + 0.6 * 0.30) / 1.5)
    np.testing.assert_allclose(k[1], 0.65)


def test_roi_geometry_upright_and_rotated():
    # scale point straight above the hip centre: upright, side 2 x distance x 1.25
    roi = bm.roi_from_points((100, 200), (100, 120))
    assert roi.rotation == pytest.approx(0.0) and roi.size == pytest.approx(200.0)
    # a person lying with the head to the right: the crop turns them upright
    roi = bm.roi_from_points((100, 200), (180, 200))
    assert roi.rotation == pytest.approx(math.pi / 2)
    m = bm.roi_matrix(roi, 256)
    to_crop = lambda p: m[:, :2] @ np.asarray(p, float) + m[:, 2]  # noqa: E731
    np.testing.assert_allclose(to_crop((100, 200)), [128, 128], atol=1e-9)
    head = to_crop((180, 200))
    assert head[0] == pytest.approx(128) and head[1] < 128  # above the centre in the crop
    # crop -> frame is the inverse of frame -> crop
    np.testing.assert_allclose(roi.to_frame(to_crop((150, 230)) / 256), [150, 230], atol=1e-9)


def test_decode_landmarks_into_the_frame():
    roi = bm.Roi(500.0, 300.0, 200.0, math.pi / 2)
    raw = np.zeros((bm.NUM_LANDMARKS, 5), np.float32)
    raw[0, :2] = [128, 128]  # crop centre -> ROI centre
    raw[1, :2] = [128, 0]  # top of the crop -> along the rotated "up" (+x in the frame)
    raw[:, 3] = 0.0  # visibility logit 0 -> 0.5
    raw[:, 4] = 100.0
    lm = bm.decode_landmarks(raw.ravel(), None, roi)
    np.testing.assert_allclose(lm[0, :2], [500, 300], atol=1e-6)
    np.testing.assert_allclose(lm[1, :2], [600, 300], atol=1e-6)
    assert lm[0, 3] == pytest.approx(0.5) and lm[0, 4] == pytest.approx(1.0)
    # a confident heatmap blob moves a landmark to its (weighted) centre
    heat = np.full((64, 64, bm.NUM_LANDMARKS), -20.0, np.float32)
    heat[30, 34, 0] = 20.0  # row 30, col 34
    lm = bm.decode_landmarks(raw.ravel(), heat[None], bm.Roi(128.0, 128.0, 256.0, 0.0))
    np.testing.assert_allclose(lm[0, :2], [34 / 64 * 256, 30 / 64 * 256], atol=1e-3)


def test_registered_under_both_names():
    assert "blazepose-multi" in base.available_detectors()
    litert_and_models()
    det = base.get_detector("mediapipe-multi")
    try:
        assert det.name == "blazepose-multi" and det.layout == "coco17"
        assert isinstance(det, base.Detector) and not isinstance(det, base.PersonTracker)
    finally:
        det.close()


# ----------------------------------------------------------------------------- real models


@pytest.fixture(scope="module")
def detector():
    litert_and_models()
    det = bm.BlazePoseMulti(track=False)
    yield det
    det.close()


@pytest.fixture(scope="module")
def person_frame(shared_data):
    from poselift.video import iter_frames

    path = shared_data / "video" / "pose2sim_single" / "cam01.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return next(iter(iter_frames(path, max_frames=1)))  # 1080 x 1920, one person at x 260-550


@pytest.fixture(scope="module")
def two_people(person_frame):
    crop = person_frame[300:1200, 150:650]  # 500 x 900, the whole person
    return np.ascontiguousarray(np.concatenate([crop, crop], axis=1))  # 1000 x 900


def test_two_people_side_by_side(detector, two_people):
    dets = detector.detect(two_people)
    assert len(dets) == 2
    halves = set()
    for kp, sc in dets:
        assert kp.shape == (17, 2) and sc.shape == (17,) and kp.dtype == np.float32
        assert np.isfinite(kp).all() and ((sc >= 0) & (sc <= 1)).all()
        xs = kp[:, 0]
        half = int(np.median(xs) >= 500)
        assert ((xs >= 500) == bool(half)).mean() >= 0.9  # the whole skeleton is in one half
        hips = kp[11:13].mean(0)
        assert 250 < hips[1] < 650  # the hips are mid-height
        halves.add(half)
    assert halves == {0, 1}
    # the two copies give about the same pose (a ~670 px tall person), shifted by the crop width
    (a, _), (b, _) = sorted(dets, key=lambda d: d[0][:, 0].mean())
    err = np.linalg.norm(b - a - [500.0, 0.0], axis=1)
    assert np.median(err) < 8 and err.max() < 40
    assert len(detector.world_landmarks_all) == 2
    for w in detector.world_landmarks_all:
        assert w.shape == (17, 3) and np.isfinite(w).all()
        assert np.abs(w[11:13].mean(0)).max() < 0.05  # origin between the hips (metres)
        assert w[0, 1] < w[15, 1]  # y down: nose above the ankle
    np.testing.assert_array_equal(detector.world_landmarks, detector.world_landmarks_all[0])


def test_blank_frame_finds_no_one(detector):
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert detector.world_landmarks_all == [] and detector.world_landmarks is None


def test_tracking_keeps_both_and_drops_them_on_a_blank_frame(two_people):
    litert_and_models()
    det = bm.BlazePoseMulti(track=True, detect_every=5)
    try:
        assert len(det.detect(two_people)) == 2
        runs = det.stats["detector_runs"]
        assert len(det.detect(two_people)) == 2  # from the tracked ROIs, no detector run
        assert det.stats["detector_runs"] == runs
        assert det.detect(np.zeros_like(two_people)) == []
    finally:
        det.close()


def test_same_as_mediapipe_static_pose(person_frame):
    """With the detector on the whole frame, the pipeline reproduces MediaPipe's own static
    Pose on the same frame (same models, same pre- and post-processing) to about a pixel."""
    litert_and_models()
    mp = pytest.importorskip("mediapipe")
    from poselift.detect.mediapipe_pose import MEDIAPIPE_TO_COCO17, _native_stderr_silenced

    det = bm.BlazePoseMulti(track=False, tiles=False)
    try:
        (kp, sc), = det.detect(person_frame)
        world = det.world_landmarks
    finally:
        det.close()
    with _native_stderr_silenced():
        with mp.solutions.pose.Pose(static_image_mode=True) as pose:
            result = pose.process(person_frame)
    h, w = person_frame.shape[:2]
    lm, wl = result.pose_landmarks.landmark, result.pose_world_landmarks.landmark
    ref = np.array([[lm[i].x * w, lm[i].y * h] for i in MEDIAPIPE_TO_COCO17])
    ref_world = np.array([[wl[i].x, wl[i].y, wl[i].z] for i in MEDIAPIPE_TO_COCO17])
    ref_vis = np.array([lm[i].visibility for i in MEDIAPIPE_TO_COCO17])
    dist = np.linalg.norm(kp - ref, axis=1)
    assert np.median(dist) < 1.0 and dist.max() < 4.0
    assert np.abs(world - ref_world).max() < 0.005
    assert np.abs(sc - ref_vis).max() < 0.01


def test_detect_video_tracks_people(tmp_path, two_people):
    litert_and_models()
    pytest.importorskip("av")
    from poselift.video import VideoWriter

    h, w = two_people.shape[:2]
    path = tmp_path / "two.mp4"
    with VideoWriter(path, 30, w, h) as out:
        for _ in range(3):
            out.write(two_people)
    det = base.get_detector("blazepose-multi")
    try:
        seq = base.detect_video(path, det, person=1, progress=False)
    finally:
        det.close()
    assert seq.keypoints.shape == (3, 17, 2)
    assert np.isfinite(seq.keypoints).all()
    assert any("2 people tracked" in n for n in seq.notes)


def test_bad_options():
    from poselift.errors import PoseliftError

    with pytest.raises(PoseliftError):
        bm.BlazePoseMulti(min_presence=2)
    with pytest.raises(PoseliftError):
        bm.BlazePoseMulti(detect_every=0)
