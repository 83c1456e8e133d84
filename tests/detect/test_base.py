"""The detector interface (poselift.detect.base): the registry, person choice, whole videos."""

import numpy as np
import pytest

from poselift.detect.base import (PersonTracker, available_detectors, choose_person, detect_video,
                                  frame_detections, get_detector, register_detector)
from poselift.detect.keypoints import KeypointSequence
from poselift.errors import PoseliftError

from helpers import write_mp4

J = 17  # coco17


def _person(x0, y0, score, jitter=0.0):
    """A COCO-17 person: 17 keypoints spread over a 16 x 30 pixel box at (x0, y0)."""
    grid = np.stack(np.meshgrid(np.linspace(0, 16, 3), np.linspace(0, 30, 6)), -1).reshape(-1, 2)[:J]
    return (grid + [x0 + jitter, y0]).astype(np.float32), np.full(J, score, np.float32)


class FakeMulti:
    """Two people in every frame (a bright one on the left, a dim one on the right), listed
    right first; nobody in the frames listed in ``empty``."""

    name, layout = "fake-multi", "coco17"

    def __init__(self, empty=()):
        self.empty, self.t, self.closed = set(empty), 0, False

    def detect(self, frame_rgb):
        assert frame_rgb.ndim == 3 and frame_rgb.shape[2] == 3 and frame_rgb.dtype == np.uint8
        t, self.t = self.t, self.t + 1
        if t in self.empty:
            return []
        return [_person(40, 10, 0.4, 0.2 * t), _person(4, 8, 0.9, 0.1 * t)]

    def close(self):
        self.closed = True


class FakeTracker(FakeMulti):
    """A single-person tracker: told whom to follow, returns that person only."""

    name = "fake-tracker"

    def start(self, person=0, fps=None):
        self.started = (person, fps)

    def notes(self):
        return ["fake tracker note"]

    def detect(self, frame_rgb):
        return super().detect(frame_rgb)[1:]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("vid") / "clip.mp4"
    write_mp4(path, frames=6, fps=25, height=48, width=64)
    return path


def test_get_detector_names_what_is_available():
    assert {"mediapipe", "blazepose-multi"} <= set(available_detectors())
    with pytest.raises(PoseliftError, match=r"unknown 2D detector 'nope'; available: .*mediapipe"):
        get_detector("nope")
    with pytest.raises(PoseliftError, match="'OpenPose' is not available here: OpenPose is a separate program"):
        get_detector("OpenPose")  # names are case-insensitive


def test_register_detector_and_aliases():
    register_detector("fake-test", lambda **o: FakeMulti(**o), aliases=("fake-alias",))
    try:
        assert "fake-test" in available_detectors()
        det = get_detector(" Fake-Alias ", empty=(2,))
        assert isinstance(det, FakeMulti) and det.empty == {2}
        assert not isinstance(det, PersonTracker) and isinstance(FakeTracker(), PersonTracker)
    finally:
        from poselift.detect import base

        base._FACTORIES.pop("fake-test"), base._ALIASES.pop("fake-alias")


def test_frame_detections_drops_people_without_a_joint():
    class Det:
        def detect(self, frame):
            kp, sc = _person(0, 0, 0.5)
            return [(np.full((J, 2), np.nan), sc), (kp.tolist(), sc.tolist())]

    dets = frame_detections(Det(), np.zeros((4, 4, 3), np.uint8), J)
    assert len(dets) == 1 and dets[0][0].dtype == np.float32 and dets[0][0].shape == (J, 2)


def test_detect_video_multi_person_rank_and_box(video):
    seq = detect_video(video, FakeMulti(empty=(3,)), person=0, progress=False)
    assert isinstance(seq, KeypointSequence) and len(seq) == 6
    assert (seq.width, seq.height, seq.fps, seq.layout) == (64, 48, 25, "coco17")
    # person 0: the most visible (the bright one on the left), NaN and score 0 where nobody was found
    np.testing.assert_allclose(seq.keypoints[0], _person(4, 8, 0.9)[0])
    assert np.isnan(seq.keypoints[3]).all() and (seq.scores[3] == 0).all()
    assert (seq.scores[[0, 1, 2, 4, 5]] == np.float32(0.9)).all()
    assert any("2 people tracked; using person 0" in n for n in seq.notes)
    assert any("person not found in 1 of 6 frames" in n for n in seq.notes)
    right = detect_video(video, FakeMulti(), person=1, progress=False)
    assert (right.scores == np.float32(0.4)).all() and np.nanmin(right.keypoints[..., 0]) >= 40
    boxed = detect_video(video, FakeMulti(), person=(38, 5, 25, 40), progress=False)  # a box around the right one
    np.testing.assert_array_equal(boxed.keypoints, right.keypoints)
    with pytest.raises(PoseliftError, match="person 2 asked for, but only 2 people were tracked"):
        detect_video(video, FakeMulti(), person=2, progress=False)
    with pytest.raises(PoseliftError, match="no detected person overlaps the box"):
        detect_video(video, FakeMulti(), person=(0, 45, 2, 2), progress=False)


def test_detect_video_with_a_tracker(video):
    det = FakeTracker()
    seq = detect_video(video, det, person=0, progress=False)
    assert det.started == (0, 25)
    np.testing.assert_allclose(seq.keypoints[2], _person(4, 8, 0.9, 0.2)[0])
    assert "fake tracker note" in seq.notes and seq.world is None


def test_detect_video_errors_name_the_video(video):
    with pytest.raises(PoseliftError, match="no person found by fake-multi in any of the 6 frames") as e:
        detect_video(video, FakeMulti(empty=range(6)), progress=False)
    assert e.value.path is not None and str(video) in str(e.value)

    class Broken(FakeMulti):
        def detect(self, frame_rgb):
            raise PoseliftError("the back-end choked")

    with pytest.raises(PoseliftError, match="the back-end choked") as e:
        detect_video(video, Broken(), progress=False)
    assert e.value.path is not None and str(video) in str(e.value)


def _tracked(pid, x0, frames=5, start=0):
    kp = np.full((frames, J, 2), np.nan, np.float32)
    sc = np.zeros((frames, J), np.float32)
    for t in range(start, frames):
        kp[t], sc[t] = _person(x0, 10, 0.8)
    return KeypointSequence(kp, sc, person_id=pid, notes=[])


def test_choose_person_by_id_and_box():
    people = [_tracked(3, 0), _tracked(7, 40), _tracked(9, 80, start=3)]
    assert choose_person(people, 7) is people[1]
    assert choose_person(people, "3") is people[0]
    with pytest.raises(PoseliftError, match="no person with id 4; the tracked ids are 3, 7, 9"):
        choose_person(people, 4)
    chosen = choose_person(people, (38, 5, 20, 40))
    assert chosen is people[1] and chosen.notes[-1] == "chosen by the box 38,5,20,40: id 7, frame 0"
    # someone who enters later is chosen by a box where they appear, in the first frame they do
    late = choose_person(people, "78,5,20,40")
    assert late is people[2] and late.notes[-1].endswith("id 9, frame 3")
    with pytest.raises(PoseliftError, match="no tracked person overlaps the box 200,200,5,5"):
        choose_person(people, (200, 200, 5, 5))
    with pytest.raises(PoseliftError, match="person must be a whole number >= 0"):
        choose_person(people, -1)
