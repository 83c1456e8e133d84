import numpy as np
import pytest

from helpers import full32 as _full32, random_motion, write_h36m_cdf as _write_cdf
from poselift.data import h36m
from poselift.data.prepared import load_prepared, prepared_info
from poselift.errors import PoseliftError

cdfwrite = pytest.importorskip("cdflib.cdfwrite")


@pytest.fixture
def release(tmp_path):
    """S9 and S11 of the original release (D3_Positions), with a per-camera file to skip."""
    motions = {}
    for subject, seed in (("S9", 0), ("S11", 1)):
        folder = tmp_path / "h36m" / subject / "MyPoseFeatures" / "D3_Positions"
        for k, name in enumerate(("Walking 1", "Directions", "TakingPhoto")):
            m = random_motion(12 + 3 * k, seed * 10 + k).astype(np.float64)
            motions[subject, h36m.canonical_sequence(name)] = m
            _write_cdf(folder / f"{name}.cdf", m)
        _write_cdf(folder / "Walking 1.54138969.cdf", np.zeros((4, 17, 3)))
    return tmp_path / "h36m", motions


def test_protocol_constants_and_names():
    assert h36m.TRAIN_SUBJECTS == ("S1", "S5", "S6", "S7", "S8") and h36m.TEST_SUBJECTS == ("S9", "S11")
    assert len(h36m.ACTIONS) == 15 and len(set(h36m.ACTIONS)) == 15
    assert h36m.canonical_sequence("TakingPhoto 1") == "Photo 1" and h36m.canonical_sequence("WalkingDog") == "WalkDog"
    assert [h36m.action_of(n) for n in ("Walking 1", "Directions", "TakingPhoto 1", "WalkingDog", "SittingDown 2")] \
        == ["Walking", "Directions", "Photo", "WalkDog", "SittingDown"]
    assert all(h36m.action_of(a) in h36m.ACTIONS for a in h36m.ACTIONS)
    m = random_motion(3)
    np.testing.assert_array_equal(h36m.reduce_to_17(_full32(m)), m)
    assert h36m.reduce_to_17(_full32(m))[0, 16].tolist() == m[0, 16].tolist()  # r_wrist = release joint 27
    with pytest.raises(PoseliftError, match="expected 32"):
        h36m.reduce_to_17(np.zeros((2, 20, 3)))


def test_cdf_release(release, tmp_path):
    root, motions = release
    raw = h36m.read_cdf_positions(root / "S9" / "MyPoseFeatures" / "D3_Positions" / "Walking 1.cdf")
    assert raw.shape == (12, 32, 3) and np.allclose(raw[:, 4], 99000.0)  # millimetres, all 32 joints
    out = h36m.prepare_h36m(root, tmp_path / "h36m.npz", progress=False)
    info = prepared_info(out)
    assert (info.dataset, info.skeleton, info.fps, info.subjects, info.sources) == (
        "h36m", "h36m17", 50.0, ("S9", "S11"), ("gt",))
    cams = h36m.load_cameras()
    for s in load_prepared(out):
        assert s.clip_names == ["Directions", "Photo", "Walking 1"]  # the per-camera file is skipped
        assert s.descriptions == ["Directions", "Photo", "Walking"]
        assert [c.id for c in s.cameras] == ["54138969", "55011271", "58860488", "60457274"]
        for i, name, _, sl in s.clip_slices():
            np.testing.assert_allclose(s.positions_3d_world[sl], motions[s.subject, name], atol=1e-6)  # metres
        for c, cam in enumerate(s.cameras):
            ref = cams[s.subject][c]
            np.testing.assert_allclose(s.positions_3d_camera[c], ref.world_to_camera(s.positions_3d_world.astype(
                np.float64)), atol=1e-5)
            assert (s.positions_3d_camera[c, :, :, 2] > 2.0).all()  # in front of the camera, metres away
            px = cam.project(s.positions_3d_camera[c].astype(np.float64))
            assert np.abs(px - s.positions_2d["gt"][c]).max() < 0.5
            assert (s.positions_2d["gt"][c] > 0).all() and (s.positions_2d["gt"][c] < 1002).all()


def test_real_calibration(release, tmp_path, shared_data):
    root, _ = release
    calib = shared_data / "h36m" / "cameras.json"
    out = h36m.prepare_h36m(root, tmp_path / "h36m.npz", cameras=calib, subjects=["S9"], progress=False)
    (s9,) = load_prepared(out)
    real = h36m.load_cameras(calib)["S9"]
    for c, cam in enumerate(s9.cameras):
        assert cam.focal == pytest.approx(real[c].focal) and cam.radial == pytest.approx(real[c].radial)
        px = real[c].project(real[c].world_to_camera(s9.positions_3d_world.astype(np.float64)))
        assert np.abs(px - s9.positions_2d["gt"][c]).max() < 0.5


def _videopose3d_files(tmp_path):
    """data_3d_h36m.npz + gt and cpn 2D files in the VideoPose3D layout (pickled dicts)."""
    cams = h36m.load_cameras()
    world, gt, cpn = {}, {}, {}
    for subject, seed in (("S9", 0), ("S11", 1)):
        world[subject], gt[subject], cpn[subject] = {}, {}, {}
        for k, name in enumerate(("Directions", "Walking 1", "Eating")):
            m = random_motion(20, seed * 10 + k).astype(np.float64)
            world[subject][name] = _full32(m).astype(np.float32)
            proj = [c.project(c.world_to_camera(m)).astype(np.float32) for c in cams[subject]]
            gt[subject][name] = proj
            if subject == "S11" and name == "Directions":
                continue  # the S11 "Directions" quirk: missing from some detection files
            if name == "Walking 1":  # the video has extra frames
                cpn[subject][name] = [np.concatenate([p, p[-3:]]) + 2.0 for p in proj]
            elif name == "Eating" and subject == "S9":  # 2D shorter than the mocap
                cpn[subject][name] = [p[:17] + 2.0 for p in proj]
            else:
                cpn[subject][name] = [p + 2.0 for p in proj]
    meta = {"layout_name": "h36m", "num_joints": 17,
            "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d=world)
    np.savez_compressed(tmp_path / "data_2d_h36m_gt.npz", positions_2d=gt, metadata=meta)
    np.savez_compressed(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz", positions_2d=cpn, metadata=meta)
    return world, gt


def test_videopose3d_files(tmp_path):
    world, gt = _videopose3d_files(tmp_path)
    dets = [tmp_path / "data_2d_h36m_gt.npz", tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz"]
    out = tmp_path / "prep.npz"
    with pytest.raises(PoseliftError, match="--allow-pickle") as ei:
        h36m.prepare_h36m(tmp_path / "data_3d_h36m.npz", out, progress=False)
    assert "data_3d_h36m.npz" in str(ei.value) and not out.exists()
    with pytest.raises(PoseliftError, match="--allow-pickle") as ei:  # the 2D files are refused too
        h36m.prepare_h36m(tmp_path / "data_3d_h36m.npz", out, detections=dets, progress=False)
    assert "data_2d_h36m_gt.npz" in str(ei.value)

    with pytest.warns(UserWarning) as rec:
        h36m.prepare_h36m(tmp_path / "data_3d_h36m.npz", out, detections=dets, allow_pickle=True, progress=False)
    messages = [str(w.message) for w in rec]
    assert any("S11: no cpn_ft_h36m_dbb 2D for Directions" in m for m in messages)
    assert any("S9: 2D shorter than 3D, trimmed: Eating (20 → 17)" in m for m in messages)
    assert any("loaded pickled data" in m for m in messages)
    with np.load(out, allow_pickle=False) as f:  # the converted file is safe
        assert "S11/positions_2d_cpn_ft_h36m_dbb" in f.files

    s9, s11 = load_prepared(out)
    assert list(s9.positions_2d) == ["gt", "cpn_ft_h36m_dbb"]
    assert s9.clip_names == ["Directions", "Eating", "Walking 1"] and list(np.diff(s9.offsets)) == [20, 17, 20]
    sl = slice(int(s9.offsets[2]), int(s9.offsets[3]))
    np.testing.assert_allclose(s9.positions_2d["gt"][:, sl], np.stack(gt["S9"]["Walking 1"]), atol=1e-4)  # file gt
    np.testing.assert_allclose(s9.positions_2d["cpn_ft_h36m_dbb"][:, sl], np.stack(gt["S9"]["Walking 1"]) + 2,
                               atol=1e-4)  # the 3 extra video frames are cut
    np.testing.assert_allclose(s9.positions_3d_world[sl], h36m.reduce_to_17(world["S9"]["Walking 1"]), atol=1e-6)
    assert np.isnan(s11.positions_2d["cpn_ft_h36m_dbb"][:, :20]).all()
    for c, cam in enumerate(s11.cameras):
        px = cam.project(s11.positions_3d_camera[c].astype(np.float64))
        assert np.abs(px - s11.positions_2d["gt"][c]).max() < 0.5

    with pytest.warns(UserWarning, match="cpn_ft_h36m_dbb has no 2D for S11 Directions; dropped"):
        s9c, s11c = load_prepared(out, source="cpn_ft_h36m_dbb")
    assert s11c.clip_names == ["Eating", "Walking 1"] and s9c.clip_names == s9.clip_names
    assert list(s11c.positions_2d) == ["cpn_ft_h36m_dbb"] and np.isfinite(s11c.positions_2d["cpn_ft_h36m_dbb"]).all()

    with pytest.raises(PoseliftError, match="exists already"):
        h36m.prepare_h36m(tmp_path / "data_3d_h36m.npz", out, allow_pickle=True, progress=False)


def test_errors(tmp_path):
    with pytest.raises(PoseliftError, match="no S\\*/MyPoseFeatures/D3_Positions/\\*.cdf"):
        h36m.prepare_h36m(tmp_path, tmp_path / "o.npz", progress=False)
    bad = tmp_path / "S1" / "MyPoseFeatures" / "D3_Positions" / "Walking.cdf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a cdf file at all")
    with pytest.raises(PoseliftError, match="Walking.cdf: cannot read the Pose variable"):
        h36m.prepare_h36m(tmp_path, tmp_path / "o.npz", progress=False)
    with pytest.raises(PoseliftError, match="cannot tell the 2D source"):
        h36m.prepare_h36m(tmp_path, tmp_path / "o.npz", detections=[tmp_path / "dets.npz"], progress=False)


# ------------------------------------------------------- Stacked Hourglass (16 MPII joints)


@pytest.fixture
def sh_prepared(tmp_path):
    from helpers import write_h36m_videopose3d

    world, proj = write_h36m_videopose3d(tmp_path)
    dets = [tmp_path / f"data_2d_h36m_{s}.npz" for s in ("gt", "sh_pt_mpii", "sh_ft_h36m")]
    out = tmp_path / "h36m.npz"
    with pytest.warns(UserWarning):
        h36m.prepare_h36m(tmp_path / "data_3d_h36m.npz", out, detections=dets, allow_pickle=True, progress=False)
    return out, world, proj


def test_mpii16_skeleton_and_the_release_metadata():
    from helpers import SH_METADATA
    from poselift.skeleton import MPII16, MPII16_H36M, get_skeleton, skeleton_for_joints

    assert skeleton_for_joints(16) is MPII16 and get_skeleton("mpii16_h36m") is MPII16_H36M
    assert MPII16.joint_names[:10] == ("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis",
                                       "thorax", "upper_neck", "head_top")
    left, right = SH_METADATA["keypoints_symmetry"]  # the same joints as the release's, each paired with its twin
    assert set(MPII16.joints_left) == set(left) and set(MPII16.joints_right) == set(right)
    for j, k in zip(MPII16.joints_left, MPII16.joints_right):
        assert MPII16.joint_names[j].replace("l_", "r_") == MPII16.joint_names[k]
    assert MPII16.parents[MPII16.index("head_top")] == MPII16.index("upper_neck")
    assert MPII16_H36M.parents[MPII16_H36M.index("r_shoulder")] == MPII16_H36M.index("thorax")


def test_sh_files_prepare_in_their_order_and_reading(sh_prepared):
    from helpers import MPII_FROM_H36M, MPII_H36M_FROM_H36M

    out, world, proj = sh_prepared
    info = prepared_info(out)
    assert info.sources == ("gt", "sh_pt_mpii", "sh_ft_h36m")
    # slot 7 lies on the projected thorax in one file, on the spine in the other: told apart on the data
    assert info.source_layouts == {"gt": "h36m17", "sh_pt_mpii": "mpii16", "sh_ft_h36m": "mpii16_h36m"}
    s9, s11 = load_prepared(out)
    assert s9.clip_names == ["Directions 1", "Photo", "Walking", "Walking 1"]
    for subj in (s9, s11):
        for _, name, _, sl in subj.clip_slices():
            p = np.stack(proj[subj.subject][name])
            if subj.subject == "S11" and name.startswith("Directions"):
                assert np.isnan(subj.positions_2d["sh_pt_mpii"][:, sl]).all()  # missing from the release
                continue
            # as in the file (16 joints, MPII order), the two extra video frames cut
            np.testing.assert_allclose(subj.positions_2d["sh_pt_mpii"][:, sl], p[:, :, MPII_FROM_H36M] + 1, atol=1e-3)
            np.testing.assert_allclose(subj.positions_2d["sh_ft_h36m"][:, sl], p[:, :, MPII_H36M_FROM_H36M] + 1,
                                       atol=1e-3)


def test_sh_joints_map_to_human36m_17(sh_prepared):
    from poselift.skeleton import H36M17, convert_2d

    out, world, proj = sh_prepared
    s9 = load_prepared(out, subjects=["S9"])[0]
    truth = s9.positions_2d["gt"].astype(np.float64) + 1  # the fixture's detections: projections + 1 px
    spine, thorax, neck, head, pelvis = (H36M17.index(n) for n in ("spine", "thorax", "neck_nose", "head", "pelvis"))
    pt = convert_2d(s9.positions_2d["sh_pt_mpii"], "mpii16", "h36m17")
    keep = [j for j in range(17) if j != spine]
    np.testing.assert_allclose(pt[..., keep, :], truth[..., keep, :], atol=1e-3)  # thorax, neck, head from 7, 8, 9
    np.testing.assert_allclose(pt[..., spine, :], (truth[..., pelvis, :] + truth[..., thorax, :]) / 2, atol=1e-3)
    ft = convert_2d(s9.positions_2d["sh_ft_h36m"], "mpii16_h36m", "h36m17")
    keep = [j for j in range(17) if j != neck]
    np.testing.assert_allclose(ft[..., keep, :], truth[..., keep, :], atol=1e-3)  # spine, thorax, head from 7, 8, 9
    np.testing.assert_allclose(ft[..., neck, :], (truth[..., thorax, :] + truth[..., head, :]) / 2, atol=1e-3)


def test_sh_files_in_the_human36m_order_are_put_back_in_the_mpii_order(tmp_path):
    """SemGCN's conversion of the same detections (same file name) is in the Human3.6M-17
    order without the neck/nose, with matching metadata: read as the release's file."""
    from helpers import write_h36m_videopose3d
    from poselift.data.videopose3d import read_positions_2d

    write_h36m_videopose3d(tmp_path)
    with pytest.warns(UserWarning, match="pickled"):
        ref, layout = read_positions_2d(tmp_path / "data_2d_h36m_sh_pt_mpii.npz", allow_pickle=True)
    assert layout == "mpii16"
    sh_to_h36m16 = [6, 2, 1, 0, 3, 4, 5, 7, 8, 9, 13, 14, 15, 12, 11, 10]  # SemGCN's permutation of the SH slots
    other = {s: {a: [c[:, sh_to_h36m16] for c in cams] for a, cams in seqs.items()} for s, seqs in ref.items()}
    meta = {"num_joints": 16, "keypoints_symmetry": [[4, 5, 6, 10, 11, 12], [1, 2, 3, 13, 14, 15]]}
    np.savez_compressed(tmp_path / "data_2d_h36m_sh_semgcn.npz", positions_2d=other, metadata=meta)
    with pytest.warns(UserWarning, match="pickled"):
        back, layout = read_positions_2d(tmp_path / "data_2d_h36m_sh_semgcn.npz", allow_pickle=True)
    assert layout == "mpii16"
    for s in ref:
        for a in ref[s]:
            for c_ref, c_back in zip(ref[s][a], back[s][a]):
                np.testing.assert_array_equal(c_back, c_ref)
    meta["keypoints_symmetry"] = [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    np.savez_compressed(tmp_path / "data_2d_h36m_sh_odd.npz", positions_2d=other, metadata=meta)
    with pytest.raises(PoseliftError, match="fit neither the MPII order"), pytest.warns(UserWarning):
        read_positions_2d(tmp_path / "data_2d_h36m_sh_odd.npz", allow_pickle=True)


def test_git_lfs_pointers_get_their_own_message(tmp_path):
    from helpers import LFS_POINTER, write_h36m_videopose3d

    write_h36m_videopose3d(tmp_path, sh=False)
    pointer = tmp_path / "data_2d_h36m_sh_pt_mpii.npz"
    pointer.write_text(LFS_POINTER)
    expect = ("is a Git LFS pointer: the real file (1,356,254,098 bytes) is not here; fetch it with 'git lfs pull' "
              "or download the file itself")
    with pytest.raises(PoseliftError) as ei:
        h36m.prepare_h36m(tmp_path / "data_3d_h36m.npz", tmp_path / "o.npz", detections=[pointer], allow_pickle=True,
                          progress=False)
    assert str(ei.value) == f"{pointer}: {expect}" and "\n" not in str(ei.value)
    three_d = tmp_path / "data_3d_h36m.npz"
    three_d.write_text(LFS_POINTER.replace("size 1356254098\n", ""))  # a pointer without its size line
    with pytest.raises(PoseliftError, match=r"is a Git LFS pointer: the real file is not here; fetch it"):
        h36m.prepare_h36m(three_d, tmp_path / "o.npz", allow_pickle=True, progress=False)
    assert not (tmp_path / "o.npz").exists()
    # other content is still named for what it is
    three_d.write_bytes(b"%PDF-1.4 ...")
    with pytest.raises(PoseliftError, match=r"not an .npz file \(no zip archive header; it is a PDF document\)"):
        h36m.prepare_h36m(three_d, tmp_path / "o.npz", allow_pickle=True, progress=False)
