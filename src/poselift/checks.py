"""Every number checked where it enters: flags, config files, checkpoint metadata, API arguments.

Each check returns the value (as a plain ``float`` or ``int``) or raises a
:class:`~poselift.errors.PoseliftError` that names it: ``--fps must be a number greater than
0 and at most 10000, got 'inf'``. :func:`flag` makes an argparse ``type=`` of a check, so a bad
flag fails while the command line is read, before any work. :func:`as_array` turns what an
API caller passes (arrays, nested lists, torch tensors, also ones that require grad or live
on a GPU) into a numpy array, or says what is wrong with it. :func:`dumps` writes JSON that
never holds NaN or Infinity (they become ``null``).
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import PoseliftError

# bounds of what a real input can be (see the callers)
MAX_IMAGE_SIDE = 100_000  # pixels: a gigapixel panorama is ~ 40000 wide
MAX_FPS = 10_000.0  # frames per second: high-speed cameras


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _scalar(value):
    """0-d numpy arrays and torch tensors as their Python number; anything else as it is."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (TypeError, ValueError, RuntimeError):
            return value
    return value


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_number(value) -> bool:
    """A real number (not a bool, not text; 0-d arrays and tensors count), finite or not."""
    return _is_real(_scalar(value))


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def describe(kind: str, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False, unit: str = "") -> str:
    """'a number from 0 to 1', 'a whole number 1 or more', 'a number greater than 0 ...'."""
    what = "a whole number" if kind == "int" else "a number"
    low = None if lo is None else (f"greater than {_fmt(lo)}" if lo_open else f"{_fmt(lo)} or more")
    high = None if hi is None else (f"less than {_fmt(hi)}" if hi_open else f"at most {_fmt(hi)}")
    if lo is not None and hi is not None and not lo_open and not hi_open:
        text = f"{what} from {_fmt(lo)} to {_fmt(hi)}"
    elif low and high:
        text = f"{what} {low} and {high}"
    elif low or high:
        text = f"{what} {low or high}"
    else:
        text = "a finite number" if kind != "int" else what
    return text + (f" {unit}" if unit else "")


def number(name: str, value, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
           unit: str = "", path=None) -> float:
    """``value`` as a finite float within ``lo``..``hi`` (each end open with ``lo_open`` /
    ``hi_open``, absent when None); a :class:`PoseliftError` naming ``name`` (and the file
    ``path`` it came from, if any) otherwise."""
    value = _scalar(value)
    ok = _is_real(value)
    if ok:
        try:
            x = float(value)
        except (OverflowError, ValueError):  # an int too big for a float
            ok = False
        else:
            ok = math.isfinite(x) and (lo is None or (x > lo if lo_open else x >= lo)) \
                and (hi is None or (x < hi if hi_open else x <= hi))
    if not ok:
        raise PoseliftError(f"{name} must be {describe('float', lo, hi, lo_open, hi_open, unit)}, got {_show(value)}",
                            path)
    return x


def finite(name: str, value) -> float:
    """Any finite number."""
    return number(name, value)


def positive(name: str, value, hi=None, unit: str = "", path=None) -> float:
    """A finite number greater than 0 (and at most ``hi``)."""
    return number(name, value, 0, hi, lo_open=True, unit=unit, path=path)


def in_range(name: str, value, lo, hi, unit: str = "", path=None) -> float:
    """A finite number from ``lo`` to ``hi``, both included."""
    return number(name, value, lo, hi, unit=unit, path=path)


def whole(name: str, value, lo=None, hi=None, unit: str = "", path=None) -> int:
    """``value`` as an int within ``lo``..``hi`` (both included). Floats with no fraction
    (``1920.0``) are taken; bools, text, fractions and non-finite numbers are not."""
    value = _scalar(value)
    ok = _is_real(value)
    if ok and not isinstance(value, numbers.Integral):
        ok = math.isfinite(value) and float(value).is_integer()
    if ok:
        n = int(value)
        ok = (lo is None or n >= lo) and (hi is None or n <= hi)
    if not ok:
        raise PoseliftError(f"{name} must be {describe('int', lo, hi, unit=unit)}, got {_show(value)}", path)
    return n


def optional(check: Callable, name: str, value, *args, **kwargs):
    """None stays None; anything else goes through ``check``."""
    return None if value is None else check(name, value, *args, **kwargs)


def flag(name: str, kind: type = float, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
         unit: str = "", text: str | None = None) -> Callable[[str], float | int]:
    """An argparse ``type=`` for flag ``name``: the text parsed as ``kind`` (float or int) and
    checked; a :class:`PoseliftError` naming the flag (argparse lets it through, and
    :func:`poselift.cli.main` prints it as one line) when it is not a number in range.
    ``text`` replaces "must be <the range>" in the message."""
    integer = kind is int
    what = text or f"must be {describe('int' if integer else 'float', lo, hi, lo_open, hi_open, unit)}"

    def parse(arg: str):
        try:
            value = int(arg)
        except ValueError:
            try:
                value = float(arg)
            except ValueError:
                value = None
        try:
            if value is None:
                raise PoseliftError("not a number")
            if integer:
                return whole(name, value, lo, hi, unit=unit)
            return number(name, value, lo, hi, lo_open=lo_open, hi_open=hi_open, unit=unit)
        except PoseliftError:
            raise PoseliftError(f"{name} {what}, got {arg!r}") from None

    parse.__name__ = kind.__name__
    return parse


@dataclass(frozen=True)
class Limit:
    """The range of one numeric setting: ``kind`` int or float, ends ``lo``/``hi`` (None:
    none), open with ``lo_open``/``hi_open``; ``text`` replaces the generated description."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""

    def check(self, name: str, value):
        if self.kind is int:
            return whole(name, value, self.lo, self.hi, unit=self.unit)
        return number(name, value, self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open, unit=self.unit)

    def flag(self, name: str, text: str | None = None):
        return flag(name, self.kind, self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open, unit=self.unit,
                    text=text)


_FRACTION = Limit(float, 0, 1, lo_open=True)  # (0, 1]
_MOMENTUM = Limit(float, 0, 1, lo_open=True)
_JOINTS = Limit(int, 1, 1000)
_WIDTH = Limit(int, 0, 8192)

# Every numeric setting of training and of the model, by its config key (TrainConfig and
# ModelConfig fields): flags, config files, checkpoint metadata and the API all use these.
LIMITS: dict[str, Limit] = {
    # training
    "subset": _FRACTION,
    "epochs": Limit(int, 0, 1_000_000),
    "samples": Limit(int, 0, 10**13),
    "batch_size": Limit(int, 1, 2**20),
    "lr": Limit(float, 0, 1, lo_open=True),  # Adam: 1e-3 is the recipe; above 1 only diverges
    "lr_decay": Limit(float, 0, 1, lo_open=True),
    "bn_momentum_start": _MOMENTUM,
    "bn_momentum_end": _MOMENTUM,
    "stride": Limit(int, 1, 100_000),
    "frame_stride": Limit(int, 1, 100_000),
    "downsample": Limit(int, 1, 1000),
    "random_cameras": Limit(int, 0, 1000),
    "seed": Limit(int, 0, 2**32 - 1),
    "threads": Limit(int, 0, 4096),
    "checkpoint_every": Limit(int, 0, 10**9),
    "ema": Limit(float, 0, 1, hi_open=True),
    "warmup": Limit(int, 0, 1_000_000),
    "label_fraction": _FRACTION,
    "margin": Limit(float, 0, 100),
    "window": Limit(int, 0, 1_000_000),
    "multiview_weight": Limit(float, 0, 1e6),
    # model
    "channels": Limit(int, 1, 8192),
    "dropout": Limit(float, 0, 1, hi_open=True),
    "joints_in": _JOINTS,
    "joints_out": _JOINTS,
    "in_features": Limit(int, 1, 16),
    "embed_dim": _WIDTH,
    "view_dim": _WIDTH,
}
MAX_RECEPTIVE_FIELD = 2187  # frames: 3^7 (the published models: 27, 81, 243)
MAX_LAYERS = 32
MAX_PARAMETERS = 2**30  # 4 GiB of float32 weights; the published 243-frame model has 17 M


def image_size(width, height, path=None) -> tuple[int, int]:
    """(width, height) as whole numbers of pixels from 1 to :data:`MAX_IMAGE_SIDE`."""
    return (whole("width", width, 1, MAX_IMAGE_SIDE, unit="pixels", path=path),
            whole("height", height, 1, MAX_IMAGE_SIDE, unit="pixels", path=path))


def frame_rate(name: str, fps, path=None) -> float:
    """A frame rate: greater than 0, at most :data:`MAX_FPS` frames per second."""
    return number(name, fps, 0, MAX_FPS, lo_open=True, unit="frames per second", path=path)


def as_array(name: str, value, dtype=np.float64, path=None) -> np.ndarray:
    """``value`` (a numpy array, nested lists, a torch tensor, also one that requires grad,
    lives on a GPU or is bfloat16) as a numpy array of ``dtype``; a :class:`PoseliftError`
    naming ``name`` (and ``path``) for ragged lists, text, objects or complex numbers."""
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            value = value.float()
        value = value.numpy()
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as e:  # ragged lists, unconvertible objects
        raise PoseliftError(f"{name} must be an array of numbers with the same length in every row "
                            f"({str(e).splitlines()[0][:80]})", path) from None
    if arr.dtype.kind not in "iuf":
        kind = {"U": "text", "S": "bytes", "O": "Python objects (a ragged list?)", "c": "complex numbers",
                "b": "true/false values"}.get(arr.dtype.kind, str(arr.dtype))
        raise PoseliftError(f"{name} must be an array of numbers, got {kind}", path)
    with np.errstate(over="ignore"):
        return arr.astype(dtype, copy=False)


def json_safe(obj):
    """``obj`` ready for JSON: NaN and infinities (Python or numpy) become None, numpy
    scalars and arrays plain numbers and lists, tuples lists; everything else as it is."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def dumps(obj, **kwargs) -> str:
    """``json.dumps`` of :func:`json_safe` (``obj``): valid JSON, never NaN or Infinity."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)
