"""Multi-person tracking (poselift.detect.multitrack) on synthetic COCO-17 stick figures."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from poselift.detect.multitrack import (
    APPEARANCE_DIM, CONFIRM_FRAMES, PeopleTracker, PersonTrack, appearance, appearance_distance, benchmark,
    track_people,
)
from poselift.detect.track import Track, keypoint_box

# A standing COCO-17 person, about 80 x 200 px, hips near (0, 0) (as in test_track.py).
POSE = np.array([[0, -150], [-6, -156], [6, -156], [-12, -152], [12, -152], [-30, -110], [30, -110],
                 [-38, -60], [38, -60], [-40, -15], [40, -15], [-15, 0], [15, 0], [-16, 48], [16, 48],
                 [-17, 50], [17, 50]], dtype=np.float32)
FPS = 30.0
W, H = 960, 540


def person(x, y, rng=None, jitter=0.0, miss=0.0):
    kp = POSE + np.array([x, y], np.float32)
    if jitter:
        kp = kp + rng.normal(0, jitter, kp.shape).astype(np.float32)
    if miss:
        kp[rng.random(len(kp)) < miss] = np.nan
    return kp, np.full(len(kp), 0.9, np.float32)


def in_view(kp):
    """What a detector sees of a person near the frame edge: joints outside are missing."""
    kp = kp.copy()
    kp[~((kp[:, 0] >= 0) & (kp[:, 0] < W) & (kp[:, 1] >= 0) & (kp[:, 1] < H))] = np.nan
    return kp


def shuffled(scene, seed):
    """scene[t] = [(label, detection), ...] in a random order per frame (seed None: as is)."""
    if seed is None:
        return scene
    rng = np.random.default_rng(seed)
    return [[f[i] for i in rng.permutation(len(f))] for f in scene]


def run_online(scene, tracker=None, appearances=None):
    """Feed a labelled scene to a PeopleTracker; returns per frame {label: id} of assigned ones."""
    tracker = tracker or PeopleTracker(FPS)
    out = []
    for t, frame in enumerate(scene):
        dets = [det for _, det in frame]
        apps = None if appearances is None else [appearances[label] for label, _ in frame]
        pairs = tracker.update(dets, appearances=apps)
        assert len({i for _, i in pairs}) == len(pairs) and len({p for p, _ in pairs}) == len(pairs)
        out.append({frame[i][0]: pid for pid, i in pairs})
    return out


def identities(assigned):
    """{label: id} over the whole scene; fails if any label or id ever changes partner."""
    label_to_id, id_to_label = {}, {}
    for t, frame in enumerate(assigned):
        for label, pid in frame.items():
            assert label_to_id.setdefault(label, pid) == pid, f"frame {t}: {label} switched to id {pid}"
            assert id_to_label.setdefault(pid, label) == label, f"frame {t}: id {pid} moved to {label}"
    return label_to_id


def nearest_box_tracker(frames):
    """The naive tracker the issue rules out: each frame, detections go to the track whose last
    seen box centre is nearest (optimal assignment, gated at one box diagonal)."""
    tracks, out = [], []  # tracks: last box of each
    for dets in frames:
        boxes = [keypoint_box(kp) for kp, _ in dets]
        centres = np.array([(b[:2] + b[2:]) / 2 for b in boxes]).reshape(-1, 2)
        last = np.array([(b[:2] + b[2:]) / 2 for b in tracks]).reshape(-1, 2)
        cost = np.linalg.norm(centres[:, None] - last[None], axis=-1)
        rows, cols = linear_sum_assignment(cost) if cost.size else ([], [])
        labels = {}
        for r, c in zip(rows, cols):
            if cost[r, c] <= np.hypot(*(tracks[c][2:] - tracks[c][:2])):
                labels[r] = c
                tracks[c] = boxes[r]
        for r in range(len(dets)):
            if r not in labels:
                labels[r] = len(tracks)
                tracks.append(boxes[r])
        out.append(labels)
    return out


# ----------------------------------------------------------------------------- scenes


def crossing_scene(seed, frames_n=60, speed=8.0, jitter=1.5):
    """Two equal-size people walking towards each other on the same line, crossing at frame 30.

    Their boxes overlap for 9 frames (26..34); "a" walks behind "b" and is not detected for
    the 5 frames in the middle of it (28..32).
    """
    rng = np.random.default_rng(seed)
    meet, x0 = frames_n // 2, 340.0
    scene = []
    for t in range(frames_n):
        frame = [("b", person(x0 - speed * (t - meet), 300, rng, jitter))]
        if not 28 <= t <= 32:
            frame.append(("a", person(x0 + speed * (t - meet), 300, rng, jitter)))
        scene.append(frame)
    return scene


@pytest.mark.parametrize("seed", range(8))
def test_crossing_with_occlusion_keeps_identities(seed):
    scene = crossing_scene(seed)
    assigned = run_online(shuffled(scene, seed))
    ids = identities(assigned)
    assert sorted(ids) == ["a", "b"] and sorted(ids.values()) == [0, 1]
    # every detection is assigned from the frame its track is confirmed on
    for t, frame in enumerate(scene[CONFIRM_FRAMES - 1:], CONFIRM_FRAMES - 1):
        assert set(assigned[t]) == {label for label, _ in frame}, t


def test_crossing_defeats_a_nearest_box_tracker():
    """The crossing scene is a real test: per-frame nearest-box association swaps the two."""
    scene = crossing_scene(0)
    labels = nearest_box_tracker([[det for _, det in frame] for frame in scene])
    assigned = [{frame[r][0]: track for r, track in frame_labels.items()}
                for frame, frame_labels in zip(scene, labels)]
    with pytest.raises(AssertionError, match="switched"):
        identities(assigned)


def test_crossing_offline_gives_whole_tracks():
    scene = crossing_scene(3)
    frames = [[det for _, det in frame] for frame in scene]
    tracks = track_people(frames, FPS)
    assert [tr.id for tr in tracks] == [0, 1]
    assert all(isinstance(tr, PersonTrack) and isinstance(tr, Track) for tr in tracks)
    by_label = {}
    for t, frame in enumerate(scene):
        for label, (kp, sc) in frame:
            owner = [tr.id for tr in tracks if np.array_equal(tr.keypoints[t], kp)]
            assert len(owner) == 1, (t, label)
            assert by_label.setdefault(label, owner[0]) == owner[0]
            np.testing.assert_array_equal(tracks[owner[0]].scores[t], sc)
    # the occluded person's frames are empty (NaN, score 0), and the tracks start at frame 0
    a = tracks[by_label["a"]]
    assert np.isnan(a.keypoints[28:33]).all() and (a.scores[28:33] == 0).all()
    assert a.frames[0] == 0 and tracks[by_label["b"]].frames.tolist() == list(range(60))
    assert a.keypoints.shape == (60, 17, 2) and a.keypoints.dtype == np.float32 and a.scores.shape == (60, 17)


# ----------------------------------------------------------------------------- leaving and coming back

COLOURS = {  # shirt, trousers
    "p": ((200, 30, 30), (30, 40, 160)),
    "q": ((40, 160, 60), (20, 20, 20)),
    "r": ((220, 200, 40), (120, 120, 120)),
}


def draw(image, kp, label):
    """Paint a person: a shirt over shoulders-to-hips, trousers over hips-to-ankles."""
    shirt, trousers = COLOURS[label]
    full = kp  # drawn from the full (unclipped) pose
    for (x1, x2, y1, y2), colour in (((full[5, 0], full[6, 0], full[5, 1], full[11, 1]), shirt),
                                     ((full[11, 0] - 9, full[12, 0] + 9, full[11, 1], full[15, 1] + 4), trousers)):
        xa, xb = int(max(round(min(x1, x2)), 0)), int(min(round(max(x1, x2)), W))
        ya, yb = int(max(round(y1), 0)), int(min(round(y2), H))
        if xa < xb and ya < yb:
            image[ya:yb, xa:xb] = colour


def exit_scene():
    """p walks out at the right edge, is gone 3 s, and walks back in at the left edge; q walks
    slowly in the middle all along; r, dressed differently, walks in at the left while p is away.

    Returns (scene of labelled detections, per frame the full poses to draw)."""
    rng = np.random.default_rng(7)
    frames_n, gone_from, back_at = 220, 38, 38 + 90
    scene, poses = [], []
    for t in range(frames_n):
        full = {"q": person(450 + 0.3 * t, 320, rng, 1.0)[0]}
        if t < gone_from + 5:
            full["p"] = person(700 + 8 * t, 300, rng, 1.0)[0]
        if t >= back_at:
            full["p"] = person(-45 + 8 * (t - back_at), 300, rng, 1.0)[0]
        if t >= 60:
            full["r"] = person(-45 + 5 * (t - 60), 340, rng, 1.0)[0]
        frame = []
        for label, kp in full.items():
            seen = in_view(kp)
            if np.isfinite(seen).all(1).any():
                frame.append((label, (seen, np.where(np.isfinite(seen).all(1), 0.9, 0.0).astype(np.float32))))
        scene.append(frame)
        poses.append(full)
    return scene, poses


def render(poses_t):
    image = np.full((H, W, 3), 128, np.uint8)
    image[::7] = 110  # some texture
    for label, kp in sorted(poses_t.items(), key=lambda item: item[1][0, 1]):  # lower (nearer) last
        draw(image, kp, label)
    return image


def check_exit_scene(assigned):
    ids = identities(assigned)
    assert sorted(ids) == ["p", "q", "r"]
    assert len(set(ids.values())) == 3  # p got its id back; r got a new one
    # p is followed on both visits
    p_frames = [t for t, frame in enumerate(assigned) if "p" in frame]
    assert p_frames[0] <= CONFIRM_FRAMES and p_frames[-1] == len(assigned) - 1
    assert any(t < 40 for t in p_frames) and any(t > 140 for t in p_frames)


def test_leaving_and_coming_back_with_descriptors_from_the_caller():
    scene, poses = exit_scene()
    tracker = PeopleTracker(FPS)
    assigned = []
    for t, frame in enumerate(scene):
        image = render(poses[t])  # the caller has the frame only while detecting
        apps = [appearance(image, kp) for _, (kp, _) in frame]
        pairs = tracker.update([det for _, det in frame], appearances=apps)
        assigned.append({frame[i][0]: pid for pid, i in pairs})
    check_exit_scene(assigned)


def test_leaving_and_coming_back_offline_with_images():
    scene, poses = exit_scene()
    frames = [[det for _, det in frame] for frame in scene]
    tracks = track_people(frames, FPS, images=lambda t: render(poses[t]))
    assert [tr.id for tr in tracks] == [0, 1, 2]
    owner = {}
    for t, frame in enumerate(scene):
        for label, (kp, _) in frame:
            holders = [tr.id for tr in tracks if np.array_equal(tr.keypoints[t], kp, equal_nan=True)]
            assert len(holders) <= 1
            if holders:
                assert owner.setdefault(label, holders[0]) == holders[0], (t, label)
    assert len(set(owner.values())) == 3
    p = tracks[owner["p"]]
    # both visits, each from its first frame (before confirmation and while re-identifying)
    truth = [t for t, frame in enumerate(scene) if any(label == "p" for label, _ in frame)]
    assert p.frames.tolist() == truth and truth[0] == 0 and truth[-1] == 219 and 100 not in truth
    # the same with the images given as a list
    tracks_list = track_people(frames, FPS, images=[render(pt) for pt in poses])
    for a, b in zip(tracks, tracks_list):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


def test_without_appearance_a_returning_person_is_new():
    scene, _ = exit_scene()
    assigned = run_online(scene)
    p_ids = [frame["p"] for frame in assigned if "p" in frame]
    first, second = p_ids[0], p_ids[-1]
    assert first != second and set(p_ids) == {first, second}  # one id per visit, kept throughout
    others = {frame[label] for frame in assigned for label in ("q", "r") if label in frame}
    assert len(others) == 2 and not others & {first, second}
    assert len(track_people([[det for _, det in frame] for frame in scene], FPS)) == 4


def test_a_look_alike_far_away_does_not_take_a_briefly_hidden_identity():
    """ReID needs reach: someone dressed like a person hidden for 0.2 s, across the picture, is new."""
    rng = np.random.default_rng(1)
    look = np.full(APPEARANCE_DIM, 1.0 / (APPEARANCE_DIM // 2))
    scene = []
    for t in range(40):
        frame = [("a", person(100 + 2 * t, 300, rng, 1.0))] if not 20 <= t < 26 else []
        if t >= 20:
            frame.append(("twin", person(800, 300, rng, 1.0)))
        scene.append(frame)
    ids = identities(run_online(scene, appearances={"a": look, "twin": look}))
    assert ids["a"] != ids["twin"]


# ----------------------------------------------------------------------------- false positives, noise, order


def test_spurious_detections_get_no_identity():
    rng = np.random.default_rng(2)
    scene = []
    for t in range(40):
        frame = [("a", person(200 + 3 * t, 300, rng, 1.0)), ("b", person(700 - 3 * t, 300, rng, 1.0))]
        if t == 10:
            frame.append(("ghost", person(450, 100, rng, 1.0)))
        if t in (20, 21):  # a two-frame one as well
            frame.append(("ghost2", person(800, 120, rng, 1.0)))
        if t == 30:  # and a stray single-frame one near a real person
            frame.append(("ghost3", person(200 + 3 * t + 60, 320, rng, 1.0)))
        scene.append(frame)
    ids = identities(run_online(scene))
    assert sorted(ids) == ["a", "b"]
    assert len(track_people([[det for _, det in frame] for frame in scene], FPS)) == 2


@pytest.mark.parametrize("seed", range(4))
def test_jitter_and_missed_joints_do_not_split_tracks(seed):
    rng = np.random.default_rng(seed)
    starts = {"a": (150, 280, 4, 0.5), "b": (800, 300, -3, 0.0), "c": (450, 320, 0.5, -0.5)}
    scene = []
    for t in range(90):
        frame = []
        for label, (x, y, vx, vy) in starts.items():
            if t > 0 and rng.random() < 0.1:  # the whole person missed now and then
                continue
            frame.append((label, person(x + vx * t, y + vy * t, rng, jitter=3.0, miss=0.2)))
        scene.append(frame)
    assigned = run_online(scene)
    ids = identities(assigned)
    assert sorted(ids) == ["a", "b", "c"] and sorted(ids.values()) == [0, 1, 2]
    tracks = track_people([[det for _, det in frame] for frame in scene], FPS)
    assert len(tracks) == 3
    for label, pid in ids.items():
        truth = [t for t, frame in enumerate(scene) if any(lab == label for lab, _ in frame)]
        assert tracks[pid].frames.tolist() == truth


@pytest.mark.parametrize("seed", range(3))
def test_order_of_detections_within_a_frame_does_not_matter(seed):
    scene = crossing_scene(seed)
    rng = np.random.default_rng(seed)
    for t in (5, 40):  # with a spurious detection and a third person, too
        scene[t].append(("ghost", person(700, 120, rng)))
    for t in range(10, 60):
        scene[t].append(("c", person(600 - 4 * (t - 10), 330, rng, 2.0)))
    reference = track_people([[det for _, det in frame] for frame in scene], FPS)
    for shuffle_seed in range(3):
        tracks = track_people([[det for _, det in frame] for frame in shuffled(scene, 100 + shuffle_seed)], FPS)
        assert [tr.id for tr in tracks] == [tr.id for tr in reference] == [0, 1, 2]
        for a, b in zip(reference, tracks):
            np.testing.assert_array_equal(a.keypoints, b.keypoints)
            np.testing.assert_array_equal(a.scores, b.scores)


# ----------------------------------------------------------------------------- parts


def test_appearance_descriptor():
    poses = {"p": person(300, 300)[0], "q": person(600, 300)[0]}
    image = render(poses)
    p, q = appearance(image, poses["p"]), appearance(image, poses["q"])
    assert p.shape == (APPEARANCE_DIM,) and p.dtype == np.float32
    again = appearance(render({"p": person(500, 280)[0]}), person(500, 280)[0])
    assert appearance_distance(p, again) < 0.1
    assert appearance_distance(p, q) > 0.6
    # legs not seen: only the torso is compared; nothing seen: NaN
    no_legs = poses["p"].copy()
    no_legs[11:] = np.nan
    partial = appearance(image, no_legs)
    assert np.isnan(partial[APPEARANCE_DIM // 2:]).all() and np.isfinite(partial[:APPEARANCE_DIM // 2]).all()
    assert appearance_distance(p, partial) < 0.1
    assert np.isnan(appearance_distance(partial, np.full(APPEARANCE_DIM, np.nan)))
    assert np.isnan(appearance_distance(p, None))
    # another layout: halves of the keypoint box
    other = appearance(image, poses["p"][[0, 5, 6, 11, 12, 15, 16]], layout="h36m17")
    assert other.shape == (APPEARANCE_DIM,)
    with pytest.raises(ValueError):
        appearance(image[..., 0], poses["p"])


def test_update_validates_and_ignores_empty_detections():
    tracker = PeopleTracker(FPS)
    assert tracker.update([]) == []
    empty = (np.full((17, 2), np.nan, np.float32), np.zeros(17, np.float32))
    for _ in range(CONFIRM_FRAMES):
        pairs = tracker.update([empty, person(300, 300)])
    assert pairs == [(0, 1)] and tracker.num_ids == 1
    with pytest.raises(ValueError, match="joints"):
        tracker.update([(np.zeros((12, 2)), np.ones(12))])
    with pytest.raises(ValueError, match="expected keypoints"):
        tracker.update([(np.zeros((17, 3)), np.ones(17))])
    with pytest.raises(ValueError, match="appearances"):
        tracker.update([person(300, 300)], appearances=[])
    with pytest.raises(ValueError):
        PeopleTracker(0)
    with pytest.raises(RuntimeError):
        tracker.history  # noqa: B018
    assert track_people([[], []], FPS) == []


def test_benchmark_runs():
    speeds = benchmark(people=(2,), frames=15)
    assert set(speeds) == {2} and speeds[2] > 0
