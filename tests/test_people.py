"""Several people: detection and tracking on real footage against hand-annotated boxes, and
the whole --people all pipeline on a synthetic keypoint video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "sports2d_people_boxes.json"


def _centre_inside(keypoints: np.ndarray, box, margin: float = 0.1) -> bool:
    """The centre of the detected joints' box lies inside the annotated box (grown by ``margin``)."""
    pts = keypoints[np.isfinite(keypoints).all(-1)]
    a = np.asarray(box, dtype=float)
    m = margin * (a[2:] - a[:2])
    c = (pts.min(0) + pts.max(0)) / 2
    return bool((a[:2] - m <= c).all() and (c <= a[2:] + m).all())


@pytest.fixture(scope="module")
def sports2d_people(shared_data):
    pytest.importorskip("mediapipe")
    pytest.importorskip("ai_edge_litert")
    from poselift.detect.base import MULTI_DETECTOR, detect_people, get_detector

    video = shared_data / "video" / "sports2d" / "demo.mp4"
    if not video.exists():
        pytest.skip("sports2d clip not in ../shared")
    det = get_detector(MULTI_DETECTOR)
    try:
        return detect_people(video, det, progress=False)
    finally:
        det.close()


def test_sports2d_both_people_tracked_without_an_identity_switch(sports2d_people):
    """On every hand-annotated frame, each tracked id found there sits on the same person; the
    man and the woman each keep one id, and are found in nearly every frame they are visible."""
    ann = json.loads(FIXTURE.read_text())["frames"]
    owner: dict[int, str] = {}
    found = {"man": 0, "woman": 0}
    visible = {"man": 0, "woman": 0}
    for frame, boxes in ann.items():
        t = int(frame)
        for name in boxes:
            visible[name] += 1
        for seq in sports2d_people:
            kp = np.where((seq.scores[t] > 0)[:, None], seq.keypoints[t], np.nan)
            if np.isfinite(kp).all(-1).sum() < 3:
                continue
            on = [name for name, box in boxes.items() if _centre_inside(kp, box)]
            assert len(on) == 1, f"frame {t}: id {seq.person_id} is on {on or 'nobody annotated'}"
            assert owner.setdefault(seq.person_id, on[0]) == on[0], f"frame {t}: id {seq.person_id} switched"
            found[on[0]] += 1
    assert sorted(owner.values()) == ["man", "woman"]  # two ids, one per person
    assert found["man"] >= visible["man"] - 2 and found["woman"] >= visible["woman"] - 1, (found, visible)


def test_a_person_who_enters_later_is_chosen_by_id_or_box(sports2d_people):
    from poselift.detect.base import choose_person

    woman = next(seq for seq in sports2d_people if np.isfinite(seq.keypoints[:40]).sum() == 0)
    assert choose_person(sports2d_people, woman.person_id).person_id == woman.person_id
    assert choose_person(sports2d_people, (1270, 540, 230, 400)).person_id == woman.person_id  # frame 60
    assert choose_person(sports2d_people, "1270,540,230,400").person_id == woman.person_id
    from poselift.errors import PoseliftError

    with pytest.raises(PoseliftError, match="no person with id 7"):
        choose_person(sports2d_people, 7)


def _two_people(frames: int = 40):
    """Two synthetic people 1.5 m apart, the second seen only from frame 10 (COCO-17 pixels)."""
    from poselift.camera import look_at_camera
    from poselift.detect.keypoints import KeypointSequence
    from poselift.skeleton import coco17_from_h36m17

    from helpers import random_motion

    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    out = []
    for k, (dx, start) in enumerate(((-0.75, 0), (0.75, 10))):
        world = random_motion(frames).astype(np.float64)
        world[..., 0] += dx - world[:1, :1, 0]
        kp = cam.project(coco17_from_h36m17(cam.world_to_camera(world)), distortion=False).astype(np.float32)
        sc = np.ones(kp.shape[:2], np.float32)
        kp[:start], sc[:start] = np.nan, 0
        out.append(KeypointSequence(kp, sc, "coco17", 1000, 800, 30.0, "synthetic", person_id=k))
    return out


def test_everyone_lifted_into_one_world_and_written(tmp_path):
    from poselift.people import reconstruct_people, write_people_outputs
    from poselift.render.export import read_motion

    recs, notes = reconstruct_people(_two_people())
    assert [r.person_id for r in recs] == [0, 1] and notes == []
    np.testing.assert_array_equal(recs[0].world_rotation, recs[1].world_rotation)  # one world frame
    assert np.isnan(recs[1].positions_cam[:10]).all() and np.isfinite(recs[1].positions_cam[10:]).all()
    gap = recs[1].positions_world[20, 0, :2] - recs[0].positions_world[20, 0, :2]
    assert 0.8 < np.linalg.norm(gap) < 2.5  # side by side, about 1.5 m apart
    out = write_people_outputs(recs, tmp_path, "clip", video=False)
    index = json.loads(Path(out["people"]).read_text())
    assert [p["id"] for p in index["people"]] == [0, 1] and index["people"][1]["frames"] == [10, 39]
    for p in index["people"]:
        m = read_motion(tmp_path / p["files"]["npz"])
        assert m.info["person_id"] == p["id"] and len(m) == 40
    html = Path(out["html"]).read_text()
    assert "2 people" in html and '"id 1"' in html
    from poselift.errors import PoseliftError

    with pytest.raises(PoseliftError, match="exists already"):
        write_people_outputs(recs, tmp_path, "clip", video=False)
    trimmed, _ = reconstruct_people(_two_people(), trim=True)
    assert trimmed[0].frames[0] == 0 and len(trimmed[1].frames) == 40
    late = _two_people()
    for seq in late:  # nobody in the first 5 frames; the video's own frame times (variable rate)
        seq.keypoints[:5], seq.scores[:5] = np.nan, 0
        seq.times = np.cumsum(np.r_[0.0, np.full(39, 1 / 30) * np.linspace(0.8, 1.2, 39)])
    trimmed, _ = reconstruct_people(late, trim=True)
    assert list(trimmed[0].frames[[0, -1]]) == [5, 39]
    np.testing.assert_allclose(trimmed[1].motion.time_s, late[1].times[5:])
    write_people_outputs(trimmed, tmp_path / "trimmed", "clip", video=False)


def test_realtime_lifts_everyone_with_the_same_ids_frame_by_frame(shared_data, tmp_path):
    pytest.importorskip("mediapipe")
    pytest.importorskip("ai_edge_litert")
    from poselift.realtime_people import run_realtime_people

    video = shared_data / "video" / "sports2d" / "demo.mp4"
    if not video.exists():
        pytest.skip("sports2d clip not in ../shared")
    lines = tmp_path / "people.jsonl"
    recs, timing = run_realtime_people(video, None, jsonl=lines, progress=False)
    head, *rows = [json.loads(line) for line in lines.read_text().splitlines()]
    assert head["type"] == "header" and head["people"] == "all" and timing["people"] == len(recs) == 2
    assert {r["person"] for r in rows} == set(recs)
    ann = json.loads(FIXTURE.read_text())["frames"]
    owner = {}
    for frame, boxes in ann.items():
        for pid, rec in recs.items():
            kp = np.where(rec.filled_2d[int(frame)][:, None], np.nan, rec.keypoints[int(frame)])
            if np.isfinite(kp).all(-1).sum() < 3:
                continue
            on = [name for name, box in boxes.items() if _centre_inside(kp, box)]
            assert len(on) == 1 and owner.setdefault(pid, on[0]) == on[0], (frame, pid, on)
    assert sorted(owner.values()) == ["man", "woman"]
