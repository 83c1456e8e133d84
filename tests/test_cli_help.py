"""The command line's help (issue 18): every flag explained, the defaults shown, train's effective ones."""

import argparse
import re

import pytest

from poselift.cli import MODEL_FLAGS, TRAIN_FLAGS, build_parser
from poselift.config import TrainConfig


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _entries(command: str) -> dict[str, str]:
    """``train --help``'s entries: the flags' line (as ``-e EPOCHS, --epochs EPOCHS``) -> their help, unwrapped."""
    entries, flags = {}, None
    for line in _subparsers(build_parser())[command].format_help().splitlines():
        if line.startswith("  -") or (flags is not None and line.startswith("  ") and not line.startswith("   ")):
            flags, _, text = line.strip().partition("  ")
            entries[flags] = text.strip()
        elif line.startswith("    ") and flags is not None:
            entries[flags] = f"{entries[flags]} {line.strip()}".strip()
        else:
            flags = None
    return entries


def test_every_flag_has_help():
    parser = build_parser()
    missing = []
    for name, p in [("poselift", parser), *_subparsers(parser).items()]:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not (action.help or "").strip():
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"flags without help: {missing}"


def test_train_help_shows_the_config_defaults():
    entries = _entries("train")
    cfg = TrainConfig()
    for flags, value in [("-e EPOCHS, --epochs EPOCHS", cfg.epochs),
                         ("-b BATCH_SIZE, --batch-size BATCH_SIZE", cfg.batch_size),
                         ("-lr LEARNING_RATE, --learning-rate LEARNING_RATE", cfg.lr),
                         ("-ch CHANNELS, --channels CHANNELS", cfg.model.channels),
                         ("--seed SEED", cfg.seed),
                         ("-arc W,W,..., --architecture W,W,...", "3,3,3"),
                         ("--checkpoint-dir DIR, -c DIR", cfg.checkpoint_dir)]:
        assert flags in entries, (flags, list(entries))
        assert entries[flags].endswith(f"(default: {value})"), (flags, entries[flags])
    assert "(default: 1024)" in entries["-b BATCH_SIZE, --batch-size BATCH_SIZE"]
    assert "(default: 0.001)" in entries["-lr LEARNING_RATE, --learning-rate LEARNING_RATE"]
    assert "(default: 1234)" in entries["--seed SEED"]
    for flags, text in entries.items():  # no noise: unset (None), off (False) or empty defaults are not shown
        for noise in ("(default: None)", "(default: False)", "(default: )"):
            assert noise not in text, (flags, text)
    assert "(default" not in entries["--init CHECKPOINT"] and "(default" not in entries["--no-flip"]


def test_train_help_is_grouped():
    text = _subparsers(build_parser())["train"].format_help()
    for title in ("data", "model", "optimisation", "augmentation", "semi-supervised", "multi-view",
                  "run folder and output"):
        assert f"\n{title}:" in text, title


def test_infer_help_is_grouped_with_defaults():
    text = _subparsers(build_parser())["infer"].format_help()
    for title in ("input", "people", "camera and body", "gaps and post-processing", "realtime", "output"):
        assert f"\n{title}:" in text, title
    flat = " ".join(text.split())
    assert "(default: 0.3)" in flat and "(default: auto)" in flat and "(default: None)" not in flat


def test_train_flags_default_to_none():
    """The layering (TrainConfig < --config file < flags given) needs every train flag unset by default."""
    train = _subparsers(build_parser())["train"]
    for action in train._actions:
        if action.dest == "help":
            continue
        assert action.default in (None, False), (action.dest, action.default)
    dests = {a.dest for a in train._actions}
    assert set(TRAIN_FLAGS) <= dests and set(MODEL_FLAGS) <= dests


@pytest.mark.parametrize("command", ["model-info", "train", "evaluate", "retrieve", "infer", "prepare", "bench",
                                     "export", "demo"])
def test_help_formats(command, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([command, "--help"])
    assert e.value.code == 0
    assert "(default: None)" not in capsys.readouterr().out


def test_help_and_version_do_not_import_torch():
    """The flags are made from the settings' declarations without loading torch (a second and
    more): `poselift --version` and `--help` answer at once."""
    import subprocess
    import sys

    code = ("import sys\nfrom poselift.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('torch', 'cv2', 'mediapipe') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
