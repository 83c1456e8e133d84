"""Each setting declared once (issue 18): TrainConfig / ModelConfig fields carry their flag, help,
group and resume rule; the train flags, ``--resume``'s comparison and the bundled models'
recipes all follow from them. Also config.py itself: TOML files, their errors, merging."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from poselift.cli import MODEL_FLAGS, TRAIN_FLAGS, build_parser
from poselift.cli.train import train_config
from poselift.config import GROUPS, TrainConfig, load_toml, merge
from poselift.errors import PoseliftError
from poselift.models.temporal import ModelConfig
from poselift.settings import MAY_CHANGE, MUST_MATCH, default_of, must_match, setting, setting_of
from helpers import synthetic_sequences

ASSETS = Path(__file__).resolve().parents[1] / "src" / "poselift" / "assets"
COMMAND_FLAGS = {"help", "config", "resume", "overwrite", "quiet"}  # train's flags that are no setting


def _train_parser():
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices["train"]
    raise AssertionError("no train subcommand")


def _parse(*flags):
    return build_parser().parse_args(["train", *flags])


# ---------------------------------------------------------------- the declaration


@pytest.mark.parametrize("cls", [TrainConfig, ModelConfig])
def test_every_field_declares_flag_help_group_and_resume_rule(cls):
    for f in dataclasses.fields(cls):
        s = setting_of(f)
        assert s is not None, f"{cls.__name__}.{f.name}: declare it with poselift.settings.setting(...)"
        assert isinstance(s.flags, tuple) and all(x.startswith("-") for x in s.flags), f.name
        assert s.help.strip(), f.name
        assert s.group in GROUPS, (f.name, s.group)
        assert s.resume in (MUST_MATCH, MAY_CHANGE), f.name


def test_fields_without_a_flag_are_the_declared_ones():
    no_flag = {f.name for f in dataclasses.fields(TrainConfig) if not setting_of(f).flags}
    assert no_flag == {"model", "bn_momentum_start", "bn_momentum_end"}
    assert {f.name for f in dataclasses.fields(ModelConfig) if not setting_of(f).flags} == {"in_features"}


def test_setting_requires_a_decision():
    with pytest.raises(TypeError):
        setting(1, help="x", group="data", resume=MUST_MATCH)  # flag=None must be said
    with pytest.raises(TypeError):
        setting(1, flag=None, help="x", group="data")  # so must the resume rule
    with pytest.raises(ValueError):
        setting(1, flag=None, help="x", group="data", resume="maybe")
    with pytest.raises(ValueError):
        setting(1, flag="--x", help=" ", group="data", resume=MUST_MATCH)


def test_the_resume_rule():
    """Must match: what the rest of the run depends on (model, data, augmentation, losses, schedule,
    seed, weight average, starting weights); may change: where, how fast, in which number
    format it runs and where its progress is written."""
    may = {f.name for f in dataclasses.fields(TrainConfig) if setting_of(f).resume == MAY_CHANGE}
    assert may == {"checkpoint_dir", "threads", "engine", "device", "precision", "checkpoint_every"}
    keys = must_match(TrainConfig)
    for name in ("calibration", "bn_momentum_start", "bn_momentum_end", "lr", "train_dir", "init", "ema", "seed"):
        assert name in keys
    assert [k for k in keys if k.startswith("model.")] == [f"model.{f.name}" for f in dataclasses.fields(ModelConfig)]
    assert len(keys) == len(set(keys)) == len(dataclasses.fields(TrainConfig)) - 1 - len(may) + len(
        dataclasses.fields(ModelConfig))


# ---------------------------------------------------------------- flags made from it


def test_every_flag_maps_to_its_field_and_back():
    train = _train_parser()
    settings = {}
    for cls, prefix in ((TrainConfig, ""), (ModelConfig, "model.")):
        for f in dataclasses.fields(cls):
            if setting_of(f).flags:
                settings[prefix + f.name] = (f, setting_of(f))
    actions = {a.dest: a for a in train._actions if a.dest not in COMMAND_FLAGS}
    assert {name.rpartition(".")[2] for name in settings} == set(actions)
    for name, (f, s) in settings.items():
        action = actions[name.rpartition(".")[2]]
        assert tuple(action.option_strings) == s.flags, name  # spellings kept, short ones where they were
        assert action.default is None and action.help == s.help
        assert getattr(action, "config_field") == name
        if s.choices:
            assert tuple(action.choices) == s.choices
    assert TRAIN_FLAGS == {d: n for d, n in ((n.rpartition(".")[2], n) for n in settings) if "." not in n}
    assert MODEL_FLAGS == {n.rpartition(".")[2]: n[6:] for n in settings if n.startswith("model.")}
    assert TRAIN_FLAGS["lr"] == "lr" and MODEL_FLAGS["filter_widths"] == "filter_widths"


def test_each_flag_sets_its_setting(tmp_path):
    """Every flag given, one by one: the config it makes differs from the defaults in that field only."""
    values = {int: "3", float: "0.5", str: None}
    default = TrainConfig().to_dict()
    for cls, prefix in ((TrainConfig, ""), (ModelConfig, "model.")):
        for f in dataclasses.fields(cls):
            s = setting_of(f)
            if not s.flags:
                continue
            value = default_of(f)
            if isinstance(value, bool):
                argv, want = [s.flags[-1]], not value
            elif isinstance(value, list):
                argv, want = [s.flags[-1], "3,5"], [3, 5]
            elif s.choices:
                want = [c for c in s.choices if c != value][0]
                argv = [s.flags[-1], want]
            elif type(value) is str:
                argv, want = [s.flags[-1], "x1"], "x1"
            else:
                argv = [s.flags[-1], values[type(value)]]
                want = type(value)(argv[1])
            a = _parse(*argv)
            from poselift.cli.flags import given_settings

            over = given_settings(a, TrainConfig)
            key = prefix + f.name
            got = over["model"][f.name] if prefix else over[f.name]
            assert got == want, (key, got, want)
            assert len(over) == 1 and (not prefix or len(over["model"]) == 1), (key, over)
            assert (default["model"] if prefix else default)[f.name] != want, key


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path):
    (tmp_path / "run.toml").write_text('samples = 500\nlr = 0.01\nseed = 3\nflip = false\n'
                                       '[model]\nchannels = 64\nfilter_widths = [3, 3]\n')
    a = _parse("--config", str(tmp_path / "run.toml"), "-lr", "0.02", "-ch", "32", "--detector-noise", "-c", "x")
    cfg = train_config(a)
    assert (cfg.samples, cfg.lr, cfg.seed, cfg.flip, cfg.detector_noise) == (500, 0.02, 3, False, True)
    assert (cfg.model.channels, cfg.model.filter_widths, cfg.model.dropout) == (32, [3, 3], 0.25)
    assert cfg.checkpoint_dir == "x" and cfg.batch_size == TrainConfig().batch_size


def test_a_bad_file_value_names_the_file(tmp_path):
    (tmp_path / "bad.toml").write_text('samples = 10\nlr = "fast"\n')
    with pytest.raises(PoseliftError, match="'lr' must be a number") as e:
        train_config(_parse("--config", str(tmp_path / "bad.toml")))
    assert e.value.path == str(tmp_path / "bad.toml")


# ---------------------------------------------------------------- config.py


def test_toml_load_errors(tmp_path):
    with pytest.raises(PoseliftError, match="config file not found"):
        load_toml(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("samples = = 3\n")
    with pytest.raises(PoseliftError, match="not valid TOML"):
        load_toml(tmp_path / "broken.toml")
    (tmp_path / "latin1.toml").write_bytes('actions = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(PoseliftError, match="not valid TOML"):
        load_toml(tmp_path / "latin1.toml")
    with pytest.raises(PoseliftError):
        load_toml(tmp_path)  # a folder
    (tmp_path / "ok.toml").write_text('samples = 3\n[model]\nchannels = 8\n')
    assert load_toml(tmp_path / "ok.toml") == {"samples": 3, "model": {"channels": 8}}


def test_unknown_keys_are_named():
    with pytest.raises(PoseliftError, match="unknown config key.*: sample, lrr"):
        TrainConfig.from_dict({"sample": 3, "lrr": 1})
    with pytest.raises(PoseliftError, match=r"unknown config key.*: model\.channel"):
        TrainConfig.from_dict({"samples": 3, "model": {"channel": 8}})
    with pytest.raises(PoseliftError, match="'model' must be a table"):
        TrainConfig.from_dict({"model": 3})


@pytest.mark.parametrize("key,value,kind", [
    ("samples", "10", "a whole number"), ("samples", 1.5, "a whole number"), ("samples", True, "a whole number"),
    ("lr", "0.1", "a number"), ("lr", False, "a number"), ("flip", 1, "true or false"), ("data", 3, "text"),
    ("model.filter_widths", [3, 1.5], "a list of whole numbers"), ("model.channels", "8", "a whole number"),
    ("model.causal", "yes", "true or false"),
])
def test_type_errors_name_the_key(key, value, kind):
    d: dict = {"samples": 10}
    if key.startswith("model."):
        d["model"] = {key[6:]: value}
    else:
        d[key] = value
    with pytest.raises(PoseliftError, match=f"'{key.rpartition('.')[2]}' must be {kind}"):
        TrainConfig.from_dict(d)


def test_ints_are_taken_for_floats_and_round_trip():
    cfg = TrainConfig.from_dict({"samples": 10, "lr": 1, "model": {"dropout": 0}})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.model.dropout == 0.0
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({}) == TrainConfig()


def test_merge():
    base = {"a": 1, "model": {"channels": 8, "dropout": 0.1}, "b": {"x": 1}}
    over = {"a": 2, "model": {"channels": 16}, "b": 3, "c": {"y": 1}}
    out = merge(base, over)
    assert out == {"a": 2, "model": {"channels": 16, "dropout": 0.1}, "b": 3, "c": {"y": 1}}
    assert base == {"a": 1, "model": {"channels": 8, "dropout": 0.1}, "b": {"x": 1}}  # untouched
    assert merge({}, {}) == {} and merge(base, {}) == base


# ---------------------------------------------------------------- resume


_data = synthetic_sequences


def _cfg(tmp_path, **kw):
    base = dict(model=ModelConfig(filter_widths=[3, 3], channels=16), checkpoint_dir=str(tmp_path / "run"),
                epochs=3, batch_size=32, seed=7, checkpoint_every=4, threads=1)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def started_run(tmp_path_factory):
    from poselift.train.supervised import Trainer

    tmp_path = tmp_path_factory.mktemp("resume")
    data = _data()
    Trainer(_cfg(tmp_path), data=data, progress=False).train(stop_after_steps=4)
    return tmp_path, data


@pytest.mark.parametrize("change,named", [
    ({"calibration": "other_cameras.json"}, "calibration"),
    ({"bn_momentum_start": 0.2}, "bn_momentum_start"),
    ({"bn_momentum_end": 0.01}, "bn_momentum_end"),
    ({"bn_momentum_start": 0.2, "bn_momentum_end": 0.01}, "bn_momentum_start, bn_momentum_end"),
    ({"model": ModelConfig(filter_widths=[3, 3], channels=16, dropout=0.5)}, "model.dropout"),
])
def test_resume_refuses_a_changed_setting_naming_it(started_run, change, named):
    from poselift.train.supervised import Trainer

    tmp_path, data = started_run
    with pytest.raises(PoseliftError, match=rf"cannot resume: .*other settings \({named}\)"):
        Trainer(_cfg(tmp_path, **change), data=data, progress=False).resume()


def test_resume_takes_a_changed_may_change_setting(started_run):
    from poselift.train.supervised import Trainer

    tmp_path, data = started_run
    t = Trainer(_cfg(tmp_path, threads=2, checkpoint_every=2, engine="reference", precision="bf16"), data=data,
                progress=False)
    assert t.resume() and t.state.drawn > 0


def test_resume_via_the_command_names_calibration(tmp_path, capsys):
    from helpers import write_cmu_train

    from poselift.cli import main

    train = write_cmu_train(tmp_path / "train")
    args = ["train", "--train-dir", str(train), "-c", str(tmp_path / "run"), "-arc", "3", "-ch", "8", "-b", "32",
            "--samples", "256", "--checkpoint-every", "2", "-q"]
    assert main(args) == 0
    last = tmp_path / "run" / "last.safetensors"
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(last), "pt") as f:  # as if killed mid-run
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    doc = json.loads(meta["poselift"])
    doc["state"]["finished"], doc["state"]["drawn"] = False, 128
    save_file(tensors, str(last), metadata={"poselift": json.dumps(doc)})
    cams = tmp_path / "cams.json"
    cams.write_bytes((ASSETS / "h36m_cameras.json").read_bytes())
    capsys.readouterr()
    assert main(args + ["--resume", "--calibration", str(cams)]) == 2
    assert "cannot resume: the run was started with other settings (calibration)" in capsys.readouterr().err
    assert main(args + ["--resume", "--threads", "1"]) == 0  # where and how fast it runs may change


# ---------------------------------------------------------------- the bundled models' recipes

PATHS = ("train_dir", "checkpoint_dir")


def _bundled():
    return sorted(ASSETS.glob("*.safetensors"))


def test_every_bundled_model_has_a_recipe():
    assert _bundled()
    for model in _bundled():
        assert model.with_suffix(".recipe.toml").is_file(), model.name


@pytest.mark.parametrize("model", _bundled(), ids=lambda p: p.stem)
def test_recipe_is_the_bundled_models_recorded_train_config(model):
    from poselift.models.checkpoint import read_meta

    recipe = load_toml(model.with_suffix(".recipe.toml"))
    recorded = dict(read_meta(model)["train_config"])
    for key in PATHS:
        recorded.pop(key)
    assert recipe == recorded  # exactly: every key recorded, nothing else
    filled = TrainConfig.from_dict(recorded).to_dict()  # keys added since: their defaults, as --resume does
    assert TrainConfig.from_dict(recipe).to_dict() == filled


@pytest.mark.parametrize("model", _bundled(), ids=lambda p: p.stem)
def test_recipe_loads_with_train_config(model, tmp_path):
    recipe = model.with_suffix(".recipe.toml")
    cfg = train_config(_parse("--config", str(recipe), "--train-dir", str(tmp_path), "-c", str(tmp_path / "r")))
    assert cfg.train_dir == str(tmp_path) and cfg.checkpoint_dir == str(tmp_path / "r")
    assert cfg.samples > 0 and cfg.model.filter_widths == [3, 3, 3]
