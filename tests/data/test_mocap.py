"""Raw motion capture import (ASF/AMC, BVH) into the CMU-17 layout."""

import shutil

import numpy as np
import pytest

from poselift.data import cmu, mocap
from poselift.errors import PoseliftError

from helpers import TINY_BVH

# bones (child joints) that are real rigid segments in the 17-joint layout; pelvis→spine,
# spine→thorax and thorax→nose join virtual joints and stretch by a few mm in the shipped
# data as well
RIGID = [1, 2, 3, 4, 5, 6, 10, 12, 13, 15, 16]
# thorax bone of CMU subject 08's ASF (08.asf: direction · length, file units), which the
# MotionBuilder BVH 08_01.bvh omits
THORAX_08 = np.array([-0.000366513, 0.999157, 0.0410411]) * 2.02043


def _raw(shared_data):
    raw = shared_data / "cmu" / "raw"
    if not (raw / "02.asf").exists():
        pytest.skip("raw CMU files not found")
    return raw


def _clip(path, key, name):
    d = np.load(path, allow_pickle=False)
    names = list(d["clip_names"])
    if name not in names:
        return None
    i = names.index(name)
    return d[key][d["offsets"][i] : d["offsets"][i + 1]].astype(np.float64)


def _rigidity_mm(pos):
    b = np.linalg.norm(pos[:, RIGID].astype(np.float64) - pos[:, mocap.PARENTS[RIGID]], axis=-1)
    return np.ptp(b, axis=0).max() * 1000


def _rx(a):
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a):
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# ----------------------------------------------------------------- real data


def test_asf_amc_reproduces_benchmark_clip(shared_data):
    raw = _raw(shared_data)
    pos = mocap.convert_clip(raw / "02.asf", raw / "02_01.amc")
    ref = _clip(shared_data / "cmu" / "val" / "bench_02.npz", "positions_3d_world", "02_01")
    assert pos.dtype == np.float32 and pos.shape == ref.shape == (143, 17, 3)
    err = np.linalg.norm(pos - ref, axis=-1)
    assert err.max() < 1e-5  # acceptance: < 1 mm; float32 round-off is 0.0003 mm
    assert _rigidity_mm(pos) < 1e-3


def test_bvh_rigid_plausible_and_matches_training_file(shared_data):
    raw = _raw(shared_data)
    clip = mocap.convert_bvh(raw / "08_01.bvh")
    pos = clip.positions
    assert clip.src_fps == 120.0 and clip.src_frames == 277  # the leading T-pose frame is dropped
    assert "estimated" in clip.skeleton_note
    assert _rigidity_mm(pos) < 1e-3
    assert 1.4 < mocap.standing_height(mocap.median_bone_lengths(pos)) < 2.0
    train = shared_data / "cmu" / "train" / "cmu_08.npz"
    ref = _clip(train, "positions", "08_01")
    if ref is None:
        pytest.skip("clip 08_01 is not in cmu_08.npz")
    err = np.linalg.norm(pos - ref, axis=-1)
    assert err[:, :8].max() < 1e-5  # legs and spine do not depend on the thorax
    assert err.max() < 5e-3  # estimated thorax: 3.8 mm
    exact = mocap.convert_clip(raw / "08_01.bvh", thorax_asf=THORAX_08)
    assert np.linalg.norm(exact - ref, axis=-1).max() < 1e-5
    bones = np.median(np.linalg.norm(exact[:, 1:] - exact[:, mocap.PARENTS[1:]], axis=-1), axis=0)
    ref_bones = np.load(train, allow_pickle=False)["bone_lengths_m"]
    assert np.abs(bones[np.array(RIGID) - 1] - ref_bones[np.array(RIGID) - 1]).max() < 1e-5
    no_fix = mocap.convert_clip(raw / "08_01.bvh", fix_thorax=False)
    assert 0.1 < np.linalg.norm(no_fix - ref, axis=-1)[:, 8:].max() < 0.13  # the README's ~12 cm


def test_prepare_mocap_folder(shared_data, tmp_path):
    raw = _raw(shared_data)
    src = tmp_path / "src"
    src.mkdir()
    for f in ("02.asf", "02_01.amc", "08_01.bvh"):
        shutil.copy(raw / f, src / f)
    # an ASF for subject 08 holding just the thorax bone: used to restore the BVH's thorax
    (src / "08.asf").write_text(ASF_THORAX_08)
    out = tmp_path / "cmu_me.npz"
    assert mocap.prepare_mocap(src, out, subject="me", progress=False) == out
    clips = cmu.load_train_file(out)
    assert [c.name for c in clips] == ["02_01", "08_01"] and {c.subject for c in clips} == {"me"}
    assert all(c.fps == 50.0 and c.description == "" for c in clips)
    np.testing.assert_array_equal(clips[0].positions, mocap.convert_clip(raw / "02.asf", raw / "02_01.amc"))
    d = np.load(out, allow_pickle=False)
    assert list(d["source_format"]) == ["asf/amc", "bvh"]
    assert "restored" in str(d["skeleton_note"][1])
    assert list(d["joint_names"]) == list(mocap.JOINT_NAMES) and d["bone_lengths_m"].shape == (16,)
    assert 1.3 < float(d["height_m"]) < 2.0 and "Z up" in str(d["units"]) and "user" in str(d["license"])
    ref = _clip(shared_data / "cmu" / "train" / "cmu_08.npz", "positions", "08_01")
    if ref is not None:
        assert np.linalg.norm(clips[1].positions - ref, axis=-1).max() < 1e-5
    with pytest.raises(PoseliftError, match="exists already"):
        mocap.prepare_mocap(src, out, progress=False)
    mocap.prepare_mocap(src, out, overwrite=True, progress=False)
    assert str(np.load(out)["subject"]) == "src"  # two subjects (02, 08): the folder's name


ASF_THORAX_08 = """:version 1.10
:name VICON
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name thorax
     direction -0.000366513 0.999157 0.0410411
     length 2.02043
     axis 0 0 0   XYZ
    dof rx ry rz
  end
:hierarchy
  begin
    root thorax
  end
"""


# ----------------------------------------------------------------- hand-made files

TINY_ASF = """# two bones
:version 1.10
:name tiny
:units
  mass 1.0
  length 0.5
  angle deg
:documentation
  made by hand
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name a
     direction 1 0 0
     length 2
     axis 0 0 0 XYZ
    dof rz
    limits (-180.0 180.0)
  end
  begin
     id 2
     name b
     direction 0 0 1
     length 1
     axis 0 0 90 XYZ
    dof rx
  end
:hierarchy
  begin
    root a
    a b
  end
"""

TINY_AMC = """:FULLY-SPECIFIED
:DEGREES
1
root 1 2 3 0 90 0
a 90
b 90
2
root 0 0 0 10 20 30
a -40
b 25
"""


def test_tiny_asf_amc_forward_kinematics(tmp_path):
    (tmp_path / "t.asf").write_text(TINY_ASF)
    (tmp_path / "t_01.amc").write_text(TINY_AMC)
    skel = mocap.read_asf(tmp_path / "t.asf")
    assert skel.scale_m == pytest.approx(0.0254 / 0.5) and skel.order == ["a", "b"]
    names, pos = mocap.asf_amc_positions(tmp_path / "t.asf", tmp_path / "t_01.amc")
    assert names == ["root", "a", "b"] and pos.shape == (2, 3, 3)
    # frame 1 by hand: root Ry(90); a: Rz(90)·(2,0,0) = (0,2,0), unchanged by Ry → (1,4,3);
    # b: C = Rz(90), L = Rx(90), C·L·C⁻¹ = Ry(90): (0,0,1) → (1,0,0) → Rz(90): (0,1,0) → Ry(90): (0,1,0)
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 4, 3], [1, 5, 3]], atol=1e-12)
    # frame 2 with explicit matrices (XYZ order = Rz·Ry·Rx)
    g_root = _rz(30) @ _ry(20) @ _rx(10)
    g_a = g_root @ _rz(-40)
    g_b = g_a @ _rz(90) @ _rx(25) @ _rz(-90)
    a_end = g_a @ [2, 0, 0]
    np.testing.assert_allclose(pos[1], [[0, 0, 0], a_end, a_end + g_b @ [0, 0, 1]], atol=1e-12)


def test_tiny_bvh_forward_kinematics(tmp_path):
    path = tmp_path / "tiny.bvh"
    path.write_text(TINY_BVH)
    names, pos = mocap.bvh_positions(path)
    assert names == ["Hips", "Chest", "Chest:end"] and pos.shape == (2, 3, 3)
    # frame 1: root Rz(90) maps the chest offset (0,1,0) to (-1,0,0); chest Rx(90) maps (0,0,2) to (0,-2,0),
    # then Rz(90) to (2,0,0)
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [0, 2, 3], [2, 2, 3]], atol=1e-12)
    g_root = _ry(10) @ _rx(20) @ _rz(30)  # channels in listed order
    g_chest = g_root @ _rx(40) @ _rz(50) @ _ry(60)
    chest = g_root @ [0, 1, 0]
    np.testing.assert_allclose(pos[1], [[0, 0, 0], chest, chest + g_chest @ [0, 0, 2]], atol=1e-12)
    bvh = mocap.read_bvh(path)
    assert mocap._round_fps(bvh.frame_time) == pytest.approx(30.0)


# ----------------------------------------------------------------- bad files


@pytest.mark.parametrize("name, text, match", [
    ("bad.asf", ":version 1.10\n:units\n  length 0.45\n", "no :root"),
    ("bad.asf", TINY_ASF.replace("length 2", "length two"), "expected numbers"),
    ("bad.asf", TINY_ASF.replace("    a b\n", "    a c\n"), "does not define"),
    ("bad.asf", TINY_ASF.replace("  end\n  begin", "  begin", 1), "'begin' inside a bone"),
])
def test_malformed_asf(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PoseliftError, match=match) as e:
        mocap.read_asf(path)
    assert e.value.path == str(path)


@pytest.mark.parametrize("text, match", [
    (TINY_AMC.replace("a 90\n", "a 90 1\n"), "needs 1 values"),
    (TINY_AMC.replace("b 90\n", "c 90\n"), "unknown bone"),
    (TINY_AMC.replace("a 90\n", ""), "lacks bone"),
    (TINY_AMC.replace("b 25", "b x"), "expected numbers"),
    (":DEGREES\n", "no frames"),
])
def test_malformed_amc(tmp_path, text, match):
    (tmp_path / "t.asf").write_text(TINY_ASF)
    path = tmp_path / "t_01.amc"
    path.write_text(text)
    with pytest.raises(PoseliftError, match=match) as e:
        mocap.asf_amc_positions(tmp_path / "t.asf", path)
    assert e.value.path == str(path)


@pytest.mark.parametrize("text, match", [
    ("hello", "not a BVH"),
    (TINY_BVH.replace("Frames: 2", "Frames: 3"), "needs 27 values"),
    (TINY_BVH.replace("Xrotation Zrotation Yrotation", "Xrotation Zrotation Wrotation"), "unknown channel"),
    (TINY_BVH.replace("    }\n  }\n}", "    }\n  }"), "unbalanced"),
    (TINY_BVH.replace("OFFSET 0 1 0", "OFFSET 0 one 0"), "expected a number"),
    (TINY_BVH.replace("0.0333333", "0"), "Frame Time"),
])
def test_malformed_bvh(tmp_path, text, match):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(PoseliftError, match=match) as e:
        mocap.bvh_positions(path)
    assert e.value.path == str(path)


def test_conversion_errors_name_the_file(tmp_path):
    (tmp_path / "t.asf").write_text(TINY_ASF)
    (tmp_path / "t_01.amc").write_text(TINY_AMC)
    with pytest.raises(PoseliftError, match="not a CMU-style skeleton") as e:
        mocap.convert_clip(tmp_path / "t.asf", tmp_path / "t_01.amc")
    assert e.value.path == str(tmp_path / "t.asf")
    (tmp_path / "tiny.bvh").write_text(TINY_BVH)
    with pytest.raises(PoseliftError, match="CMU-style BVH joint names") as e:
        mocap.convert_clip(tmp_path / "tiny.bvh")
    assert e.value.path == str(tmp_path / "tiny.bvh")
    with pytest.raises(PoseliftError, match="needs its AMC") as e:
        mocap.convert_clip(tmp_path / "t.asf")
    with pytest.raises(PoseliftError, match="file not found"):
        mocap.convert_clip(tmp_path / "nope.bvh")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PoseliftError, match="no \\*_\\*.amc") as e:
        mocap.prepare_mocap(empty, tmp_path / "out.npz", progress=False)
    assert e.value.path == str(empty)
    (empty / "x_01.amc").write_text(TINY_AMC)
    with pytest.raises(PoseliftError, match="no skeleton x.asf") as e:
        mocap.prepare_mocap(empty, tmp_path / "out.npz", progress=False)
    assert e.value.path == str(empty / "x_01.amc")
