"""The ``poselift`` command: one entry point, one subcommand per job.

The subcommands live by concern: :mod:`.train` (train, model-info; their flags made from the
settings' one declaration), :mod:`.evaluate` (evaluate, retrieve), :mod:`.infer`, :mod:`.data`
(prepare) and :mod:`.tools` (bench, export, demo); :mod:`.flags` holds what they share. Here:
the parser assembled, errors turned into one line and an exit status.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import PoseliftError
from .flags import HelpFormatter

_HelpFormatter = HelpFormatter  # its old name


def __getattr__(name: str):
    """``TRAIN_FLAGS`` / ``MODEL_FLAGS``: flag dest -> TrainConfig / ModelConfig field, made from the
    settings' declaration (read on first use: it imports the configs)."""
    if name in ("TRAIN_FLAGS", "MODEL_FLAGS"):
        from .train import model_flags, train_flags

        return train_flags() if name == "TRAIN_FLAGS" else model_flags()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .data import add_prepare_parser
    from .evaluate import add_evaluate_parsers
    from .infer import add_infer_parser
    from .tools import add_tool_parsers
    from .train import add_model_info_parser, add_train_parser

    p = argparse.ArgumentParser(prog="poselift", description="3D human pose estimation in video",
                                formatter_class=HelpFormatter)
    p.add_argument("--version", action="version", version=f"poselift {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND",
                           help="poselift COMMAND --help for its flags")
    add_model_info_parser(sub)
    add_train_parser(sub)
    add_evaluate_parsers(sub)
    add_infer_parser(sub)
    add_prepare_parser(sub)
    add_tool_parsers(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:  # the flags' types check their numbers and raise PoseliftError naming the flag
        a = parser.parse_args(argv)
    except PoseliftError as e:
        if "--debug" in (sys.argv[1:] if argv is None else argv):
            raise
        print(f"poselift: error: {e}", file=sys.stderr)
        return 2
    try:
        return a.func(a)
    except PoseliftError as e:
        if a.debug:
            raise
        print(f"poselift: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C; SIGTERM and SIGHUP too while outputs are open (poselift.transaction)
        signum = getattr(e, "signum", 2)
        print("poselift: interrupted" if signum == 2 else f"poselift: stopped by {e}", file=sys.stderr)
        return 128 + signum
    except (OSError, MemoryError) as e:  # the system's errors: one line naming the file (or flag) at fault
        if a.debug:
            raise
        print(f"poselift: error: {_one_line(system_error_message(e, a))}", file=sys.stderr)
        return 2


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


_OUTPUT_FLAGS = ("out", "json", "jsonl", "onnx", "checkpoint_dir")
_INPUT_FLAGS = ("source", "bench", "dataset", "checkpoint", "config", "train_dir")
_WRITE_ERRNOS = {"ENOSPC", "EDQUOT", "EFBIG", "EROFS"}


def _flag_value(a, names) -> str | None:
    for name in names:
        value = getattr(a, name, None)
        if isinstance(value, (str, os.PathLike)) and str(value) and str(value) != "-":
            return os.fspath(value)
    return None


def system_error_message(e: BaseException, a=None) -> str:
    """``<file>: <what went wrong>`` for an OSError or MemoryError that reached the command line:
    the file the system named, else the output (for a full disk) or input the command was
    given; the errno's wording, not Python's."""
    from ..data.filetype import errno_name, os_error_text

    if isinstance(e, MemoryError):
        where = _flag_value(a, _INPUT_FLAGS) if a is not None else None
        text = "out of memory (the input is too large for this machine's memory)"
        return f"{where}: {text}" if where else text
    name, text = errno_name(e), os_error_text(e)

    def _name(value) -> str:
        return os.fsdecode(value) if isinstance(value, (bytes, os.PathLike)) else str(value)

    where = _name(e.filename) if e.filename not in (None, "") else None
    if where is not None and e.filename2 not in (None, ""):
        where = f"{where} -> {_name(e.filename2)}"
    if where is None and a is not None:
        order = _OUTPUT_FLAGS + _INPUT_FLAGS if name in _WRITE_ERRNOS else _INPUT_FLAGS + _OUTPUT_FLAGS
        where = _flag_value(a, order)
    return f"{where}: {text}" if where else text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
