import numpy as np
import pytest
from conftest import rigid_motion

from poselift.errors import PoseliftError
from poselift.render.bvh import read_bvh, write_bvh
from poselift.rotations import AXES as _AXIS
from poselift.rotations import axis_rotation as _axis_rotation
from poselift.rotations import matrix_to_euler as _to_euler
from poselift.rotations import smallest_rotation as _smallest_rotation
from poselift.skeleton import H36M17, HUMANEVA15


@pytest.mark.parametrize("path,amplitude", [("circle", 0.6), ("line", 1.5), ("still", 2.5)])
def test_round_trip_rigid_motion(tmp_path, path, amplitude):
    motion = rigid_motion(150, path, seed=1, amplitude=amplitude)
    out = write_bvh(tmp_path / "m.bvh", motion, fps=30)
    positions, names, parents, fps = read_bvh(out)
    assert names == H36M17.joint_names and parents == H36M17.parents
    assert fps == pytest.approx(30, rel=1e-6)
    assert np.linalg.norm(positions - motion, axis=-1).max() < 0.01


def test_structure_and_blender_conventions(tmp_path, motion):
    path = write_bvh(tmp_path / "m.bvh", motion, fps=50)
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == "HIERARCHY" and lines[1] == "ROOT pelvis"
    assert text.count("JOINT ") == 16 and text.count("End Site") == 5  # leaves: ankles, head, wrists
    assert "CHANNELS 6 Xposition Yposition Zposition" in text and text.count("CHANNELS 3 ") == 16
    motion_at = lines.index("MOTION")
    assert lines[motion_at + 1] == f"Frames: {len(motion)}" and lines[motion_at + 2] == "Frame Time: 0.02000000"
    rows = lines[motion_at + 3:]
    assert len(rows) == len(motion) and all(len(r.split()) == 6 + 16 * 3 for r in rows)
    # Y up, centimetres: the first frame's pelvis height (world z, metres) is the BVH Y position
    assert float(rows[0].split()[1]) == pytest.approx(100 * motion[0, 0, 2], abs=1e-4)
    # rest pose: T-pose-like (legs down, arms sideways, left at +X)
    offsets = {n: np.array(lines[i + 2].split()[1:], float) for i, line in enumerate(lines)
               for n in ["l_knee", "r_elbow", "thorax"] if line.strip() == f"JOINT {n}"}
    assert offsets["l_knee"][1] < 0 and offsets["r_elbow"][0] < 0 and offsets["thorax"][1] > 0


def test_noisy_bones_are_fixed_to_their_medians(tmp_path):
    rng = np.random.default_rng(0)
    motion = rigid_motion(100, "circle", seed=2) + rng.normal(scale=0.003, size=(100, 17, 3))
    positions = read_bvh(write_bvh(tmp_path / "n.bvh", motion))[0]
    err = np.linalg.norm(positions - motion, axis=-1)
    assert err.max() < 0.04 and np.median(err) < 0.01  # directions kept, lengths fixed
    medians = np.median(H36M17.bone_lengths(motion), axis=0)
    np.testing.assert_allclose(H36M17.bone_lengths(positions), np.broadcast_to(medians, (100, 16)), atol=1e-5)


def test_other_skeleton(tmp_path):
    # HumanEva-15 joints taken from an H36M-17 motion: its thorax's children (head, shoulders) do
    # not move rigidly together, so only a rough match is possible there
    motion = rigid_motion(60, "circle", seed=2)[:, [H36M17.index(n) for n in HUMANEVA15.joint_names]]
    positions, names, parents, _ = read_bvh(write_bvh(tmp_path / "he.bvh", motion, HUMANEVA15, fps=60))
    assert sorted(names) == sorted(HUMANEVA15.joint_names)  # depth-first file order, not index order
    order = [names.index(n) for n in HUMANEVA15.joint_names]
    assert [names[parents[i]] if parents[i] >= 0 else None for i in order] == \
        [HUMANEVA15.joint_names[p] if p >= 0 else None for p in HUMANEVA15.parents]
    err = np.linalg.norm(positions[:, order] - motion, axis=-1)
    assert np.median(err) < 0.03 and err.max() < 0.2


def test_euler_orders_and_degenerate_rotations():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(20, 3, 3)))
    q *= np.sign(np.linalg.det(q))[:, None, None]
    lock = _axis_rotation(2, np.array([0.4, -2.0])) @ _axis_rotation(0, np.array([np.pi / 2, -np.pi / 2]))
    for order in ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"):
        for R in (q, lock, _axis_rotation(_AXIS[order[1]], np.array([np.pi / 2, -np.pi / 2])) @ q[:2]):
            e = _to_euler(R, order)
            back = np.eye(3)
            for k, axis in enumerate(order):
                back = back @ _axis_rotation(_AXIS[axis], e[:, k])
            np.testing.assert_allclose(back, R, atol=1e-9)
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    R = _smallest_rotation(a, b)
    np.testing.assert_allclose(R @ a, b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)


def test_read_generic_channel_orders(tmp_path):
    text = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Zrotation Xposition Yrotation Yposition Xrotation Zposition
  JOINT chest
  {
    OFFSET 0 10 0
    CHANNELS 3 Xrotation Zrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
  JOINT leg
  {
    OFFSET 5 0 0
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
0 1 0 2 0 3 0 0 0
90 1 0 2 0 3 0 0 0
"""
    (tmp_path / "g.bvh").write_text(text)
    positions, names, parents, fps = read_bvh(tmp_path / "g.bvh", scale=1.0)
    assert names == ("hips", "chest", "leg") and parents == (-1, 0, 0) and fps == pytest.approx(25)
    # BVH (x, y, z) → world (x, -z, y)
    np.testing.assert_allclose(positions[0], [[1, -3, 2], [1, -3, 12], [6, -3, 2]], atol=1e-12)
    # 90 degrees about BVH Z (= world -Y axis) turns the chest (BVH +Y) to BVH -X
    np.testing.assert_allclose(positions[1], [[1, -3, 2], [-9, -3, 2], [1, -3, 7]], atol=1e-12)


@pytest.mark.parametrize("mangle", [
    lambda t: t[: len(t) * 2 // 3],  # truncated in the MOTION data
    lambda t: t[: len(t) // 10],  # truncated in the HIERARCHY
    lambda t: t.replace("Frame Time", "Frame Tim"),
    lambda t: t.replace("OFFSET", "OFFSTE", 1),
    lambda t: t.replace("Zrotation", "Wrotation", 1),
    lambda t: t.replace("}", "", 1),
    lambda t: t.replace("MOTION\nFrames: 20", "MOTION\nFrames: 21"),
    lambda t: t[:-30] + " abc " + t[-25:],
    lambda t: "",
    lambda t: "\x00\xff garbage",
])
def test_bad_files_raise(tmp_path, motion, mangle):
    good = write_bvh(tmp_path / "good.bvh", motion[:20]).read_text()
    bad = tmp_path / "bad.bvh"
    bad.write_text(mangle(good), encoding="latin-1")
    with pytest.raises(PoseliftError) as err:
        read_bvh(bad)
    assert err.value.path == str(bad)


def test_refuses_bad_input(tmp_path, motion):
    path = write_bvh(tmp_path / "m.bvh", motion[:5])
    with pytest.raises(PoseliftError, match="exists"):
        write_bvh(path, motion[:5])
    write_bvh(path, motion[:6], overwrite=True)
    assert read_bvh(path)[0].shape == (6, 17, 3)
    with pytest.raises(PoseliftError, match="shape"):
        write_bvh(tmp_path / "x.bvh", motion[:, :15])
    bad = motion[:5].copy()
    bad[2, 3, 1] = np.nan
    with pytest.raises(PoseliftError, match="NaN"):
        write_bvh(tmp_path / "x.bvh", bad)
    with pytest.raises(PoseliftError, match="not found"):
        read_bvh(tmp_path / "missing.bvh")
    assert not (tmp_path / "x.bvh").exists()
