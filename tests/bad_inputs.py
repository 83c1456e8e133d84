"""Bad inputs a user can give the command line, each with the message it must get.

Used by ``tests/test_bad_inputs.py`` (every case: exit code 2, one line
``poselift: error: <file>: <problem>``, no traceback, nothing overwritten) and by
``scripts/error_table.py``, which writes the table in ``docs/errors.md`` from the same cases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from helpers import write_bench, write_cmu_train, write_mp4


@dataclass
class Case:
    name: str  # the bad input, in words
    build: Callable[[Path], list[str]]  # writes what it needs under the folder; the command line
    expect: str  # part of the message
    names: str | None = None  # the file (relative to the folder) the message must name
    needs: str | None = None  # a module the case needs (skipped without it)


def _mmpose(path: Path, kp: np.ndarray, scores: np.ndarray | None = None) -> Path:
    scores = np.ones(kp.shape[:2]) if scores is None else scores
    doc = [{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(), "keypoint_scores": scores[i].tolist()}]}
           for i in range(len(kp))]
    path.write_text(json.dumps(doc))
    return path


def _pixels(frames: int = 20, joints: int = 17) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(200, 800, size=(frames, joints, 2))


def _infer(src: Path, d: Path, *extra: str) -> list[str]:
    return ["infer", str(src), "--out", str(d / "out"), "--width", "1000", "--height", "1000", "--no-video", "-q",
            *extra]


def _missing_keypoints(d):
    return _infer(d / "missing.json", d)


def _missing_bench(d):
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "no_such_folder"), "-q"]


def _train(d: Path, train_dir: str = "train") -> list[str]:
    return ["train", "--train-dir", str(d / train_dir), "--samples", "64", "-c", str(d / "run"), "-q"]


def _edit_npz(path: Path, edit: Callable[[dict], None]) -> None:
    with np.load(path) as z:
        arrays = dict(z)
    edit(arrays)
    np.savez(path, **arrays)


def _missing_train(d):
    return _train(d, "no_such_folder")


def _not_json(d):
    (d / "dets.json").write_bytes(bytes(range(256)) * 4)
    return _infer(d / "dets.json", d)


def _truncated_json(d):
    _mmpose(d / "dets.json", _pixels())
    text = (d / "dets.json").read_text()
    (d / "dets.json").write_text(text[:len(text) // 2])
    return _infer(d / "dets.json", d)


def _truncated_npz(d):
    write_cmu_train(d / "train", subjects=("01",))
    f = d / "train" / "cmu_01.npz"
    f.write_bytes(f.read_bytes()[:200])
    return _train(d)


def _pickled_npz(d):
    f = d / "old.npz"  # a legacy VideoPose3D file: object arrays, i.e. pickles inside the archive
    np.savez(f, positions_2d=np.array({"clip.mp4": {"custom": [np.zeros((5, 17, 2))]}}, dtype=object),
             metadata=np.array({"layout_name": "coco"}, dtype=object))
    return _infer(f, d)


def _not_video(d):
    (d / "clip.mp4").write_text("this is not a video\n" * 50)
    return ["infer", str(d / "clip.mp4"), "--out", str(d / "out"), "--no-video", "-q"]


def _undecodable_video(d):
    from fractions import Fraction

    import av

    path = d / "clip.mp4"
    with av.open(str(path), "w") as container:  # an h264 stream whose packets are noise
        stream = container.add_stream("h264", rate=30)
        stream.width, stream.height = 64, 64
        rng = np.random.default_rng(0)
        for i in range(5):
            packet = av.Packet(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, Fraction(1, 30)
            container.mux(packet)
    return ["infer", str(path), "--out", str(d / "out"), "--no-video", "-q"]


def _video_without_person(d):
    write_mp4(d / "empty_room.mp4", frames=5, fps=10, height=96, width=96)  # a colour gradient, nobody
    return ["infer", str(d / "empty_room.mp4"), "--out", str(d / "out"), "--no-video", "-q"]


def _corrupt_checkpoint(d):
    write_bench(d / "bench" / "bench_09.npz")
    (d / "model.safetensors").write_bytes(np.random.default_rng(0).bytes(500))
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


def _other_architecture(d):
    from poselift.models.temporal import ModelConfig, TemporalModel
    from poselift.train.checkpoint import save_checkpoint

    write_bench(d / "bench" / "bench_09.npz")
    model = TemporalModel(ModelConfig(filter_widths=[3, 3], channels=16))
    save_checkpoint(d / "model.safetensors", model, {"model": ModelConfig(filter_widths=[3, 3, 3], channels=16).to_dict()})
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


def _fifteen_joints(d):
    return _infer(_mmpose(d / "dets.json", _pixels(joints=15)), d, "--layout", "coco17")


def _humaneva_model_on_coco(d):
    from poselift.models.temporal import ModelConfig, TemporalModel
    from poselift.train.checkpoint import save_checkpoint

    cfg = ModelConfig(filter_widths=[3], channels=8, joints_in=15, joints_out=15)
    save_checkpoint(d / "he15.safetensors", TemporalModel(cfg),
                    {"model": cfg.to_dict(), "skeleton_in": "coco17", "skeleton_out": "h36m17"})
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--checkpoint", str(d / "he15.safetensors"))


def _normalised_keypoints(d):
    rng = np.random.default_rng(0)
    return _infer(_mmpose(d / "dets.json", rng.uniform(-0.8, 0.8, size=(20, 17, 2))), d)


def _millimetres(d):
    write_cmu_train(d / "train", subjects=("01",))
    _edit_npz(d / "train" / "cmu_01.npz", lambda a: a.update(positions=a["positions"] * 1000))
    return _train(d)


def _inf_in_training_data(d):
    write_cmu_train(d / "train", subjects=("01",))
    _edit_npz(d / "train" / "cmu_01.npz", lambda a: a["positions"].__setitem__((3, 2, 1), np.inf))
    return _train(d)


def _empty_sequence(d):
    (d / "dets.json").write_text("[]")
    return _infer(d / "dets.json", d)


def _camera_count(d):
    write_bench(d / "bench" / "bench_09.npz", n_cameras=2)
    _edit_npz(d / "bench" / "bench_09.npz", lambda a: a.update(camera_ids=np.array(["c0", "c1", "c2"])))
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "-q"]


def _output_exists(d):
    src = _mmpose(d / "dets.json", _pixels())
    (d / "out").mkdir()
    (d / "out" / "dets.npz").write_text("my results")
    return _infer(src, d)


def _height_in_centimetres(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--person-height", "175")


def _field_of_view_in_radians(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--fov", "1.05")


def _focal_and_field_of_view(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--focal", "1400", "--fov", "60")


def _negative_gap(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--max-gap", "-1")


def _person_not_an_id_or_box(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--person", "the woman")


def _everyone_from_a_keypoint_file(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--people", "all")


def _output_not_writable(d):
    src = _mmpose(d / "dets.json", _pixels())
    (d / "a_file").write_text("")
    return ["infer", str(src), "--out", str(d / "a_file" / "out"), "--width", "1000", "--height", "1000",
            "--no-video", "-q"]


def _existing_json(d):
    write_bench(d / "bench" / "bench_09.npz")
    (d / "result.json").write_text("{}")
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "--json", str(d / "result.json"), "-q"]


def _bad_toml(d):
    (d / "run.toml").write_text("epochs = = 3\n")
    return ["train", "--config", str(d / "run.toml"), "-q"]


def _used_run_folder(d):
    write_cmu_train(d / "train", subjects=("01",))
    (d / "run").mkdir()
    (d / "run" / "last.safetensors").write_text("")
    return _train(d)


CASES = [
    Case("keypoint file does not exist", _missing_keypoints, "file not found", "missing.json"),
    Case("benchmark folder does not exist", _missing_bench, "folder not found", "no_such_folder"),
    Case("training folder does not exist", _missing_train, "folder not found", "no_such_folder"),
    Case("keypoint file is binary junk", _not_json, "not valid JSON", "dets.json"),
    Case("keypoint JSON cut off half-way", _truncated_json, "not valid JSON", "dets.json"),
    Case("training .npz truncated", _truncated_npz, "npz", "train/cmu_01.npz"),
    Case("pickled file without --allow-pickle", _pickled_npz, "--allow-pickle", "old.npz"),
    Case("video file that is not a video", _not_video, "not a readable video", "clip.mp4", needs="av"),
    Case("video whose frames cannot be decoded", _undecodable_video, "cannot decode", "clip.mp4", needs="av"),
    Case("video with no person in it", _video_without_person, "no person found", "empty_room.mp4",
         needs="mediapipe"),
    Case("checkpoint file is corrupt", _corrupt_checkpoint, "safetensors", "model.safetensors"),
    Case("checkpoint of another architecture", _other_architecture, "architecture", "model.safetensors"),
    Case("15-joint keypoints for the 17-joint COCO layout", _fifteen_joints, "(15, 2), expected (17, 2)",
         "dets.json"),
    Case("17-joint keypoints for a 15-joint model", _humaneva_model_on_coco, "17 joints but the model takes 15",
         "dets.json"),
    Case("keypoints normalised where pixels are expected", _normalised_keypoints, "look normalised", "dets.json"),
    Case("3D training data in millimetres", _millimetres, "look like millimetres", "train/cmu_01.npz"),
    Case("inf in 3D training data", _inf_in_training_data, "NaN or inf", "train/cmu_01.npz"),
    Case("empty keypoint sequence", _empty_sequence, "no frames with a person", "dets.json"),
    Case("camera list does not match the data", _camera_count, "cameras but the data has 2", "bench/bench_09.npz"),
    Case("output file exists (no --overwrite)", _output_exists, "exists already", "out/dets.npz"),
    Case("output folder cannot be created", _output_not_writable, "cannot write here", "a_file/out"),
    Case("person's height in centimetres", _height_in_centimetres, "--person-height is a standing height in metres"),
    Case("field of view in radians", _field_of_view_in_radians, "--fov must be degrees"),
    Case("both a focal length and a field of view", _focal_and_field_of_view, "--focal or --fov, not both"),
    Case("negative --max-gap", _negative_gap, "--max-gap is a number of frames"),
    Case("--person that is neither an id nor a box", _person_not_an_id_or_box, "--person takes an id"),
    Case("--people all on a keypoint file", _everyone_from_a_keypoint_file, "--people all needs a video",
         "dets.json"),
    Case("result JSON exists (no --overwrite)", _existing_json, "exists already", "result.json"),
    Case("config file is not valid TOML", _bad_toml, "not valid TOML", "run.toml"),
    Case("training folder holds a run (no --resume/--overwrite)", _used_run_folder, "holds a training run", "run"),
]
