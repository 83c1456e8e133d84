import numpy as np
import pytest

from helpers import random_motion
from poselift.camera import look_at_camera
from poselift.data.bench import BenchSubject
from poselift.data.formats import save_npz
from poselift.data.prepared import (
    Sequence, assemble_subject, load_prepared, prepared_info, save_prepared,
)
from poselift.errors import PoseliftError


def _cameras(n=2):
    return [look_at_camera((4 * np.cos(a), 4 * np.sin(a), 1.5), (0, 0, 1.0), res=(1000, 1000), cam_id=f"c{i}")
            for i, a in enumerate(np.linspace(0, np.pi / 2, n))]


def _subject(name="S9", frames=(20, 15), det_missing=(), det_extra=0, seed=0):
    cams = _cameras()
    world = random_motion(sum(frames), seed).astype(np.float64)
    seqs, start = [], 0
    for k, n in enumerate(frames):
        w = world[start : start + n]
        start += n
        p2 = {}
        if k not in det_missing:
            p2["det"] = [c.project(c.world_to_camera(np.concatenate([w, w[-1:].repeat(det_extra, 0)]))) + 1.0
                         for c in cams]
        seqs.append(Sequence(f"Walking {k + 1}", "Walking", w, p2))
    return assemble_subject(name, seqs, cams, ["gt", "det"], skeleton="h36m17", fps=50.0), world


def test_round_trip_keys_and_values(tmp_path):
    s9, world = _subject("S9")
    s11, _ = _subject("S11", frames=(12,), seed=1)
    out = save_prepared(tmp_path / "p.npz", [s9, s11], dataset="toy", skeleton="h36m17", fps=50.0)
    with np.load(out, allow_pickle=False) as f:  # a safe file: every key loads without pickle
        keys = set(f.files)
        assert all(f[k] is not None for k in f.files)
    block = {"positions_3d_camera", "positions_3d_world", "positions_2d_gt", "positions_2d_det", "offsets",
             "clip_names", "descriptions", "camera_ids", "camera_res", "camera_focal", "camera_center",
             "camera_radial", "camera_tangential", "camera_R_c2w", "camera_t", "subject"}
    top = {"format", "dataset", "skeleton", "fps", "subjects", "sources", "source_layouts"}
    assert keys == top | {f"S9/{k}" for k in block} | {f"S11/{k}" for k in block}
    info = prepared_info(out)
    assert (info.dataset, info.skeleton, info.fps, info.subjects, info.sources) == (
        "toy", "h36m17", 50.0, ("S9", "S11"), ("gt", "det"))
    a, b = load_prepared(out)
    assert a.subject == "S9" and b.subject == "S11"
    assert a.clip_names == ["Walking 1", "Walking 2"] and a.descriptions == ["Walking", "Walking"]
    assert list(a.offsets) == [0, 20, 35]
    np.testing.assert_allclose(a.positions_3d_world, world, atol=1e-6)
    np.testing.assert_allclose(a.positions_3d_camera, s9.positions_3d_camera, atol=1e-6)
    for c, cam in enumerate(a.cameras):
        np.testing.assert_allclose(cam.R_c2w, s9.cameras[c].R_c2w, atol=1e-12)
        px = cam.project(a.positions_3d_camera[c].astype(np.float64))
        assert np.abs(px - a.positions_2d["gt"][c]).max() < 0.5  # gt = projection of the stored 3D
        assert np.abs(a.positions_2d["det"][c] - a.positions_2d["gt"][c] - 1.0).max() < 1e-3


def test_subject_and_source_selection(tmp_path):
    with pytest.warns(UserWarning, match="S9: no det 2D for Walking 1; dropped for that source"):
        s9, _ = _subject("S9", det_missing=(0,))
    with pytest.warns(UserWarning, match="S11: no det 2D for Walking 1"):
        s11, _ = _subject("S11", frames=(12,), det_missing=(0,), seed=1)
    out = save_prepared(tmp_path / "p.npz", [s9, s11], dataset="toy", skeleton="h36m17", fps=50.0)
    (only,) = load_prepared(out, subjects=["S9"])
    assert np.isnan(only.positions_2d["det"][:, :20]).all() and np.isfinite(only.positions_2d["det"][:, 20:]).all()
    with pytest.warns(UserWarning) as rec:
        subs = load_prepared(out, source="det")
    assert [str(w.message).split(": ", 1)[1] for w in rec] == ["det has no 2D for S9 Walking 1; dropped",
                                                             "det has no 2D for S11 Walking 1; dropped"]
    assert [s.subject for s in subs] == ["S9"]  # S11 had only the missing clip: left out entirely
    assert subs[0].clip_names == ["Walking 2"] and list(subs[0].positions_2d) == ["det"]
    assert subs[0].positions_3d_camera.shape[1] == 15 and list(subs[0].offsets) == [0, 15]
    with pytest.raises(PoseliftError, match=r"p.npz: no subject\(s\) S1 \(has S9, S11\)"):
        load_prepared(out, subjects=["S1"])
    with pytest.raises(PoseliftError, match="no 2D source 'cpn'"):
        load_prepared(out, source="cpn")


def test_trim_to_shorter(recwarn):
    longer, _ = _subject(frames=(20,), det_extra=4)  # 2D longer than 3D: cut to the 3D
    assert longer.positions_2d["det"].shape == (2, 20, 17, 2) and not recwarn.list
    cams = _cameras()
    w = random_motion(30).astype(np.float64)
    short = [c.project(c.world_to_camera(w[:25])) for c in cams]
    with pytest.warns(UserWarning, match=r"2D shorter than 3D, trimmed: Walking 1 \(30 → 25\)"):
        s = assemble_subject("S1", [Sequence("Walking 1", "Walking", w, {"det": short})], cams, ["gt", "det"],
                             skeleton="h36m17", fps=50.0)
    assert s.positions_3d_camera.shape[1] == 25 and s.positions_2d["gt"].shape[1] == 25
    np.testing.assert_allclose(s.positions_3d_world, w[:25], atol=1e-6)


def test_overwrite_and_validation(tmp_path):
    s9, _ = _subject()
    out = save_prepared(tmp_path / "p.npz", [s9], dataset="toy", skeleton="h36m17", fps=50.0)
    with pytest.raises(PoseliftError, match="exists already"):
        save_prepared(out, [s9], dataset="toy", skeleton="h36m17", fps=50.0)
    save_prepared(out, [s9], dataset="toy", skeleton="h36m17", fps=25.0, overwrite=True)
    assert prepared_info(out).fps == 25.0 and load_prepared(out)[0].fps == 50.0  # the subject keeps its own rate
    with pytest.raises(PoseliftError, match="has 17 3D joints; skeleton humaneva15 has 15"):
        save_prepared(tmp_path / "q.npz", [s9], dataset="toy", skeleton="humaneva15", fps=50.0)
    # a damaged file: 2D with the wrong joint count → one line naming the file and the key
    with np.load(out, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["S9/positions_2d_det"] = arrays["S9/positions_2d_det"][:, :, :15]
    save_npz(tmp_path / "bad.npz", arrays)
    with pytest.raises(PoseliftError) as ei:
        load_prepared(tmp_path / "bad.npz")
    msg = str(ei.value)
    assert "\n" not in msg and "bad.npz" in msg and "S9/positions_2d_det has shape (2, 35, 15, 2)" in msg
    arrays.pop("S9/positions_2d_det")
    save_npz(tmp_path / "bad2.npz", arrays)
    with pytest.raises(PoseliftError, match="missing key S9/positions_2d_det"):
        load_prepared(tmp_path / "bad2.npz")


def test_per_subject_fps_and_scores(tmp_path):
    s9, _ = _subject("S9")
    s9.scores["det"] = np.full(s9.positions_2d["det"].shape[:3], 0.5, np.float32)
    s11, _ = _subject("S11", frames=(12,), seed=1)
    s11.fps = 25.0
    s11.scores["det"] = np.ones(s11.positions_2d["det"].shape[:3], np.float32)
    out = save_prepared(tmp_path / "p.npz", [s9, s11], dataset="toy", skeleton="h36m17", fps=50.0)
    with np.load(out) as f:
        assert "S11/fps" in f.files and "S9/fps" not in f.files and "S9/scores_det" in f.files
    a, b = load_prepared(out)
    assert (a.fps, b.fps) == (50.0, 25.0)
    assert a.scores_det is a.scores["det"] and float(a.scores["det"].mean()) == 0.5


def test_bench_subject_select_clips():
    s, world = _subject(frames=(5, 7, 3))
    t = s.select_clips([2, 0])
    assert t.clip_names == ["Walking 1", "Walking 3"] and list(t.offsets) == [0, 5, 8]
    np.testing.assert_allclose(t.positions_3d_world, np.concatenate([world[:5], world[12:]]), atol=1e-6)
    assert t.positions_2d["det"].shape[1] == 8 and s.positions_2d["det"].shape[1] == 15
    assert isinstance(t, BenchSubject) and t.missing_clips("det") == []
