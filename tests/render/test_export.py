import csv
import json

import numpy as np
import pytest
from conftest import ANKLE, rigid_motion

from poselift.camera import look_at_camera
from poselift.data.formats import load_npz
from poselift.errors import PoseliftError
from poselift.render.bvh import read_bvh
from poselift.render.export import (ANKLE_HEIGHT, Motion, camera_to_floor, export_all, floor_transform, read_motion,
                                    write_csv, write_json, write_npz)
from poselift.skeleton import COCO17, H36M17

CAMERA = look_at_camera((4.0, -3.0, 1.6), (0.0, 0.0, 0.9), res=(1000, 1000))
ANKLES = [H36M17.index("l_ankle"), H36M17.index("r_ankle")]


@pytest.fixture
def sequence():
    world = rigid_motion(80, "circle", seed=4)
    cam = CAMERA.world_to_camera(world)
    return world, cam, CAMERA.project(cam), np.linspace(0.2, 1, 80 * 17).reshape(80, 17)


@pytest.mark.parametrize("path", ["circle", "line", "still"])
def test_floor_frame(path):
    world = rigid_motion(150, path, seed=0)
    rec = camera_to_floor(CAMERA.world_to_camera(world))
    ankles = rec[:, ANKLES, 2]
    assert ankles.min() == pytest.approx(ANKLE_HEIGHT)  # floor ANKLE_HEIGHT below the lowest ankle
    assert np.abs(ankles.min(1) - ANKLE_HEIGHT).max() < 0.05  # a foot near the floor in every frame
    assert (rec[:, 0, 2] > ankles.max(1) + 0.4).all()  # pelvis well above the feet
    np.testing.assert_allclose(rec[0, 0, :2], 0.0, atol=1e-9)  # origin below the first pelvis
    # the body faces nothing in particular, but distances are kept (rigid transform)
    np.testing.assert_allclose(np.linalg.norm(rec[:, 1] - rec[:, 12], axis=-1),
                               np.linalg.norm(world[:, 1] - world[:, 12], axis=-1), atol=1e-9)


def test_floor_fit_recovers_true_up_when_walking_around():
    world = rigid_motion(150, "circle", seed=1)
    cam = CAMERA.world_to_camera(world)
    rec = camera_to_floor(cam)
    assert ANKLE == ANKLE_HEIGHT
    np.testing.assert_allclose(rec[..., 2], world[..., 2], atol=1e-6)  # exact plane, exact heights
    R, origin = floor_transform(cam)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    assert R[0] @ [1, 0, 0] > 0.9 and R[1] @ [0, 0, 1] > 0.5  # X ≈ camera right, Y away from camera


def motion_of(cam, kp=None, scores=None, fps=25, **kw):
    return Motion(cam, fps, keypoints_2d=kp, scores=scores, layout_2d=COCO17 if kp is not None else None, **kw)


def test_npz_json_csv(tmp_path, sequence):
    world, cam, kp, scores = sequence
    m = motion_of(cam, kp, scores)
    npz = load_npz(write_npz(tmp_path / "s.npz", m))
    assert {"positions_cam", "positions_world", "keypoints_2d", "scores", "joint_names", "parents", "fps",
            "time_s", "frame", "filled", "filled_2d", "filled_frame", "world_rotation", "world_origin",
            "keypoints_2d_joint_names", "info"} <= set(npz)
    assert npz["positions_cam"].shape == npz["positions_world"].shape == (80, 17, 3)
    assert npz["keypoints_2d"].shape == (80, 17, 2) and npz["scores"].shape == (80, 17)
    assert tuple(npz["joint_names"]) == H36M17.joint_names and float(npz["fps"]) == 25
    # the 2D keypoints are named in their own layout, not the 3D one
    assert tuple(npz["keypoints_2d_joint_names"]) == COCO17.joint_names and str(npz["keypoints_2d_skeleton"]) == "coco17"
    info = json.loads(str(npz["info"]))
    assert info["units"]["camera"] == "metres" and info["keypoints_2d_layout"]["joint_names"][0] == "nose"
    np.testing.assert_allclose(npz["positions_world"][..., 2], world[..., 2], atol=1e-4)
    R, o = npz["world_rotation"], npz["world_origin"]
    np.testing.assert_allclose((npz["positions_cam"] - o) @ R.T, npz["positions_world"], atol=1e-4)

    doc = json.loads(write_json(tmp_path / "s.json", m).read_text())
    assert doc["joint_names"] == list(H36M17.joint_names) and doc["fps"] == 25 and doc["num_frames"] == 80
    assert doc["keypoints_2d_layout"]["skeleton"] == "coco17"
    assert len(doc["frames"]) == 80
    f = doc["frames"][40]
    assert f["frame"] == 40 and f["time_s"] == pytest.approx(1.6) and f["filled_frame"] is False
    np.testing.assert_allclose(f["camera"], cam[40], atol=1e-5)
    np.testing.assert_allclose(f["world"], npz["positions_world"][40], atol=1e-4)
    np.testing.assert_allclose(f["keypoints_2d"], kp[40], atol=0.01)
    assert len(f["scores"]) == 17 and f["filled"] == [] and f["filled_2d"] == []

    rows = list(csv.reader(write_csv(tmp_path / "w.csv", m, "world").open()))
    assert rows[0][:6] == ["frame", "time_s", "filled_frame", "pelvis_x_m", "pelvis_y_m", "pelvis_z_m"]
    assert rows[0][-1] == "r_wrist_filled" and len(rows[0]) == 3 + 17 * 4 and len(rows) == 81
    assert rows[3][:3] == ["2", "0.080000", "0"]
    np.testing.assert_allclose(np.array(rows[3][3:3 + 51], float).reshape(17, 3), m.positions_world[2], atol=1e-5)
    np.testing.assert_allclose(m.positions_world[..., 2], world[..., 2], atol=1e-6)
    rows = list(csv.reader(write_csv(tmp_path / "k.csv", m, "2d").open()))
    assert rows[0][3:7] == ["nose_x_px", "nose_y_px", "nose_score", COCO17.joint_names[1] + "_x_px"]
    assert rows[0][-1] == COCO17.joint_names[-1] + "_filled"
    np.testing.assert_allclose(float(rows[1][3]), kp[0, 0, 0], atol=0.01)


def test_gaps_are_flagged_and_left_out_in_every_export(tmp_path, sequence):
    world, cam, kp, scores = sequence
    cam, kp = cam.copy(), kp.copy()
    cam[10:20] = np.nan  # left out
    cam[30, 3] = np.nan  # one joint left out
    filled = np.zeros((80, 17), bool)
    filled[40:43] = True  # a filled frame run
    filled_2d = filled.copy()
    m = motion_of(cam, kp, scores, filled=filled, filled_2d=filled_2d, frames=np.arange(80) + 100)
    paths = export_all(tmp_path, "g", m)
    back = read_motion(paths["npz"])
    np.testing.assert_array_equal(back.filled, filled)
    np.testing.assert_array_equal(back.frames, np.arange(80) + 100)
    assert np.isnan(back.positions_cam[10:20]).all() and np.isnan(back.positions_cam[30, 3]).all()
    np.testing.assert_allclose(back.positions_world, m.positions_world, atol=1e-4, equal_nan=True)
    assert back.layout_2d.name == "coco17" and back.filled_frame[40:43].all() and not back.filled_frame[39]
    js = read_motion(paths["json"])
    np.testing.assert_allclose(js.positions_cam, m.positions_cam, atol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(js.filled_2d, filled_2d)
    assert js.time_s[0] == pytest.approx(4.0)  # frame 100 at 25 fps
    rows = list(csv.reader(paths["csv_camera"].open()))
    assert rows[11][0] == "110" and rows[11][3:54] == [""] * 51  # left out: empty cells
    assert rows[41][2] == "1" and rows[41][-1] == "1"  # filled frame and joint flags
    assert rows[31][3 + 9:3 + 12] == ["", "", ""]  # joint 3 of frame 30
    positions, *_ = read_bvh(paths["bvh"])  # BVH has no missing values: interpolated there
    assert np.isfinite(positions).all()


def test_export_all(tmp_path, sequence):
    world, cam, kp, scores = sequence
    paths = export_all(tmp_path / "out", "clip", motion_of(cam, kp, scores))
    assert set(paths) == {"npz", "json", "csv_camera", "csv_world", "csv_2d", "bvh", "html"}
    assert all(p.is_file() and p.parent == tmp_path / "out" and p.name.startswith("clip") for p in paths.values())
    positions, names, _, fps = read_bvh(paths["bvh"])
    assert fps == pytest.approx(25) and names == H36M17.joint_names
    np.testing.assert_allclose(positions, load_npz(paths["npz"])["positions_world"], atol=0.01)
    with pytest.raises(PoseliftError, match="exists"):
        export_all(tmp_path / "out", "clip", motion_of(cam, kp, scores))
    export_all(tmp_path / "out", "clip", motion_of(cam, kp, scores), overwrite=True)


def test_refusals(tmp_path, sequence):
    _, cam, kp, scores = sequence
    path = write_npz(tmp_path / "s.npz", cam)
    before = path.read_bytes()
    for writer in (write_npz, write_json):
        with pytest.raises(PoseliftError, match="exists"):
            writer(path, cam)
    with pytest.raises(PoseliftError, match="exists"):
        write_csv(path, cam)
    assert path.read_bytes() == before
    with pytest.raises(PoseliftError, match="shape"):
        write_npz(tmp_path / "x.npz", cam, keypoints_2d=kp[:, :, :1])
    with pytest.raises(PoseliftError, match="frames"):
        write_json(tmp_path / "x.json", cam, keypoints_2d=kp[:10])
    with pytest.raises(PoseliftError, match="shape"):
        camera_to_floor(cam[..., :2])
    with pytest.raises(PoseliftError, match="not a poselift export"):
        (tmp_path / "other.json").write_text('{"a": 1}')
        read_motion(tmp_path / "other.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.json", "s.npz"]


def test_floor_is_level_when_the_person_stands_on_two_levels():
    """On a box for the first 90 frames, on the ground for the last 60 (a climb down): one plane
    through both levels would tilt the world; the floor is the plane most frames stand on."""
    world = rigid_motion(150, "circle", seed=2)
    world[:90, :, 2] += 0.8
    R, _ = floor_transform(CAMERA.world_to_camera(world))
    true_up = CAMERA.world_to_camera(np.array([[0.0, 0.0, 1.0]])) - CAMERA.world_to_camera(np.zeros((1, 3)))
    angle = np.degrees(np.arccos(np.clip(R[2] @ true_up[0], -1, 1)))
    assert angle < 2.0, angle
    rec = camera_to_floor(CAMERA.world_to_camera(world))
    assert rec[90:, ANKLES, 2].min() == pytest.approx(ANKLE_HEIGHT)  # the floor is the lower level
    np.testing.assert_allclose(rec[:90, 0, 2] - rec[90:, 0, 2].mean(), world[:90, 0, 2] - world[90:, 0, 2].mean(),
                               atol=0.01)
