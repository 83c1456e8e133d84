import numpy as np
import pytest

from poselift.detect.track import box_iou, build_tracks, keypoint_box

# A standing COCO-17 person, about 80 x 200 px, hips near (0, 0).
POSE = np.array([[0, -150], [-6, -156], [6, -156], [-12, -152], [12, -152], [-30, -110], [30, -110],
                 [-38, -60], [38, -60], [-40, -15], [40, -15], [-15, 0], [15, 0], [-16, 48], [16, 48],
                 [-17, 50], [17, 50]], dtype=np.float32)
HIPS = (11, 12)


def person(x, y, scale=1.0, score=0.9):
    return POSE * scale + np.array([x, y], np.float32), np.full(17, score, np.float32)


def shuffled(frames, seed):
    rng = np.random.default_rng(seed)
    return [[f[i] for i in rng.permutation(len(f))] for f in frames]


def track_of(tracks, keypoints0):
    """The track whose first frame holds exactly ``keypoints0``."""
    matches = [tr for tr in tracks if np.array_equal(tr.keypoints[0], keypoints0)]
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize("seed", range(5))
def test_two_people_crossing_paths_keep_their_tracks(seed):
    frames_n = 30
    xs = np.linspace(100, 500, frames_n)
    near = [person(x, 300) for x in xs]  # walks right, close to the camera
    far = [person(x, 260, scale=0.6, score=0.7) for x in xs[::-1]]  # walks left, further away
    frames = shuffled([[a, b] for a, b in zip(near, far)], seed)
    tracks = build_tracks(frames, hip_joints=HIPS)
    assert len(tracks) == 2
    assert tracks[0].total_score > tracks[1].total_score  # most visible first
    for truth, track in ((near, tracks[0]), (far, tracks[1])):
        np.testing.assert_array_equal(track.keypoints, np.stack([k for k, _ in truth]))
        np.testing.assert_array_equal(track.scores, np.stack([s for _, s in truth]))
        assert track.frames.tolist() == list(range(frames_n))


@pytest.mark.parametrize("seed", range(3))
def test_people_standing_apart_with_misses_and_shuffled_order(seed):
    rng = np.random.default_rng(seed)
    frames_n, spots = 25, [(100, 300), (350, 310), (600, 290)]
    truth = np.full((3, frames_n, 17, 2), np.nan, np.float32)
    frames = []
    for t in range(frames_n):
        dets = []
        for p, (x, y) in enumerate(spots):
            if rng.random() < 0.2 * p:  # person 0 always seen, the others less often
                continue
            kp, sc = person(x + rng.normal(0, 3), y + rng.normal(0, 3))
            truth[p, t] = kp
            dets.append((kp, sc))
        frames.append(dets)
    tracks = build_tracks(shuffled(frames, seed), hip_joints=HIPS)
    assert len(tracks) == 3
    for p, track in enumerate(tracks):  # ranked by how often each person was seen
        np.testing.assert_array_equal(track.keypoints, truth[p])


def test_never_switches_to_a_box_that_does_not_overlap_when_one_does():
    # Two-joint "people" given by box corners; centres are box centres.
    def box(x1, y1, x2, y2, score=1.0):
        return np.array([[x1, y1], [x2, y2]], np.float32), np.full(2, score, np.float32)

    start = box(0, 0, 100, 200)
    overlapping = box(90, 0, 190, 200, score=0.2)  # IoU 0.05, centre 90 px away
    apart = box(-30, 80, -5, 120)  # no overlap, but its centre is only 67.5 px away
    assert box_iou(keypoint_box(start[0]), keypoint_box(overlapping[0])) > 0
    assert box_iou(keypoint_box(start[0]), keypoint_box(apart[0])) == 0
    for order in ([apart, overlapping], [overlapping, apart]):
        tracks = build_tracks([[start], order], max_distance=10.0)
        first = track_of(tracks, start[0])
        np.testing.assert_array_equal(first.keypoints[1], overlapping[0])
        assert len(tracks) == 2


def test_distance_fallback_follows_a_jump_but_not_a_far_one():
    a0, a1 = person(100, 300), person(200, 300)  # boxes 80 px wide: a jump of 100 px does not overlap
    assert box_iou(keypoint_box(a0[0]), keypoint_box(a1[0])) == 0
    (track,) = build_tracks([[a0], [a1]], hip_joints=HIPS)  # 100 px / ~215 px diagonal < 1
    assert track.frames.tolist() == [0, 1]
    far = person(900, 300)
    assert len(build_tracks([[a0], [far]], hip_joints=HIPS)) == 2


def test_track_survives_missing_frames_and_resumes_at_its_last_box():
    a, b = person(100, 300), person(400, 300, score=0.5)
    frames = [[a, b], [a], [], [b, a]]
    tracks = build_tracks(frames, hip_joints=HIPS)
    assert len(tracks) == 2
    assert tracks[0].frames.tolist() == [0, 1, 3]
    assert tracks[1].frames.tolist() == [0, 3]
    np.testing.assert_array_equal(tracks[1].keypoints[3], b[0])
    assert np.isnan(tracks[1].keypoints[1:3]).all() and (tracks[1].scores[1:3] == 0).all()


def test_empty_input_and_detections_without_keypoints():
    assert build_tracks([]) == []
    assert build_tracks([[], []]) == []
    nothing = (np.full((17, 2), np.nan, np.float32), np.zeros(17, np.float32))
    assert build_tracks([[nothing]]) == []
    (track,) = build_tracks([[nothing, person(0, 0)], []])
    assert track.keypoints.shape == (2, 17, 2)


def test_inconsistent_joint_counts_are_a_programming_error():
    with pytest.raises(ValueError, match="joints"):
        build_tracks([[person(0, 0)], [(np.zeros((5, 2)), np.ones(5))]])
