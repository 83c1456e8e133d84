"""poselift.smooth: zero-phase Butterworth, the 1€ filter, the dispatcher."""

from __future__ import annotations

import numpy as np
import pytest

from poselift.errors import PoseliftError
from poselift.smooth import (METHODS, OneEuroFilter, butterworth, finite_runs, one_euro,
                             smooth)

FPS = 60.0


def _sines(frames=600, fps=FPS):
    t = np.arange(frames) / fps
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = 0.3 * np.sin(2 * np.pi * 15.0 * t)
    return t, slow, fast


def test_finite_runs():
    assert finite_runs([0, 1, 1, 0, 1]) == [(1, 3), (4, 5)]
    assert finite_runs([1, 1]) == [(0, 2)]
    assert finite_runs([]) == []


def test_butterworth_removes_15hz_and_keeps_1hz():
    _, slow, fast = _sines()
    y = butterworth(slow + fast, FPS)
    err = np.abs(y - slow)
    assert err[20:-20].max() < 0.005  # 15 Hz at amplitude 0.3: attenuated > 60x
    # the odd-extension padding ties each end to its raw sample: the noise there fades in ~15 frames
    assert err[-1] > 0.1 and err[-8:].max() < 0.35 and err[15:-15].max() < 0.01
    # the 1 Hz component keeps its amplitude (-6 dB is at 6 Hz; at 1 Hz the gain is ~1)
    amp = 2 * np.abs(np.fft.rfft(y[60:540]))[8] / 480  # 480 samples = 8 periods of 1 Hz
    assert amp == pytest.approx(1.0, abs=0.01)


def test_butterworth_is_zero_phase():
    t, slow, fast = _sines()
    rng = np.random.default_rng(0)
    y = butterworth(slow + fast + rng.normal(0, 0.05, len(t)), FPS)
    lags = np.arange(-10, 11)
    xcorr = [np.dot(np.roll(y, -lag)[60:-60], slow[60:-60]) for lag in lags]
    assert lags[int(np.argmax(xcorr))] == 0
    # a causal one-pass filter of the same order does lag: the test can tell them apart
    from scipy.signal import butter, sosfilt

    causal = sosfilt(butter(4, 6.0, fs=FPS, output="sos"), slow + fast)
    xcorr = [np.dot(np.roll(causal, -lag)[60:-60], slow[60:-60]) for lag in lags]
    assert lags[int(np.argmax(xcorr))] > 0


def test_butterworth_shapes_and_constant():
    x = np.broadcast_to(np.array([[1.0, 2.0, 3.0]]), (100, 17, 3)).copy()
    y = butterworth(x, 30.0)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y, x, atol=1e-9)
    assert butterworth(np.zeros((0, 17, 3)), 30.0).shape == (0, 17, 3)
    assert one_euro(np.zeros((0, 17, 3)), 30.0).shape == (0, 17, 3)


def test_butterworth_nan_runs_filtered_independently():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4, 3))
    x[50:60] = np.nan
    x[120:121] = np.nan
    x[150:190] = np.nan
    y = butterworth(x, 30.0)
    nan = ~np.isfinite(y)
    assert (nan == ~np.isfinite(x)).all()
    for a, b in [(0, 50), (60, 120), (121, 150), (190, 200)]:
        np.testing.assert_allclose(y[a:b], butterworth(x[a:b], 30.0), atol=1e-12)
    # filtering did happen: the noise is smoothed in the long runs
    assert y[60:120].std() < 0.7 * x[60:120].std()
    # a step in one run does not leak into the next across a gap
    z = np.zeros((100, 1))
    z[:40] = 5.0
    z[40:45] = np.nan
    out = butterworth(z, 30.0)
    np.testing.assert_allclose(out[:40], 5.0, atol=1e-9)
    np.testing.assert_allclose(out[45:], 0.0, atol=1e-9)


def test_butterworth_short_runs():
    x = np.full((12, 2), np.nan)
    x[0] = 1.0  # one frame: left as is
    x[2:6] = [[0, 0], [1, 1], [2, 2], [3, 3]]  # 4 frames, shorter than the default padding (15)
    x[7:9] = 7.0
    y = butterworth(x, 30.0)
    np.testing.assert_array_equal(y[0], [1.0, 1.0])
    assert np.isfinite(y[2:6]).all() and np.isfinite(y[7:9]).all()
    np.testing.assert_allclose(y[2:6], x[2:6], atol=0.2)  # a line stays (about) a line
    np.testing.assert_allclose(y[7:9], 7.0)


def test_butterworth_per_element_nan():
    x = np.random.default_rng(2).normal(size=(80, 2))
    x[30:35, 1] = np.nan  # one column missing for a while, the other complete
    y = butterworth(x, 30.0)
    np.testing.assert_allclose(y[:, 0], butterworth(x[:, :1], 30.0)[:, 0])
    assert np.isnan(y[30:35, 1]).all() and np.isfinite(y[:30, 1]).all()


@pytest.mark.parametrize("kwargs, word", [
    ({"cutoff_hz": 0.0}, "cutoff_hz"), ({"cutoff_hz": -1.0}, "cutoff_hz"),
    ({"cutoff_hz": 15.0}, "cutoff_hz"), ({"cutoff_hz": 20.0}, "cutoff_hz"),
    ({"order": 0}, "order"), ({"order": 2.5}, "order"),
])
def test_butterworth_rejects_bad_args(kwargs, word):
    with pytest.raises(PoseliftError, match=word):
        butterworth(np.zeros((50, 3)), 30.0, **kwargs)


def test_butterworth_rejects_bad_fps():
    with pytest.raises(PoseliftError, match="fps"):
        butterworth(np.zeros((50, 3)), 0)


def test_one_euro_constant_stays_constant():
    f = OneEuroFilter()
    x = np.array([[0.1, -2.0, 3.5]])
    for i in range(50):
        np.testing.assert_allclose(f(x, i / 30), x, rtol=0, atol=1e-12)


def test_one_euro_first_sample_passes_and_output_is_a_copy():
    f = OneEuroFilter()
    x = np.array([1.0, 2.0])
    y = f(x, 0.0)
    np.testing.assert_array_equal(y, x)
    y[:] = 99
    x[:] = 5
    assert f(np.array([1.0, 2.0]), 1 / 30).tolist() == [1.0, 2.0]


def test_one_euro_step_converges_monotonically():
    x = np.r_[np.zeros(30), np.ones(120)]
    y = one_euro(x, 30.0)
    after = y[30:]
    assert (np.diff(after) >= -1e-12).all() and (after <= 1 + 1e-12).all()
    assert after[0] > 0  # it starts moving at once
    assert abs(after[-1] - 1) < 1e-3
    assert abs(after[30] - 1) < 0.02  # within 2 % one second after the step


def test_one_euro_reduces_jitter_on_a_still_point():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.01, size=(600, 17, 3))
    y = one_euro(x, 30.0)
    assert y[30:].std() < 0.5 * x[30:].std()


def test_one_euro_beta_trades_jitter_for_lag():
    fps = 30.0
    t = np.arange(300) / fps
    ramp = 1.0 * t  # 1 m/s
    lags = []
    for beta in (0.0, 1.0, 4.0):
        y = one_euro(ramp, fps, beta=beta)
        lags.append(np.mean(ramp[150:] - y[150:]))  # steady-state lag, metres
    assert lags[0] > lags[1] > lags[2] > 0
    # beta = 0 is a 1 Hz first-order low-pass: its lag is ~ v * tau = 1 / (2 pi) s (minus half a frame)
    assert lags[0] == pytest.approx(1 / (2 * np.pi), rel=0.25)


def test_one_euro_nan_frame_resets():
    f = OneEuroFilter()
    f(np.array([0.0, 0.0]), 0.0)
    f(np.array([0.0, 0.0]), 1 / 30)
    out = f(np.array([np.nan, np.nan]), 2 / 30)
    assert np.isnan(out).all()
    np.testing.assert_array_equal(f(np.array([5.0, -5.0]), 3 / 30), [5.0, -5.0])  # restarted
    # per element: a missing element restarts alone
    f(np.array([np.nan, 0.0]), 4 / 30)
    out = f(np.array([1.0, 1.0]), 5 / 30)
    assert out[0] == 1.0 and 0.0 < out[1] < 1.0
    # infinite values count as missing too
    out = f(np.array([np.inf, 1.0]), 6 / 30)
    assert np.isnan(out[0]) and np.isfinite(out[1])
    assert f(np.array([2.0, 1.0]), 7 / 30)[0] == 2.0


def test_one_euro_reset_and_timestamps():
    f = OneEuroFilter()
    f(np.array([0.0]), 0.0)
    with pytest.raises(PoseliftError, match="increase"):
        f(np.array([1.0]), 0.0)
    f.reset()
    assert f(np.array([3.0]), 0.0)[0] == 3.0


def test_one_euro_offline_equals_streaming_and_keeps_nan():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(90, 17, 3))
    x[20:25] = np.nan
    y = one_euro(x, 25.0)
    f = OneEuroFilter()
    for i in range(len(x)):
        np.testing.assert_array_equal(y[i], f(x[i], i / 25.0))
    assert np.isnan(y[20:25]).all() and np.isfinite(y[:20]).all() and np.isfinite(y[25:]).all()
    np.testing.assert_array_equal(y[25], x[25])  # restarted after the gap


@pytest.mark.parametrize("kwargs", [{"min_cutoff": 0}, {"d_cutoff": -1}, {"beta": -0.1}])
def test_one_euro_rejects_bad_params(kwargs):
    with pytest.raises(PoseliftError, match=next(iter(kwargs))):
        OneEuroFilter(**kwargs)


def test_smooth_dispatch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 17, 3))
    assert set(METHODS) == {"none", "butterworth", "one-euro"}
    np.testing.assert_array_equal(smooth(x, 30.0, "none"), x)
    assert smooth(x, 30.0, "none") is not x
    np.testing.assert_array_equal(smooth(x, 30.0, "butterworth"), butterworth(x, 30.0))
    np.testing.assert_array_equal(smooth(x, 30.0, "butterworth", cutoff_hz=3.0), butterworth(x, 30.0, 3.0))
    np.testing.assert_array_equal(smooth(x, 30.0, "one-euro", beta=0.5), one_euro(x, 30.0, beta=0.5))
    with pytest.raises(PoseliftError, match="unknown smoothing method 'kalman'"):
        smooth(x, 30.0, "kalman")
    with pytest.raises(PoseliftError, match="cutoff"):
        smooth(x, 30.0, "one-euro", cutoff_hz=3.0)
