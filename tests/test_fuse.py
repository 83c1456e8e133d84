import numpy as np
import pytest

from poselift.errors import PoseliftError
from poselift.fuse import fuse_detector_3d
from poselift.skeleton import COCO_FROM_H36M, coco17_from_h36m17

from helpers import random_motion


def test_shared_joints_averaged_trunk_follows_and_missing_frames_kept():
    lift = random_motion(20, seed=1).astype(np.float64)
    lift -= lift[:, :1]
    other = random_motion(20, seed=2).astype(np.float64)
    other -= other[:, :1]
    world = coco17_from_h36m17(other)
    world[5] = np.nan  # the detector gave no 3D in frame 5
    out = fuse_detector_3d(lift, world, "coco17")
    mid_hips = (world[:, 11] + world[:, 12]) / 2
    for c, h in COCO_FROM_H36M.items():
        if c == 0:
            assert np.allclose(out[:, h], lift[:, h] + (out[:, [11, 14]].mean(1) - lift[:, [11, 14]].mean(1)))
            continue
        expect = 0.5 * lift[:, h] + 0.5 * (world[:, c] - mid_hips)
        assert np.allclose(out[np.arange(20) != 5, h], expect[np.arange(20) != 5])
    assert np.allclose(out[5], lift[5])
    shift = out[:, [11, 14]].mean(1) - lift[:, [11, 14]].mean(1)
    assert np.allclose(out[:, 8] - lift[:, 8], shift) and np.allclose(out[:, 7] - lift[:, 7], shift / 2)
    assert np.allclose(out[:, 0], lift[:, 0])
    with pytest.raises(PoseliftError):
        fuse_detector_3d(lift, world, "h36m17")
    with pytest.raises(PoseliftError):
        fuse_detector_3d(lift, world[:10], "coco17")


def test_reconstruct_averages_with_the_detectors_3d_unless_told_not_to():
    from poselift.detect.keypoints import KeypointSequence
    from poselift.infer import reconstruct

    from test_infer import _coco_sequence

    seq, X = _coco_sequence(40)
    plain = reconstruct(seq)
    rel = X - X[:, :1]
    with_world = KeypointSequence(seq.keypoints, seq.scores, "coco17", 1000, 800, 30.0, "synthetic",
                                  world=coco17_from_h36m17(rel))
    fused = reconstruct(with_world)
    lift_only = reconstruct(with_world, fuse=False)
    assert np.allclose(lift_only.positions_cam, plain.positions_cam)
    assert "averaged with the detector's own 3D in 40 of 40 frames" in fused.report
    err = lambda r: np.linalg.norm((r.positions_cam - r.positions_cam[:, :1]) - rel, axis=-1).mean()
    assert err(fused) < err(plain)  # the detector's 3D here is exact, so the average is closer
    with pytest.raises(PoseliftError, match="detector 3D must be"):
        KeypointSequence(seq.keypoints, seq.scores, "coco17", world=np.zeros((40, 17, 2)))


def test_the_body_takes_the_detectors_size_and_the_root_stays():
    from poselift.bones import sequence_lengths, standing_height
    from poselift.detect.keypoints import KeypointSequence
    from poselift.fuse import detector_size_ratio
    from poselift.infer import reconstruct

    from test_infer import _coco_sequence

    seq, X = _coco_sequence(40)
    rel = X - X[:, :1]
    small = KeypointSequence(seq.keypoints, seq.scores, "coco17", 1000, 800, 30.0, "synthetic",
                             world=coco17_from_h36m17(0.8 * rel))  # the detector sees a person 20 % smaller
    assert detector_size_ratio(rel, small.world, "coco17") == pytest.approx(0.8, rel=1e-6)
    assert detector_size_ratio(rel, None, "coco17") is None and detector_size_ratio(rel, small.world, "h36m17") is None
    sized = reconstruct(small)
    lifted = reconstruct(small, detector_size=False)
    height = lambda r: standing_height(sequence_lengths(r.positions_cam - r.positions_cam[:, :1]))  # noqa: E731
    ratio = height(sized) / height(lifted)
    assert "body scaled to the detector's 3D size" in sized.report and 0.75 < ratio < 0.95
    np.testing.assert_allclose(sized.positions_cam[:, 0], lifted.positions_cam[:, 0], atol=1e-9)  # root kept
    assert np.allclose(reconstruct(small, fuse=False).positions_cam, reconstruct(seq).positions_cam)  # lift only
