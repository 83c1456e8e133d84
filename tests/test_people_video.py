"""Several people on a real detector: a synthetic video in which two real people cross keeps
their identities.

Two people cut out of the shared clips (the Sports2D woman, the Pose2Sim man; MediaPipe's
person segmentation as a soft mask) walk across an empty Sports2D frame in opposite
directions; the woman passes in front of the man and hides part of him for a few frames
(see tests/people_video.py for how the video is made and why). The exact place of each
person is known in every frame. ``detect_people`` with the ``blazepose-multi`` detector
must give each of them one id for the whole clip: no switch at the crossing, no new id for
the man when he comes out from behind her, both found in nearly every frame where they
are not hidden. About 20 s on two CPU cores (building the video ~12 s, detection ~7 s).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
pytest.importorskip("av", reason="PyAV is not installed")
pytest.importorskip("norfair", reason="norfair (multi-person tracking) is not installed")
pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (LiteRT) is not installed")
pytest.importorskip("mediapipe.python.solutions.pose", reason="mediapipe (legacy Pose solution) is not installed")

import people_video as pv  # noqa: E402  (tests/ is on sys.path: rootdir conftest)


@pytest.fixture(scope="module")
def crossing(shared_data, tmp_path_factory):
    from poselift.detect import blazepose_multi
    from poselift.detect.base import MULTI_DETECTOR, detect_people, get_detector

    for rel in (pv.SPORTS2D, pv.POSE2SIM):
        if not (shared_data / rel).is_file():
            pytest.skip(f"shared clip missing: {shared_data / rel}")
    try:
        blazepose_multi.model_paths()
    except Exception as e:  # noqa: BLE001 - mediapipe wheel without the BlazePose models
        pytest.skip(f"BlazePose models not available: {e}")
    path = tmp_path_factory.mktemp("people_video") / "crossing.mp4"
    truth = pv.build_crossing_video(shared_data, path)
    detector = get_detector(MULTI_DETECTOR)
    try:
        people = detect_people(path, detector, progress=False)
    finally:
        detector.close()
    return truth, people


def test_the_synthetic_video_is_a_crossing_with_an_occlusion(crossing):
    truth, _ = crossing
    boxes, visible = truth.boxes, truth.visible
    assert boxes.shape == (2, pv.FRAMES, 4) and np.isfinite(boxes).all(), "both people in every frame"
    assert (boxes[..., :2] >= 0).all() and (boxes[..., 2] <= pv.WIDTH).all() and (boxes[..., 3] <= pv.HEIGHT).all()
    cx = (boxes[..., 0] + boxes[..., 2]) / 2
    # the woman starts on the right and ends on the left, the man the other way round
    assert cx[0, 0] > cx[1, 0] + 300 and cx[0, -1] < cx[1, -1] - 300
    assert 30 <= truth.crossing <= 60
    # people of a size a detector works with (about 300 px tall)
    heights = boxes[..., 3] - boxes[..., 1]
    assert (heights > 200).all() and (heights < 450).all()
    # she is in front and never hidden; he is partly hidden around the crossing only
    assert (visible[0] == 1).all()
    hidden = np.flatnonzero(visible[1] < 0.9)
    assert visible[1].min() < 0.75, "the woman should hide a good part of the man while they cross"
    assert len(hidden) >= 5 and abs(hidden.mean() - truth.crossing) < 8
    assert (visible[1, :25] == 1).all() and (visible[1, -25:] == 1).all()


def test_ids_survive_the_crossing_on_the_real_detector(crossing):
    truth, people = crossing
    assert len(people) == 2, f"expected 2 people, got ids {[p.person_id for p in people]}"
    assert all(p.keypoints.shape == (pv.FRAMES, 17, 2) for p in people)
    report = pv.check_identities(people, truth)
    assert report.ok, report.summary()
    # the id on each person before the crossing is the id on them after it
    c = truth.crossing
    for s in (0, 1):
        (pid,) = [p for p, o in report.owner.items() if o == s]
        m = report.matches[pid][s]
        assert min(m) < c - 10 and max(m) > c + 10, report.summary()
    # found (by their own id) in nearly every frame where they are not hidden at all
    for s in (0, 1):
        clear = truth.visible[s] == 1
        assert report.found[s, clear].mean() >= 0.95, report.summary()


def test_the_checker_catches_a_switch_and_a_new_id(crossing):
    truth, people = crossing
    assert len(people) == 2
    c = truth.crossing
    for frame in (c - 5, c + 8, 20, 70):  # a switch at, just after, long before and long after the crossing
        report = pv.check_identities(pv.swapped_after(people, frame), truth)
        assert not report.ok
        assert sum("is on the woman in frames" in p for p in report.problems) == 2, report.summary()
    # the man (or the woman) given a new id once the crossing is over
    for seq in people:
        report = pv.check_identities(pv.split_after(people, seq.person_id, c + 10, 99), truth)
        assert not report.ok
        assert any("owned by ids" in p and "99" in p for p in report.problems), report.summary()
