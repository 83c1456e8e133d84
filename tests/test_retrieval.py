import numpy as np
import pytest

from poselift.camera import quaternion_to_matrix
from poselift.errors import PoseliftError
from poselift.retrieval import (Gallery, keypoint_embedding, nearest, normalize_pose, np_mpjpe, retrieval_scores,
                                same_instant_hit_rate)

from helpers import random_motion


def _similar(p, rng):
    R = quaternion_to_matrix(rng.normal(size=4))
    return 1.7 * p @ R.T + rng.normal(size=3)


def test_np_mpjpe_ignores_similarity_transforms():
    rng = np.random.default_rng(0)
    p = random_motion(5, 1).astype(np.float64)
    assert np.allclose(np_mpjpe(p, _similar(p, rng)), 0, atol=1e-9)
    other = random_motion(5, 2).astype(np.float64)
    assert (np_mpjpe(p, other[::-1]) > 0).all()
    n = normalize_pose(p)
    assert np.allclose(n.mean(-2), 0) and np.allclose(np.sqrt((n**2).sum(-1).mean(-1)), 1)


def test_keypoint_embedding_is_translation_and_scale_invariant():
    x = np.random.default_rng(1).normal(size=(4, 17, 2))
    assert np.allclose(keypoint_embedding(x), keypoint_embedding(3 * x + 5), atol=1e-6)


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(2)
    q, g = rng.normal(size=(50, 6)).astype(np.float32), rng.normal(size=(300, 6)).astype(np.float32)
    top = nearest(q, g, 5, chunk=16)
    d = ((q[:, None] - g[None]) ** 2).sum(-1)
    assert np.array_equal(top[:, 0], d.argmin(1))
    assert np.allclose(np.sort(d, 1)[:, :5], np.take_along_axis(d, top, 1), atol=1e-4)


def test_retrieval_scores_perfect_and_chance_embeddings():
    poses = random_motion(200, 3).astype(np.float64)
    poses += np.random.default_rng(4).normal(scale=0.15, size=poses.shape)  # distinct poses per frame
    exact = normalize_pose(poses).reshape(200, -1).astype(np.float32)  # a perfectly view-invariant code
    r = retrieval_scores(Gallery([exact] * 3, poses))
    assert r["hit@1"] == 100 and r["top1_p_mpjpe"] < 1e-3 and set(r["per_camera"]) == {"0", "1", "2"}
    noise = [np.random.default_rng(s).normal(size=(200, 8)).astype(np.float32) for s in range(3)]
    r = retrieval_scores(Gallery(noise, poses), query_stride=2)
    assert r["hit@1"] < 20 and r["hit@1"] <= r["hit@10"] <= r["hit@20"] and r["per_camera"]["0"]["queries"] == 100
    with pytest.raises(PoseliftError, match="two cameras"):
        retrieval_scores(Gallery([exact], poses))


def test_same_instant_hit_rate():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(60, 8))
    views = [base + rng.normal(scale=0.01, size=base.shape) for _ in range(4)]
    assert same_instant_hit_rate(views)["hit@1"] == 100
    shuffled = [v[rng.permutation(60)] for v in views]
    assert same_instant_hit_rate(shuffled)["hit@1"] < 40
    with pytest.raises(PoseliftError, match="differ in length"):
        same_instant_hit_rate([base, base[:10]])
