import numpy as np
import pytest

from poselift.detect.fill import FillReport, fill_gaps
from poselift.detect.keypoints import KeypointSequence
from poselift.errors import PoseliftError
from poselift.skeleton import COCO17, get_skeleton

L_EAR, R_EAR = COCO17.index("l_ear"), COCO17.index("r_ear")
L_SHOULDER, L_WRIST = COCO17.index("l_shoulder"), COCO17.index("l_wrist")


def make_seq(frames=6, layout="coco17", seed=0):
    rng = np.random.default_rng(seed)
    kp = rng.integers(0, 500, size=(frames, 17, 2)).astype(np.float32) * 2  # even: midpoints are exact
    return KeypointSequence(kp, np.full((frames, 17), 0.9, np.float32), layout=layout, source="clip.json")


def test_linear_interpolation_and_edges_exact():
    seq = make_seq(6)
    original = seq.keypoints.copy()
    seq.keypoints[0, L_SHOULDER] = (0, 0)
    seq.keypoints[4, L_SHOULDER] = (8, -4)
    seq.keypoints[[1, 3], L_SHOULDER] = np.nan
    seq.scores[[1, 3], L_SHOULDER] = 0
    seq.scores[2, L_SHOULDER] = 0.1  # finite but unreliable: treated as missing
    seq.keypoints[[0, 1, 5], L_WRIST] = np.nan
    seq.scores[[0, 1, 5], L_WRIST] = 0
    before = (seq.keypoints.copy(), seq.scores.copy())

    out, report = fill_gaps(seq, min_score=0.3)

    np.testing.assert_array_equal(out.keypoints[1:4, L_SHOULDER], [[2, -1], [4, -2], [6, -3]])
    np.testing.assert_array_equal(out.keypoints[[0, 1], L_WRIST], original[[2, 2], L_WRIST])
    np.testing.assert_array_equal(out.keypoints[5, L_WRIST], original[4, L_WRIST])
    filled = np.zeros((6, 17), bool)
    filled[1:4, L_SHOULDER] = filled[[0, 1, 5], L_WRIST] = True
    np.testing.assert_array_equal(out.keypoints[~filled], seq.keypoints[~filled])  # usable joints untouched
    np.testing.assert_array_equal(out.scores, np.where(filled, 0, seq.scores))
    assert np.isfinite(out.keypoints).all() and out.keypoints.dtype == np.float32
    assert report == FillReport(frames=6, filled_joints=6, filled_frames=0, longest_gap=3, never_seen=[], unfilled=0)
    assert out.layout == seq.layout and out.source == seq.source
    assert out.notes[-1] == report.summary()
    # the input is left as it was
    np.testing.assert_array_equal(seq.keypoints, before[0])
    np.testing.assert_array_equal(seq.scores, before[1])


def test_whole_frames_are_interpolated():
    seq = make_seq(5)
    seq.keypoints[2] = np.nan
    seq.scores[2] = 0
    seq.scores[4] = 0.1  # a whole frame of unreliable joints at the end
    out, report = fill_gaps(seq)
    np.testing.assert_array_equal(out.keypoints[2], (seq.keypoints[1] + seq.keypoints[3]) / 2)
    np.testing.assert_array_equal(out.keypoints[4], seq.keypoints[3])
    assert (out.scores[[2, 4]] == 0).all() and (out.scores[[0, 1, 3]] == 0.9).all()
    assert (report.filled_joints, report.filled_frames, report.longest_gap) == (34, 2, 1)


def test_score_equal_to_min_score_is_usable():
    seq = make_seq(3)
    seq.scores[1, 0] = 0.3
    out, report = fill_gaps(seq, min_score=0.3)
    assert report.filled_joints == 0
    np.testing.assert_array_equal(out.keypoints, seq.keypoints)
    _, report = fill_gaps(seq, min_score=0.31)
    assert report.filled_joints == 1


def test_never_seen_joint_is_copied_from_its_mirror():
    seq = make_seq(4)
    seq.keypoints[:, R_EAR] = np.nan
    seq.scores[:, R_EAR] = 0
    seq.scores[1, L_EAR] = 0.0
    out, report = fill_gaps(seq)
    np.testing.assert_array_equal(out.keypoints[:, R_EAR], out.keypoints[:, L_EAR])
    np.testing.assert_array_equal(out.keypoints[1, L_EAR], (seq.keypoints[0, L_EAR] + seq.keypoints[2, L_EAR]) / 2)
    assert report.never_seen == ["r_ear"]
    assert (report.filled_joints, report.longest_gap) == (4 + 1, 1)
    assert (out.scores[:, R_EAR] == 0).all()
    assert "r_ear" in report.summary()


@pytest.mark.parametrize("layout, never, named", [
    ("coco17", ["nose"], "nose"),  # no mirrored joint
    ("coco17", ["l_ear", "r_ear"], "l_ear"),  # the mirror is never seen either
    ("h36m17", ["pelvis"], "pelvis"),
])
def test_never_seen_joint_without_a_choice_is_an_error(layout, never, named):
    seq = make_seq(4, layout)
    for name in never:
        seq.scores[:, get_skeleton(layout).index(name)] = 0.05
    with pytest.raises(PoseliftError, match=f"'{named}' is never seen") as ei:
        fill_gaps(seq)
    assert ei.value.path == "clip.json"


def test_max_gap_leaves_long_gaps_missing():
    seq = make_seq(8)
    seq.keypoints[1:4, 0] = np.nan  # a gap of 3
    seq.keypoints[5:7, 1] = np.nan  # a gap of 2
    out, report = fill_gaps(seq, max_gap=2)
    assert np.isnan(out.keypoints[1:4, 0]).all() and (out.scores[1:4, 0] == 0).all()
    assert np.isfinite(out.keypoints[5:7, 1]).all()
    assert (report.filled_joints, report.unfilled, report.longest_gap) == (2, 3, 3)
    assert "left missing" in report.summary()
    _, report = fill_gaps(seq, max_gap=3)
    assert (report.filled_joints, report.unfilled) == (5, 0)


def test_empty_and_hopeless_sequences():
    empty = KeypointSequence(np.zeros((0, 17, 2)), np.zeros((0, 17)), source="empty.json")
    with pytest.raises(PoseliftError, match="^empty.json: no frames with a person$"):
        fill_gaps(empty)
    seq = make_seq(3)
    seq.scores[:] = 0.1
    with pytest.raises(PoseliftError, match="no frames with a person"):
        fill_gaps(seq)
    out, report = fill_gaps(seq, min_score=0.0)  # everything finite counts with min_score 0
    assert report.filled_joints == 0


@pytest.mark.parametrize("kwargs", [{"min_score": -0.1}, {"min_score": 1.5}, {"min_score": "0.3"},
                                    {"max_gap": -1}, {"max_gap": 2.5}])
def test_bad_arguments(kwargs):
    with pytest.raises(PoseliftError):
        fill_gaps(make_seq(3), **kwargs)


def test_summary_is_one_line():
    text = FillReport(frames=10, filled_joints=3, filled_frames=1, longest_gap=2, never_seen=["r_ear"],
                      unfilled=4).summary()
    assert "\n" not in text
    assert text.startswith("filled 3 joint positions in 10 frames (1 whole frames), longest gap 2 frames")
