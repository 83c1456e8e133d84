"""2D detection over videos: the detector registry, the generic detect_video path, the BlazePose
identity guard (with a scripted stand-in for MediaPipe) and BlazePose itself on the shared clips."""

from __future__ import annotations

import types

import numpy as np
import pytest

from poselift.detect import base
from poselift.detect import mediapipe_pose as mpp
from poselift.errors import PoseliftError

# ----------------------------------------------------------------------------- synthetic videos

H, W = 240, 320
RED, GREEN = (255, 0, 0), (0, 255, 0)


def scene(people) -> np.ndarray:
    """A black frame with solid rectangles (x1, y1, x2, y2, colour) standing in for people."""
    frame = np.zeros((H, W, 3), np.uint8)
    for x1, y1, x2, y2, colour in people:
        frame[y1:y2, x1:x2] = colour
    return frame


def write_scene_video(path, frames):
    av = pytest.importorskip("av")  # noqa: F841 - needed by VideoWriter
    from poselift.video import VideoWriter

    with VideoWriter(path, 30, W, H) as out:
        for people in frames:
            out.write(scene(people))


# 17 COCO joints spread over a unit box (x, y in [0, 1]); hips at (0.4 / 0.6, 0.5)
COCO_IN_BOX = np.array([[.5, .05], [.45, .03], [.55, .03], [.4, .05], [.6, .05], [.25, .2], [.75, .2],
                        [.15, .35], [.85, .35], [.1, .5], [.9, .5], [.4, .5], [.6, .5], [.4, .75],
                        [.6, .75], [.4, 1.], [.6, 1.]])


def landmarks_for(box, image_shape):
    """33 MediaPipe-like landmarks (normalised to the image) for a person filling ``box``."""
    h, w = image_shape[:2]
    x1, y1, x2, y2 = box
    lm = [types.SimpleNamespace(x=(x1 + x2) / 2 / w, y=(y1 + y2) / 2 / h, visibility=0.5) for _ in range(33)]
    for c, m in enumerate(mpp.MEDIAPIPE_TO_COCO17):
        px, py = COCO_IN_BOX[c]
        lm[m] = types.SimpleNamespace(x=(x1 + px * (x2 - 1 - x1)) / w, y=(y1 + py * (y2 - 1 - y1)) / h,
                                      visibility=0.9)
    return lm


class FakePose:
    """Stands in for mediapipe.solutions.pose.Pose: finds the largest pure-red or pure-green
    rectangle in the image it is given (blanked people are gone), like a detector that
    prefers the biggest person. Counts its calls."""

    calls = 0

    def __init__(self, static_image_mode=False, **kwargs):
        self.static = static_image_mode

    def process(self, image):
        FakePose.calls += 1
        best = None
        for colour in (RED, GREEN):
            mask = (image == np.array(colour, np.uint8)).all(-1)
            if mask.sum() < 20:
                continue
            ys, xs = np.nonzero(mask)
            box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            if best is None or mask.sum() > best[0]:
                best = (mask.sum(), box)
        if best is None:
            return types.SimpleNamespace(pose_landmarks=None)
        return types.SimpleNamespace(pose_landmarks=types.SimpleNamespace(landmark=landmarks_for(best[1], image.shape)))

    def reset(self):
        pass

    def close(self):
        pass


@pytest.fixture
def fake_mediapipe(monkeypatch):
    monkeypatch.setattr(mpp, "_import_pose_solution", lambda: types.SimpleNamespace(Pose=FakePose))
    return mpp.MediaPipePose()


def hip_x(seq):
    return np.nanmean(seq.keypoints[:, [11, 12], 0], axis=1)


# ----------------------------------------------------------------------------- registry


def test_unknown_detector_lists_the_available_ones():
    with pytest.raises(PoseliftError, match="unknown 2D detector 'nope'.*mediapipe"):
        base.get_detector("nope")


@pytest.mark.parametrize("name", ["rtmlib", "RTMPose", "mmpose", "detectron2"])
def test_known_but_unavailable_detectors_say_what_they_need(name):
    with pytest.raises(PoseliftError, match="not available here.*(weights|packages|checkpoints)"):
        base.get_detector(name)


def test_missing_mediapipe_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_mediapipe(name, *args, **kwargs):
        if name == "mediapipe" or name.startswith("mediapipe."):
            raise ImportError("No module named 'mediapipe'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mediapipe)
    with pytest.raises(PoseliftError, match=r"requirements-video.txt.*--no-deps mediapipe==0.10.21"):
        base.get_detector("blazepose")


@pytest.mark.parametrize("value, expected", [(0, 0), ("2", 2), ("10,20,30,40", (10.0, 20.0, 30.0, 40.0)),
                                             ((1, 2, 3, 4), (1.0, 2.0, 3.0, 4.0))])
def test_parse_person(value, expected):
    assert base.parse_person(value) == expected


@pytest.mark.parametrize("value", [-1, True, "a", (1, 2, 3), (0, 0, -1, 5), 1.5])
def test_parse_person_rejects(value):
    with pytest.raises(PoseliftError, match="person"):
        base.parse_person(value)


# ----------------------------------------------------------------------------- generic detect_video


class TwoPeopleDetector:
    """A multi-person detector returning everybody (both rectangles), in changing order."""

    name, layout = "fake-multi", "coco17"

    def detect(self, frame):
        dets = []
        for colour in (GREEN, RED):
            mask = (frame.astype(int) - np.array(colour)).__abs__().sum(-1) < 60
            if mask.sum() > 20:
                ys, xs = np.nonzero(mask)
                box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
                kp = box[:2] + COCO_IN_BOX * (box[2:] - box[:2])
                dets.append((kp.astype(np.float32), np.full(17, 0.9 if colour == RED else 0.6, np.float32)))
        return dets[::-1] if len(dets) == 2 and frame[0, 0, 0] % 2 else dets

    def close(self):
        pass


def test_detect_video_with_a_multi_person_detector(tmp_path):
    path = tmp_path / "two.mp4"
    # red (higher scores: person 0) walks right, green stays; both visible throughout
    write_scene_video(path, [[(40 + 4 * t, 60, 100 + 4 * t, 200, RED), (230, 100, 270, 180, GREEN)]
                             for t in range(12)])
    seq = base.detect_video(path, TwoPeopleDetector(), progress=False)
    assert (len(seq), seq.width, seq.height, seq.fps, seq.layout) == (12, W, H, 30, "coco17")
    assert seq.source == str(path) and any("fake-multi" in n for n in seq.notes)
    assert np.all(np.diff(hip_x(seq)) > 2)  # the red one, who walks
    other = base.detect_video(path, TwoPeopleDetector(), person=1, progress=False)
    np.testing.assert_allclose(hip_x(other), 250, atol=3)
    by_box = base.detect_video(path, TwoPeopleDetector(), person=(225, 95, 50, 90), progress=False)
    np.testing.assert_allclose(hip_x(by_box), 250, atol=3)
    with pytest.raises(PoseliftError, match="person 2 asked for") as e:
        base.detect_video(path, TwoPeopleDetector(), person=2, progress=False)
    assert e.value.path == str(path)


def test_detect_video_with_nobody(tmp_path):
    path = tmp_path / "empty.mp4"
    write_scene_video(path, [[] for _ in range(3)])
    with pytest.raises(PoseliftError, match="no person found") as e:
        base.detect_video(path, TwoPeopleDetector(), progress=False)
    assert e.value.path == str(path)


# ----------------------------------------------------------------------------- identity guard


A = (100, 80, 150, 180, RED)      # the followed person: 50 x 100 px, the bigger one
B_NEAR = (215, 95, 255, 175, GREEN)  # another person inside the tracking crop, > 0.5 box sizes away
B_FAR = (10, 100, 50, 180, GREEN)


def run_frames(detector, frames, person=0):
    detector.start(person, fps=30)
    return [detector.detect(scene(people)) for people in frames]


def test_guard_rejects_a_jump_to_another_person_and_reacquires(fake_mediapipe):
    # A is hidden in frames 5-9 (the stand-in tracker then finds B next to them)
    frames = [[A, B_NEAR] if not 5 <= t < 10 else [B_NEAR] for t in range(15)]
    out = run_frames(fake_mediapipe, frames)
    for t, dets in enumerate(out):
        if 5 <= t < 10:
            assert dets == [], f"frame {t}: B reported as A"
        else:
            assert len(dets) == 1
            kp = dets[0][0]
            assert 100 <= np.nanmean(kp[[11, 12], 0]) <= 150, f"frame {t}: not A"
    assert fake_mediapipe.stats["switches_rejected"] + fake_mediapipe.stats["others_rejected"] >= 5
    assert fake_mediapipe.stats["frames_without_person"] == 5
    assert any("identity guard" in n for n in fake_mediapipe.notes())


def test_guard_survives_a_far_away_person_while_lost(fake_mediapipe):
    frames = [[A] for _ in range(3)] + [[B_FAR] for _ in range(6)] + [[A, B_FAR] for _ in range(3)]
    out = run_frames(fake_mediapipe, frames)
    assert [len(d) for d in out] == [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert all(100 <= np.nanmean(d[0][0][[11, 12], 0]) <= 150 for d in out if d)


def test_guard_reacquires_when_the_tracker_prefers_someone_else(fake_mediapipe):
    bigger_near = (200, 60, 270, 200, GREEN)  # bigger than A: the stand-in tracker takes them
    frames = [[A] for _ in range(3)] + [[A, bigger_near] for _ in range(5)]
    out = run_frames(fake_mediapipe, frames)
    assert all(len(d) == 1 and 100 <= np.nanmean(d[0][0][[11, 12], 0]) <= 150 for d in out)
    assert fake_mediapipe.stats["reacquired"] == 5
    assert fake_mediapipe.stats["switches_rejected"] + fake_mediapipe.stats["others_rejected"] == 5


def test_follows_a_moving_person(fake_mediapipe):
    frames = [[(40 + 6 * t, 80, 90 + 6 * t, 180, RED)] for t in range(25)]
    out = run_frames(fake_mediapipe, frames)
    hips = np.array([np.nanmean(d[0][0][[11, 12], 0]) for d in out])
    np.testing.assert_allclose(hips, 65 + 6 * np.arange(25), atol=2)


def test_person_choice(fake_mediapipe):
    frames = [[A, B_FAR] for _ in range(4)]
    second = run_frames(fake_mediapipe, frames, person=1)
    assert all(np.nanmean(d[0][0][[11, 12], 0]) < 60 for d in second)  # B_FAR, the smaller one
    boxed = run_frames(fake_mediapipe, frames, person=(0, 90, 60, 100))
    assert all(np.nanmean(d[0][0][[11, 12], 0]) < 60 for d in boxed)
    with pytest.raises(PoseliftError, match="person 2 asked for, but only 2"):
        run_frames(fake_mediapipe, frames, person=2)


def test_box_choice_waits_for_the_person(fake_mediapipe):
    frames = [[A] for _ in range(3)] + [[A, B_FAR] for _ in range(3)]
    out = run_frames(fake_mediapipe, frames, person=(0, 90, 60, 100))
    assert [len(d) for d in out] == [0, 0, 0, 1, 1, 1]


def test_keypoints_outside_the_image_are_missing(fake_mediapipe):
    out = run_frames(fake_mediapipe, [[(280, 80, 320, 180, RED)]])
    kp, scores = out[0][0]
    assert np.isfinite(kp).all()
    # the same person half outside: COCO_IN_BOX puts joints up to the box edge, clipped at W - 1
    pose = fake_mediapipe._run(FakePose(), scene([(200, 80, 320, 180, RED)])[:, :250].copy(), size=(250, H))
    assert pose is not None and np.isfinite(pose[0]).all(-1).sum() <= 17


# ----------------------------------------------------------------------------- BlazePose on real clips


@pytest.fixture
def blazepose():
    pytest.importorskip("mediapipe")
    detector = base.get_detector("mediapipe")
    yield detector
    detector.close()


def test_blazepose_on_pose2sim_single_person(shared_data, blazepose):
    path = shared_data / "video" / "pose2sim_single" / "cam01.mp4"
    if not path.exists():
        pytest.skip(f"missing {path}")
    seq = base.detect_video(path, blazepose, max_frames=30, progress=False)
    assert (len(seq), seq.width, seq.height, seq.fps) == (30, 1080, 1920, 60)
    found = np.isfinite(seq.keypoints).all(-1)
    assert found.any(-1).mean() >= 0.9
    assert found.mean() >= 0.8
    kp = seq.keypoints[found]
    assert (kp[:, 0] >= 0).all() and (kp[:, 0] < 1080).all() and (kp[:, 1] >= 0).all() and (kp[:, 1] < 1920).all()
    assert ((seq.scores >= 0) & (seq.scores <= 1)).all()
    assert seq.scores[found].mean() > 0.5
    assert any("visibility" in n for n in seq.notes)
    # BlazePose's own 3D comes along: metric, root at the mid-hips, in the frames it found the person
    w = seq.world
    assert w is not None and w.shape == (30, 17, 3)
    have = np.isfinite(w).all((-1, -2))
    assert (have == found.any(-1)).all()
    mid_hips = (w[have, 11] + w[have, 12]) / 2
    assert np.abs(mid_hips).max() < 0.05
    leg = np.linalg.norm(w[have, 11] - w[have, 15], axis=-1)  # left hip to left ankle, metres
    assert 0.6 < np.median(leg) < 1.1


def test_blazepose_keeps_one_person_in_sports2d(shared_data, blazepose):
    """Sports2D demo: a man on a box jumps down with a flip while a woman walks across the
    foreground (hips near y = 730 px, leaving on the left around frame 200). Unguarded,
    BlazePose jumps to her at frame ~170 when it loses the man in the air."""
    path = shared_data / "video" / "sports2d" / "demo.mp4"
    if not path.exists():
        pytest.skip(f"missing {path}")
    seq = base.detect_video(path, blazepose, progress=False)
    assert len(seq) == 230
    kp = seq.keypoints
    seen = np.isfinite(kp).all(-1).any(-1)
    assert seen.mean() > 0.8
    hips = np.full((len(kp), 2), np.nan)
    lo, hi = np.full((len(kp), 2), np.nan), np.full((len(kp), 2), np.nan)
    for t in np.flatnonzero(seen):
        pts = kp[t][np.isfinite(kp[t]).all(-1)]
        lo[t], hi[t] = pts.min(0), pts.max(0)
        hip = kp[t, [11, 12]]
        hip = hip[np.isfinite(hip).all(-1)]
        hips[t] = hip.mean(0) if len(hip) else (lo[t] + hi[t]) / 2
    box_h = np.nanmedian((hi - lo)[:, 1])
    both = seen[1:] & seen[:-1]
    jumps = np.linalg.norm(np.diff(hips, axis=0), axis=1)[both]
    assert jumps.max() < 0.5 * box_h, f"hip centre jumped {jumps.max():.0f} px (box height {box_h:.0f})"
    frames = np.flatnonzero(seen)
    early, late = frames[frames <= 185], frames[frames >= 190]
    assert len(early) > 150 and len(late) > 20
    assert (hips[early, 1] < 600).all(), "hips at the woman's height while the man is on the box / in the air"
    assert (hips[late, 0] > 900).all(), "hips at the woman's place after the man landed"


def test_blazepose_keeps_native_notices_off_stderr(capfd):
    pytest.importorskip("mediapipe")
    pytest.importorskip("av")
    from poselift.demo import demo_clip_path

    detector = base.get_detector("mediapipe")  # builds the graphs: the native side logs here
    try:
        seq = base.detect_video(demo_clip_path(), detector, max_frames=5, progress=False)  # models start here
    finally:
        detector.close()
    assert np.isfinite(seq.keypoints).all(-1).any(-1).all()
    err = capfd.readouterr().err
    assert "W0000" not in err and "XNNPACK" not in err and err.strip() == ""
