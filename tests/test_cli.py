import json
import subprocess
import sys

import numpy as np
import pytest

from poselift.cli import main
from poselift.data.formats import save_npz

from helpers import random_motion, write_bench


def test_model_info(capsys):
    assert main(["model-info", "-arc", "3,3,3"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 8_555_571 and info["receptive_field"] == 27
    assert main(["model-info", "-arc", "3,3,3,3,3", "--causal"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 16_952_371 and info["receptive_field"] == 243 and info["causal_shift"] == 121


@pytest.fixture
def tiny_dirs(tmp_path):
    train = tmp_path / "train"
    train.mkdir()
    for i, subj in enumerate(("01", "03")):
        pos = random_motion(60, seed=i)
        save_npz(train / f"cmu_{subj}.npz", {"positions": pos, "offsets": np.array([0, 35, 60]),
                                             "clip_names": np.array([f"{subj}_01", f"{subj}_02"]),
                                             "descriptions": np.array(["walk", "run"]), "subject": np.str_(subj)})
    bench = tmp_path / "val"
    bench.mkdir()
    write_bench(bench / "bench_09.npz")
    return train, bench


def test_train_then_evaluate(tmp_path, tiny_dirs, capsys):
    train, bench = tiny_dirs
    ck = tmp_path / "run"
    args = ["train", "--train-dir", str(train), "-arc", "3,3", "-ch", "16", "-e", "2", "-b", "64",
            "--checkpoint-dir", str(ck), "-q"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["clips"] == 2 * 2 * 2 * 60 * 4  # epochs x flip x subjects x frames x cameras
    assert main(args) == 2  # a used checkpoint folder is not silently restarted
    assert "--resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0  # finished run: resume is a no-op
    capsys.readouterr()
    js = tmp_path / "res.json"
    assert main(["evaluate", "--checkpoint", str(ck / "model.safetensors"), "--bench", str(bench), "--input", "det",
                 "--json", str(js), "-q"]) == 0
    res = json.loads(js.read_text())
    for k in ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "per_subject", "per_description", "per_clip"):
        assert k in res
    assert res["frames"] == 2 * 65
    assert main(["evaluate", "--checkpoint", str(ck / "model.safetensors"), "--bench", str(bench), "--json", str(js), "-q"]) == 2
    assert "exists already" in capsys.readouterr().err


def test_config_file_and_flag_override(tmp_path, tiny_dirs, capsys):
    train, _ = tiny_dirs
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'train_dir = "{train}"\nepochs = 1\nbatch_size = 128\n[model]\nfilter_widths = [3]\nchannels = 8\n')
    ck = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "-b", "256", "-c", str(ck), "-q"]) == 0
    saved = json.loads((ck / "config.json").read_text())
    assert saved["batch_size"] == 256 and saved["model"]["channels"] == 8 and saved["epochs"] == 1


def test_errors_are_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    r = subprocess.run([sys.executable, "-m", "poselift", "evaluate", "--checkpoint", str(bad), "--bench", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("poselift: error: ") and str(bad) in lines[0]
    r = subprocess.run([sys.executable, "-m", "poselift", "train", "--train-dir", str(tmp_path / "missing"), "-e", "1"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and "folder not found" in r.stderr and "Traceback" not in r.stderr


def test_prepare_mocap_reproduces_benchmark_clip(tmp_path, shared_data, capsys):
    import shutil

    from poselift.data.cmu import load_train_file

    src = tmp_path / "raw"
    src.mkdir()
    for name in ("02.asf", "02_01.amc"):
        shutil.copy(shared_data / "cmu" / "raw" / name, src / name)
    out = tmp_path / "cmu_02.npz"
    assert main(["prepare", "mocap", "--source", str(src), "--out", str(out), "-q"]) == 0
    clip = load_train_file(out)[0]
    ref = np.load(shared_data / "cmu" / "val" / "bench_02.npz", allow_pickle=False)["positions_3d_world"][:143]
    assert np.abs(clip.positions - ref).max() < 1e-3  # < 1 mm
    assert main(["prepare", "mocap", "--source", str(src), "--out", str(out), "-q"]) == 2  # no silent overwrite
    assert "exists" in capsys.readouterr().err


def test_trajectory_training_and_evaluation_with_default_models(tmp_path, tiny_dirs, capsys):
    train, bench = tiny_dirs
    ck = tmp_path / "traj"
    assert main(["train", "--train-dir", str(train), "-arc", "3", "-ch", "16", "-e", "1", "-b", "64", "--target",
                 "trajectory", "--joints-out", "1", "--input-layout", "coco17", "--ema", "0.99",
                 "--checkpoint-dir", str(ck), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(ck / "model.safetensors"), "--bench", str(bench), "--input", "det",
                 "--pose-checkpoint", "default", "--layout", "coco17", "-q"]) == 0
    table = capsys.readouterr().out
    assert "reproj root" in table and "abs MPJPE" in table
    assert main(["evaluate", "--checkpoint", "default", "--layout", "coco17", "--bench", str(bench), "-q"]) == 0
    assert "lifter_coco17" in capsys.readouterr().out


def test_h36m_prepare_train_evaluate(tmp_path, capsys):
    pytest.importorskip("cdflib")
    from helpers import write_h36m_cdf

    root = tmp_path / "h36m"
    for subject, seed in (("S1", 0), ("S9", 1)):
        for k, name in enumerate(("Walking 1", "Directions")):
            write_h36m_cdf(root / subject / "MyPoseFeatures" / "D3_Positions" / f"{name}.cdf",
                           random_motion(40, seed * 10 + k).astype(np.float64))
    out = tmp_path / "h36m.npz"
    assert main(["prepare", "h36m", "--source", str(root), "--out", str(out), "-q"]) == 0
    assert "subjects S1, S9" in capsys.readouterr().out
    ck = tmp_path / "run"
    assert main(["train", "--data", "h36m", "--dataset", str(out), "-k", "gt", "--subjects", "S1", "-arc", "3",
                 "-ch", "16", "-e", "1", "-b", "64", "--checkpoint-dir", str(ck), "-q"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["clips"] == 2 * 2 * 40 * 4
    js = tmp_path / "res.json"
    assert main(["evaluate", "--data", "h36m", "--dataset", str(out), "-k", "gt", "--checkpoint",
                 str(ck / "model.safetensors"), "--json", str(js), "-q"]) == 0
    table = capsys.readouterr().out
    assert "per action" in table and "Walking" in table and "Directions" in table
    res = json.loads(js.read_text())
    assert set(res["per_subject"]) == {"S9"} and res["frames"] == 2 * 40 * 4 and res["data"] == "h36m"
    assert main(["evaluate", "--data", "h36m", "--dataset", str(out), "-k", "cpn_ft_h36m_dbb", "--checkpoint",
                 str(ck / "model.safetensors"), "-q"]) == 2
    assert "no 2D source 'cpn_ft_h36m_dbb'" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_humaneva_prepare_train_evaluate_table4(tmp_path, capsys):
    from helpers import write_humaneva_videopose3d

    write_humaneva_videopose3d(tmp_path)
    out = tmp_path / "he.npz"
    args = ["prepare", "humaneva", "--source", str(tmp_path / "data_3d_humaneva15.npz"), "--detections",
            str(tmp_path / "data_2d_humaneva15_gt.npz"), "--out", str(out), "-q"]
    assert main(args) == 2 and "--allow-pickle" in capsys.readouterr().err
    assert main(args + ["--allow-pickle"]) == 0
    capsys.readouterr()
    ck = tmp_path / "run"
    assert main(["train", "--data", "humaneva", "--dataset", str(out), "-k", "gt", "-arc", "3", "-ch", "16", "-e", "1",
                 "-b", "64", "--actions", "Walk,Jog,Box", "--checkpoint-dir", str(ck), "-q"]) == 0
    capsys.readouterr()
    assert json.loads((ck / "model.json").read_text())["model"]["joints_in"] == 15  # follows the data
    assert main(["evaluate", "--data", "humaneva", "--dataset", str(out), "-k", "gt", "--checkpoint",
                 str(ck / "model.safetensors"), "-q"]) == 0
    text = capsys.readouterr().out
    assert "Table 4" in text and "Walk S1" in text and "Validate/S1" in text


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cross_dataset_recipe(tmp_path, capsys):
    """docs/datasets.md, "Cross-dataset": the bundled models on Human3.6M (every 2D source of
    the release's layouts), fine-tuned from the bundled weights, evaluated again; and on
    HumanEva-I with --map-joints."""
    from helpers import H36M_TEST_SEQUENCES, LFS_POINTER, write_h36m_videopose3d, write_humaneva_videopose3d

    write_h36m_videopose3d(tmp_path, {**H36M_TEST_SEQUENCES, "S1": {"Walking 1": 30, "Eating 2": 20}})
    h36m = tmp_path / "h36m.npz"
    dets = [str(tmp_path / f"data_2d_h36m_{s}.npz") for s in ("gt", "sh_pt_mpii", "sh_ft_h36m")]
    assert main(["prepare", "h36m", "--source", str(tmp_path / "data_3d_h36m.npz"), "--allow-pickle", "--detections",
                 *dets, "--out", str(h36m), "-q"]) == 0
    assert "2D sources gt, sh_pt_mpii (mpii16 joints), sh_ft_h36m (mpii16_h36m joints)" in capsys.readouterr().out

    # 1. the bundled models as they are
    js = tmp_path / "bundled.json"
    assert main(["evaluate", "--data", "h36m", "--dataset", str(h36m), "-k", "gt", "--checkpoint", "default",
                 "--json", str(js), "-q"]) == 0
    text = capsys.readouterr().out
    assert "Protocol #1 (MPJPE)" in text and "Protocol #2 (P-MPJPE)" in text and "frame-weighted over all" in text
    bundled = json.loads(js.read_text())
    assert bundled["headline"]["averaging"] == "mean over actions" and bundled["subjects"] == ["S9", "S11"]
    assert bundled["headline"]["mpjpe"] == pytest.approx(bundled["action_mean"]["mpjpe"])
    assert main(["evaluate", "--data", "h36m", "--dataset", str(h36m), "-k", "gt", "--checkpoint", "default",
                 "--layout", "coco17", "-q"]) == 0
    assert main(["evaluate", "--data", "h36m", "--dataset", str(h36m), "-k", "sh_ft_h36m", "--checkpoint", "default",
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert "is in layout mpii16_h36m; the model takes h36m17: add --map-joints" in err
    assert main(["evaluate", "--data", "h36m", "--dataset", str(h36m), "-k", "sh_ft_h36m", "--checkpoint", "default",
                 "--map-joints", "-q"]) == 0
    assert "cross-dataset: input mpii16_h36m → h36m17" in capsys.readouterr().out

    # 2. fine-tuned from the bundled weights (the model's settings are the checkpoint's), 3. evaluated again
    run = tmp_path / "runs" / "h36m_ft"
    assert main(["train", "--data", "h36m", "--dataset", str(h36m), "-k", "gt", "--init", "default", "--samples", "64",
                 "-b", "64", "-c", str(run), "-q"]) == 0
    capsys.readouterr()
    config = json.loads((run / "config.json").read_text())
    assert config["init"].endswith("lifter_h36m17_27f.safetensors") and config["subjects"] == ""
    assert (config["model"]["filter_widths"], config["model"]["channels"]) == ([3, 3, 3], 1024)
    js2 = tmp_path / "tuned.json"
    assert main(["evaluate", "--data", "h36m", "--dataset", str(h36m), "-k", "gt", "--checkpoint",
                 str(run / "model.safetensors"), "--json", str(js2), "-q"]) == 0
    capsys.readouterr()
    assert json.loads(js2.read_text())["headline"]["mpjpe"] != bundled["headline"]["mpjpe"]
    assert main(["train", "--data", "h36m", "--dataset", str(h36m), "-k", "sh_pt_mpii", "--init", "default",
                 "--samples", "64", "-c", str(tmp_path / "runs" / "sh"), "-q"]) == 2
    assert "takes h36m17 2D and predicts h36m17 joints; this training data has mpii16 2D" in capsys.readouterr().err

    # HumanEva-I: the bundled 17-joint model, with what to do, then on the 15 shared joints
    write_humaneva_videopose3d(tmp_path)
    he = tmp_path / "he.npz"
    assert main(["prepare", "humaneva", "--source", str(tmp_path / "data_3d_humaneva15.npz"), "--allow-pickle",
                 "--detections", str(tmp_path / "data_2d_humaneva15_gt.npz"), "--out", str(he), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--data", "humaneva", "--dataset", str(he), "-k", "gt", "--checkpoint", "default",
                 "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "poselift train --data humaneva" in err and "--map-joints" in err
    assert main(["evaluate", "--data", "humaneva", "--dataset", str(he), "-k", "gt", "--checkpoint", "default",
                 "--map-joints", "-q"]) == 0
    text = capsys.readouterr().out
    assert "Table 4 layout" in text and "cross-dataset: input humaneva15 → h36m17, scored on 15 shared joints" in text

    # a Git LFS pointer where a file should be: one line saying so
    (tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz").write_text(LFS_POINTER)
    assert main(["prepare", "h36m", "--source", str(tmp_path / "data_3d_h36m.npz"), "--allow-pickle", "--detections",
                 str(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz"), "--out", str(tmp_path / "x.npz"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("data_2d_h36m_cpn_ft_h36m_dbb.npz: is a Git LFS pointer: the real file (1,356,254,098 bytes) "
                        "is not here; fetch it with 'git lfs pull' or download the file itself")


def test_3dhp_prepare_and_evaluate_with_pck(tmp_path, capsys):
    pytest.importorskip("h5py")
    from helpers import write_3dhp_mat
    from poselift.data import mpi3dhp
    from poselift.models.temporal import ModelConfig, TemporalModel
    from poselift.train.checkpoint import save_checkpoint

    root = tmp_path / "test_set"
    write_3dhp_mat(root / "TS1" / "annot_data.mat", mpi3dhp.sequence_camera("TS1"))
    out = tmp_path / "3dhp.npz"
    assert main(["prepare", "3dhp", "--source", str(root), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    model = TemporalModel(ModelConfig(filter_widths=[3], channels=8))
    ck = tmp_path / "m.safetensors"
    save_checkpoint(ck, model, {"model": model.cfg.to_dict(), "skeleton_in": "h36m17", "skeleton_out": "h36m17"})
    js = tmp_path / "r.json"
    assert main(["evaluate", "--data", "3dhp", "--dataset", str(out), "--checkpoint", str(ck), "--json", str(js),
                 "-q"]) == 0
    assert "PCK" in capsys.readouterr().out
    r = json.loads(js.read_text())
    assert 0 <= r["pck"] <= 100 and 0 <= r["auc"] <= r["pck"] and r["frames"] == 27


def test_version_and_the_public_api_are_listed(capsys):
    import poselift

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"poselift {poselift.__version__}"
    names = dir(poselift)
    for name in ("lift", "infer_video", "Lifter", "Stream", "read_motion", "Motion", "__version__"):
        assert name in names and getattr(poselift, name) is not None
