import numpy as np
import pytest
import torch

from poselift.metrics import (
    AUC_THRESHOLDS,
    auc,
    bone_lengths,
    mpjpe,
    mpjpe_frames,
    mpjve,
    mpjve_frames,
    n_mpjpe,
    n_mpjpe_frames,
    p_mpjpe,
    p_mpjpe_frames,
    pck,
    procrustes_align,
    weighted_mpjpe,
)
from poselift.skeleton import H36M17


def random_rotation(rng):
    """A uniformly random proper rotation (det +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def hand_pair():
    """Two joints: errors (3, 4, 0) -> 5 and (0, 0, 1) -> 1; MPJPE 3."""
    target = np.zeros((2, 3))
    pred = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    return pred, target


# ------------------------------------------------------------------------ MPJPE


def test_mpjpe_hand_example():
    pred, target = hand_pair()
    assert mpjpe(pred, target) == pytest.approx(3.0)
    np.testing.assert_allclose(mpjpe_frames(pred[None], target[None]), [3.0])
    assert mpjpe(target, target) == 0.0


def test_weighted_mpjpe_hand_example():
    pred, target = hand_pair()
    # per joint weights: mean(1 * 5, 3 * 1) = 4
    assert weighted_mpjpe(pred, target, np.array([1.0, 3.0])) == pytest.approx(4.0)
    # per pose weights broadcast over joints: mean(2 * 5, 2 * 1, 0 * 5, 0 * 1) = 3
    p2, t2 = np.stack([pred, pred]), np.stack([target, target])
    assert weighted_mpjpe(p2, t2, np.array([[2.0], [0.0]])) == pytest.approx(3.0)
    # unit weights give plain MPJPE
    assert weighted_mpjpe(p2, t2, np.ones((2, 1))) == pytest.approx(mpjpe(p2, t2))


def test_n_mpjpe_zero_for_scaled_prediction():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4, 17, 3))
    scales = np.array([0.5, 2.0, 1.3, 0.9])[:, None, None]
    pred = target * scales
    assert mpjpe(pred, target) > 0.1
    assert n_mpjpe(pred, target) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(n_mpjpe_frames(pred, target), 0.0, atol=1e-12)


def test_n_mpjpe_uses_least_squares_scale():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(17, 3))
    pred = 1.7 * target + 0.3 * rng.normal(size=(17, 3))
    s = (pred * target).sum() / (pred * pred).sum()
    assert n_mpjpe(pred, target) == pytest.approx(mpjpe(s * pred, target))
    sse = lambda a: ((a * pred - target) ** 2).sum()  # noqa: E731
    assert sse(s) <= min(sse(s * 1.01), sse(s * 0.99))


# ---------------------------------------------------------------------- P-MPJPE


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_p_mpjpe_invariant_to_similarity_of_prediction(seed):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(3, 17, 3))
    pred = target + 0.2 * rng.normal(size=(3, 17, 3))
    R = random_rotation(rng)
    assert np.linalg.det(R) == pytest.approx(1.0)
    scale, shift = rng.uniform(0.3, 3.0), rng.normal(size=3) * 5
    moved = scale * pred @ R.T + shift
    before = p_mpjpe_frames(pred, target)
    after = p_mpjpe_frames(moved, target)
    assert before.min() > 1e-3
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-12)
    # the transformed copy of the target aligns back exactly
    copy = scale * target @ R.T + shift
    assert mpjpe(copy, target) > 0.1
    assert p_mpjpe(copy, target) == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(procrustes_align(copy, target), target, atol=1e-10)


def test_p_mpjpe_excludes_reflections():
    rng = np.random.default_rng(3)
    target = rng.normal(size=(17, 3))
    mirrored = target * [-1.0, 1.0, 1.0]
    # a mirror image is no similarity transform away: the error stays clearly above 0
    assert p_mpjpe(mirrored, target) > 0.1
    # aligned = a * mirrored @ R + t with a > 0, det R = +1: recover B = a R by least squares
    aligned = procrustes_align(mirrored, target)
    B, *_ = np.linalg.lstsq(mirrored - mirrored.mean(0), aligned - aligned.mean(0), rcond=None)
    a = np.cbrt(np.linalg.det(B))
    assert a > 0
    np.testing.assert_allclose((B / a) @ (B / a).T, np.eye(3), atol=1e-9)


def test_error_ordering_in_squared_error():
    """Guaranteed relations. For the *sum of squared errors*, each alignment family
    contains the previous one (identity ⊂ scale ⊂ similarity), so
    SSE(procrustes) <= SSE(scale) <= SSE(raw). The mean of Euclidean norms (what MPJPE
    reports) carries no such order — p > n and n > raw both happen — but by
    Cauchy-Schwarz each mean is at most the corresponding root-mean-square error."""
    rng = np.random.default_rng(4)
    target = rng.normal(size=(50, 17, 3))
    pred = target * rng.uniform(0.5, 2.0, size=(50, 1, 1)) + rng.normal(size=(50, 17, 3)) * 0.5
    pred += rng.normal(size=(50, 1, 3))
    s = (pred * target).sum((-2, -1), keepdims=True) / (pred * pred).sum((-2, -1), keepdims=True)
    sse_raw = ((pred - target) ** 2).sum((-2, -1))
    sse_n = ((s * pred - target) ** 2).sum((-2, -1))
    sse_p = ((procrustes_align(pred, target) - target) ** 2).sum((-2, -1))
    eps = 1e-9
    assert np.all(sse_p <= sse_n + eps)
    assert np.all(sse_n <= sse_raw + eps)
    rms = lambda sse: np.sqrt(sse / 17)  # noqa: E731
    assert np.all(p_mpjpe_frames(pred, target) <= rms(sse_p) + eps)
    assert np.all(n_mpjpe_frames(pred, target) <= rms(sse_n) + eps)
    assert np.all(mpjpe_frames(pred, target) <= rms(sse_raw) + eps)
    assert np.all(p_mpjpe_frames(pred, target) <= rms(sse_raw) + eps)


def test_p_mpjpe_single_pose_and_torch_input():
    rng = np.random.default_rng(5)
    target = rng.normal(size=(17, 3))
    pred = target + 0.1 * rng.normal(size=(17, 3))
    single = p_mpjpe(pred, target)
    batched = p_mpjpe(pred[None], target[None])
    assert single == pytest.approx(batched)
    assert p_mpjpe(torch.from_numpy(pred), torch.from_numpy(target)) == pytest.approx(single)


# ------------------------------------------------------------------------ MPJVE


def test_mpjve_constant_offset_is_zero():
    rng = np.random.default_rng(6)
    target = rng.normal(size=(10, 17, 3))
    pred = target + rng.normal(size=3)  # same offset in every frame
    assert mpjpe(pred, target) > 0.1
    assert mpjve(pred, target) == pytest.approx(0.0, abs=1e-12)
    assert mpjve_frames(pred, target).shape == (9,)


def test_mpjve_hand_example():
    # 3 frames, 2 joints; target static; pred's joint 0 moves (3, 4, 0) then stays
    target = np.zeros((3, 2, 3))
    pred = np.zeros((3, 2, 3))
    pred[1:, 0] = [3.0, 4.0, 0.0]
    np.testing.assert_allclose(mpjve_frames(pred, target), [2.5, 0.0])
    assert mpjve(pred, target) == pytest.approx(1.25)
    t = torch.from_numpy(pred)
    assert mpjve(t, torch.from_numpy(target)).item() == pytest.approx(1.25)


# ---------------------------------------------------------------- shapes, torch


def test_arbitrary_leading_dims():
    rng = np.random.default_rng(7)
    target = rng.normal(size=(2, 5, 17, 3))
    pred = target + 0.3 * rng.normal(size=(2, 5, 17, 3))
    for fn in (mpjpe_frames, n_mpjpe_frames, p_mpjpe_frames):
        per = fn(pred, target)
        assert per.shape == (2, 5), fn.__name__
        flat = fn(pred.reshape(10, 17, 3), target.reshape(10, 17, 3))
        np.testing.assert_allclose(per.reshape(10), flat, rtol=1e-12, err_msg=fn.__name__)
        one = fn(pred[1, 3][None], target[1, 3][None])[0]
        assert per[1, 3] == pytest.approx(one), fn.__name__
    assert mpjpe(pred, target) == pytest.approx(mpjpe_frames(pred, target).mean())
    assert p_mpjpe(pred, target) == pytest.approx(p_mpjpe_frames(pred, target).mean())
    assert mpjve_frames(pred, target).shape == (1, 5)


def test_numpy_and_torch_agree():
    rng = np.random.default_rng(8)
    target = rng.normal(size=(4, 17, 3))
    pred = 1.2 * target + 0.2 * rng.normal(size=(4, 17, 3))
    w = rng.uniform(0.5, 2.0, size=(4, 1))
    tp, tt, tw = (torch.from_numpy(a) for a in (pred, target, w))
    for fn, args_np, args_t in (
        (mpjpe, (pred, target), (tp, tt)),
        (n_mpjpe, (pred, target), (tp, tt)),
        (mpjve, (pred, target), (tp, tt)),
        (weighted_mpjpe, (pred, target, w), (tp, tt, tw)),
    ):
        a = fn(*args_np)
        b = fn(*args_t)
        assert isinstance(b, torch.Tensor), fn.__name__
        assert b.item() == pytest.approx(float(a), rel=1e-12), fn.__name__
    # numpy weights with torch poses are accepted too
    assert weighted_mpjpe(tp, tt, w).item() == pytest.approx(float(weighted_mpjpe(pred, target, w)))
    np.testing.assert_allclose(mpjpe_frames(tp, tt).numpy(), mpjpe_frames(pred, target))


def test_torch_metrics_are_differentiable():
    rng = np.random.default_rng(9)
    target = torch.from_numpy(rng.normal(size=(3, 17, 3)))
    pred = (target + 0.1).clone().requires_grad_(True)
    loss = mpjpe(pred, target) + n_mpjpe(pred, target) + weighted_mpjpe(pred, target, torch.ones(3, 1))
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_bone_lengths_matches_skeleton():
    x = np.random.default_rng(10).normal(size=(3, 17, 3))
    np.testing.assert_allclose(bone_lengths(x, H36M17.parents), H36M17.bone_lengths(x))
    y = np.zeros((2, 3))
    y[1] = [0.0, 3.0, 4.0]
    np.testing.assert_allclose(bone_lengths(y, (-1, 0)), [5.0])


def _pck_poses():
    """Two poses of 4 joints; root 0 exact, then errors 0.052, 0.102 and 0.20 m after root alignment."""
    target = np.zeros((2, 4, 3))
    target[:, 1:, 0] = [0.3, 0.6, 0.9]
    pred = target.copy()
    pred[:, 1, 1] = 0.052
    pred[:, 2, 2] = 0.102
    pred[:, 3, 0] += 0.20
    pred += np.array([1.0, -2.0, 0.5])  # a global offset: removed by root alignment
    return pred, target


def test_pck_hand_computed():
    pred, target = _pck_poses()
    assert pck(pred, target) == pytest.approx(3 / 4)  # 0, 52 and 102 mm within 150 mm; 200 mm not
    assert pck(pred, target, threshold=0.08) == pytest.approx(2 / 4)
    assert pck(pred, target, root=None) == 0.0  # without alignment the 2.3 m offset misses everything
    t = pck(torch.tensor(pred), torch.tensor(target))
    assert torch.is_tensor(t) and float(t) == pytest.approx(0.75)


def test_auc_hand_computed():
    assert len(AUC_THRESHOLDS) == 31 and AUC_THRESHOLDS[1] == pytest.approx(0.005) and AUC_THRESHOLDS[-1] == 0.15
    pred, target = _pck_poses()
    # thresholds 0, 5, ..., 150 mm: the exact root counts from 5 mm on (30 of 31), the 52 mm joint from 55 mm
    # (20), the 102 mm joint from 105 mm (10), the 200 mm joint never; strict "<", as PCK
    expect = (30 + 20 + 10 + 0) / (4 * 31)
    assert auc(pred, target) == pytest.approx(expect)
    assert float(auc(torch.tensor(pred), torch.tensor(target))) == pytest.approx(expect)
    assert auc(target, target) == pytest.approx(30 / 31)  # a perfect pose: all but the 0 mm threshold
