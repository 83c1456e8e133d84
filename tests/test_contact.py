"""poselift.contact: foot contacts, the floor from them, pinning the feet, foot-skate figures."""

from __future__ import annotations

import numpy as np
import pytest

from poselift.contact import (ANKLE_HEIGHT, floor_from_contacts, foot_contacts, foot_skate,
                              pin_feet)
from poselift.errors import PoseliftError
from poselift.skeleton import H36M17

FPS = 30.0
L_ANKLE, R_ANKLE = H36M17.index("l_ankle"), H36M17.index("r_ankle")
CYCLE, SWING, STRIDE = 30, 12, 0.6  # frames per gait cycle, of which swing (the foot moves); metres


def _foot(frames: int, shift: int, y: float) -> tuple[np.ndarray, np.ndarray]:
    """An ankle walking along +x: (frames, 3) positions and the stance (not moving) frames."""
    pos = np.zeros((frames, 3))
    stance = np.zeros(frames, dtype=bool)
    for f in range(frames):
        cycle, p = divmod(f + shift, CYCLE)
        x0 = cycle * STRIDE
        if p < CYCLE - SWING:
            pos[f] = x0, y, ANKLE_HEIGHT
            stance[f] = True
        else:  # swing: smooth start and landing, ankle lifted up to 12 cm
            s = (p - (CYCLE - SWING) + 1) / (SWING + 1)
            pos[f] = x0 + STRIDE * (1 - np.cos(np.pi * s)) / 2, y, ANKLE_HEIGHT + 0.12 * np.sin(np.pi * s)
    return pos, stance


def _walk(frames=150, noise=0.002, seed=0):
    """World poses (T, 17, 3) of someone walking, and the true stance frames (T, 2) (left, right)."""
    rng = np.random.default_rng(seed)
    world = np.tile(np.linspace(0.1, 1.7, 17)[:, None] * [0.0, 0.0, 1.0], (frames, 1, 1))
    world[:, :, 0] += np.arange(frames)[:, None] * STRIDE / CYCLE  # the body moves on
    # start mid-stance (left) and mid-swing (right): no stance cut short by the sequence ends
    left, left_stance = _foot(frames, 8, 0.1)
    right, right_stance = _foot(frames, 8 + CYCLE // 2, -0.1)
    world[:, L_ANKLE], world[:, R_ANKLE] = left, right
    world[:, [L_ANKLE, R_ANKLE]] += rng.normal(0, noise, (frames, 2, 3))
    return world, np.stack([left_stance, right_stance], axis=1)


def _differ_only_next_to_changes(found: np.ndarray, truth: np.ndarray, slack: int = 1) -> None:
    """``found`` equals ``truth`` except within ``slack`` frames of a change in ``truth``."""
    edges = np.flatnonzero(np.diff(truth.astype(int))) + 0.5
    wrong = np.flatnonzero(found != truth)
    for f in wrong:
        assert len(edges) and np.abs(edges - f).min() <= slack, (f, edges)


def test_contacts_of_a_walk_are_the_stances():
    world, stance = _walk()
    c = foot_contacts(world, FPS)
    assert c.shape == stance.shape and c.dtype == bool
    for k in range(2):
        _differ_only_next_to_changes(c[:, k], stance[:, k])
    # every stance is found, as one contact each
    assert (c & stance).sum() >= 0.85 * stance.sum()  # the edge frames may go
    assert (c & ~stance).sum() <= 10  # at most a frame per stance edge (10 stance edges)
    for k in range(2):
        assert len(np.flatnonzero(np.diff(c[:, k].astype(int)) == 1)) == \
            len(np.flatnonzero(np.diff(stance[:, k].astype(int)) == 1))


def test_contacts_on_jittery_poses_need_smoothing_first():
    from poselift.smooth import butterworth, one_euro

    world, stance = _walk(noise=0.01, seed=1)  # 1 cm of jitter per frame: ~0.3 m/s of fake speed
    recall = lambda c: (c & stance).sum() / stance.sum()  # noqa: E731
    assert recall(foot_contacts(world, FPS)) < 0.6
    for smoothed in (butterworth(world, FPS), one_euro(world, FPS)):
        c = foot_contacts(smoothed, FPS)
        assert recall(c) > 0.8 and (c & ~stance).sum() <= 2


def test_contacts_need_low_and_still():
    world, _ = _walk(noise=0.0)
    sliding = world.copy()
    sliding[:, L_ANKLE] = [0.0, 0.1, ANKLE_HEIGHT]
    sliding[:, L_ANKLE, 0] = np.arange(len(world)) * 1.0 / FPS  # 1 m/s along the floor
    raised = world.copy()
    raised[:, R_ANKLE] = [0.0, -0.1, ANKLE_HEIGHT + 0.3]  # still, but 30 cm up
    assert not foot_contacts(sliding, FPS)[:, 0].any()
    assert not foot_contacts(raised, FPS)[:, 1].any()
    # below the floor (lifting error) is still low
    sunk = world.copy()
    sunk[:, L_ANKLE] = [0.0, 0.1, -0.05]
    assert foot_contacts(sunk, FPS)[:, 0].all()
    # height only: a slide along the floor counts
    assert foot_contacts(sliding, FPS, speed_tol=None)[:, 0].all()


def test_contacts_short_runs_cleaned():
    world, _ = _walk(noise=0.0)
    z = np.full(len(world), ANKLE_HEIGHT + 0.3)
    z[10:12] = ANKLE_HEIGHT  # a 2-frame touch: dropped (min 3 frames at 30 fps)
    z[40:60] = ANKLE_HEIGHT
    z[50] = ANKLE_HEIGHT + 0.06  # a 1-frame blip in a long contact: filled
    world[:, L_ANKLE] = np.c_[np.zeros(len(z)), np.zeros(len(z)), z]
    c = foot_contacts(world, FPS, speed_tol=None)[:, 0]
    assert not c[:40].any() and c[40:60].all() and not c[60:].any()
    # the blip frame is dropped when gaps are not filled
    assert not foot_contacts(world, FPS, speed_tol=None, min_contact_s=0)[50, 0]


def test_contacts_with_nan_frames():
    world, stance = _walk()
    world[40:45] = np.nan
    world[100] = np.nan
    world[101, :] = 7.0  # a lone tracked frame between two gaps: no speed, no contact
    world[102] = np.nan
    c = foot_contacts(world, FPS)
    assert not c[40:45].any() and not c[100:103].any()
    ok = np.ones(len(world), dtype=bool)
    ok[37:48] = ok[97:106] = False  # next to a gap a stance may be cut too short to count
    for k in range(2):
        _differ_only_next_to_changes(c[ok, k], stance[ok, k])


def test_contacts_reject_bad_input():
    with pytest.raises(PoseliftError, match="shape"):
        foot_contacts(np.zeros((10, 16, 3)), FPS)
    with pytest.raises(PoseliftError, match="fps"):
        foot_contacts(np.zeros((10, 17, 3)), -1)
    with pytest.raises(PoseliftError, match="speed_tol"):
        foot_contacts(np.zeros((10, 17, 3)), FPS, speed_tol=0)


def _plane_points(normal, offset, n, rng, noise=0.001):
    """n points on the plane normal @ p == offset, spread ~1 m in both directions."""
    u = np.cross(normal, [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    a, b = rng.uniform(-1, 1, (2, n))
    return offset * normal + a[:, None] * u + 0.5 * b[:, None] * v + rng.normal(0, noise, (n, 3))


def test_floor_from_contacts_recovers_a_tilted_plane():
    rng = np.random.default_rng(6)
    axis = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    tilt = np.radians(10)
    normal = np.cos(tilt) * np.array([0.0, 0.0, 1.0]) + np.sin(tilt) * np.cross(axis, [0.0, 0.0, 1.0])
    floor_offset = 0.2
    frames = 200
    world = rng.normal(size=(frames, 17, 3))
    # the ankles lie ANKLE_HEIGHT above the floor when in contact
    world[:, L_ANKLE] = _plane_points(normal, floor_offset + ANKLE_HEIGHT, frames, rng)
    world[:, R_ANKLE] = _plane_points(normal, floor_offset + ANKLE_HEIGHT, frames, rng)
    contacts = rng.random((frames, 2)) < 0.5
    world[~contacts[:, 0], L_ANKLE, 2] += 0.5  # the other frames are off the plane
    world[~contacts[:, 1], R_ANKLE, 2] += 0.5
    world[5] = np.nan
    contacts[5] = True  # flags on untracked frames are ignored
    fit = floor_from_contacts(world, contacts)
    assert fit is not None
    n, d = fit
    assert n[2] > 0 and np.linalg.norm(n) == pytest.approx(1.0)
    assert np.degrees(np.arccos(np.clip(n @ normal, -1, 1))) < 0.3
    assert d == pytest.approx(floor_offset, abs=0.003)
    n0, d0 = floor_from_contacts(world, contacts, ankle_height=0.0)
    assert d0 == pytest.approx(floor_offset + ANKLE_HEIGHT, abs=0.003)


def test_floor_from_contacts_level_walk():
    world, stance = _walk(noise=0.002)
    n, d = floor_from_contacts(world, foot_contacts(world, FPS))
    assert n[2] > np.cos(np.radians(2)) and abs(d) < 0.005


def test_floor_from_contacts_fallbacks():
    world, stance = _walk(noise=0.002)
    assert floor_from_contacts(world, np.zeros_like(stance)) is None  # no contact
    few = np.zeros_like(stance)
    few[:4, 0] = True
    assert floor_from_contacts(world, few) is None  # too few points
    line = world.copy()
    line[:, [L_ANKLE, R_ANKLE], 1] = 0.0  # both feet on one line: the roll about it is unknown
    assert floor_from_contacts(line, stance) is None
    assert floor_from_contacts(line, stance, min_spread=0.0) is not None


def test_pin_feet_holds_contacts_and_leaves_swing():
    world, stance = _walk(noise=0.003, seed=7)
    world[:, L_ANKLE, 0] += np.arange(len(world)) * 0.05 / FPS  # left foot also skates at 5 cm/s
    contacts = foot_contacts(world, FPS)
    world[70] = np.nan
    contacts[70] = True  # ignored: untracked
    pinned = pin_feet(world, contacts)
    assert pinned.shape == world.shape and pinned is not world
    others = [j for j in range(17) if j not in (L_ANKLE, R_ANKLE)]
    np.testing.assert_array_equal(pinned[:, others], world[:, others])
    assert np.isnan(pinned[70]).all()
    c = contacts.copy()
    c[70] = False
    for k, j in enumerate((L_ANKLE, R_ANKLE)):
        ck = c[:, k]
        both = ck[1:] & ck[:-1]
        speed = np.linalg.norm(np.diff(pinned[:, j, :2], axis=0), axis=1) * FPS
        assert speed[both].max() < 1e-9  # still within each contact
        raw = np.linalg.norm(np.diff(world[:, j, :2], axis=0), axis=1) * FPS
        assert raw[both].mean() > 0.05  # and was not before (noise, skating)
        # height: the run's median
        for a in np.flatnonzero(np.diff(np.r_[0, ck.astype(int)]) == 1):
            b = a + np.argmin(ck[a:]) if not ck[a:].all() else len(ck)
            np.testing.assert_allclose(pinned[a:b, j, 2], np.median(world[a:b, j, 2]))
        # frames more than 2 from any contact are untouched
        near = np.zeros(len(ck), dtype=bool)
        for s in range(-2, 3):
            near |= np.roll(ck, s)
        far = ~near & np.isfinite(world[:, j]).all(axis=1)
        assert far.sum() > 20
        np.testing.assert_array_equal(pinned[far, j], world[far, j])
        # the blend frames move part of the way, less further out
        for a in np.flatnonzero(np.diff(ck.astype(int)) == -1) + 1:  # first frame after a contact
            if a + 2 < len(ck) and not ck[a:a + 2].any() and np.isfinite(world[a:a + 2]).all():
                d1 = pinned[a, j] - world[a, j]
                d2 = pinned[a + 1, j] - world[a + 1, j]
                edge = pinned[a - 1, j] - world[a - 1, j]
                np.testing.assert_allclose(d1, 2 / 3 * edge)
                np.testing.assert_allclose(d2, 1 / 3 * edge)


def test_pin_feet_no_contacts_is_identity():
    world, _ = _walk()
    np.testing.assert_array_equal(pin_feet(world, np.zeros((len(world), 2), bool)), world)


def test_foot_skate_hand_computed():
    frames = 60
    v = np.array([0.1, 0.05])  # m/s, horizontal
    world = np.zeros((frames, 17, 3))
    t = np.arange(frames) / FPS
    world[:, L_ANKLE, :2] = t[:, None] * v
    world[:, L_ANKLE, 2] = ANKLE_HEIGHT + 0.2 * t  # vertical motion does not count
    world[:, R_ANKLE] = [0.0, -0.2, ANKLE_HEIGHT]
    world[20] = np.nan
    contacts = np.zeros((frames, 2), dtype=bool)
    contacts[10:40, 0] = True  # 30 frames, one of them (20) untracked
    fig = foot_skate(world, contacts, FPS)
    speed = np.hypot(*v)
    pairs = 29 - 2  # consecutive contact pairs, less the two that touch frame 20
    assert fig["left_skate_mean_mps"] == pytest.approx(speed)
    assert fig["left_skate_max_mps"] == pytest.approx(speed)
    assert fig["left_slide_m"] == pytest.approx(pairs * speed / FPS)
    assert fig["left_contact_fraction"] == pytest.approx(29 / 59)
    assert fig["right_skate_mean_mps"] is None and fig["right_skate_max_mps"] is None
    assert fig["right_slide_m"] == 0.0 and fig["right_contact_fraction"] == 0.0
    assert fig["skate_mean_mps"] == pytest.approx(speed) and fig["slide_m"] == pytest.approx(fig["left_slide_m"])
    # the right foot standing still in contact: pooled mean halves-ish, max unchanged
    contacts[:, 1] = True
    fig = foot_skate(world, contacts, FPS)
    assert fig["right_skate_max_mps"] == 0.0 and fig["right_contact_fraction"] == 1.0
    assert fig["skate_mean_mps"] == pytest.approx(speed * pairs / (pairs + 57))
    assert fig["skate_max_mps"] == pytest.approx(speed)


def test_foot_skate_of_pinned_walk_is_zero():
    world, _ = _walk(noise=0.003)
    contacts = foot_contacts(world, FPS)
    before = foot_skate(world, contacts, FPS)
    after = foot_skate(pin_feet(world, contacts), contacts, FPS)
    assert before["skate_mean_mps"] > 0.05
    assert after["skate_mean_mps"] < 1e-9 and after["slide_m"] < 1e-9
    assert after["left_contact_fraction"] == before["left_contact_fraction"] > 0.4


def test_contacts_shape_checked():
    world, _ = _walk()
    with pytest.raises(PoseliftError, match="contacts"):
        foot_skate(world, np.zeros((len(world), 3), bool), FPS)
    with pytest.raises(PoseliftError, match="contacts"):
        pin_feet(world, np.zeros((len(world) - 1, 2), bool))
