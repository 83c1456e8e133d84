import numpy as np
import pytest
import torch

from poselift.data.windows import ClipSampler, pad_sequence, pad_sequence_torch
from poselift.skeleton import flip_pose


def _seqs(lengths, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(n, 17, 2)).astype(np.float32) for n in lengths]
    y = [rng.normal(size=(n, 17, 3)).astype(np.float32) for n in lengths]
    return x, y


def test_pad_sequence_replicates_ends_and_keeps_length():
    x = np.arange(5, dtype=np.float32)[:, None]
    p = pad_sequence(x, 7)
    assert p[:, 0].tolist() == [0, 0, 0, 0, 1, 2, 3, 4, 4, 4, 4]
    p = pad_sequence(x, 7, causal_shift=3)
    assert p[:, 0].tolist() == [0] * 7 + [1, 2, 3, 4]
    t = pad_sequence_torch(torch.arange(5.0)[None, :, None], 7, 3, dim=1)
    assert t[0, :, 0].tolist() == p[:, 0].tolist()


def test_epoch_covers_every_frame_once_per_flip_state():
    x, y = _seqs([10, 3, 25])
    s = ClipSampler(x, y, receptive_field=9)
    assert len(s) == 2 * 38
    seen = []
    for _, b in s.iter_epoch(seed=1, epoch=0, batch_size=16):
        seen.extend(b.index.tolist())
    assert sorted(seen) == list(range(len(s)))
    flips = s.pairs_flip[np.array(seen)]
    assert flips.sum() == 38


def test_clips_are_replicate_padded_at_sequence_ends_only():
    x, y = _seqs([10, 12])
    s = ClipSampler(x, y, receptive_field=5, flip=False)
    b = s.batch(np.array([0]))  # first frame of sequence 0
    assert torch.equal(b.inputs_2d[0, 0], torch.from_numpy(x[0][0]))
    assert torch.equal(b.inputs_2d[0, 1], torch.from_numpy(x[0][0]))
    assert torch.equal(b.inputs_2d[0, 2:], torch.from_numpy(x[0][:3]))
    assert torch.equal(b.targets_3d[0, 0], torch.from_numpy(y[0][0]))
    b = s.batch(np.array([9]))  # last frame of sequence 0: must not leak into sequence 1
    assert torch.equal(b.inputs_2d[0, 2:], torch.from_numpy(np.stack([x[0][9]] * 3)))
    b = s.batch(np.array([15]))  # middle of sequence 1
    assert torch.equal(b.inputs_2d[0], torch.from_numpy(x[1][3:8]))


def test_causal_clip_ends_at_target_frame():
    x, y = _seqs([20])
    s = ClipSampler(x, y, receptive_field=5, causal_shift=2, flip=False)
    b = s.batch(np.array([10]))
    assert torch.equal(b.inputs_2d[0], torch.from_numpy(x[0][6:11]))
    assert torch.equal(b.targets_3d[0, 0], torch.from_numpy(y[0][10]))


def test_flipped_copy_is_flip_of_original_and_flip_is_involution():
    x, y = _seqs([30])
    s = ClipSampler(x, y, receptive_field=9)
    n = 30
    a, b = s.batch(np.array([4])), s.batch(np.array([4 + n]))
    assert torch.allclose(b.inputs_2d, flip_pose(a.inputs_2d))
    assert torch.allclose(b.targets_3d, flip_pose(a.targets_3d))
    assert torch.equal(flip_pose(flip_pose(a.inputs_2d)), a.inputs_2d)


def test_epoch_order_depends_on_seed_and_epoch_only():
    x, y = _seqs([50])
    s = ClipSampler(x, y, receptive_field=3)
    assert np.array_equal(s.epoch_order(1, 2), s.epoch_order(1, 2))
    assert not np.array_equal(s.epoch_order(1, 2), s.epoch_order(1, 3))
    whole = [b.index for _, b in s.iter_epoch(1, 0, 8)]
    tail = [b.index for _, b in s.iter_epoch(1, 0, 8, start_batch=5)]
    assert all(np.array_equal(u, v) for u, v in zip(whole[5:], tail))


def test_chunks_and_frame_stride():
    x, y = _seqs([20])
    s = ClipSampler(x, y, receptive_field=5, chunk=4, flip=False)
    assert len(s) == 5
    b = s.batch(np.array([1]))
    assert b.inputs_2d.shape == (1, 8, 17, 2) and b.targets_3d.shape == (1, 4, 17, 3)
    assert torch.equal(b.targets_3d[0], torch.from_numpy(y[0][4:8]))
    assert len(ClipSampler(x, y, receptive_field=5, frame_stride=3, flip=False)) == 7


def test_mismatched_lengths_are_refused():
    from poselift.errors import PoseliftError

    x, y = _seqs([10])
    with pytest.raises(PoseliftError, match="10 2D frames but 9 3D"):
        ClipSampler(x, [y[0][:9]], receptive_field=3)
