import json
import os

import numpy as np
import pytest

from poselift.detect.importers import (
    load_coco_json,
    load_keypoints,
    load_mmpose_json,
    load_openpose,
    load_videopose3d_npz,
)
from poselift.errors import PoseliftError
from poselift.skeleton import COCO17

from helpers import Planted

# --------------------------------------------------------------------- the scenario
# Four frames: 0 = person A with its left ear missing, 1 = nobody, 2 = A and B, 3 = A.
# A is seen more (and more confidently), so it is the default person; B is person 1.

POSE = np.array([[0, -150], [-6, -156], [6, -156], [-12, -152], [12, -152], [-30, -110], [30, -110],
                 [-38, -60], [38, -60], [-40, -15], [40, -15], [-15, 0], [15, 0], [-16, 48], [16, 48],
                 [-17, 50], [17, 50]], dtype=np.float64)
L_EAR = COCO17.index("l_ear")
FRAMES = 4


def pose_a(t):
    return POSE + [100 + 4 * t, 300]


def pose_b(t):
    return POSE + [400, 320]


def scenario():
    """Per frame: list of (name, keypoints (17, 2), score, missing joint mask), B listed first."""
    frames = []
    for t in range(FRAMES):
        people = []
        if t == 2:
            people.append(("B", pose_b(t), 0.5, np.zeros(17, bool)))
        if t != 1:
            missing = np.zeros(17, bool)
            missing[L_EAR] = t == 0
            people.append(("A", pose_a(t), 0.9, missing))
        frames.append(people)
    return frames


def expected(name):
    kp = np.full((FRAMES, 17, 2), np.nan, np.float32)
    for t, people in enumerate(scenario()):
        for who, xy, _, missing in people:
            if who == name:
                kp[t] = np.where(missing[:, None], np.nan, xy)
    return kp


def check_person_a(seq, path, score=0.9):
    assert seq.layout == "coco17"
    assert seq.source == str(path)
    np.testing.assert_array_equal(seq.keypoints, expected("A"))
    want = np.where(np.isfinite(expected("A")).all(-1), score, 0).astype(np.float32)
    np.testing.assert_allclose(seq.scores, want)
    assert seq.scores[0, L_EAR] == 0 and (seq.scores[1] == 0).all()
    assert all(isinstance(n, str) for n in seq.notes)


def check_person_b(seq):
    np.testing.assert_array_equal(seq.keypoints, expected("B"))
    assert seq.scores[2].min() > 0 and (seq.scores[[0, 1, 3]] == 0).all()


def assert_names_file(excinfo, path):
    err = excinfo.value
    assert err.path == os.fspath(path)
    assert os.fspath(path) in str(err)
    assert "\n" not in err.message


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return path


# --------------------------------------------------------------------- COCO


def coco_dataset(path):
    images = [{"id": 10 + t, "file_name": f"{t:06d}.jpg", "width": 640, "height": 480} for t in range(FRAMES)]
    annotations = []
    for t, people in enumerate(scenario()):
        for who, xy, _, missing in people:
            xyv = np.concatenate([xy, np.full((17, 1), 2.0)], 1)
            xyv[missing] = 0
            annotations.append({"id": len(annotations), "image_id": 10 + t, "category_id": 1, "iscrowd": 0,
                                "num_keypoints": int((~missing).sum()), "bbox": [0, 0, 1, 1],
                                "keypoints": xyv.ravel().tolist()})
    annotations.append({"id": 99, "image_id": 11, "category_id": 1, "iscrowd": 1, "keypoints": [0] * 51})
    # listed out of order: frames follow the sorted image ids
    return write_json(path, {"images": images[::-1], "annotations": annotations[::-1],
                             "categories": [{"id": 1, "name": "person"}]})


def coco_results(path):
    results = []
    for t, people in enumerate(scenario()):
        for who, xy, score, missing in people:
            xys = np.concatenate([xy, np.full((17, 1), score)], 1)
            xys[missing] = 0
            results.append({"image_id": 10 + t, "category_id": 1, "keypoints": xys.ravel().tolist(),
                            "score": score})
    results.append({"image_id": 11, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.8})  # a car, no person
    return write_json(path, results[::-1])


def test_coco_dataset(tmp_path):
    path = coco_dataset(tmp_path / "person_keypoints.json")
    for seq in (load_coco_json(path), load_keypoints(path)):
        check_person_a(seq, path, score=1.0)
        assert (seq.width, seq.height) == (640, 480)
    check_person_b(load_keypoints(path, person=1))


def test_coco_results(tmp_path):
    path = coco_results(tmp_path / "results.json")
    for seq in (load_coco_json(path), load_keypoints(path)):
        check_person_a(seq, path)
        assert seq.width is None
    check_person_b(load_coco_json(path, person=1))


def test_coco_score_and_other_layout(tmp_path):
    xyv = np.concatenate([np.arange(34).reshape(17, 2), np.full((17, 1), 2)], 1)
    ann = {"image_id": 1, "keypoints": xyv.ravel().tolist(), "score": 0.25}
    seq = load_keypoints(write_json(tmp_path / "a.json", {"images": [], "annotations": [ann]}), layout="h36m17")
    assert seq.layout == "h36m17"
    np.testing.assert_array_equal(seq.keypoints[0], np.arange(34).reshape(17, 2))
    np.testing.assert_allclose(seq.scores, 0.25)


# --------------------------------------------------------------------- OpenPose

BODY25 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
          "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
          "LHeel", "RBigToe", "RSmallToe", "RHeel"]
COCO18 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee",
          "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"]


def openpose_name(coco_name):
    side, _, part = coco_name.partition("_")
    return "Nose" if coco_name == "nose" else side.upper() + part.capitalize()


def openpose_person(xy, score, missing, names):
    values = np.zeros((len(names), 3))
    values[:, :2] = xy.mean(0)
    values[:, 2] = 0.3  # Neck, MidHip, feet: not part of COCO-17
    for j, coco_name in enumerate(COCO17.joint_names):
        values[names.index(openpose_name(coco_name))] = (0, 0, 0) if missing[j] else (*xy[j], score)
    return {"person_id": [-1], "pose_keypoints_2d": values.ravel().tolist(), "face_keypoints_2d": [],
            "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": []}


def openpose_folder(folder, names=BODY25):
    folder.mkdir()
    for t, people in enumerate(scenario()):
        # unpadded frame numbers from 8: sorting by name would put 10 and 11 first
        write_json(folder / f"clip_{8 + t}_keypoints.json",
                   {"version": 1.3, "people": [openpose_person(xy, s, m, names) for _, xy, s, m in people]})
    return folder


@pytest.mark.parametrize("names", [BODY25, COCO18], ids=["body25", "coco18"])
def test_openpose_folder(tmp_path, names):
    folder = openpose_folder(tmp_path / "openpose", names)
    for seq in (load_openpose(folder), load_keypoints(folder)):
        check_person_a(seq, folder)
    check_person_b(load_keypoints(folder, person=1))
    single = load_keypoints(folder / "clip_10_keypoints.json")  # one file = one frame
    np.testing.assert_array_equal(single.keypoints[0], pose_a(2).astype(np.float32))


# --------------------------------------------------------------------- MMPose


def mmpose_instance(xy, score):
    x1, y1 = xy.min(0)
    x2, y2 = xy.max(0)
    return {"keypoints": xy.tolist(), "keypoint_scores": [score] * 17, "bbox": [[x1, y1, x2, y2]],
            "bbox_score": score}


def test_mmpose_video_predictions(tmp_path):
    frames = []
    for t, people in enumerate(scenario()):
        frames.append({"frame_id": t, "instances": [mmpose_instance(xy, s) for _, xy, s, _ in people]})
    frames[0]["instances"][0]["keypoint_scores"][L_EAR] = 0.0  # MMPose marks a joint it cannot see by its score
    path = write_json(tmp_path / "results_clip.json", [frames[i] for i in (2, 0, 3, 1)])
    for seq in (load_mmpose_json(path), load_keypoints(path)):
        want = np.nan_to_num(expected("A"), nan=0) + np.where(np.isnan(expected("A")), pose_a(0), 0)
        want[1] = np.nan
        np.testing.assert_array_equal(seq.keypoints, want)  # the unseen ear keeps its guessed position
        assert seq.scores[0, L_EAR] == 0 and seq.scores[0, 0] == pytest.approx(0.9)
        assert (seq.scores[1] == 0).all()
    check_person_b(load_keypoints(path, person=1))


def test_mmpose_single_image(tmp_path):
    path = write_json(tmp_path / "img.json", [mmpose_instance(pose_b(0), 0.5), mmpose_instance(pose_a(0), 0.9)])
    seq = load_keypoints(path)
    assert len(seq) == 1
    np.testing.assert_array_equal(seq.keypoints[0], pose_a(0).astype(np.float32))
    np.testing.assert_array_equal(load_mmpose_json(path, person=1).keypoints[0], pose_b(0).astype(np.float32))


# --------------------------------------------------------------------- VideoPose3D


def videopose3d_npz(path, positions, layout_name="coco"):
    metadata = {"layout_name": layout_name, "num_joints": 17,
                "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
                "video_metadata": {"clip.mp4": {"w": 1920, "h": 1080}}}
    np.savez_compressed(path, positions_2d={"clip.mp4": {"custom": [positions]}}, metadata=metadata)
    return path


def test_videopose3d_refused_without_the_flag(tmp_path):
    path = videopose3d_npz(tmp_path / "data_2d_custom_clip.npz", expected("A"))
    for load in (load_keypoints, load_videopose3d_npz):
        with pytest.raises(PoseliftError, match="--allow-pickle") as ei:
            load(path)
        assert_names_file(ei, path)


@pytest.mark.parametrize("layout_name, layout", [("coco", "coco17"), ("h36m", "h36m17")])
def test_videopose3d_with_the_flag(tmp_path, layout_name, layout):
    path = videopose3d_npz(tmp_path / "data_2d_custom_clip.npz", expected("A"), layout_name)
    with pytest.warns(UserWarning, match="pickle"):
        seq = load_keypoints(path, allow_pickle=True)
    assert seq.layout == layout and (seq.width, seq.height) == (1920, 1080)
    np.testing.assert_array_equal(seq.keypoints, expected("A"))
    np.testing.assert_array_equal(seq.scores, np.isfinite(expected("A")).all(-1))
    with pytest.raises(PoseliftError, match="one person") as ei:
        load_keypoints(path, allow_pickle=True, person=1)
    assert_names_file(ei, path)


def test_planted_pickle_is_never_run_without_the_flag(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    np.savez(path, positions_2d=np.array(Planted(marker), dtype=object), metadata={"layout_name": "coco"})
    for load in (load_keypoints, load_videopose3d_npz):
        with pytest.raises(PoseliftError, match="--allow-pickle") as ei:
            load(path)
        assert_names_file(ei, path)
    assert not marker.exists()
    # the payload is live: with the flag it does run (and the file is still refused cleanly)
    with pytest.warns(UserWarning, match="pickle"), pytest.raises(PoseliftError) as ei:
        load_keypoints(path, allow_pickle=True)
    assert_names_file(ei, path)
    assert marker.exists()


# --------------------------------------------------------------------- bad files


def bad_files(tmp_path):
    good = json.loads(coco_dataset(tmp_path / "good.json").read_text())
    rng = np.random.default_rng(0)
    text = {
        "truncated.json": json.dumps(good)[:300],
        "coco_50_values.json": json.dumps({"images": [], "annotations": [{"image_id": 1, "keypoints": [1] * 50}]}),
        "results_54_values.json": json.dumps([{"image_id": 1, "keypoints": [1] * 54, "score": 1}]),
        "coco_text_values.json": json.dumps([{"image_id": 1, "keypoints": ["a"] * 51}]),
        "coco_bad_image_id.json": json.dumps([{"image_id": [1], "keypoints": [1] * 51}]),
        "coco_annotations_not_list.json": json.dumps({"annotations": {"a": 1}}),
        "openpose_60_values.json": json.dumps({"people": [{"pose_keypoints_2d": [1] * 60}]}),
        "openpose_person_not_object.json": json.dumps({"people": [3]}),
        "mmpose_16_keypoints.json": json.dumps([{"frame_id": 0, "instances": [{"keypoints": [[1, 2]] * 16}]}]),
        "mmpose_3d.json": json.dumps([{"keypoints": [[1, 2, 3]] * 17, "keypoint_scores": [1] * 17}]),
        "mmpose_scores.json": json.dumps([{"keypoints": [[1, 2]] * 17, "keypoint_scores": [1] * 3}]),
        "mmpose_bad_frame.json": json.dumps([{"frame_id": 0, "instances": []}, {"frame_id": 1}]),
        "other_dict.json": json.dumps({"foo": 1}),
        "other_list.json": json.dumps([1, 2, 3]),
        "other_objects.json": json.dumps([{"bar": 1}]),
        "string.json": json.dumps("hello"),
        "empty_list.json": "[]",
        "nobody.json": json.dumps({"version": 1.3, "people": []}),
        "too_deep.json": "[" * 100_000 + "]" * 100_000,
    }
    files = {name: tmp_path / name for name in text}
    for name, content in text.items():
        files[name].write_text(content)
    for name in ("random.json", "random.npz", "random"):
        files[name] = tmp_path / name
        files[name].write_bytes(rng.bytes(300))
    files["truncated.npz"] = tmp_path / "truncated.npz"
    videopose3d_npz(files["truncated.npz"], expected("A"))
    files["truncated.npz"].write_bytes(files["truncated.npz"].read_bytes()[:200])
    files["plain.npz"] = tmp_path / "plain.npz"
    np.savez(files["plain.npz"], keypoints=np.zeros((2, 17, 2)))
    files["missing_folder"] = tmp_path / "no" / "such" / "folder"
    files["missing.json"] = tmp_path / "missing.json"
    files["empty_folder"] = tmp_path / "empty_folder"
    files["empty_folder"].mkdir()
    return files


def test_bad_files_raise_poselift_error_naming_the_file(tmp_path):
    for name, path in bad_files(tmp_path).items():
        for allow_pickle in (False, True):
            with pytest.raises(PoseliftError) as ei:
                load_keypoints(path, allow_pickle=allow_pickle)
            assert_names_file(ei, path)
            assert ei.value.message, name


def test_messages_say_what_is_wrong(tmp_path):
    files = bad_files(tmp_path)
    cases = {"truncated.json": "not valid JSON", "coco_50_values.json": "50 keypoint values, expected 51",
             "results_54_values.json": "54 keypoint values", "openpose_60_values.json": r"75 \(BODY_25\) or 54",
             "mmpose_16_keypoints.json": r"shape \(16, 2\)", "other_dict.json": "not a recognised keypoint file",
             "nobody.json": "no frames with a person", "empty_list.json": "no frames with a person",
             "missing_folder": "not found", "random.npz": "not an .npz", "plain.npz": "positions_2d",
             "empty_folder": "_keypoints.json"}
    for name, pattern in cases.items():
        with pytest.raises(PoseliftError, match=pattern):
            load_keypoints(files[name])


def test_format_specific_loaders_reject_bad_files(tmp_path):
    files = bad_files(tmp_path)
    for load, name in [(load_coco_json, "other_list.json"), (load_coco_json, "random.json"),
                       (load_openpose, "missing_folder"), (load_openpose, "empty_folder"),
                       (load_openpose, "other_dict.json"), (load_mmpose_json, "other_dict.json"),
                       (load_mmpose_json, "empty_list.json"), (load_videopose3d_npz, "random.npz"),
                       (load_videopose3d_npz, "truncated.npz"), (load_videopose3d_npz, "missing.json")]:
        with pytest.raises(PoseliftError) as ei:
            load(files[name])
        assert_names_file(ei, files[name])


def test_bad_frame_file_in_openpose_folder_is_named(tmp_path):
    folder = openpose_folder(tmp_path / "op")
    bad = folder / "clip_9_keypoints.json"
    bad.write_text('{"people": [')
    with pytest.raises(PoseliftError, match="not valid JSON") as ei:
        load_keypoints(folder)
    assert_names_file(ei, bad)


def test_person_and_layout_arguments_are_checked(tmp_path):
    path = coco_results(tmp_path / "results.json")
    with pytest.raises(PoseliftError, match="only 2 people") as ei:
        load_keypoints(path, person=2)
    assert_names_file(ei, path)
    with pytest.raises(PoseliftError, match="unknown skeleton") as ei:
        load_keypoints(path, layout="nope")
    assert_names_file(ei, path)
    with pytest.raises(PoseliftError, match="person"):
        load_keypoints(path, person=-1)
    with pytest.raises(PoseliftError, match="coco17"):
        load_keypoints(openpose_folder(tmp_path / "op"), layout="h36m17")


# --------------------------------------------------------------------- frame order and gaps (issue 17)


def _one_person_openpose(t):
    return {"version": 1.3, "people": [openpose_person(pose_a(t), 0.9, np.zeros(17, bool), BODY25)]}


def test_openpose_frames_follow_their_numbers_and_gaps_are_kept(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    numbers = [3, 4, 5, 9, 10, 11, 100]  # unpadded: by name 10, 100, 11, 3, ...; 6-8 and 12-99 missing
    for n in numbers:
        write_json(folder / f"clip_{n}_keypoints.json", _one_person_openpose(n))
    seq = load_keypoints(folder)
    assert len(seq) == 100 - 3 + 1  # the first file is frame 0; the gaps are frames without a person
    seen = np.isfinite(seq.keypoints).all(-1).any(-1)
    np.testing.assert_array_equal(np.flatnonzero(seen), np.array(numbers) - 3)
    for n in numbers:  # each file's person where its number puts it
        np.testing.assert_allclose(seq.keypoints[n - 3], pose_a(n), atol=1e-3)
    assert any("files numbered 3-100" in note and "91 numbers without a file" in note for note in seq.notes)


def test_openpose_padded_and_unpadded_numbers_sort_alike(tmp_path):
    for pad in (0, 12):
        folder = tmp_path / f"pad{pad}"
        folder.mkdir()
        for n in (0, 1, 2, 10, 11):
            write_json(folder / f"v_{n:0{pad}d}_keypoints.json", _one_person_openpose(n))
        seq = load_keypoints(folder)
        assert len(seq) == 12
        np.testing.assert_allclose(seq.keypoints[10], pose_a(10), atol=1e-3)
        assert not np.isfinite(seq.keypoints[3:10]).any()


@pytest.mark.parametrize("names,message,named", [
    (["c_0_keypoints.json", "c_1_keypoints.json", "c_keypoints.json"], "no frame number", "c_keypoints.json"),
    (["c_1_keypoints.json", "c_01_keypoints.json"], "frame 1 has two files", None),
    (["a_0_keypoints.json", "b_1_keypoints.json"], "more than one video", None),
    (["c_0_keypoints.json", "c_9999999_keypoints.json"], "not one video's frame numbers", None),
])
def test_openpose_folders_that_are_not_one_numbered_video(tmp_path, names, message, named):
    folder = tmp_path / "op"
    folder.mkdir()
    for i, name in enumerate(names):
        write_json(folder / name, _one_person_openpose(i))
    with pytest.raises(PoseliftError, match=message) as e:
        load_keypoints(folder)
    assert_names_file(e, folder / named if named else folder)


def test_a_single_openpose_file_needs_no_number(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    write_json(folder / "photo_keypoints.json", _one_person_openpose(0))
    assert len(load_keypoints(folder)) == 1


def _mmpose_frames(ids):
    return [{"frame_id": i, "instances": [mmpose_instance(pose_a(i if isinstance(i, int) else 0), 0.9)]}
            for i in ids]


def test_mmpose_frame_ids_order_the_frames_and_gaps_are_kept(tmp_path):
    path = write_json(tmp_path / "p.json", _mmpose_frames([12, 10, 11, 15]))
    seq = load_keypoints(path)
    assert len(seq) == 6
    np.testing.assert_array_equal(np.isfinite(seq.keypoints).all(-1).any(-1), [1, 1, 1, 0, 0, 1])
    np.testing.assert_allclose(seq.keypoints[5], pose_a(15), atol=1e-3)


def test_mmpose_without_frame_ids_keeps_file_order(tmp_path):
    frames = [{"instances": [mmpose_instance(pose_a(t), 0.9)]} for t in (5, 1, 3)]
    seq = load_keypoints(write_json(tmp_path / "p.json", frames))
    np.testing.assert_allclose(seq.keypoints[:, 0, 0], [pose_a(t)[0, 0] for t in (5, 1, 3)], atol=1e-3)


@pytest.mark.parametrize("ids,message", [
    ([0, 1, 1], "frame_id 1 appears twice"), ([0, 1.5], "whole number"), ([0, "1"], "whole number"),
    ([True, 1], "whole number"), ([-2, 0], "0 or more"), ([0, None], "has no frame_id"),
    ([0, 10**8], "not one video's frame numbers"),
])
def test_mmpose_bad_frame_ids(tmp_path, ids, message):
    path = write_json(tmp_path / "p.json", _mmpose_frames(ids))
    with pytest.raises(PoseliftError, match=message) as e:
        load_keypoints(path)
    assert_names_file(e, path)


def test_mmpose_whole_float_frame_ids_are_frame_numbers(tmp_path):
    seq = load_keypoints(write_json(tmp_path / "p.json", _mmpose_frames([0.0, 2.0])))
    assert len(seq) == 3


# --------------------------------------------------------------------- recognised by content (issue 17)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int16, np.uint16])
def test_plain_npz_of_any_numeric_dtype_loads(tmp_path, dtype):
    xy = np.clip(expected("A"), 0, None)
    xy = np.nan_to_num(xy, nan=0.0) if np.dtype(dtype).kind in "iu" else xy
    path = tmp_path / "plain.npz"
    np.savez(path, positions_2d=xy.astype(dtype))
    seq = load_keypoints(path)
    np.testing.assert_allclose(seq.keypoints, xy.astype(dtype).astype(np.float32), rtol=1e-3)
    assert seq.layout == "coco17" and seq.source == str(path)


def test_plain_npz_with_scores_and_layout(tmp_path):
    path = tmp_path / "plain.npz"
    scores = np.full((FRAMES, 17), 0.7)
    scores[0, 3] = np.nan
    np.savez_compressed(path, positions_2d=np.full((FRAMES, 17, 2), 50.0, np.float16), scores=scores)
    seq = load_keypoints(path, layout="h36m17")
    assert seq.layout == "h36m17" and seq.scores[0, 3] == 0 and seq.scores[1, 3] == pytest.approx(0.7)


def test_object_positions_are_still_pickled(tmp_path):
    path = tmp_path / "legacy.npz"
    np.savez(path, positions_2d=np.array({"v": 1}, dtype=object), metadata=np.array({}, dtype=object))
    with pytest.raises(PoseliftError, match="--allow-pickle"):
        load_keypoints(path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_json_in_other_unicode_encodings_loads(tmp_path, encoding):
    frames = [{"frame_id": t, "instances": [mmpose_instance(pose_a(t), 0.9)]} for t in range(3)]
    path = tmp_path / "p.json"
    path.write_bytes(json.dumps(frames).encode(encoding))
    np.testing.assert_allclose(load_keypoints(path).keypoints[2], pose_a(2), atol=1e-3)


@pytest.mark.parametrize("head,what", [
    (b"\x89PNG\r\n\x1a\n", "PNG image"), (b"GIF87a", "GIF image"), (b"\xff\xd8\xff\xdb", "JPEG image"),
    (b"\x93NUMPY\x01\x00", "NumPy .npy"), (b"\x1f\x8b\x08\x00", "gzip"), (b"%PDF-1.7", "PDF"),
    (b"\x80\x04\x95", "Python pickle"), (b"\x00\x00\x00\x18ftypmp42", "MP4"), (b"\x1a\x45\xdf\xa3", "Matroska"),
    (b"RIFF\x00\x00\x00\x00AVI ", "AVI video"), (b"", "empty file"), (b"\x00\x01\x02\xff", "binary data"),
])
def test_keypoint_files_are_called_what_they_are(tmp_path, head, what):
    path = tmp_path / "k.json"
    path.write_bytes(head + bytes(range(256)) * (len(head) > 0))
    with pytest.raises(PoseliftError, match=what) as e:
        load_keypoints(path)
    assert_names_file(e, path)


def test_special_files_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "k.json"
    os.mkfifo(fifo)
    with pytest.raises(PoseliftError, match="named pipe") as e:
        load_keypoints(fifo)  # opening it would wait for a writer for ever
    assert_names_file(e, fifo)
    with pytest.raises(PoseliftError, match="character device"):
        load_keypoints("/dev/zero")  # reading it would never end
