import numpy as np
import pytest

from helpers import MPI3DHP_ACTIVITY as ACTIVITY, MPI3DHP_VALID as VALID, random_motion, to_3dhp_order as _test_order, write_3dhp_mat as _write_mat
from poselift.camera import look_at_camera
from poselift.data import mpi3dhp
from poselift.data.prepared import load_prepared, prepared_info
from poselift.errors import PoseliftError

h5py = pytest.importorskip("h5py")

def test_cameras_and_joints():
    ts1, ts5 = mpi3dhp.sequence_camera("TS1"), mpi3dhp.sequence_camera("TS5")
    assert (ts1.res_w, ts1.res_h, ts5.res_w, ts5.res_h) == (2048, 2048, 1920, 1080)
    assert ts1.focal == pytest.approx((1500.172288, 1500.172288)) and ts1.center == pytest.approx((1017.387, 1043.032),
                                                                                                     abs=1e-3)
    assert ts5.focal == pytest.approx((1683.98346, 1683.98346)) and ts5.center == pytest.approx((939.8575, 560.1407),
                                                                                                  abs=1e-3)
    ts4, ts6 = mpi3dhp.sequence_camera("TS4"), mpi3dhp.sequence_camera("TS6")
    assert (ts4.focal, ts4.center, ts6.focal, ts6.center) == (ts1.focal, ts1.center, ts5.focal, ts5.center)
    names = mpi3dhp.TEST_JOINTS
    assert [names[i] for i in mpi3dhp.TO_H36M17] == [
        "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "neck", "head", "head_top",
        "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist"]
    assert sorted(mpi3dhp.TO_H36M17) == list(range(17))
    with pytest.raises(PoseliftError, match="unknown MPI-INF-3DHP test sequence"):
        mpi3dhp.sequence_camera("TS7")


def test_valid_chunks():
    assert mpi3dhp.valid_chunks(VALID) == [(0, 10), (13, 30)]
    assert mpi3dhp.valid_chunks(VALID, ACTIVITY) == [(0, 10), (13, 20), (20, 30)]
    assert mpi3dhp.valid_chunks(np.zeros(4)) == [] and mpi3dhp.valid_chunks(np.ones(3)) == [(0, 3)]


def test_read_annot(tmp_path):
    path = tmp_path / "TS1" / "annot_data.mat"
    cam3d, _, _ = _write_mat(path, mpi3dhp.sequence_camera("TS1"))
    assert path.read_bytes()[:10] == b"MATLAB 7.3"
    a = mpi3dhp.read_annot(path)
    assert a["annot3"].shape == (30, 17, 3) and a["annot2"].shape == (30, 17, 2)
    np.testing.assert_allclose(a["annot3"][:, 14], cam3d[:, 0] * 1000)  # the test set's pelvis is joint 14, mm
    assert a["valid"].dtype == bool and a["valid"].sum() == 27 and list(np.unique(a["activity"])) == [1, 2]


def test_prepare(tmp_path):
    root = tmp_path / "mpi_inf_3dhp_test_set"
    data = {ts: _write_mat(root / ts / "annot_data.mat", mpi3dhp.sequence_camera(ts), seed=k, activity=ts == "TS1")
            for k, ts in enumerate(("TS1", "TS5"))}
    out = mpi3dhp.prepare_mpi3dhp(root, tmp_path / "metric.npz", target="annot3", progress=False)
    info = prepared_info(out)
    assert (info.dataset, info.skeleton, info.subjects, info.sources) == ("mpi3dhp", "h36m17", ("TS1", "TS5"), ("gt",))
    ts1, ts5 = load_prepared(out)
    assert (ts1.fps, ts5.fps) == (25.0, 50.0)
    assert ts1.clip_names == ["TS1 chunk0", "TS1 chunk1", "TS1 chunk2"]
    assert ts1.descriptions == ["Stand/Walk", "Stand/Walk", "Exercise"]
    assert ts5.clip_names == ["TS5 chunk0", "TS5 chunk1"] and ts5.descriptions == ["TS5", "TS5"]
    keep = VALID.astype(bool)
    for s in (ts1, ts5):
        cam3d, univ, px = data[s.subject]
        assert s.positions_3d_world is None and len(s.cameras) == 1 and s.num_frames == 27
        np.testing.assert_allclose(s.positions_3d_camera[0], cam3d[keep], atol=1e-6)  # H36M order, metres
        np.testing.assert_allclose(s.positions_2d["gt"][0], px[keep], atol=1e-3)
        cam = s.cameras[0]
        assert cam.focal == mpi3dhp.sequence_camera(s.subject).focal and np.allclose(cam.R_c2w, np.eye(3))
        reproj = cam.project(s.positions_3d_camera[0].astype(np.float64))
        assert np.abs(reproj - s.positions_2d["gt"][0]).max() < 0.5
    univ_out = mpi3dhp.prepare_mpi3dhp(root, tmp_path / "univ.npz", sequences=["TS5"], progress=False)
    (u5,) = load_prepared(univ_out)
    np.testing.assert_allclose(u5.positions_3d_camera[0], data["TS5"][1][keep], atol=1e-6)  # default: univ_annot3
    with np.load(univ_out, allow_pickle=False) as f:
        assert f["fps"] == 25.0 and float(f["TS5/fps"]) == 50.0


def test_errors(tmp_path):
    with pytest.raises(PoseliftError, match="no TS\\*/annot_data.mat"):
        mpi3dhp.prepare_mpi3dhp(tmp_path, tmp_path / "o.npz", progress=False)
    bad = tmp_path / "TS2" / "annot_data.mat"
    bad.parent.mkdir()
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 200)
    with pytest.raises(PoseliftError, match="annot_data.mat: not a MATLAB v7.3 \\(HDF5\\) file"):
        mpi3dhp.prepare_mpi3dhp(tmp_path, tmp_path / "o.npz", progress=False)
    with h5py.File(bad, "w") as f:
        f["annot3"] = np.zeros((5, 1, 17, 3))
    with pytest.raises(PoseliftError, match="missing variable\\(s\\) univ_annot3, annot2, valid_frame"):
        mpi3dhp.read_annot(bad)
    with h5py.File(bad, "w") as f:
        for k in ("annot3", "univ_annot3"):
            f[k] = np.zeros((5, 1, 16, 3))
        f["annot2"] = np.zeros((5, 1, 17, 2))
        f["valid_frame"] = np.ones((5, 1))
    with pytest.raises(PoseliftError, match=r"annot3 has shape \(5, 1, 16, 3\), expected \(frames, 1, 17, 3\)"):
        mpi3dhp.read_annot(bad)
    with pytest.raises(PoseliftError, match="unknown 3D target"):
        mpi3dhp.prepare_mpi3dhp(tmp_path, tmp_path / "o.npz", target="annot4")
