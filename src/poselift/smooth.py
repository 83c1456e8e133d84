"""Temporal smoothing of pose sequences: zero-phase Butterworth (offline) and the 1€ filter (streaming).

Arrays are (T, ...) with time on axis 0 (typically (T, J, 3) metres). Frames where nobody was
detected are NaN; every filter here leaves them NaN and treats each run of finite samples on
its own, so a gap never smears values from one run into the next.

* :func:`butterworth` — low-pass Butterworth run forwards and backwards
  (``scipy.signal.sosfiltfilt``): no lag, twice the attenuation of one pass. The defaults,
  order 4 and a 6 Hz cut-off, are Sports2D's (``[post-processing.butterworth]
  cut_off_frequency = 6, order = 4`` in its ``Config_demo.toml``), and
  ~6 Hz is also what Winter (*Biomechanics and Motor Control of Human Movement*) recommends for
  gait marker data. Needs the whole sequence: offline use only.
* :class:`OneEuroFilter` — the causal 1€ filter of Casiez, Roussel & Vogel, "1€ Filter: A Simple
  Speed-based Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012: a first-order
  low-pass whose cut-off rises with the (filtered) speed, so it removes jitter when a joint is
  still and lags little when it moves. For realtime use; :func:`one_euro` runs it over a sequence.

Why the 1€ filter is written here rather than imported: the authors' PyPI package
(``OneEuroFilter`` 0.2.1) filters one Python float per object (``math.fabs``), so a (17, 3) pose
would need 51 filter objects and a Python loop per frame; its ``reset`` also keeps the previous
filtered value as the derivative reference, and a first timestamp of 0 counts as none.
The algorithm is a dozen lines; this version works elementwise on arrays of any shape.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .errors import PoseliftError

METHODS = ("none", "butterworth", "one-euro")

# 1€ defaults. min_cutoff = d_cutoff = 1 Hz, beta = 0 are the paper's suggested starting point
# (and its reference implementation's defaults); the paper keeps the derivative cut-off at 1 Hz.
# beta has no universal value (its unit is 1/(signal unit): s/m here); the paper's tuning
# procedure is to raise it from 0 until the lag during fast motion is acceptable. 4 s/m puts the
# cut-off at 5 Hz for a joint moving at 1 m/s and 13 Hz at 3 m/s (a swinging foot), while a still
# joint keeps the 1 Hz jitter cut-off. Measured on a 0.3 m, 1 Hz sine at 30 fps with 1 cm noise:
# beta 0 / 1 / 2 / 4 / 8 → RMS error 14 / 7.0 / 5.2 / 3.7 / 2.6 cm (lag 4 / 2 / 1 / 1 / 1 frames),
# still-joint noise 10 mm → 2.7-4.2 mm for all of them; 4 takes most of the lag off for little
# jitter. (Sports2D's one_euro defaults, 4 Hz / beta 1.5 / 1 Hz, are for its own units and a
# filter its config calls zero-phase, so they do not carry over to a causal filter in metres.)
ONE_EURO_MIN_CUTOFF = 1.0
ONE_EURO_BETA = 4.0
ONE_EURO_D_CUTOFF = 1.0


def _check_fps(fps) -> float:
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise PoseliftError(f"fps must be a positive number, got {fps}")
    return fps


def finite_runs(mask) -> list[tuple[int, int]]:
    """``[start, stop)`` index pairs of the runs of True in a 1-D boolean ``mask``."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def butterworth(x, fps: float, cutoff_hz: float = 6.0, order: int = 4) -> np.ndarray:
    """Zero-phase low-pass Butterworth filter of ``x`` (T, ...) along axis 0 → float64, same shape.

    ``order`` is the order of one pass; running it forwards and backwards squares the magnitude
    response (a -6 dB point at ``cutoff_hz``) and cancels the phase, so nothing lags. Each
    run of finite samples (per element, so a partly missing frame is handled too) is filtered on
    its own and NaN stays NaN. A run shorter than ``sosfiltfilt``'s default edge padding
    (3 * (2 * sections + 1) samples, 15 for order 4) is filtered with the padding cut to its
    length - 1; a run of one sample is left as is. The padding (scipy's odd extension) ties
    the ends of a run to their raw samples, so the first and last ~``default padding`` frames of
    each run are smoothed less (an end sample keeps about all of its noise).
    """
    from scipy.signal import butter, sosfiltfilt

    fps = _check_fps(fps)
    cutoff_hz = float(cutoff_hz)
    if not (math.isfinite(cutoff_hz) and 0 < cutoff_hz < fps / 2):
        raise PoseliftError(f"butterworth cutoff_hz must be > 0 and below half the frame rate "
                            f"({fps / 2:g} Hz at {fps:g} fps), got {cutoff_hz:g}")
    if int(order) != order or order < 1:
        raise PoseliftError(f"butterworth order must be a positive integer, got {order}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise PoseliftError("butterworth needs an array with time on axis 0, got a scalar")
    if x.size == 0:
        return x.copy()
    sos = butter(int(order), cutoff_hz, btype="low", fs=fps, output="sos")
    default_pad = 3 * (2 * len(sos) + 1)

    flat = x.reshape(len(x), -1)
    out = np.full_like(flat, np.nan)
    finite = np.isfinite(flat)
    # columns that share a NaN pattern (all of them, usually) are filtered together
    if (finite == finite[:, :1]).all():
        patterns, column_group = finite[:, :1].T, np.zeros(flat.shape[1], dtype=int)
    else:
        patterns, column_group = np.unique(finite.T, axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        cols = np.flatnonzero(column_group.ravel() == g)
        for a, b in finite_runs(pattern):
            seg = flat[a:b][:, cols]
            if b - a > 1:
                seg = sosfiltfilt(sos, seg, axis=0, padlen=min(default_pad, b - a - 1))
            out[a:b, cols] = seg
    return out.reshape(x.shape)


class OneEuroFilter:
    """The 1€ filter (Casiez et al., CHI 2012), causal and elementwise on frames of any shape.

    ``f(x, t)`` filters one frame ``x`` taken at time ``t`` (seconds, increasing) and returns
    the filtered frame. For each element: the speed ``(x - x̂_prev) / dt`` is low-passed at
    ``d_cutoff`` Hz, and ``x`` is low-passed at ``min_cutoff + beta * |speed|`` Hz, both with
    the first-order smoothing factor ``alpha = 1 / (1 + 1 / (2π cutoff dt))``. The first
    sample (and the first after a gap) passes through unchanged.

    A NaN element gives NaN and resets that element, so a whole-NaN frame (nobody detected)
    restarts the filter: the next finite value is taken as is, and nothing is carried across
    the gap. :meth:`reset` forgets everything.
    """

    def __init__(self, min_cutoff: float = ONE_EURO_MIN_CUTOFF, beta: float = ONE_EURO_BETA,
                 d_cutoff: float = ONE_EURO_D_CUTOFF):
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
            if not (math.isfinite(value) and value > 0):
                raise PoseliftError(f"one-euro {name} must be a positive frequency in Hz, got {value}")
        if not (math.isfinite(beta) and beta >= 0):
            raise PoseliftError(f"one-euro beta must be >= 0, got {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    @staticmethod
    def _alpha(cutoff, dt: float):
        return 1.0 / (1.0 + 1.0 / (2 * np.pi * cutoff * dt))

    def __call__(self, x, t: float) -> np.ndarray:
        x = np.array(x, dtype=np.float64)  # a copy: the state must not alias the caller's array
        t = float(t)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx = np.full_like(x, np.nan), np.full_like(x, np.nan)
        elif not t > self._t:
            raise PoseliftError(f"one-euro timestamps must increase: got t={t:g} after t={self._t:g}")
        fresh = np.isnan(self._x)
        if not fresh.all():
            dt = t - self._t
            dx = (x - self._x) / dt
            dx = self._dx + self._alpha(self.d_cutoff, dt) * (dx - self._dx)
            cutoff = self.min_cutoff + self.beta * np.abs(dx)
            x = np.where(fresh, x, self._x + self._alpha(cutoff, dt) * (x - self._x))
            self._dx = np.where(fresh, 0.0, dx)
        else:
            self._dx = np.zeros_like(x)
        missing = ~np.isfinite(x)
        x[missing] = np.nan
        self._dx[missing] = np.nan
        self._x, self._t = x, t
        return x.copy()


def one_euro(x, fps: float, min_cutoff: float = ONE_EURO_MIN_CUTOFF, beta: float = ONE_EURO_BETA,
             d_cutoff: float = ONE_EURO_D_CUTOFF) -> np.ndarray:
    """:class:`OneEuroFilter` run over ``x`` (T, ...) at ``fps`` → float64, same shape.

    Causal, so the result equals what a streaming run would have produced frame by frame
    (including its lag); no backward pass is made.
    """
    fps = _check_fps(fps)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise PoseliftError("one_euro needs an array with time on axis 0, got a scalar")
    f = OneEuroFilter(min_cutoff, beta, d_cutoff)
    out = np.empty_like(x)
    for i, frame in enumerate(x):
        out[i] = f(frame, i / fps)
    return out


def smooth(x, fps: float, method: str = "none", **params) -> np.ndarray:
    """``x`` (T, ...) smoothed by ``method``: ``"none"`` (a float64 copy), ``"butterworth"`` or
    ``"one-euro"``; ``params`` go to :func:`butterworth` / :func:`one_euro`."""
    if method == "none":
        _check_fps(fps)
        if params:
            raise PoseliftError(f"smoothing method 'none' takes no parameters, got {sorted(params)}")
        return np.array(x, dtype=np.float64)
    filters = {"butterworth": butterworth, "one-euro": one_euro}
    if method not in filters:
        raise PoseliftError(f"unknown smoothing method {method!r}; choose one of {', '.join(METHODS)}")
    known = set(inspect.signature(filters[method]).parameters) - {"x", "fps"}
    if set(params) - known:
        raise PoseliftError(f"smoothing method {method!r} has no parameter(s) {sorted(set(params) - known)}; "
                            f"it takes {sorted(known)}")
    return filters[method](x, fps, **params)
