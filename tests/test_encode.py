"""The one model input encoder (poselift.encode): pixels ↔ a checkpoint's normalised 2D."""

from importlib import resources

import numpy as np
import pytest

from poselift.camera import load_calibration_json, look_at_camera, normalize_screen_coordinates
from poselift.encode import (DEFAULT_FOV_DEG, InputEncoder, default_intrinsics, encoder_for, input_norm,
                             intrinsic_encoder)
from poselift.errors import PoseliftError

from helpers import random_motion

H36M_JSON = resources.files("poselift") / "assets" / "h36m_cameras.json"


@pytest.fixture(scope="module")
def h36m_camera():
    """A real calibrated camera: Human3.6M S9, camera 2 (1000 x 1002, principal point off centre)."""
    return load_calibration_json(H36M_JSON)["S9"][1]


def _pixels(seed=0, shape=(7, 17)):
    return np.random.default_rng(seed).uniform(-50, 1050, size=(*shape, 2))


@pytest.mark.parametrize("norm", ["screen", "intrinsic"])
def test_round_trip(norm, h36m_camera):
    enc = InputEncoder.for_camera(norm, h36m_camera)
    px = _pixels()
    x = enc.encode(px, dtype=None)
    assert x.shape == px.shape and x.dtype == np.float64
    np.testing.assert_allclose(enc.decode(x), px, rtol=0, atol=1e-9)
    x32 = enc.encode(px)  # the model's dtype by default
    assert x32.dtype == np.float32
    np.testing.assert_allclose(enc.decode(x32.astype(np.float64)), px, atol=1e-3)


def test_screen_is_width_to_unit_range(h36m_camera):
    enc = InputEncoder("screen", 1000, 500)
    x = enc.encode(np.array([[0.0, 250.0], [1000.0, 250.0], [500.0, 0.0]]), dtype=None)
    np.testing.assert_allclose(x, [[-1.0, 0.0], [1.0, 0.0], [0.0, -0.5]], atol=1e-12)


def test_intrinsic_is_pixels_minus_centre_over_focal(h36m_camera):
    cam = h36m_camera
    assert cam.center != (cam.res_w / 2, cam.res_h / 2) and cam.focal[0] != cam.focal[1]  # a real, uneven camera
    px = _pixels(1)
    want = (px - np.array(cam.center)) / np.array(cam.focal)
    np.testing.assert_array_equal(InputEncoder.for_camera("intrinsic", cam).encode(px, dtype=None), want)
    # the principal point encodes to zero; a focal length away to one
    np.testing.assert_allclose(InputEncoder.for_camera("intrinsic", cam).encode(np.array(cam.center), dtype=None),
                               [0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("norm", ["screen", "intrinsic"])
def test_equals_training_normalisation(norm, h36m_camera):
    """The training data (make_view, with the camera's distortion) and the encoder agree to the bit."""
    from poselift.data.dataset import ViewOptions, intrinsic_normalize, make_view

    cam = h36m_camera
    world = random_motion(20).astype(np.float64)
    world = world - world[:1, :1] + np.array(cam.t) + cam.R_c2w @ np.array([0.0, 0.0, 4.5])  # 4.5 m ahead
    x2d, _, _ = make_view(cam, world, ViewOptions(input_norm=norm), np.random.default_rng(0))
    px = cam.project(cam.world_to_camera(world))
    got = InputEncoder.for_camera(norm, cam).encode(px)
    np.testing.assert_array_equal(got, x2d)
    old = cam.normalize(px).astype(np.float32) if norm == "screen" else (
        (px - np.asarray(cam.center)) / np.asarray(cam.focal)).astype(np.float32)
    np.testing.assert_array_equal(got, old)  # the formula training used before the encoder
    if norm == "intrinsic":
        np.testing.assert_array_equal(intrinsic_normalize(px, cam), x2d)


def test_bench_inputs_use_the_encoder(tmp_path):
    from helpers import write_bench

    from poselift.data.cmu import load_bench_dir
    from poselift.evaluate import bench_inputs

    write_bench(tmp_path / "bench_09.npz")
    subj = load_bench_dir(tmp_path)[0]
    sl = slice(0, 40)
    px = subj.positions_2d["gt"][1, sl].astype(np.float64)
    for norm in ("screen", "intrinsic"):
        np.testing.assert_array_equal(bench_inputs(subj, 1, sl, "gt", norm=norm),
                                      InputEncoder.for_camera(norm, subj.cameras[1]).encode(px))
    with pytest.raises(PoseliftError, match="unknown input normalisation"):
        bench_inputs(subj, 1, sl, "gt", norm="pixels")


def test_checkpoint_input_norm_chooses_the_encoding():
    px = _pixels(2)
    screen = encoder_for({"target": "pose", "input_norm": "screen"}, 1280, 720)
    intrinsic = encoder_for({"target": "pose", "input_norm": "intrinsic"}, 1280, 720, focal=900.0)
    assert screen.norm == "screen" and intrinsic.norm == "intrinsic"
    np.testing.assert_array_equal(screen.encode(px), normalize_screen_coordinates(px, 1280, 720).astype(np.float32))
    np.testing.assert_array_equal(intrinsic.encode(px), ((px - [640.0, 360.0]) / 900.0).astype(np.float32))
    assert not np.allclose(screen.encode(px), intrinsic.encode(px))
    # the recorded key wins over the target; checkpoints without it: screen poses, intrinsic trajectories
    assert input_norm({"target": "trajectory", "input_norm": "screen"}) == "screen"
    assert input_norm({"target": "trajectory"}) == "intrinsic" and input_norm({}) == "screen"
    with pytest.raises(PoseliftError, match="unknown input normalisation"):
        input_norm({"input_norm": "pixels"})
    # no focal length: the default field of view across the long side
    f, c = default_intrinsics(1280, 720)
    assert f[0] == pytest.approx(640 / np.tan(np.radians(DEFAULT_FOV_DEG / 2)))
    np.testing.assert_array_equal(encoder_for({"input_norm": "intrinsic"}, 1280, 720).focal, f)
    np.testing.assert_array_equal(intrinsic_encoder(1280, 720).center, c)
    with pytest.raises(PoseliftError):
        encoder_for({"input_norm": "intrinsic"}, 1280, 720, focal=0)
    with pytest.raises(PoseliftError, match="focal"):
        InputEncoder("intrinsic", 100, 100)


def test_bundled_checkpoints_record_their_encoding():
    from poselift.models.bundled import default_checkpoint, default_trajectory_checkpoint
    from poselift.models.checkpoint import read_meta

    assert input_norm(read_meta(default_checkpoint("coco17"))) == "screen"
    assert input_norm(read_meta(default_checkpoint("h36m17"))) == "screen"
    assert input_norm(read_meta(default_trajectory_checkpoint("coco17"))) == "intrinsic"


def test_models_encode_as_their_checkpoint_says(tmp_path, monkeypatch):
    """A lifter whose checkpoint records input_norm 'intrinsic' is fed (px - c) / f, one
    recording 'screen' the screen coordinates; the trajectory model likewise."""
    from poselift import infer
    from poselift.models.bundled import default_checkpoint, default_trajectory_checkpoint

    seen = []
    monkeypatch.setattr(infer, "predict_sequence", lambda model, x, *a, **k: seen.append(x) or np.zeros((len(x), 17, 3)))
    kp = _pixels(3, (5, 17)) * 0.5 + 200
    lifter = infer.Lifter(default_checkpoint("coco17"))
    lifter.lift(kp, 1000, 800)
    np.testing.assert_array_equal(seen[-1], normalize_screen_coordinates(kp, 1000, 800).astype(np.float32))
    lifter.meta = dict(lifter.meta, input_norm="intrinsic")
    lifter.lift(kp, 1000, 800, focal=700.0)
    np.testing.assert_array_equal(seen[-1], ((kp - [500.0, 400.0]) / 700.0).astype(np.float32))

    traj = infer.TrajectoryModel(default_trajectory_checkpoint("coco17"))
    traj.predict(kp, 1000, 800, 700.0)
    np.testing.assert_array_equal(seen[-1], ((kp - [500.0, 400.0]) / 700.0).astype(np.float32))
    traj.meta = dict(traj.meta, input_norm="screen")
    traj.predict(kp, 1000, 800, 700.0)
    np.testing.assert_array_equal(seen[-1], normalize_screen_coordinates(kp, 1000, 800).astype(np.float32))


def test_reprojection_coordinates():
    cam = look_at_camera((0, -5, 1.2), (0, 0, 1.0), res=(1000, 800), fov_deg=60)
    X = cam.world_to_camera(random_motion(5).astype(np.float64))
    px = cam.project(X, distortion=False)
    uv = intrinsic_encoder(1000, 800, cam.focal[0]).encode(px, dtype=None)
    np.testing.assert_allclose(uv, X[..., :2] / X[..., 2:], atol=1e-12)  # the pinhole's x / z, y / z
