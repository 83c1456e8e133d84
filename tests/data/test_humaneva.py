import json
import math

import numpy as np
import pytest

from helpers import HUMANEVA_SEQUENCES as SEQUENCES, random_motion, write_humaneva_videopose3d as _write
from poselift.assets_path import asset_path
from poselift.camera import quaternion_to_matrix
from poselift.data import humaneva
from poselift.data.prepared import load_prepared, prepared_info
from poselift.errors import PoseliftError

pytestmark = pytest.mark.filterwarnings("ignore:.*loaded pickled data:UserWarning")

@pytest.fixture
def prepared(tmp_path):
    world, gt, det = _write(tmp_path)
    dets = [tmp_path / "data_2d_humaneva15_gt.npz", tmp_path / "data_2d_humaneva15_detectron_pt_coco.npz"]
    with pytest.warns(UserWarning, match="Validate/S1: no detectron_pt_coco 2D for Box 1 chunk0"):
        out = humaneva.prepare_humaneva(tmp_path / "data_3d_humaneva15.npz", tmp_path / "he.npz", detections=dets,
                                        allow_pickle=True, progress=False)
    return out, world, gt, det


def test_names_and_constants():
    assert humaneva.TRAIN_SUBJECTS == ("Train/S1", "Train/S2", "Train/S3")
    assert humaneva.TEST_SUBJECTS == ("Validate/S1", "Validate/S2", "Validate/S3")
    assert [humaneva.action_of(n) for n in ("Walking 1 chunk0", "Jog 1 chunk3", "Box 1 chunk0", "ThrowCatch 1 chunk0",
                                            "Gestures 1 chunk0", "Walk")] \
        == ["Walk", "Jog", "Box", "ThrowCatch", "Gestures", "Walk"]
    assert humaneva.calibration_subject("Validate/S2") == "S2"
    cams = humaneva.load_cameras()
    assert sorted(cams) == ["S1", "S2", "S3"] and [c.id for c in cams["S1"]] == ["C1", "C2", "C3"]
    assert (cams["S1"][0].res_w, cams["S1"][0].res_h) == (640, 480) and all(math.isnan(f) for f in cams["S1"][0].focal)


def test_prepare(prepared, tmp_path):
    out, world, gt, det = prepared
    info = prepared_info(out)
    assert (info.dataset, info.skeleton, info.fps) == ("humaneva", "humaneva15", 60.0)
    assert info.subjects == ("Train/S1", "Validate/S1", "Validate/S2")  # Unlabeled/... is ignored
    assert info.source_layouts == {"gt": "humaneva15", "detectron_pt_coco": "coco17"}
    with np.load(out, allow_pickle=False) as f:
        assert f["Validate/S1/positions_3d_camera"].shape == (3, 21, 15, 3)
    spec = json.loads(asset_path(humaneva.CAMERAS_ASSET).read_text())["extrinsics"]
    subjects = {s.subject: s for s in load_prepared(out)}
    tr = subjects["Train/S1"]
    assert tr.clip_names == sorted(SEQUENCES["Train/S1"])  # chunk numbers kept (chunk1 was corrupted)
    assert tr.descriptions == ["Box", "Gestures", "Jog", "Walk", "Walk"]
    assert tr.positions_2d["detectron_pt_coco"].shape[2:] == (17, 2) and tr.positions_2d["gt"].shape[2:] == (15, 2)
    for i, name, _, sl in tr.clip_slices():
        np.testing.assert_allclose(tr.positions_3d_world[sl], world["Train/S1"][name], atol=1e-6)
        np.testing.assert_allclose(tr.positions_2d["gt"][:, sl], np.stack(gt["Train/S1"][name]), atol=1e-4)
        np.testing.assert_allclose(tr.positions_2d["detectron_pt_coco"][:, sl],
                                   np.stack(det["Train/S1"][name])[:, : sl.stop - sl.start], atol=1e-4)  # trimmed
    for c in range(3):  # world → camera with the subject's own extrinsics (mm → m)
        e = spec["S1"][c]
        R, t = quaternion_to_matrix(e["orientation"]), np.array(e["translation"]) / 1000
        expect = (tr.positions_3d_world.astype(np.float64) - t) @ R
        np.testing.assert_allclose(tr.positions_3d_camera[c], expect, atol=1e-5)
        assert (tr.positions_3d_camera[c, ..., 2] > 2).all()  # metres in front of the camera
    bone = np.linalg.norm(tr.positions_3d_camera[:, :, 9] - tr.positions_3d_camera[:, :, 8], axis=-1)
    world_bone = np.linalg.norm(tr.positions_3d_world[:, 9] - tr.positions_3d_world[:, 8], axis=-1)
    np.testing.assert_allclose(bone, np.broadcast_to(world_bone, bone.shape), atol=1e-5)  # rigid transform
    with pytest.warns(UserWarning, match="detectron_pt_coco has no 2D for Validate/S1 Box 1 chunk0; dropped"):
        v = {s.subject: s for s in load_prepared(out, source="detectron_pt_coco")}
    assert v["Validate/S1"].clip_names == ["Walking 1 chunk0"] and v["Validate/S1"].layout_2d("detectron_pt_coco") \
        == "coco17"


def test_selection_helpers(prepared):
    subjects = load_prepared(prepared[0], subjects=["Train/S1"])
    (multi,) = humaneva.training_sets(subjects, "multi")["all"]
    assert multi.clip_names == ["Box 1 chunk0", "Jog 1 chunk0", "Walking 1 chunk0", "Walking 1 chunk2"]
    single = humaneva.training_sets(subjects, "single")
    assert list(single) == ["Walk", "Jog", "Box"]
    assert single["Walk"][0].clip_names == ["Walking 1 chunk0", "Walking 1 chunk2"]
    assert single["Box"][0].clip_names == ["Box 1 chunk0"] and single["Box"][0].num_frames == 13
    assert humaneva.select_actions(subjects, ("ThrowCatch",)) == []
    with pytest.raises(PoseliftError, match="unknown training mode"):
        humaneva.training_sets(subjects, "both")


def test_table4():
    records = [("Validate/S1", "Walking 1 chunk0", 100, 20.0), ("Validate/S1", "Walking 1 chunk2", 300, 40.0),
               ("Validate/S2", "Walk", 50, 30.0), ("Validate/S1", "Jog 1 chunk0", 10, 50.0),
               ("Validate/S3", "Box 1 chunk0", 10, 60.0), ("Validate/S1", "Gestures 1 chunk0", 10, 99.0)]
    t = humaneva.table4(records)
    assert t == {"Walk": {"S1": 35.0, "S2": 30.0}, "Jog": {"S1": 50.0}, "Box": {"S3": 60.0}}  # (100·20+300·40)/400
    text = humaneva.format_table4(records)
    lines = text.splitlines()
    assert lines[0] == ("| P-MPJPE (mm) | Walk S1 | Walk S2 | Walk S3 | Jog S1 | Jog S2 | Jog S3 | Box S1 | Box S2 "
                        "| Box S3 | Avg |")
    assert lines[2] == "| ours | 35.0 | 30.0 | – | 50.0 | – | – | – | – | 60.0 | 43.8 |"  # (35+30+50+60)/4


def test_refusals(tmp_path):
    _write(tmp_path)
    src = tmp_path / "data_3d_humaneva15.npz"
    gt = tmp_path / "data_2d_humaneva15_gt.npz"
    with pytest.raises(PoseliftError, match="--allow-pickle"):
        humaneva.prepare_humaneva(src, tmp_path / "o.npz", detections=[gt])
    with pytest.raises(PoseliftError, match="needs at least one 2D file"):
        humaneva.prepare_humaneva(src, tmp_path / "o.npz", allow_pickle=True)
    (tmp_path / "release" / "S1" / "Mocap_Data").mkdir(parents=True)
    with pytest.raises(PoseliftError, match="original HumanEva-I release is not supported"):
        humaneva.prepare_humaneva(tmp_path / "release", tmp_path / "o.npz", detections=[gt], allow_pickle=True)
    with pytest.raises(PoseliftError, match=r"no subject\(s\) Train/S4"), pytest.warns(UserWarning):
        humaneva.prepare_humaneva(src, tmp_path / "o.npz", detections=[gt], subjects=["Train/S4"], allow_pickle=True)
    assert not (tmp_path / "o.npz").exists()
