"""Bad numbers a user can give the command line (flags, config files, checkpoint metadata,
training data), each with the message it must get.

Same :class:`~bad_inputs.Case` structure as ``tests/bad_inputs.py``; ``tests/test_bad_numbers.py``
runs them with the same assertions (exit code 2, one line ``poselift: error: ...`` naming the
flag, key or file, no traceback, nothing changed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bad_inputs import Case, _infer, _mmpose, _pixels, _train
from helpers import write_bench, write_cmu_train


def _dets(d: Path) -> Path:
    return _mmpose(d / "dets.json", _pixels())


def _infer_flags(*flags: str):
    return lambda d: _infer(_dets(d), d, *flags)


def _infer_own_size(*flags: str):  # the size flags themselves under test: no --width/--height of _infer
    return lambda d: ["infer", str(_dets(d)), "--out", str(d / "out"), "--no-video", "-q", *flags]


def _train_flags(*flags: str):
    def build(d):
        write_cmu_train(d / "train", subjects=("01",))
        return _train(d) + list(flags)
    return build


def _config(text: str):
    def build(d):
        write_cmu_train(d / "train", subjects=("01",))
        (d / "run.toml").write_text(text)
        return _train(d) + ["--config", str(d / "run.toml")]
    return build


def _checkpoint_dir_is_a_file(d):
    write_cmu_train(d / "train", subjects=("01",))
    (d / "run").write_text("my notes\n")
    return _train(d)


def _edited_training_file(edit):
    """train on a CMU training file whose arrays ``edit`` changed in place."""
    def build(d):
        write_cmu_train(d / "train", subjects=("01",))
        path = d / "train" / "cmu_01.npz"
        with np.load(path) as z:
            arrays = dict(z)
        edit(arrays)
        np.savez(path, **arrays)
        return _train(d)
    return build


_fifteen_joint_training_file = _edited_training_file(lambda a: a.update(positions=a["positions"][:, :15]))
_training_file_fps = _edited_training_file(lambda a: a.update(fps=np.float64(np.inf)))


def _checkpoint_meta(meta: dict | str):
    """evaluate with a checkpoint whose metadata is ``meta`` (JSON text as is)."""
    def build(d):
        import torch
        from safetensors.torch import save_file

        from poselift.train.checkpoint import FORMAT

        write_bench(d / "bench" / "bench_09.npz")
        text = meta if isinstance(meta, str) else json.dumps(dict(meta, format=FORMAT))
        save_file({"model.expand_conv.weight": torch.zeros(8, 34, 3)}, str(d / "model.safetensors"),
                  metadata={"poselift": text})
        return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]
    return build


_MODEL = {"filter_widths": [3, 3, 3], "channels": 1024, "dropout": 0.25, "causal": False, "dense": False,
          "joints_in": 17, "joints_out": 17, "in_features": 2}

CASES = [
    # infer: every number of the command line, before the (slow) work
    Case("--fps inf (Infinity in the JSON, BVH frame time 0)", _infer_flags("--fps", "inf"), "--fps must be a number"),
    Case("--fps 0 (was replaced by the default)", _infer_flags("--fps", "0"), "--fps must be a number greater than 0"),
    Case("--fps nan", _infer_flags("--fps", "nan"), "--fps must be"),
    Case("--fps negative", _infer_flags("--fps", "-30"), "--fps must be"),
    Case("--focal negative", _infer_flags("--focal", "-1400"), "--focal must be a positive number of pixels"),
    Case("--focal 0 (was replaced by the default)", _infer_flags("--focal", "0"), "--focal must be a positive"),
    Case("--focal nan", _infer_flags("--focal", "nan"), "--focal must be a positive"),
    Case("--fov inf", _infer_flags("--fov", "inf"), "--fov must be degrees"),
    Case("--width negative", _infer_own_size("--width", "-1000", "--height", "1000"), "--width must be a whole number"),
    Case("--height 0", _infer_own_size("--width", "1000", "--height", "0"), "--height must be a whole number"),
    Case("--width not a number", _infer_own_size("--width", "wide", "--height", "1000"), "--width must be"),
    Case("--width with a fraction", _infer_own_size("--width", "1000.5", "--height", "1000"), "--width must be"),
    Case("--width a billion pixels", _infer_own_size("--width", "1e9", "--height", "1000"), "--width must be"),
    Case("--min-score above 1", _infer_flags("--min-score", "2"), "--min-score must be a number from 0 to 1"),
    Case("--max-gap nan", _infer_flags("--max-gap", "nan"), "--max-gap is a number of frames"),
    Case("--person-height inf", _infer_flags("--person-height", "inf"), "--person-height is a standing height"),
    Case("--threads negative (realtime)", _infer_flags("--realtime", "--threads", "-2"), "--threads must be"),
    # train: flags
    Case("-lr nan", _train_flags("-lr", "nan"), "-lr/--learning-rate must be a number greater than 0 and at most 1"),
    Case("-lr 1e12 (trained to NaN and saved it)", _train_flags("-lr", "1e12"), "-lr/--learning-rate must be"),
    Case("-lr 0", _train_flags("-lr", "0"), "-lr/--learning-rate must be"),
    Case("-drop 2", _train_flags("-drop", "2"), "-drop/--dropout must be a number 0 or more and less than 1"),
    Case("-ch 0", _train_flags("-ch", "0"), "-ch/--channels must be a whole number from 1 to 8192"),
    Case("-ch a million", _train_flags("-ch", "1000000"), "-ch/--channels must be"),
    Case("-arc with an even width", _train_flags("-arc", "3,2,3"), "-arc/--architecture must be"),
    Case("-arc receptive field 6561", _train_flags("-arc", "3,3,3,3,3,3,3,3"), "receptive field of at most 2187"),
    Case("a model too big for any machine", _train_flags("-ch", "8192", "-arc", "3,3,3,3,3,3,3", "--dense"),
         "parameters"),
    Case("-b 0", _train_flags("-b", "0"), "-b/--batch-size must be a whole number"),
    Case("--samples negative", _train_flags("--samples", "-64"), "--samples must be"),
    Case("-e with a fraction", _train_flags("-e", "1.5"), "-e/--epochs must be a whole number"),
    Case("--seed negative", _train_flags("--seed", "-1"), "--seed must be"),
    Case("--ema 1", _train_flags("--ema", "1"), "--ema must be a number 0 or more and less than 1"),
    Case("--subset 0", _train_flags("--subset", "0"), "--subset must be a number greater than 0"),
    Case("-lrd inf", _train_flags("-lrd", "inf"), "-lrd/--lr-decay must be"),
    Case("--joints-out 0", _train_flags("--joints-out", "0"), "--joints-out must be"),
    Case("-c pointing at a file", _checkpoint_dir_is_a_file, "is a file, not a folder", "run"),
    # train: the config file (TOML has nan and inf)
    Case("config lr = nan", _config("lr = nan\n"), "config key 'lr' must be a number greater than 0", "run.toml"),
    Case("config batch_size = 0", _config("batch_size = 0\n"), "config key 'batch_size' must be", "run.toml"),
    Case("config [model] channels = 10**8", _config("[model]\nchannels = 100000000\n"),
         "channels must be a whole number from 1 to 8192", "run.toml"),
    Case("config [model] dropout = inf", _config("[model]\ndropout = inf\n"), "dropout must be", "run.toml"),
    # train: the data
    Case("a 15-joint training file", _fifteen_joint_training_file, "positions have 15 joints", "train/cmu_01.npz"),
    Case("training file with fps inf", _training_file_fps, "fps must be", "train/cmu_01.npz"),
    # other commands
    Case("model-info -ch 10**6", lambda d: ["model-info", "-ch", "1000000"], "-ch/--channels must be"),
    Case("evaluate --threads -1", lambda d: ["evaluate", "--checkpoint", "default", "--bench", str(d), "--threads",
                                             "-1"], "--threads must be"),
    Case("retrieve --tolerance -1", lambda d: ["retrieve", "--checkpoint", "keypoints", "--tolerance", "-1"],
         "--tolerance must be"),
    Case("bench --repeats 0", lambda d: ["bench", "--repeats", "0"], "--repeats must be"),
    Case("export --opset 3", lambda d: ["export", "--onnx", str(d / "m.onnx"), "--opset", "3"], "--opset must be"),
    # checkpoint metadata: a schema, sizes bounded, before anything is allocated
    Case("checkpoint claiming 2**40 channels (12 TB)", _checkpoint_meta({"model": dict(_MODEL, channels=2**40)}),
         "checkpoint metadata: channels must be a whole number from 1 to 8192", "model.safetensors"),
    Case("checkpoint metadata without the model", _checkpoint_meta({"kind": "temporal-lifter"}),
         "no 'model' settings", "model.safetensors"),
    Case("checkpoint channels as text", _checkpoint_meta({"model": dict(_MODEL, channels="1024")}),
         "channels must be a whole number", "model.safetensors"),
    Case("checkpoint filter widths not a list", _checkpoint_meta({"model": dict(_MODEL, filter_widths=333)}),
         "filter widths must be a list", "model.safetensors"),
    Case("checkpoint model settings a list", _checkpoint_meta({"model": [3, 3, 3]}), "'model' must be an object",
         "model.safetensors"),
    Case("checkpoint skeleton a number", _checkpoint_meta({"model": _MODEL, "skeleton_in": 17}),
         "'skeleton_in' must be a skeleton name", "model.safetensors"),
    Case("checkpoint metadata a JSON list", _checkpoint_meta("[1, 2, 3]"), "must be a JSON object",
         "model.safetensors"),
    Case("checkpoint with dropout 2", _checkpoint_meta({"model": dict(_MODEL, dropout=2)}), "dropout must be",
         "model.safetensors"),
]
