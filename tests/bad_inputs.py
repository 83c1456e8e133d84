"""Bad inputs a user can give the command line, each with the message it must get.

Used by ``tests/test_bad_inputs.py`` (every case: exit code 2, one line
``poselift: error: <file>: <problem>``, no traceback, nothing overwritten) and by
``scripts/error_table.py``, which writes the table in ``docs/errors.md`` from the same cases.
"""

from __future__ import annotations

import json
import os
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
    names: str | None = None  # the file (relative to the folder, or absolute) the message must name
    needs: str | None = None  # a module the case needs (skipped without it)
    as_root: bool = True  # False: the case means nothing to root (file permissions), skipped when run as root


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


def _infer_on_a_missing_gpu(d):
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--device", "cuda:7")  # no machine here has 8 GPUs


def _evaluate_on_an_unknown_device(d):
    write_bench(d / "bench" / "bench_09.npz")
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "--device", "tpu", "-q"]


def _train_on_a_missing_gpu(d):
    write_cmu_train(d / "train", subjects=("01",))
    return _train(d) + ["--device", "cuda:7"]


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


def _lfs_pointer_dataset(d):
    from helpers import LFS_POINTER

    (d / "data_3d_h36m.npz").write_text(LFS_POINTER)
    return ["prepare", "h36m", "--source", str(d / "data_3d_h36m.npz"), "--allow-pickle", "--out", str(d / "h36m.npz"),
            "-q"]


def _lfs_pointer_checkpoint(d):
    from helpers import LFS_POINTER

    write_bench(d / "bench" / "bench_09.npz")
    (d / "model.safetensors").write_text(LFS_POINTER)
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


def _h36m_model_on_humaneva(d):
    import warnings

    from helpers import write_humaneva_videopose3d
    from poselift.data.humaneva import prepare_humaneva

    write_humaneva_videopose3d(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepare_humaneva(d / "data_3d_humaneva15.npz", d / "he.npz", detections=[d / "data_2d_humaneva15_gt.npz"],
                         allow_pickle=True, progress=False)
    from poselift.models.temporal import ModelConfig, TemporalModel
    from poselift.train.checkpoint import save_checkpoint

    model = TemporalModel(ModelConfig(filter_widths=[3], channels=8))
    save_checkpoint(d / "h36m17.safetensors", model, {"model": model.cfg.to_dict(), "skeleton_in": "h36m17",
                                                      "skeleton_out": "h36m17"})
    return ["evaluate", "--data", "humaneva", "--dataset", str(d / "he.npz"), "--checkpoint",
            str(d / "h36m17.safetensors"), "-q"]


CASES = [
    Case("keypoint file does not exist", _missing_keypoints, "file not found", "missing.json"),
    Case("benchmark folder does not exist", _missing_bench, "folder not found", "no_such_folder"),
    Case("training folder does not exist", _missing_train, "folder not found", "no_such_folder"),
    Case("keypoint file is binary junk", _not_json, "is binary data, not a keypoint file", "dets.json"),
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
    Case("--device naming a GPU this machine lacks (infer)", _infer_on_a_missing_gpu, "--device cuda:7: "),
    Case("--device naming a GPU this machine lacks (train)", _train_on_a_missing_gpu, "--device cuda:7: "),
    Case("--device that is no device (evaluate)", _evaluate_on_an_unknown_device, "--device tpu: unknown device"),
    Case("--person that is neither an id nor a box", _person_not_an_id_or_box, "--person takes an id"),
    Case("--people all on a keypoint file", _everyone_from_a_keypoint_file, "--people all needs a video",
         "dets.json"),
    Case("result JSON exists (no --overwrite)", _existing_json, "exists already", "result.json"),
    Case("config file is not valid TOML", _bad_toml, "not valid TOML", "run.toml"),
    Case("training folder holds a run (no --resume/--overwrite)", _used_run_folder, "holds a training run", "run"),
]


# ------------------------------------------------------------------------------------------------------------
# Second pass (issue 17): special files, formats recognised by content, keypoint content, OpenPose folders,
# npz variants, videos, outputs. Builders are small; most write one keypoint file and run ``infer``.

LONG_NAME = "x" * 300  # one path component over the 255-byte limit of common file systems


def _doc(d: Path, doc, name: str = "dets.json") -> Path:
    (d / name).write_text(json.dumps(doc))
    return d / name


def _infer_doc(doc, name: str = "dets.json", *extra: str):
    return lambda d: _infer(_doc(d, doc, name), d, *extra)


def _infer_bytes(data: bytes, name: str = "dets.json", *extra: str):
    def build(d: Path) -> list[str]:
        (d / name).write_bytes(data)
        return _infer(d / name, d, *extra)
    return build


def _mmpose_doc(kp, ids=None, scores=None) -> list:
    ids = range(len(kp)) if ids is None else ids
    out = []
    for k, (i, pts) in enumerate(zip(ids, kp)):
        inst = {"keypoints": pts.tolist() if isinstance(pts, np.ndarray) else pts,
                "keypoint_scores": [1.0] * 17 if scores is None else scores}
        out.append({"frame_id": i, "instances": [inst]} if i is not ... else {"instances": [inst]})
    return out


_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
_GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(40)
_PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
_WAV = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + bytes(20)


def _npy_bytes(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def _zip_of(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# --- special files -------------------------------------------------------------------------------------------


def _fifo(name: str, run):
    def build(d: Path) -> list[str]:
        os.mkfifo(d / name)
        return run(d, d / name)
    return build


def _linked(name: str, target: str, run):
    def build(d: Path) -> list[str]:
        (d / name).symlink_to(target)
        return run(d, d / name)
    return build


def _keypoints_run(d: Path, src: Path) -> list[str]:
    return _infer(src, d)


def _video_run(d: Path, src: Path) -> list[str]:
    return ["infer", str(src), "--out", str(d / "out"), "--no-video", "-q"]


def _socket_keypoints(d: Path) -> list[str]:
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(d / "dets.json"))
    sock.close()  # the socket file stays
    return _infer(d / "dets.json", d)


def _folder_as_video(d: Path) -> list[str]:
    (d / "clip.mp4").mkdir()
    return _video_run(d, d / "clip.mp4")


def _empty_folder_as_keypoints(d: Path) -> list[str]:
    (d / "frames").mkdir()
    (d / "frames" / "notes.txt").write_text("no keypoints here")
    return _infer(d / "frames", d)


def _unreadable(name: str, data: bytes, run):
    def build(d: Path) -> list[str]:
        (d / name).write_bytes(data)
        (d / name).chmod(0)
        return run(d, d / name)
    return build


def _parent_is_a_file(d: Path) -> list[str]:
    (d / "a_file").write_text("")
    return _infer(d / "a_file" / "dets.json", d)


def _broken_link(d: Path) -> list[str]:
    (d / "dets.json").symlink_to(d / "gone.json")
    return _infer(d / "dets.json", d)


def _link_loop(d: Path) -> list[str]:
    (d / "dets.json").symlink_to(d / "dets.json")
    return _infer(d / "dets.json", d)


def _long_input_name(d: Path) -> list[str]:
    return _infer(d / f"{LONG_NAME}.json", d)


def _train_file_is_fifo(d: Path) -> list[str]:
    (d / "train").mkdir()
    os.mkfifo(d / "train" / "cmu_01.npz")
    return _train(d)


def _config_is_fifo(d: Path) -> list[str]:
    os.mkfifo(d / "run.toml")
    return ["train", "--config", str(d / "run.toml"), "-q"]


def _config_is_dev_zero(d: Path) -> list[str]:
    (d / "run.toml").symlink_to("/dev/zero")
    return ["train", "--config", str(d / "run.toml"), "-q"]


def _checkpoint_is_fifo(d: Path) -> list[str]:
    write_bench(d / "bench" / "bench_09.npz")
    os.mkfifo(d / "model.safetensors")
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


def _checkpoint_is_folder(d: Path) -> list[str]:
    write_bench(d / "bench" / "bench_09.npz")
    (d / "model.safetensors").mkdir()
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


def _missing_checkpoint(d: Path) -> list[str]:
    write_bench(d / "bench" / "bench_09.npz")
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


def _missing_config(d: Path) -> list[str]:
    return ["train", "--config", str(d / "run.toml"), "-q"]


def _bench_is_a_file(d: Path) -> list[str]:
    (d / "bench").write_text("not a folder")
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "-q"]


def _missing_video(d: Path) -> list[str]:
    return _video_run(d, d / "clip.mp4")


def _bvh_is_fifo(d: Path) -> list[str]:
    (d / "mocap").mkdir()
    os.mkfifo(d / "mocap" / "walk.bvh")
    return ["prepare", "mocap", "--source", str(d / "mocap"), "--out", str(d / "cmu_99.npz"), "--subject", "99",
            "-q"]


# --- formats recognised by their content ---------------------------------------------------------------------


def _zip_of_json(d: Path) -> list[str]:
    return _infer(_zip_of(d / "dets.npz", {"frame_0.json": b"{}", "frame_1.json": b"{}"}), d)


def _safetensors_as_keypoints(d: Path) -> list[str]:
    header = b'{"__metadata__":{}}'
    (d / "dets.json").write_bytes(len(header).to_bytes(8, "little") + header)
    return _infer(d / "dets.json", d)


def _pickle_as_keypoints(d: Path) -> list[str]:
    import pickle

    (d / "dets.pkl").write_bytes(pickle.dumps({"keypoints": [1, 2, 3]}))
    return _infer(d / "dets.pkl", d)


def _utf16_not_json(d: Path) -> list[str]:
    (d / "dets.json").write_bytes("keypoints: none\r\n".encode("utf-16"))
    return _infer(d / "dets.json", d)


def _jpeg_as_training_file(d: Path) -> list[str]:
    (d / "train").mkdir()
    (d / "train" / "cmu_01.npz").write_bytes(_JPEG)
    return _train(d)


def _gzip_as_bench_file(d: Path) -> list[str]:
    (d / "bench").mkdir()
    (d / "bench" / "bench_09.npz").write_bytes(_gzip_bytes(b"positions" * 20))
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "-q"]


def _npy_as_bench_file(d: Path) -> list[str]:
    (d / "bench").mkdir()
    (d / "bench" / "bench_09.npz").write_bytes(_npy_bytes(np.zeros((4, 17, 3))))
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "-q"]


def _png_as_config(d: Path) -> list[str]:
    (d / "run.toml").write_bytes(_PNG)
    return ["train", "--config", str(d / "run.toml"), "-q"]


def _text_as_checkpoint(d: Path) -> list[str]:
    write_bench(d / "bench" / "bench_09.npz")
    (d / "model.safetensors").write_text("epochs = 3\n")
    return ["evaluate", "--checkpoint", str(d / "model.safetensors"), "--bench", str(d / "bench"), "-q"]


# --- keypoint content ----------------------------------------------------------------------------------------


def _all_nan(d: Path) -> list[str]:
    text = json.dumps(_mmpose_doc([[[float("nan")] * 2] * 17] * 10))  # NaN tokens, as Python's json writes them
    (d / "dets.json").write_text(text)
    return _infer(d / "dets.json", d)


def _all_inf(d: Path) -> list[str]:
    (d / "dets.json").write_text(json.dumps(_mmpose_doc([[[float("inf"), float("-inf")]] * 17] * 10)))
    return _infer(d / "dets.json", d)


def _scores_all_zero(d: Path) -> list[str]:
    return _infer(_doc(d, _mmpose_doc(_pixels(10), scores=[0.0] * 17)), d)


def _ragged(d: Path) -> list[str]:
    kp = _pixels(5).tolist()
    kp[2][4] = [300.0]  # one joint with one coordinate
    return _infer(_doc(d, _mmpose_doc(kp)), d)


def _words_as_coordinates(d: Path) -> list[str]:
    kp = _pixels(5).tolist()
    kp[1][3] = ["left", "up"]
    return _infer(_doc(d, _mmpose_doc(kp)), d)


def _nested_keypoints(d: Path) -> list[str]:
    kp = _pixels(5)[:, :, None, :].tolist()  # (frames, joints, 1, 2)
    return _infer(_doc(d, _mmpose_doc(kp)), d)


def _far_value(value: float):
    def build(d: Path) -> list[str]:
        kp = _pixels(20)
        kp[7, 5, 0] = value
        return _infer(_doc(d, _mmpose_doc(kp)), d)
    return build


def _scores_count(d: Path) -> list[str]:
    return _infer(_doc(d, _mmpose_doc(_pixels(5), scores=[1.0] * 16)), d)


def _frame_ids(ids):
    return lambda d: _infer(_doc(d, _mmpose_doc(_pixels(len(ids)), ids=ids)), d)


def _instance_without_keypoints(d: Path) -> list[str]:
    doc = _mmpose_doc(_pixels(3))
    doc[1]["instances"][0] = {"bbox": [0, 0, 10, 10]}
    return _infer(_doc(d, doc), d)


def _frame_without_instances(d: Path) -> list[str]:
    doc = _mmpose_doc(_pixels(3))
    del doc[2]["instances"]
    return _infer(_doc(d, doc), d)


def _coco_results(values_per_person: int, **ann):
    def build(d: Path) -> list[str]:
        res = [{"image_id": i, "category_id": 1, "keypoints": [300.0] * values_per_person, "score": 0.9, **ann}
               for i in range(5)]
        return _infer(_doc(d, res), d)
    return build


def _coco_dataset(**edit):
    def build(d: Path) -> list[str]:
        doc = {"images": [{"id": i, "width": 1000, "height": 1000} for i in range(4)],
               "annotations": [{"image_id": i, "keypoints": [300, 400, 2] * 17, "num_keypoints": 17}
                               for i in range(4)]}
        for key, value in edit.items():
            if key == "image_id":
                doc["annotations"][1]["image_id"] = value
            elif key == "score":
                doc["annotations"][0]["score"] = value
            else:
                doc[key] = value
        return _infer(_doc(d, doc), d)
    return build


def _person_beyond(d: Path) -> list[str]:
    return _infer(_mmpose(d / "dets.json", _pixels()), d, "--person", "3")


# --- OpenPose folders ----------------------------------------------------------------------------------------


def _openpose_frame(kp: np.ndarray | None) -> dict:
    if kp is None:
        return {"version": 1.3, "people": []}
    values = np.zeros((25, 3))
    from poselift.detect.importers import BODY25_TO_COCO17

    values[list(BODY25_TO_COCO17), :2] = kp
    values[list(BODY25_TO_COCO17), 2] = 0.9
    return {"version": 1.3, "people": [{"pose_keypoints_2d": values.ravel().tolist()}]}


def _openpose_folder(d: Path, names: list[str], frames: list | None = None) -> Path:
    folder = d / "openpose"
    folder.mkdir()
    kp = _pixels(len(names))
    for i, name in enumerate(names):
        doc = _openpose_frame(kp[i]) if frames is None else frames[i]
        (folder / name).write_text(json.dumps(doc))
    return folder


def _openpose_case(names, frames=None, *extra):
    return lambda d: _infer(_openpose_folder(d, names, frames), d, *extra)


def _openpose_odd_file(kind: str):
    def build(d: Path) -> list[str]:
        folder = _openpose_folder(d, [f"clip_{i:012d}_keypoints.json" for i in range(4)])
        odd = folder / f"clip_{4:012d}_keypoints.json"
        if kind == "fifo":
            os.mkfifo(odd)
        elif kind == "png":
            odd.write_bytes(_PNG)
        elif kind == "junk":
            odd.write_text('{"people": [')
        elif kind == "no people list":
            odd.write_text('{"version": 1.3, "persons": []}')
        return _infer(folder, d)
    return build


# --- npz -----------------------------------------------------------------------------------------------------


def _plain_npz(name: str = "dets.npz", *extra: str, **arrays):
    def build(d: Path) -> list[str]:
        np.savez(d / name, **arrays)
        return _infer(d / name, d, *extra)
    return build


def _pickled_training_file(d: Path) -> list[str]:
    write_cmu_train(d / "train", subjects=("01",))
    _edit_npz(d / "train" / "cmu_01.npz", lambda a: a.update(positions=np.array([{"x": 1}], dtype=object)))
    return _train(d)


def _truncated_keypoint_npz(d: Path) -> list[str]:
    np.savez(d / "dets.npz", positions_2d=_pixels(50).astype(np.float32))
    data = (d / "dets.npz").read_bytes()
    (d / "dets.npz").write_bytes(data[:len(data) // 2])
    return _infer(d / "dets.npz", d)


def _training_npz_is_zip_of_text(d: Path) -> list[str]:
    (d / "train").mkdir()
    _zip_of(d / "train" / "cmu_01.npz", {"README.txt": b"motion capture"})
    return _train(d)


# --- videos --------------------------------------------------------------------------------------------------


def _truncated_mp4(d: Path) -> list[str]:
    write_mp4(d / "clip.mp4", frames=10, fps=10, height=64, width=64)
    (d / "clip.mp4").write_bytes((d / "clip.mp4").read_bytes()[:300])
    return _video_run(d, d / "clip.mp4")


def _empty_mp4(d: Path) -> list[str]:
    (d / "clip.mp4").write_bytes(b"")
    return _video_run(d, d / "clip.mp4")


def _zero_frame_video(d: Path) -> list[str]:
    import av

    with av.open(str(d / "clip.avi"), "w") as container:  # an AVI keeps a stream without frames (an mp4 drops it)
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    return _video_run(d, d / "clip.avi")


def _audio_only(d: Path) -> list[str]:
    import av

    with av.open(str(d / "sound.mp4"), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = (np.sin(np.arange(16000) / 10) * 3000).astype(np.int16)
        for start in range(0, 16000, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="s16", layout="mono")
            frame.sample_rate = 16000
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return _video_run(d, d / "sound.mp4")


def _text_named_mov(d: Path) -> list[str]:
    (d / "clip.mov").write_text('{"frames": []}')
    return _video_run(d, d / "clip.mov")


# --- outputs -------------------------------------------------------------------------------------------------


def _long_out(d: Path) -> list[str]:
    src = _mmpose(d / "dets.json", _pixels())
    return ["infer", str(src), "--out", str(d / LONG_NAME), "--width", "1000", "--height", "1000", "--no-video",
            "-q"]


def _long_out_inside(d: Path) -> list[str]:
    src = _mmpose(d / "dets.json", _pixels())
    return ["infer", str(src), "--out", str(d / "results" / LONG_NAME / "run1"), "--width", "1000", "--height",
            "1000", "--no-video", "-q"]


def _long_json(d: Path) -> list[str]:
    write_bench(d / "bench" / "bench_09.npz")
    return ["evaluate", "--checkpoint", "default", "--bench", str(d / "bench"), "--json",
            str(d / f"{LONG_NAME}.json"), "-q"]


def _long_onnx(d: Path) -> list[str]:
    return ["export", "--onnx", str(d / f"{LONG_NAME}.onnx")]


def _long_prepare_out(d: Path) -> list[str]:
    from helpers import TINY_BVH

    (d / "mocap").mkdir()
    (d / "mocap" / "walk.bvh").write_text(TINY_BVH)
    return ["prepare", "mocap", "--source", str(d / "mocap"), "--out", str(d / f"{LONG_NAME}.npz"), "--subject",
            "99", "-q"]


def _out_is_a_file(d: Path) -> list[str]:
    src = _mmpose(d / "dets.json", _pixels())
    (d / "out").write_text("my notes")
    return _infer(src, d)


def _out_unwritable(d: Path) -> list[str]:
    src = _mmpose(d / "dets.json", _pixels())
    (d / "locked").mkdir()
    (d / "locked").chmod(0o555)
    return ["infer", str(src), "--out", str(d / "locked" / "out"), "--width", "1000", "--height", "1000",
            "--no-video", "-q"]


KP = "dets.json"
_kp = _keypoints_run
_vid = _video_run

CASES += [
    # special and missing files
    Case("keypoint file is a named pipe (FIFO)", _fifo(KP, _kp), "named pipe", KP),
    Case("video is a named pipe (FIFO)", _fifo("clip.mp4", _vid), "named pipe", "clip.mp4"),
    Case("keypoint file is /dev/zero (through a link)", _linked(KP, "/dev/zero", _kp), "character device", KP),
    Case("video is /dev/zero (through a link)", _linked("clip.mp4", "/dev/zero", _vid), "character device",
         "clip.mp4"),
    Case("keypoint file is /dev/null itself", lambda d: _infer(Path("/dev/null"), d), "character device",
         "/dev/null"),
    Case("keypoint file is a socket", _socket_keypoints, "socket", KP),
    Case("video path is a folder", _folder_as_video, "is a folder", "clip.mp4"),
    Case("keypoint folder holds no OpenPose files", _empty_folder_as_keypoints, "no OpenPose", "frames"),
    Case("keypoint file without read permission", _unreadable(KP, b"[]", _kp), "permission denied", KP,
         as_root=False),
    Case("video without read permission", _unreadable("clip.mp4", b"\x00" * 64, _vid), "ermission denied",
         "clip.mp4", as_root=False),
    Case("keypoint path goes through a file", _parent_is_a_file, "not found", "a_file/dets.json"),
    Case("keypoint file is a broken link", _broken_link, "broken symbolic link", KP),
    Case("keypoint file is a link to itself", _link_loop, "symbolic links", KP),
    Case("keypoint file name over 255 bytes", _long_input_name, "file name too long", f"{LONG_NAME}.json"),
    Case("training file is a named pipe", _train_file_is_fifo, "named pipe", "train/cmu_01.npz"),
    Case("config file is a named pipe", _config_is_fifo, "named pipe", "run.toml"),
    Case("config file is /dev/zero (through a link)", _config_is_dev_zero, "character device", "run.toml"),
    Case("checkpoint is a named pipe", _checkpoint_is_fifo, "named pipe", "model.safetensors"),
    Case("checkpoint is a folder", _checkpoint_is_folder, "is a folder", "model.safetensors"),
    Case("checkpoint does not exist", _missing_checkpoint, "checkpoint not found", "model.safetensors"),
    Case("config file does not exist", _missing_config, "config file not found", "run.toml"),
    Case("benchmark folder is a file", _bench_is_a_file, "folder", "bench"),
    Case("video does not exist", _missing_video, "not found", "clip.mp4"),
    Case("mocap folder whose only BVH file is a named pipe", _bvh_is_fifo, "motion files in this folder", "mocap"),
    # formats recognised by their content
    Case("PNG image given as keypoints", _infer_bytes(_PNG), "is a PNG image", KP),
    Case("PNG image with its own name given as keypoints", _infer_bytes(_PNG, "pose.png"), "is a PNG image",
         "pose.png"),
    Case("GIF image given as keypoints", _infer_bytes(_GIF), "is a GIF image", KP),
    Case("JPEG image given as keypoints", _infer_bytes(_JPEG, "frame.jpg"), "is a JPEG image", "frame.jpg"),
    Case("NumPy .npy given as keypoints", _infer_bytes(_npy_bytes(_pixels()), "dets.npy"), "NumPy .npy",
         "dets.npy"),
    Case("NumPy .npy named .npz given as keypoints", _infer_bytes(_npy_bytes(_pixels()), "dets.npz"),
         "NumPy .npy", "dets.npz"),
    Case("zip of JSON files given as keypoints", _zip_of_json, "zip archive that holds frame_0.json",
         "dets.npz"),
    Case("gzip-compressed JSON given as keypoints",
         _infer_bytes(_gzip_bytes(b"[]"), "dets.json.gz"), "gzip-compressed", "dets.json.gz"),
    Case("gzip-compressed JSON named .json", _infer_bytes(_gzip_bytes(b"[]")), "gzip-compressed", KP),
    Case("PDF given as keypoints", _infer_bytes(_PDF), "is a PDF document", KP),
    Case("WAV audio given as keypoints", _infer_bytes(_WAV), "WAV audio", KP),
    Case("safetensors checkpoint given as keypoints", _safetensors_as_keypoints, "safetensors", KP),
    Case("Python pickle given as keypoints", _pickle_as_keypoints, "Python pickle", "dets.pkl"),
    Case("HDF5 file given as keypoints", _infer_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64), "dets.h5"), "HDF5",
         "dets.h5"),
    Case("empty keypoint file", _infer_bytes(b""), "is an empty file", KP),
    Case("empty .npz file", _infer_bytes(b"", "dets.npz"), "empty file", "dets.npz"),
    Case("UTF-16 text that is not JSON", _utf16_not_json, "not valid JSON", KP),
    Case("JSON holding a number", _infer_doc(42), "this JSON holds a number", KP),
    Case("JSON holding a string", _infer_doc("keypoints.json"), "this JSON holds a string", KP),
    Case("JSON holding null", _infer_doc(None), "this JSON holds null", KP),
    Case("JSON list of numbers", _infer_doc([1, 2, 3]), "a list of 3 items (numbers)", KP),
    Case("JSON of nested empty lists", _infer_doc([[[[]]], [[]]]), "(lists)", KP),
    Case("JSON object of other keys", _infer_doc({"video": "a.mp4", "fps": 30}), "keys 'video', 'fps'", KP),
    Case("JSON nested 100,000 deep", _infer_bytes(b"[" * 100_000 + b"]" * 100_000), "nested too deeply", KP),
    Case("JPEG image as a training file", _jpeg_as_training_file, "it is a JPEG image", "train/cmu_01.npz"),
    Case("gzip file as a benchmark file", _gzip_as_bench_file, "gzip-compressed", "bench/bench_09.npz"),
    Case("NumPy .npy as a benchmark file", _npy_as_bench_file, "single array (.npy)", "bench/bench_09.npz"),
    Case("PNG image as the config file", _png_as_config, "not valid TOML", "run.toml"),
    Case("text file as the checkpoint", _text_as_checkpoint, "safetensors", "model.safetensors"),
    # keypoint content
    Case("every keypoint NaN", _all_nan, "no frames with a person", KP),
    Case("every keypoint infinite", _all_inf, "no frames with a person", KP),
    Case("every keypoint score 0", _scores_all_zero, "no frames with a person", KP),
    Case("a keypoint at 1e30", _far_value(1e30), "1e+30, far outside the 1000x1000 image", KP),
    Case("a keypoint at -1e9", _far_value(-1e9), "-1e+09, far outside", KP),
    Case("ragged keypoint lists", _ragged, "arrays of numbers", KP),
    Case("words as keypoint coordinates", _words_as_coordinates, "arrays of numbers", KP),
    Case("keypoints nested one level too deep", _nested_keypoints, "shape (17, 1, 2), expected (17, 2)", KP),
    Case("16 keypoint scores for 17 keypoints", _scores_count, "16 keypoint_scores for 17 keypoints", KP),
    Case("duplicated MMPose frame ids", _frame_ids([0, 1, 2, 2, 3]), "frame_id 2 appears twice", KP),
    Case("fractional MMPose frame id", _frame_ids([0, 1, 2.5, 3]), "frame_id must be a whole number", KP),
    Case("MMPose frame id as text", _frame_ids([0, "1", 2]), "frame_id must be a whole number", KP),
    Case("negative MMPose frame id", _frame_ids([-1, 0, 1]), "frame_id must be 0 or more", KP),
    Case("MMPose frame without a frame id among numbered ones", _frame_ids([0, 1, ..., 3]), "has no frame_id",
         KP),
    Case("MMPose frame ids a billion apart", _frame_ids([0, 1, 10**9]), "not one video's frame numbers", KP),
    Case("MMPose instance without keypoints", _instance_without_keypoints, "not an object with 'keypoints'", KP),
    Case("MMPose frame without instances", _frame_without_instances, "every frame needs an 'instances' list",
         KP),
    Case("COCO results with 50 values per person", _coco_results(50), "50 keypoint values, expected 51", KP),
    Case("COCO results of 18 joints (OpenPose's COCO-18)", _coco_results(54), "54 keypoint values, expected 51",
         KP),
    Case("COCO image id that is a list", _coco_dataset(image_id=[1, 2]), "image id must be a number or a string",
         KP),
    Case("COCO annotations that are not a list", _coco_dataset(annotations={"0": []}), "must be lists", KP),
    Case("COCO score that is text", _coco_dataset(score="high"), "'score' must be a number", KP),
    Case("--person beyond the people in the file", _person_beyond, "person 3 asked for, but only 1 person", KP),
    # OpenPose folders
    Case("OpenPose folder with one file lacking a frame number",
         _openpose_case(["clip_000000000000_keypoints.json", "clip_000000000001_keypoints.json",
                         "clip_keypoints.json"]), "has no frame number", "openpose/clip_keypoints.json"),
    Case("OpenPose folder with two files for one frame",
         _openpose_case(["clip_0_keypoints.json", "clip_1_keypoints.json", "clip_000000000001_keypoints.json"]),
         "frame 1 has two files", "openpose"),
    Case("OpenPose folder of two videos",
         _openpose_case(["a_0_keypoints.json", "a_1_keypoints.json", "b_2_keypoints.json"]),
         "more than one video", "openpose"),
    Case("OpenPose frame numbers five million apart",
         _openpose_case(["clip_0_keypoints.json", "clip_1_keypoints.json", "clip_5000000_keypoints.json"]),
         "not one video's frame numbers", "openpose"),
    Case("OpenPose folder with a named pipe for a frame", _openpose_odd_file("fifo"), "named pipe",
         "openpose/clip_000000000004_keypoints.json"),
    Case("OpenPose folder with a PNG for a frame", _openpose_odd_file("png"), "is a PNG image",
         "openpose/clip_000000000004_keypoints.json"),
    Case("OpenPose frame file cut off", _openpose_odd_file("junk"), "not valid JSON",
         "openpose/clip_000000000004_keypoints.json"),
    Case("OpenPose frame file without a people list", _openpose_odd_file("no people list"), "no 'people' list",
         "openpose/clip_000000000004_keypoints.json"),
    Case("OpenPose folder where nobody is seen",
         _openpose_case([f"clip_{i}_keypoints.json" for i in range(3)], [_openpose_frame(None)] * 3),
         "no frames with a person", "openpose"),
    Case("OpenPose keypoints with --layout h36m17",
         _openpose_case([f"clip_{i}_keypoints.json" for i in range(3)], None, "--layout", "h36m17"),
         "converted to coco17", "openpose"),
    # npz
    Case("plain npz whose positions_2d has 3 values per joint", _plain_npz(positions_2d=np.zeros((5, 17, 3))),
         "expected (frames, joints, 2)", "dets.npz"),
    Case("plain npz of 15 joints for coco17", _plain_npz(positions_2d=_pixels(joints=15).astype(np.float16)),
         "15 joints, expected 17 for coco17", "dets.npz"),
    Case("plain npz of text", _plain_npz(positions_2d=np.full((5, 17, 2), "abc")), "expected numbers",
         "dets.npz"),
    Case("plain npz of complex numbers", _plain_npz(positions_2d=np.zeros((5, 17, 2), np.complex64)),
         "expected numbers", "dets.npz"),
    Case("plain npz with scores of the wrong shape",
         _plain_npz(positions_2d=_pixels(), scores=np.ones((20, 16))), "scores has shape (20, 16)", "dets.npz"),
    Case("plain npz of NaN only", _plain_npz(positions_2d=np.full((5, 17, 2), np.nan, np.float16)),
         "no frames with a person", "dets.npz"),
    Case("plain npz of zero frames", _plain_npz(positions_2d=np.zeros((0, 17, 2), np.int8)),
         "no frames with a person", "dets.npz"),
    Case("npz without positions_2d", _plain_npz(keypoints=_pixels()), "missing key(s) positions_2d", "dets.npz"),
    Case("keypoint npz cut off half-way", _truncated_keypoint_npz, "not a valid .npz", "dets.npz"),
    Case("training file with an object array", _pickled_training_file, "pickled", "train/cmu_01.npz"),
    Case("training file that is a zip of text", _training_npz_is_zip_of_text, "holds README.txt",
         "train/cmu_01.npz"),
    # videos
    Case("video cut off after 300 bytes", _truncated_mp4, "a damaged or cut-off file?", "clip.mp4", needs="av"),
    Case("empty video file", _empty_mp4, "is an empty file", "clip.mp4", needs="av"),
    Case("video with a stream but no frames", _zero_frame_video, "video stream has no frames", "clip.avi",
         needs="av"),
    Case("audio-only file", _audio_only, "has no video stream", "sound.mp4", needs="av"),
    Case("JSON text named .mov", _text_named_mov, "not a readable video", "clip.mov", needs="av"),
    # outputs
    Case("--out folder name over 255 bytes", _long_out, "file name too long", LONG_NAME),
    Case("--out with a component over 255 bytes inside it", _long_out_inside, "name too long",
         f"results/{LONG_NAME}/run1"),
    Case("--json file name over 255 bytes", _long_json, "file name too long", f"{LONG_NAME}.json"),
    Case("--onnx file name over 255 bytes", _long_onnx, "file name too long", f"{LONG_NAME}.onnx"),
    Case("prepare --out file name over 255 bytes", _long_prepare_out, "file name too long", f"{LONG_NAME}.npz"),
    Case("--out is a file", _out_is_a_file, "not a folder", "out"),
    Case("--out inside a read-only folder", _out_unwritable, "ermission denied", "locked", as_root=False),
    # dataset files of the VideoPose3D release (issue 20)
    Case("Git LFS pointer instead of a dataset file", _lfs_pointer_dataset, "is a Git LFS pointer: the real file",
         "data_3d_h36m.npz"),
    Case("Git LFS pointer instead of a checkpoint", _lfs_pointer_checkpoint, "fetch it with 'git lfs pull'",
         "model.safetensors"),
    Case("Human3.6M-17 model on HumanEva-I (15 joints)", _h36m_model_on_humaneva,
         "train a HumanEva-I model (poselift train --data humaneva", "h36m17.safetensors"),
]
