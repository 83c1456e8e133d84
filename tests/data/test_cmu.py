import numpy as np
import pytest

from poselift.data import cmu
from poselift.data.dataset import build_cmu_training_set, root_relative
from poselift.data.formats import save_npz
from poselift.data.virtual import assign_rigs, h36m_rigs
from poselift.errors import PoseliftError


def _write_train(tmp_path, subject="01", frames=(30, 20)):
    rng = np.random.default_rng(0)
    pos = rng.normal(scale=0.3, size=(sum(frames), 17, 3)).astype(np.float32)
    pos[..., 2] += 1.0
    save_npz(tmp_path / f"cmu_{subject}.npz", {
        "positions": pos, "offsets": np.cumsum([0, *frames]), "clip_names": np.array([f"{subject}_0{i}" for i in range(len(frames))]),
        "descriptions": np.array(["walk"] * len(frames)), "subject": np.str_(subject), "fps": np.float32(50)})
    return pos


def test_train_file_clips(tmp_path):
    pos = _write_train(tmp_path)
    clips = cmu.load_train_dir(tmp_path)
    assert [c.name for c in clips] == ["01_00", "01_01"]
    assert np.array_equal(clips[1].positions, pos[30:])


def test_bad_offsets_and_missing_folder(tmp_path):
    save_npz(tmp_path / "cmu_02.npz", {"positions": np.zeros((10, 17, 3), np.float32), "offsets": np.array([0, 4]),
                                       "clip_names": np.array(["a"]), "subject": np.str_("02")})
    with pytest.raises(PoseliftError, match="cmu_02.npz: clip offsets"):
        cmu.load_train_dir(tmp_path)
    with pytest.raises(PoseliftError, match="folder not found"):
        cmu.load_train_dir(tmp_path / "nope")


def test_rigs_never_use_benchmark_subject():
    rigs = h36m_rigs()
    assert list(rigs) == ["S1", "S5", "S6", "S7", "S8"]
    a = assign_rigs(["10", "01", "03", "06", "07", "08"], rigs)
    assert a["01"] is rigs["S1"] and a["03"] is rigs["S5"] and a["08"] is rigs["S8"] and a["10"] is rigs["S1"]


def test_training_set_projection(tmp_path):
    pos = _write_train(tmp_path)
    data = build_cmu_training_set(tmp_path, random_cameras=2)
    assert len(data) == 2 * (4 + 2)  # two clips, four rig cameras + two random
    x, y = data.inputs_2d[0], data.targets_3d[0]
    assert x.shape == (30, 17, 2) and y.shape == (30, 17, 3)
    assert np.allclose(y[:, 0], 0)
    assert np.abs(x).max() < 1.5  # normalised screen coordinates (rig views are 1000 px square-ish)
    for xr in data.inputs_2d[4:6]:  # random views: may be portrait, where y spans +-1.78 in frame
        assert np.isfinite(xr).all() and np.abs(xr).max() < 4
    # bone lengths are preserved by the camera transform
    assert np.allclose(np.linalg.norm(y[:, 1] - y[:, 0], axis=-1), np.linalg.norm(pos[:30, 1] - pos[:30, 0], axis=-1), atol=1e-5)


def test_real_training_and_benchmark_files(shared_data):
    clips = cmu.load_train_dir(shared_data / "cmu" / "train")
    assert {c.subject for c in clips} == {"01", "03", "06", "07", "08", "10", "12", "14", "17", "26", "27", "29", "32", "64", "88", "90"}
    assert sum(len(c.positions) for c in clips) == 101_629
    b = cmu.load_bench_file(shared_data / "cmu" / "val" / "bench_09.npz")
    assert b.subject == "09" and len(b.cameras) == 4 and b.positions_3d_camera.shape[1:] == (1440, 17, 3)
    assert [c.id for c in b.cameras] == ["54138969", "55011271", "58860488", "60457274"]
    rel = root_relative(b.positions_3d_camera)
    assert np.allclose(rel[..., 0, :], 0)


def test_several_training_folders_comma_separated(tmp_path):
    from poselift.data.cmu import load_train_dir
    from poselift.errors import PoseliftError

    from helpers import write_cmu_train

    a = write_cmu_train(tmp_path / "a", subjects=("03", "01"))
    b = write_cmu_train(tmp_path / "b", subjects=("02",))
    clips = load_train_dir(f"{a},{b}")
    assert [c.subject for c in clips] == ["01", "01", "02", "02", "03", "03"]
    write_cmu_train(tmp_path / "c", subjects=("01",))
    with pytest.raises(PoseliftError, match="subject 01 is also in"):
        load_train_dir(f"{a},{tmp_path / 'c'}")
