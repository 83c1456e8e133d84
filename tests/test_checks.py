"""Every number checked where it enters: the checks, the model and training settings, the
checkpoint metadata schema, the API's arguments, training that diverges, JSON without NaN."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from poselift import checks
from poselift.config import TrainConfig
from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig, TemporalModel, count_parameters, parameter_estimate
from poselift.train.checkpoint import FORMAT, read_meta

NOT_NUMBERS = [float("nan"), float("inf"), -float("inf"), "3", None, True, [3], 1 + 2j, object()]


# ----------------------------------------------------------------------------- the checks

@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_number_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(PoseliftError, match="^speed must be a finite number, got"):
        checks.finite("speed", value)


def test_number_ranges_and_messages():
    assert checks.positive("x", 2) == 2.0 and isinstance(checks.positive("x", np.float32(2)), float)
    assert checks.in_range("x", np.array(0.5), 0, 1) == 0.5  # 0-d arrays and tensors are numbers
    assert checks.number("x", torch.tensor(3.0), 0) == 3.0
    with pytest.raises(PoseliftError, match="x must be a number greater than 0, got 0"):
        checks.positive("x", 0)
    with pytest.raises(PoseliftError, match="from 0 to 1, got 1.5"):
        checks.in_range("x", 1.5, 0, 1)
    with pytest.raises(PoseliftError, match="0 or more and less than 1, got 1"):
        checks.number("x", 1, 0, 1, hi_open=True)
    with pytest.raises(PoseliftError, match="x must be a number greater than 0 pixels") as e:
        checks.positive("x", -1, unit="pixels", path="a.json")
    assert e.value.path == "a.json"
    with pytest.raises(PoseliftError):
        checks.number("x", 10**400)  # too big for a float


def test_whole_numbers():
    assert checks.whole("n", 3) == 3 and checks.whole("n", 1920.0) == 1920 and checks.whole("n", np.int64(5)) == 5
    for bad in (1.5, "3", True, float("nan"), float("inf"), None):
        with pytest.raises(PoseliftError, match="n must be a whole number"):
            checks.whole("n", bad)
    with pytest.raises(PoseliftError, match="n must be a whole number from 1 to 10, got 0"):
        checks.whole("n", 0, 1, 10)


def test_flag_types_name_the_flag():
    fps = checks.flag("--fps", float, 0, 100, lo_open=True)
    assert fps("25") == 25.0
    for text in ("nan", "inf", "-inf", "0", "-3", "101", "abc", ""):
        with pytest.raises(PoseliftError, match=f"^--fps must be a number greater than 0 and at most 100, "
                                                f"got {text!r}"):
            fps(text)
    n = checks.flag("-e/--epochs", int, 0)
    assert n("7") == 7 and n("1e3") == 1000  # a whole number written as a float is one
    with pytest.raises(PoseliftError, match="^-e/--epochs must be a whole number 0 or more, got '1.5'"):
        n("1.5")
    worded = checks.flag("--gap", int, 0, text="is a number of frames")
    with pytest.raises(PoseliftError, match="^--gap is a number of frames, got '-1'$"):
        worded("-1")


def test_limits_cover_every_numeric_setting():
    numeric = {k for k, v in TrainConfig().to_dict().items() if type(v) in (int, float)}
    numeric |= {k for k, v in ModelConfig().to_dict().items() if type(v) in (int, float)}
    assert numeric <= set(checks.LIMITS)
    for key, limit in checks.LIMITS.items():  # the defaults are within their own limits
        default = getattr(TrainConfig(), key, None)
        default = getattr(ModelConfig(), key) if default is None else default
        assert limit.check(key, default) == default


@pytest.mark.parametrize("value", [[[1, 2], [3]], ["a", "b"], [None, 1], [1 + 1j], "12", {"a": 1}, [True, False]],
                         ids=["ragged", "text", "none", "complex", "string", "dict", "bools"])
def test_as_array_refuses_what_is_not_an_array_of_numbers(value):
    with pytest.raises(PoseliftError, match="^keypoints must be an array of numbers"):
        checks.as_array("keypoints", value)


def test_as_array_takes_tensors_that_require_grad_and_bfloat16():
    t = torch.ones(2, 3, requires_grad=True)
    a = checks.as_array("x", t * 2)
    assert isinstance(a, np.ndarray) and a.dtype == np.float64 and (a == 2).all()
    assert checks.as_array("x", torch.ones(3, dtype=torch.bfloat16), np.float32).dtype == np.float32
    assert checks.as_array("x", [[1, 2], [3, 4]]).shape == (2, 2)


def test_json_never_holds_nan_or_infinity():
    obj = {"a": float("nan"), "b": [1.0, float("inf"), np.float32("-inf")], "c": np.arange(3), "d": (np.int64(4),),
           "e": np.bool_(True), "f": {"g": np.array([np.nan, 2.5])}, "h": "text", "i": None}
    text = checks.dumps(obj)
    assert json.loads(text) == {"a": None, "b": [1.0, None, None], "c": [0, 1, 2], "d": [4], "e": True,
                                "f": {"g": [None, 2.5]}, "h": "text", "i": None}
    assert "NaN" not in text and "Infinity" not in text


# ----------------------------------------------------------------------------- model and training settings

@pytest.mark.parametrize("kw, match", [
    (dict(channels=10**9), "channels must be a whole number from 1 to 8192"),
    (dict(channels="1024"), "channels must be a whole number"),
    (dict(channels=16.5), "channels must be a whole number"),
    (dict(dropout=2.0), "dropout must be a number 0 or more and less than 1"),
    (dict(dropout=float("nan")), "dropout must be"),
    (dict(joints_in=0), "joints_in must be"),
    (dict(joints_out=10**6), "joints_out must be"),
    (dict(filter_widths="333"), "filter widths"),
    (dict(filter_widths=[3, 2]), "filter widths must be odd"),
    (dict(filter_widths=[3.0]), "filter widths must be odd"),
    (dict(filter_widths=[]), "at least one filter width"),
    (dict(filter_widths=[3] * 8), "receptive field of 6561 frames"),
    (dict(filter_widths=[1] * 40), "at most 32"),
    (dict(channels=8192, filter_widths=[3] * 7, dense=True), "parameters"),
    (dict(causal="yes"), "causal must be true or false"),
], ids=lambda v: str(v)[:40])
def test_model_settings_checked_before_anything_is_allocated(kw, match):
    with pytest.raises(PoseliftError, match=match):
        ModelConfig(**kw)


def test_parameter_estimate_matches_the_model():
    for cfg in (ModelConfig(channels=32), ModelConfig(channels=32, dense=True, filter_widths=[3, 3, 3]),
                ModelConfig(channels=16, filter_widths=[5, 3], joints_out=1)):
        assert abs(parameter_estimate(cfg) - count_parameters(TemporalModel(cfg))) <= 3 * cfg.joints_out


@pytest.mark.parametrize("key, value", [("lr", float("nan")), ("lr", 1e12), ("lr", 0.0), ("lr_decay", 0.0),
                                        ("batch_size", 0), ("samples", -5), ("epochs", 2.5), ("seed", -1),
                                        ("ema", 1.0), ("subset", 0.0), ("threads", -1), ("margin", float("inf")),
                                        ("bn_momentum_end", float("nan")), ("downsample", "2")])
def test_training_settings_checked(key, value):
    cfg = TrainConfig(samples=64)
    setattr(cfg, key, value)
    with pytest.raises(PoseliftError, match=f"config key '{key}' must be"):
        cfg.validate()


def test_config_file_values_checked():
    with pytest.raises(PoseliftError, match="channels must be"):
        TrainConfig.from_dict({"samples": 10, "model": {"channels": 10**7}})
    cfg = TrainConfig.from_dict({"samples": 10, "lr": float("nan")})  # TOML has nan and inf
    with pytest.raises(PoseliftError, match="config key 'lr'"):
        cfg.validate()


# ----------------------------------------------------------------------------- checkpoint metadata

def _checkpoint(path, meta, raw: str | None = None):
    meta = dict(meta, format=FORMAT)
    text = raw if raw is not None else json.dumps(meta)
    save_file({"model.x": torch.zeros(1)}, str(path), metadata={"poselift": text})
    return path


GOOD_MODEL = ModelConfig(filter_widths=[3], channels=8).to_dict()


@pytest.mark.parametrize("meta, match", [
    ({"model": dict(GOOD_MODEL, channels=2**40)}, "checkpoint metadata: channels must be a whole number"),
    ({"model": dict(GOOD_MODEL, channels="1024")}, "channels must be a whole number"),
    ({"model": dict(GOOD_MODEL, filter_widths=7)}, "filter width"),
    ({"model": dict(GOOD_MODEL, joints_in=None)}, "joints_in must be"),
    ({"model": [3, 3, 3]}, "'model' must be an object"),
    ({"model": GOOD_MODEL, "skeleton_in": 17}, "'skeleton_in' must be a skeleton name"),
    ({"model": GOOD_MODEL, "skeleton_out": "h99"}, "unknown skeleton 'h99'"),
    ({"model": GOOD_MODEL, "target": "everything"}, "target must be 'pose' or 'trajectory'"),
    ({"model": GOOD_MODEL, "state": {"epoch": -1}}, "state epoch must be"),
    ({"model": GOOD_MODEL, "state": {"lr": "fast"}}, "state lr must be"),
    ({"model": GOOD_MODEL, "state": {"history": 3}}, "'history' must be a list"),
    ({"model": GOOD_MODEL, "optimizer": {"scalars": {}}}, "optimiser state is not well-formed"),
    ({"model": GOOD_MODEL, "train_config": "yes"}, "'train_config' must be an object"),
], ids=lambda v: str(v)[:50])
def test_checkpoint_metadata_schema(tmp_path, meta, match):
    path = _checkpoint(tmp_path / "m.safetensors", meta)
    with pytest.raises(PoseliftError, match=match) as e:
        read_meta(path)
    assert e.value.path == str(path)


def test_checkpoint_metadata_not_an_object_or_without_model(tmp_path):
    from poselift.evaluate import load_model

    path = _checkpoint(tmp_path / "list.safetensors", {}, raw="[1, 2]")
    with pytest.raises(PoseliftError, match="must be a JSON object, got list"):
        read_meta(path)
    path = _checkpoint(tmp_path / "nomodel.safetensors", {"kind": "temporal-lifter"})
    with pytest.raises(PoseliftError, match="no 'model' settings") as e:
        load_model(path)
    assert e.value.path == str(path)


# ----------------------------------------------------------------------------- the API

KP = np.random.default_rng(0).uniform(300, 700, size=(12, 17, 2))


@pytest.fixture(scope="module")
def lifter():
    from poselift.infer import Lifter

    return Lifter(layout="coco17")


@pytest.mark.parametrize("width", ["1000", 0, -1000, 1000.5, float("nan"), float("inf"), None, True, 10**9],
                         ids=repr)
def test_lift_refuses_bad_widths_before_loading_anything(width, monkeypatch):
    from poselift import infer

    monkeypatch.setattr(infer, "Lifter", None)  # never reached
    with pytest.raises(PoseliftError, match="^width must be a whole number from 1 to 100000 pixels"):
        infer.lift(KP, width, 1000)


def test_lift_takes_a_tensor_that_requires_grad(lifter):
    t = torch.tensor(KP, dtype=torch.float32, requires_grad=True)
    out = lifter.lift(t, 1000, 1000)
    np.testing.assert_allclose(out, lifter.lift(KP.astype(np.float32), 1000, 1000))


def test_lift_refuses_ragged_lists_and_text(lifter):
    ragged = [KP[0].tolist(), KP[1, :5].tolist()]
    with pytest.raises(PoseliftError, match="keypoints must be an array of numbers"):
        lifter.lift(ragged, 1000, 1000)
    with pytest.raises(PoseliftError, match="keypoints must be an array of numbers, got text"):
        lifter.lift(np.full((3, 17, 2), "1"), 1000, 1000)


BAD_SIDES = st.one_of(st.integers(max_value=0), st.integers(min_value=100_001), st.floats(allow_nan=True).filter(
    lambda v: not (math.isfinite(v) and v.is_integer() and 1 <= v <= 100_000)), st.text(max_size=5), st.none(),
    st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=BAD_SIDES, height=st.integers(1, 4000))
def test_lift_bad_sizes_property(lifter, width, height):
    with pytest.raises(PoseliftError, match="width must be"):
        lifter.lift(KP, width, height)
    with pytest.raises(PoseliftError, match="height must be"):
        lifter.lift(KP, height, width)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(0, 20), min_size=0, max_size=4).filter(lambda s: s[1:] != [17, 2]),
       fill=st.sampled_from([0.0, np.nan, np.inf, 500.0]))
def test_lift_bad_arrays_property(lifter, shape, fill):
    """Any array of the wrong shape, or holding NaN / inf, is a PoseliftError, never a crash."""
    kp = np.full(shape, fill)
    with pytest.raises(PoseliftError):
        lifter.lift(kp, 1000, 1000)


def test_lift_bad_values_in_the_right_shape(lifter):
    for fill in (np.nan, np.inf):
        kp = KP.copy()
        kp[3, 4, 1] = fill
        with pytest.raises(PoseliftError, match="NaN or inf"):
            lifter.lift(kp, 1000, 1000)


def test_intrinsics_never_replace_a_given_focal():
    from poselift.infer import default_intrinsics

    f, c = default_intrinsics(1000, 500, 800.0)
    assert f[0] == 800.0 and tuple(c) == (500.0, 250.0)
    for focal in (0, -5, float("nan"), float("inf"), "800"):
        with pytest.raises(PoseliftError, match="focal length must be"):
            default_intrinsics(1000, 500, focal)
    with pytest.raises(PoseliftError, match="width must be"):
        default_intrinsics(0, 500)


def _sequence(**kw):
    from poselift.detect.keypoints import KeypointSequence

    rng = np.random.default_rng(0)
    kp = rng.uniform(300, 700, size=(30, 17, 2))
    return KeypointSequence(kp, np.ones((30, 17)), "coco17", **kw)


@pytest.mark.parametrize("kw, match", [
    (dict(fps=0), "fps must be a number greater than 0"), (dict(fps=float("inf")), "fps must be"),
    (dict(fps=-30), "fps must be"), (dict(width=0), "width must be"), (dict(width=-640), "width must be"),
    (dict(height="480"), "height must be"), (dict(min_score=float("nan")), "min_score must be"),
    (dict(max_gap=-1), "max_gap must be"), (dict(person_height=175), "person_height must be"),
    (dict(focal=0), "--focal must be a positive number"),
], ids=lambda v: str(v)[:30])
def test_reconstruct_checks_its_numbers(kw, match):
    from poselift.infer import reconstruct

    with pytest.raises(PoseliftError, match=match):
        reconstruct(_sequence(width=1000, height=1000, fps=30.0), **kw)


def test_reconstruct_checks_the_inputs_own_numbers():
    from poselift.infer import reconstruct

    with pytest.raises(PoseliftError, match="width must be") as e:
        reconstruct(_sequence(width=-1000, height=1000), source="dets.json")
    assert e.value.path == "dets.json"
    with pytest.raises(PoseliftError, match="the input's frame rate must be") as e:
        reconstruct(_sequence(width=1000, height=1000, fps=float("inf")), source="dets.json")
    assert e.value.path == "dets.json"


def test_stream_push_refuses_bad_frames_and_takes_tensors():
    from poselift.stream import Stream

    s = Stream.from_checkpoint("default")
    frame = np.zeros((17, 2), np.float32)
    s.push(torch.tensor(frame, requires_grad=True))
    for bad in ([[0.0, 0.0]] * 16 + [[0.0]], "frame", [["a", "b"]] * 17):
        with pytest.raises(PoseliftError, match="frame must be an array of numbers"):
            s.push(bad)
    with pytest.raises(PoseliftError, match="batch must be"):
        Stream.from_checkpoint("default", batch=0)


def test_realtime_lifter_checks_its_numbers_and_frames():
    from poselift.realtime import RealtimeLifter

    with pytest.raises(PoseliftError, match="width must be"):
        RealtimeLifter("coco17", 0, 1000)
    with pytest.raises(PoseliftError, match="min_score must be"):
        RealtimeLifter("coco17", 1000, 1000, min_score=float("nan"))
    rt = RealtimeLifter("coco17", 1000, 1000, trajectory="reprojection")
    with pytest.raises(PoseliftError, match="keypoints must be an array of numbers"):
        rt.push([[1.0, 2.0]] * 16 + [[3.0]], np.ones(17))
    with pytest.raises(PoseliftError, match=r"a frame is keypoints \(17, 2\) and scores \(17,\)"):
        rt.push(KP[0, :15], np.ones(15))
    assert rt.push(torch.tensor(KP[0], requires_grad=True), torch.ones(17)) is None  # filling its latency


@pytest.mark.parametrize("fps", [float("inf"), 0, -25, float("nan"), "30"], ids=repr)
def test_writers_refuse_frame_rates_that_are_not_one(tmp_path, fps):
    """No Infinity in the JSON, no BVH frame time of 0: the writers check fps themselves too."""
    from poselift.render.bvh import write_bvh
    from poselift.render.export import Motion
    from poselift.render.html import write_html

    from helpers import random_motion

    pose = random_motion(5)
    with pytest.raises(PoseliftError, match="fps must be a number greater than 0"):
        Motion(pose, fps)
    with pytest.raises(PoseliftError, match="fps must be a number greater than 0"):
        write_bvh(tmp_path / "a.bvh", pose, fps=fps)
    with pytest.raises(PoseliftError, match="fps must be a number greater than 0"):
        write_html(tmp_path / "a.html", pose, fps=fps)
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------- training never saves NaN

def _trainer(tmp_path, **kw):
    from poselift.data.dataset import SequenceSet
    from poselift.train.supervised import Trainer

    rng = np.random.default_rng(0)
    data = SequenceSet()
    for i in range(3):
        y = np.cumsum(rng.normal(scale=0.02, size=(40, 17, 3)), axis=0)
        y -= y[:, :1]
        data.append(y[..., :2] * 0.5, y, subject=f"{i:02d}", clip=f"c{i}", description="", camera="0")
    cfg = TrainConfig(model=ModelConfig(filter_widths=[3], channels=8), checkpoint_dir=str(tmp_path / "run"),
                      epochs=2, batch_size=32, seed=7, checkpoint_every=2, threads=1, **kw)
    return Trainer(cfg, data=data, progress=False)


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_training_stops_on_a_non_finite_loss_and_saves_nothing_after(tmp_path):
    t = _trainer(tmp_path)
    losses, steps = t.losses, []

    def poisoned(batch):  # the loss of the 4th step is NaN
        steps.append(1)
        terms = losses(batch)
        return {k: v * float("nan") for k, v in terms.items()} if len(steps) == 4 else terms

    t.losses = poisoned
    saved = {}
    real_save = t.save

    def save():
        real_save()
        saved.update(_files(t.dir))

    t.save = save
    with pytest.raises(PoseliftError, match=r"training diverged: the loss is nan at epoch 1, batch 4 "
                                            r"\(learning rate 0.001\); nothing saved past the checkpoint after "
                                            r"64 clips\. Lower the learning rate") as e:
        t.train()
    assert e.value.path == str(tmp_path / "run")
    assert _files(t.dir) == saved  # the checkpoint of step 2 is what is there


def test_weights_with_nan_are_never_saved(tmp_path):
    t = _trainer(tmp_path)
    t.train(stop_after_steps=2)  # a checkpoint at step 2
    before = _files(t.dir)
    with torch.no_grad():  # a finite loss can still leave non-finite weights behind
        next(t.model.parameters())[0] = float("inf")
    with pytest.raises(PoseliftError, match="training diverged: the weights hold NaN or inf .*nothing saved past "
                                            "the checkpoint after 64 clips"):
        t.save()
    assert _files(t.dir) == before
    fresh = _trainer(tmp_path / "fresh")  # the weight average too, before anything was saved
    fresh.ema.tensors["expand_conv.weight"].fill_(float("nan"))
    with pytest.raises(PoseliftError, match=r"NaN or inf \(expand_conv.weight\).*no checkpoint of this run was saved"):
        fresh.save()
    assert not (tmp_path / "fresh" / "run").exists()


def test_too_high_a_learning_rate_is_refused_before_training(tmp_path):
    with pytest.raises(PoseliftError, match="config key 'lr' must be a number greater than 0 and at most 1"):
        _trainer(tmp_path, lr=1e12)
