"""Fuzzing every file loader: only :class:`PoseliftError` may come out of a bad file.

Three kinds of input per loader: random bytes; a valid file cut short and with bytes
overwritten; and well-formed containers with the wrong content (npz archives of random
dtypes and shapes under the expected keys, JSON documents built from the formats' own key
names, TOML tables of random values). The default run tries a few hundred files in all;
``pytest -m slow tests/test_fuzz_loaders.py`` tries more than 10,000.
"""

from __future__ import annotations

import importlib.util
import io
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from poselift.errors import PoseliftError

from helpers import TINY_BVH, write_bench, write_cmu_train, write_mp4

QUICK, LONG = 15, 500

# ----------------------------------------------------------------------------- valid seeds


def _seed_mmpose(d: Path) -> Path:
    kp = np.random.default_rng(0).uniform(0, 500, size=(4, 17, 2))
    doc = [{"frame_id": i, "instances": [{"keypoints": kp[i].tolist(), "keypoint_scores": [0.9] * 17}]}
           for i in range(4)]
    (d / "seed.json").write_text(json.dumps(doc))
    return d / "seed.json"


def _seed_cmu(d: Path) -> Path:
    write_cmu_train(d / "t", subjects=("01",), frames=20)
    return d / "t" / "cmu_01.npz"


def _seed_bench(d: Path) -> Path:
    write_bench(d / "bench_09.npz", clip_frames=(6, 4))
    return d / "bench_09.npz"


def _seed_checkpoint(d: Path) -> Path:
    from poselift.models.temporal import ModelConfig, TemporalModel
    from poselift.train.checkpoint import save_checkpoint

    cfg = ModelConfig(filter_widths=[3], channels=4)
    save_checkpoint(d / "seed.safetensors", TemporalModel(cfg), {"model": cfg.to_dict()})
    return d / "seed.safetensors"


def _seed_toml(d: Path) -> Path:
    (d / "seed.toml").write_text('train_dir = "x"\nsamples = 100\nbatch_size = 8\n[model]\nchannels = 16\n'
                                 'filter_widths = [3, 3]\n')
    return d / "seed.toml"


def _seed_calibration(d: Path) -> Path:
    from poselift.assets_path import asset_path

    text = asset_path("humaneva_cameras.json").read_text()
    (d / "seed.json").write_text(text[:4000] if len(text) < 4000 else text)
    return d / "seed.json"


def _seed_bvh(d: Path) -> Path:
    (d / "seed.bvh").write_text(TINY_BVH)
    return d / "seed.bvh"


def _seed_plain_npz(d: Path) -> Path:
    kp = np.random.default_rng(0).uniform(0, 500, size=(6, 17, 2))
    np.savez(d / "seed.npz", positions_2d=kp.astype(np.float16), scores=np.full((6, 17), 0.8, np.float32))
    return d / "seed.npz"


def _seed_video(d: Path) -> Path:
    write_mp4(d / "seed.mp4", frames=3, fps=10, height=32, width=32)
    return d / "seed.mp4"


# ----------------------------------------------------------------------------- loaders


def _load_keypoints(p):
    from poselift.detect.importers import load_keypoints

    load_keypoints(p)


def _load_cmu(p):
    from poselift.data.cmu import load_train_file

    load_train_file(p)


def _load_bench(p):
    from poselift.data.cmu import load_bench_file

    load_bench_file(p)


def _load_prepared(p):
    from poselift.data.prepared import load_prepared

    load_prepared(p)


def _load_checkpoint(p):
    from poselift.evaluate import load_model

    load_model(p)


def _load_toml(p):
    from poselift.config import TrainConfig, load_toml

    TrainConfig.from_dict(load_toml(p)).validate()


def _load_calibration(p):
    from poselift.camera import load_calibration_json

    load_calibration_json(p)


def _load_bvh(p):
    from poselift.data.mocap import bvh_positions

    bvh_positions(p)


def _load_video(p):
    from poselift.video import iter_frames, probe

    probe(p)
    for _ in iter_frames(p, max_frames=2):
        pass


# name: (file suffix, seed, loader, kind of structured input, module needed)
LOADERS = {
    "keypoints-json": (".json", _seed_mmpose, _load_keypoints, "json", None),
    "keypoints-npz": (".npz", _seed_bench, _load_keypoints, "npz", None),
    "keypoints-plain-npz": (".npz", _seed_plain_npz, _load_keypoints, "npz", None),
    "keypoints-magic": (".json", _seed_mmpose, _load_keypoints, "magic", None),
    "npz-magic": (".npz", _seed_bench, _load_prepared, "magic", None),
    "cmu-train": (".npz", _seed_cmu, _load_cmu, "npz", None),
    "cmu-bench": (".npz", _seed_bench, _load_bench, "npz", None),
    "prepared": (".npz", _seed_bench, _load_prepared, "npz", None),
    "checkpoint": (".safetensors", _seed_checkpoint, _load_checkpoint, "bytes", None),
    "config-toml": (".toml", _seed_toml, _load_toml, "toml", None),
    "calibration": (".json", _seed_calibration, _load_calibration, "json", None),
    "bvh": (".bvh", _seed_bvh, _load_bvh, "text", None),
    "video": (".mp4", _seed_video, _load_video, "bytes", "av"),
}

NPZ_KEYS = ["positions", "offsets", "clip_names", "descriptions", "subject", "fps", "positions_3d_camera",
            "positions_2d_gt", "positions_2d_det", "scores_det", "camera_ids", "cameras", "positions_3d_world",
            "positions_2d", "metadata", "dataset", "skeleton", "subjects", "scores"]
JSON_KEYS = ["frame_id", "instances", "keypoints", "keypoint_scores", "images", "annotations", "image_id", "id",
             "width", "height", "people", "pose_keypoints_2d", "score", "category_id", "cameras", "R", "t", "K",
             "dist", "res", "name", "subjects", "S1", "C1"]
TOML_KEYS = ["train_dir", "samples", "epochs", "batch_size", "lr", "model", "channels", "filter_widths", "seed",
             "subset", "ema", "flip", "data", "target", "engine", "precision", "window", "margin"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=4),
                                                                 inner, max_size=5),
    max_leaves=30)

toml_scalars = (st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=8) | st.lists(st.integers(-5, 9), max_size=4))
toml_tables = st.dictionaries(st.sampled_from(TOML_KEYS), toml_scalars | st.dictionaries(
    st.sampled_from(TOML_KEYS), toml_scalars, max_size=4), max_size=6)

dtypes = st.sampled_from([np.float16, np.float32, np.float64, np.int64, np.int8, np.uint8, np.bool_, np.complex64,
                          np.dtype("<U3")])
npz_arrays = st.dictionaries(
    st.sampled_from(NPZ_KEYS),
    dtypes.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=4, max_side=5))),
    max_size=8)


def _toml_text(table: dict) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(str(x) for x in v) + "]"
        return repr(v)

    top = [f"{k} = {value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    subs = [f"[{k}]\n" + "\n".join(f"{kk} = {value(vv)}" for kk, vv in v.items())
            for k, v in table.items() if isinstance(v, dict)]
    return "\n".join(top + subs) + "\n"


def _structured(kind: str):
    if kind == "json":
        return json_values.map(lambda v: json.dumps(v).encode())
    if kind == "toml":
        return toml_tables.map(lambda t: _toml_text(t).encode())
    if kind == "npz":
        def to_bytes(arrays):
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            return buf.getvalue()
        return npz_arrays.map(to_bytes)
    if kind == "text":  # lines of the format's own tokens
        tokens = st.sampled_from(["HIERARCHY", "ROOT", "JOINT", "End", "Site", "{", "}", "OFFSET", "CHANNELS", "3",
                                  "6", "Xrotation", "Yposition", "MOTION", "Frames:", "Frame", "Time:", "0.03",
                                  "-1", "1e400", "nan", "Hips", "x"])
        return st.lists(st.lists(tokens, max_size=8).map(" ".join), max_size=40).map(
            lambda lines: "\n".join(lines).encode())
    if kind == "magic":  # a known format's first bytes, then anything: recognised, and refused in words
        return st.tuples(st.sampled_from(MAGIC), st.binary(max_size=600)).map(lambda parts: parts[0] + parts[1])
    return st.binary(max_size=2000)


MAGIC = [b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"PK\x05\x06",
         b"\x1f\x8b", b"%PDF-", b"\x80\x04", b"\x00\x00\x00\x18ftypmp42", b"\x1aE\xdf\xa3", b"RIFF\x00\x00\x00\x00AVI ",
         b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\x89HDF\r\n\x1a\n", b"BZh", b"", b"[", b"{", b"\x00"]


def _mutations(seed: bytes):
    return st.tuples(st.integers(0, len(seed)), st.lists(st.tuples(st.integers(0, max(len(seed) - 1, 0)),
                                                                   st.integers(0, 255)), max_size=8)).map(
        lambda m: bytes(_apply(seed, *m)))


def _apply(seed: bytes, cut: int, edits) -> bytearray:
    data = bytearray(seed[:cut])
    for i, b in edits:
        if i < len(data):
            data[i] = b
    return data


def _check(loader, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loader(path)
        except PoseliftError:
            pass


def _fuzz_test(name: str, strategy_kind: str, examples: int):
    suffix, seed_fn, loader, structured, needs = LOADERS[name]

    def run():
        if needs and importlib.util.find_spec(needs) is None:
            pytest.skip(f"needs {needs}")
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            seed = seed_fn(d).read_bytes()
            target = d / f"fuzz{suffix}"
            strategy = {"bytes": st.binary(max_size=3000), "mutated": _mutations(seed),
                        "structured": _structured(structured)}[strategy_kind]

            @settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(strategy)
            def inner(data):
                _check(loader, target, data)

            inner()

    return run


KINDS = ("bytes", "mutated", "structured")
PARAMS = [(n, k) for n in LOADERS for k in KINDS if LOADERS[n][3] != "magic" or k == "structured"]


@pytest.mark.parametrize("name,kind", PARAMS, ids=[f"{n}-{k}" for n, k in PARAMS])
def test_only_poselift_errors_escape(name, kind):
    _fuzz_test(name, kind, QUICK)()


@pytest.mark.slow
@pytest.mark.parametrize("name,kind", PARAMS, ids=[f"{n}-{k}" for n, k in PARAMS])
def test_only_poselift_errors_escape_long(name, kind):
    _fuzz_test(name, kind, LONG)()


# ----------------------------------------------------------------------------- numbered frames (properties)

frame_ids = st.lists(st.integers(0, 400), min_size=1, max_size=25, unique=True)
odd_ids = st.lists(st.one_of(st.integers(-5, 10**9), st.floats(allow_nan=True), st.text(max_size=3), st.none(),
                             st.booleans()), min_size=1, max_size=8)


def _pose(t: int) -> list:
    return (np.random.default_rng(t).uniform(100, 900, size=(17, 2))).tolist()


@settings(max_examples=40, deadline=None, database=None)
@given(ids=frame_ids, shuffle=st.randoms(use_true_random=False))
def test_mmpose_frame_ids_place_each_frame(ids, shuffle):
    """Whatever their order, frames land at frame_id - the first id; the ids between are empty frames."""
    from poselift.detect.importers import load_keypoints

    order = list(ids)
    shuffle.shuffle(order)
    doc = [{"frame_id": i, "instances": [{"keypoints": _pose(i), "keypoint_scores": [0.9] * 17}]} for i in order]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_text(json.dumps(doc))
        seq = load_keypoints(path)
    first = min(ids)
    assert len(seq) == max(ids) - first + 1
    seen = np.flatnonzero(np.isfinite(seq.keypoints).all(-1).any(-1))
    np.testing.assert_array_equal(seen, sorted(i - first for i in ids))
    for i in ids:
        np.testing.assert_allclose(seq.keypoints[i - first], _pose(i), rtol=1e-5)


@settings(max_examples=60, deadline=None, database=None)
@given(ids=odd_ids)
def test_mmpose_odd_frame_ids_only_raise_poselift_errors(ids):
    from poselift.detect.importers import load_keypoints

    doc = [{"frame_id": i, "instances": [{"keypoints": _pose(k), "keypoint_scores": [0.9] * 17}]}
           for k, i in enumerate(ids)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_text(json.dumps(doc))
        try:
            seq = load_keypoints(path)
        except PoseliftError as e:
            assert e.path == str(path) and "\n" not in e.message
            return
    numbers = [int(i) if isinstance(i, float) else i for i in ids]
    assert all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in numbers) or \
        all(i is None for i in ids)
    assert len(seq) == (len(ids) if all(i is None for i in ids) else max(numbers) - min(numbers) + 1)


@settings(max_examples=30, deadline=None, database=None)
@given(ids=frame_ids, pad=st.sampled_from([0, 4, 12]), prefix=st.sampled_from(["clip_", "v", "run 3_"]))
def test_openpose_folders_follow_the_numbers(ids, pad, prefix):
    """OpenPose frame files in number order (never by name), the gaps kept as empty frames."""
    from poselift.detect.importers import BODY25_TO_COCO17, load_keypoints

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "op"
        folder.mkdir()
        for i in ids:
            values = np.zeros((25, 3))
            values[list(BODY25_TO_COCO17), :2] = _pose(i)
            values[list(BODY25_TO_COCO17), 2] = 0.9
            doc = {"version": 1.3, "people": [{"pose_keypoints_2d": values.ravel().tolist()}]}
            (folder / f"{prefix}{i:0{pad}d}_keypoints.json").write_text(json.dumps(doc))
        seq = load_keypoints(folder)
    first = min(ids)
    assert len(seq) == (1 if len(ids) == 1 else max(ids) - first + 1)
    for i in ids:
        np.testing.assert_allclose(seq.keypoints[0 if len(ids) == 1 else i - first], _pose(i), rtol=1e-5)


@settings(max_examples=40, deadline=None, database=None)
@given(head=st.sampled_from(MAGIC), tail=st.binary(max_size=300))
def test_describe_never_fails_and_binary_is_never_json(head, tail):
    from poselift.data.filetype import describe

    what = describe(head + tail)
    assert what is None or isinstance(what, str)
    if b"\x00" in (head + tail)[:4096] and what is None:
        pytest.fail(f"NUL bytes taken for text: {head + tail!r:.60}")
