import csv
import json

import numpy as np
import pytest
from conftest import ANKLE, rigid_motion

from poselift.camera import look_at_camera
from poselift.data.formats import load_npz
from poselift.errors import PoseliftError
from poselift.render.bvh import read_bvh
from poselift.render.export import (ANKLE_HEIGHT, camera_to_floor, export_all, floor_transform, write_csv,
                                    write_json, write_npz)
from poselift.skeleton import H36M17

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


def test_npz_json_csv(tmp_path, sequence):
    world, cam, kp, scores = sequence
    npz = load_npz(write_npz(tmp_path / "s.npz", cam, kp, scores, fps=25))
    assert {"positions_cam", "positions_world", "keypoints_2d", "scores", "joint_names", "parents", "fps",
            "time_s", "world_rotation", "world_origin"} <= set(npz)
    assert npz["positions_cam"].shape == npz["positions_world"].shape == (80, 17, 3)
    assert npz["keypoints_2d"].shape == (80, 17, 2) and npz["scores"].shape == (80, 17)
    assert tuple(npz["joint_names"]) == H36M17.joint_names and float(npz["fps"]) == 25
    np.testing.assert_allclose(npz["positions_world"][..., 2], world[..., 2], atol=1e-4)
    R, o = npz["world_rotation"], npz["world_origin"]
    np.testing.assert_allclose((npz["positions_cam"] - o) @ R.T, npz["positions_world"], atol=1e-4)

    doc = json.loads(write_json(tmp_path / "s.json", cam, kp, scores, fps=25).read_text())
    assert doc["joint_names"] == list(H36M17.joint_names) and doc["fps"] == 25 and doc["num_frames"] == 80
    assert len(doc["frames"]) == 80
    f = doc["frames"][40]
    assert f["frame"] == 40 and f["time_s"] == pytest.approx(1.6)
    np.testing.assert_allclose(f["camera"], cam[40], atol=1e-5)
    np.testing.assert_allclose(f["world"], npz["positions_world"][40], atol=1e-4)
    np.testing.assert_allclose(f["keypoints_2d"], kp[40], atol=0.01)
    assert len(f["scores"]) == 17

    rows = list(csv.reader(write_csv(tmp_path / "w.csv", world, fps=25).open()))
    assert rows[0][:5] == ["frame", "time_s", "pelvis_x", "pelvis_y", "pelvis_z"]
    assert rows[0][-1] == "r_wrist_z" and len(rows[0]) == 2 + 17 * 3 and len(rows) == 81
    assert rows[3][:2] == ["2", "0.080000"]
    np.testing.assert_allclose(np.array(rows[3][2:], float).reshape(17, 3), world[2], atol=1e-5)


def test_json_without_2d_and_with_nan(tmp_path, sequence):
    _, cam, kp, _ = sequence
    kp = kp.copy()
    kp[0, 0] = np.nan
    doc = json.loads(write_json(tmp_path / "s.json", cam, kp, fps=25).read_text())
    assert doc["frames"][0]["keypoints_2d"][0] == [None, None] and "scores" not in doc["frames"][0]


def test_export_all(tmp_path, sequence):
    world, cam, kp, scores = sequence
    paths = export_all(tmp_path / "out", "clip", cam, kp, scores, fps=25)
    assert set(paths) == {"npz", "json", "csv_camera", "csv_world", "bvh", "html"}
    assert all(p.is_file() and p.parent == tmp_path / "out" and p.name.startswith("clip") for p in paths.values())
    positions, names, _, fps = read_bvh(paths["bvh"])
    assert fps == pytest.approx(25) and names == H36M17.joint_names
    np.testing.assert_allclose(positions, load_npz(paths["npz"])["positions_world"], atol=0.01)
    with pytest.raises(PoseliftError, match="exists"):
        export_all(tmp_path / "out", "clip", cam, kp, scores, fps=25)
    export_all(tmp_path / "out", "clip", cam, kp, scores, fps=25, overwrite=True)


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
        write_npz(tmp_path / "x.npz", cam, kp[:, :, :1])
    with pytest.raises(PoseliftError, match="frames"):
        write_json(tmp_path / "x.json", cam, kp[:10])
    with pytest.raises(PoseliftError, match="shape"):
        camera_to_floor(cam[..., :2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]
