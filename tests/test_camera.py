import json
import math
from importlib import resources

import numpy as np
import pytest
import torch

from poselift.camera import (
    Camera,
    camera_to_world,
    flip_intrinsics,
    image_coordinates,
    intrinsic_from_screen,
    load_calibration_json,
    look_at_camera,
    normalize_screen_coordinates,
    project_to_2d,
    project_to_2d_linear,
    project_with_intrinsics,
    qrot,
    quaternion_to_matrix,
    world_to_camera,
)
from poselift.errors import PoseliftError

H36M_JSON = resources.files("poselift") / "assets" / "h36m_cameras.json"


def random_quaternions(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


# ----------------------------------------------------------------------- screen


def test_normalize_endpoints_and_aspect():
    w, h = 1000, 1002
    px = np.array([[0.0, 0.0], [w, h], [w / 2, h / 2], [w, 0.0]])
    n = normalize_screen_coordinates(px, w, h)
    np.testing.assert_allclose(n[0], [-1.0, -h / w])
    np.testing.assert_allclose(n[1], [1.0, h / w])
    np.testing.assert_allclose(n[2], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(n[3], [1.0, -h / w])
    # same scale on both axes: a pixel step of (10, 10) is a square step
    d = normalize_screen_coordinates(np.array([110.0, 210.0]), w, h) - normalize_screen_coordinates(
        np.array([100.0, 200.0]), w, h
    )
    np.testing.assert_allclose(d, [0.02, 0.02])


def test_normalize_image_round_trip_numpy_and_torch():
    rng = np.random.default_rng(0)
    px = rng.uniform(0, 1920, size=(5, 17, 2))
    n = normalize_screen_coordinates(px, 1920, 1080)
    np.testing.assert_allclose(image_coordinates(n, 1920, 1080), px, atol=1e-9)
    t = torch.from_numpy(px)
    nt = normalize_screen_coordinates(t, 1920, 1080)
    assert isinstance(nt, torch.Tensor)
    np.testing.assert_allclose(nt.numpy(), n)
    torch.testing.assert_close(image_coordinates(nt, 1920, 1080), t)


def test_normalize_integer_pixels():
    # integer pixel arrays must not truncate the aspect offset h / w
    px = np.array([[0, 0], [1000, 1002]])
    np.testing.assert_allclose(normalize_screen_coordinates(px, 1000, 1002), [[-1.0, -1.002], [1.0, 1.002]])
    nt = normalize_screen_coordinates(torch.tensor([[0, 0], [1000, 1002]]), 1000, 1002)
    np.testing.assert_allclose(nt.numpy(), [[-1.0, -1.002], [1.0, 1.002]], rtol=1e-6)


# -------------------------------------------------------------------- rotations


def test_quaternion_to_matrix_is_rotation():
    rng = np.random.default_rng(1)
    q = random_quaternions(rng, 8)
    R = quaternion_to_matrix(q)
    assert R.shape == (8, 3, 3)
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    # qrot and the matrix rotate vectors identically
    v = rng.normal(size=(8, 3))
    np.testing.assert_allclose(qrot(q, v), np.einsum("nij,nj->ni", R, v), atol=1e-12)
    # 90 degrees about z: x -> y
    qz = np.array([math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)])
    np.testing.assert_allclose(quaternion_to_matrix(qz) @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_world_to_camera_quaternion_matches_matrix(seed):
    rng = np.random.default_rng(seed)
    q = random_quaternions(rng, 1)[0]
    t = rng.normal(size=3) * 3
    X = rng.normal(size=(6, 17, 3))
    R = quaternion_to_matrix(q)
    a = world_to_camera(X, q, t)
    b = world_to_camera(X, R, t)
    np.testing.assert_allclose(a, b, atol=1e-12)
    # the convention: X_cam = R^T (X_world - t)
    np.testing.assert_allclose(b, (X - t) @ R, atol=1e-12)
    np.testing.assert_allclose(camera_to_world(X, q, t), camera_to_world(X, R, t), atol=1e-12)
    # torch takes the quaternion and matrix paths too
    Xt = torch.from_numpy(X)
    np.testing.assert_allclose(world_to_camera(Xt, torch.from_numpy(q), torch.from_numpy(t)).numpy(), a, atol=1e-12)
    np.testing.assert_allclose(world_to_camera(Xt, R, t).numpy(), a, atol=1e-12)


def test_world_camera_round_trip():
    rng = np.random.default_rng(3)
    q = random_quaternions(rng, 1)[0]
    t = np.array([1.8, 4.9, 1.5])
    X = rng.normal(size=(10, 17, 3))
    for R in (q, quaternion_to_matrix(q)):
        Xc = world_to_camera(X, R, t)
        assert not np.allclose(Xc, X)
        np.testing.assert_allclose(camera_to_world(Xc, R, t), X, atol=1e-12)
    cam = Camera("c", 100, 100, (50.0, 50.0), (50.0, 50.0), R_c2w=quaternion_to_matrix(q), t=tuple(t))
    np.testing.assert_allclose(cam.camera_to_world(cam.world_to_camera(X)), X, atol=1e-12)
    # the camera centre maps to the camera-frame origin
    np.testing.assert_allclose(cam.world_to_camera(t), [0.0, 0.0, 0.0], atol=1e-12)


def test_world_to_camera_integer_points():
    q = random_quaternions(np.random.default_rng(4), 1)[0]
    R = quaternion_to_matrix(q)
    Xi = np.array([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(world_to_camera(Xi, R, (0, 0, 0)), world_to_camera(Xi.astype(float), R, (0, 0, 0)))


def test_bad_rotation_shape():
    with pytest.raises(PoseliftError, match="rotation"):
        world_to_camera(np.zeros((2, 3)), np.eye(2), (0.0, 0.0, 0.0))


# ------------------------------------------------------------------- projection

F, C = (1145.0, 1143.8), (512.5, 515.4)
K, P = (-0.207, 0.248, -0.003), (-0.001, -0.0014)


def _points(rng, n=200):
    X = rng.uniform(-1.0, 1.0, size=(n, 3))
    X[:, 2] = rng.uniform(2.0, 6.0, size=n)  # in front of the camera, |X/Z| < 1
    return X


def test_project_numpy_matches_torch():
    X = _points(np.random.default_rng(5)).reshape(10, 20, 3)
    a = project_to_2d(X, F, C, K, P)
    b = project_to_2d(torch.from_numpy(X), F, C, K, P)
    assert isinstance(b, torch.Tensor) and b.shape == (10, 20, 2)
    np.testing.assert_allclose(b.numpy(), a, rtol=1e-12, atol=1e-9)
    # float32 torch is close too
    c = project_to_2d(torch.from_numpy(X).float(), F, C, K, P)
    assert c.dtype == torch.float32
    np.testing.assert_allclose(c.numpy(), a, atol=1e-3)


def test_zero_distortion_equals_linear():
    X = _points(np.random.default_rng(6))
    np.testing.assert_allclose(project_to_2d(X, F, C), project_to_2d_linear(X, F, C), atol=1e-9)
    np.testing.assert_allclose(
        project_to_2d(X, F, C, (0.0, 0.0, 0.0), (0.0, 0.0)), project_to_2d_linear(X, F, C), atol=1e-9
    )
    # with distortion the two differ
    assert np.abs(project_to_2d(X, F, C, K, P) - project_to_2d_linear(X, F, C)).max() > 1.0


def _hand_projection(X, f, c, k, p):
    xn = [min(max(X[0] / X[2], -1.0), 1.0), min(max(X[1] / X[2], -1.0), 1.0)]
    r2 = xn[0] ** 2 + xn[1] ** 2
    radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
    tan = p[0] * xn[0] + p[1] * xn[1]
    xd = [xn[i] * (radial + tan) + p[i] * r2 for i in range(2)]
    return [f[i] * xd[i] + c[i] for i in range(2)]


def test_projection_hand_computed_value():
    f, c, k, p = (1100.0, 1105.0), (500.0, 510.0), (0.1, -0.05, 0.01), (0.001, -0.002)
    X = (0.3, -0.2, 2.0)
    # worked by hand: xn = (0.15, -0.1), r2 = 0.0325
    r2 = 0.0325
    radial = 1 + 0.1 * r2 - 0.05 * r2**2 + 0.01 * r2**3
    tan = 0.001 * 0.15 + (-0.002) * (-0.1)
    expected = [
        1100.0 * (0.15 * (radial + tan) + 0.001 * r2) + 500.0,
        1105.0 * (-0.1 * (radial + tan) - 0.002 * r2) + 510.0,
    ]
    got = project_to_2d(np.array(X), f, c, k, p)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got, _hand_projection(X, f, c, k, p), rtol=0, atol=1e-9)
    # worked through by hand: radial = 1.0031975308, radial + tan = 1.0035475308
    assert got[0] == pytest.approx(665.6210926, abs=1e-6)


def test_projection_clips_normalised_coordinates():
    f, c, k, p = (1100.0, 1105.0), (500.0, 510.0), (0.1, -0.05, 0.01), (0.001, -0.002)
    X = (3.0, 0.5, 1.0)  # X/Z = 3 is clipped to 1
    got = project_to_2d(np.array(X), f, c, k, p)
    np.testing.assert_allclose(got, _hand_projection(X, f, c, k, p), atol=1e-9)
    np.testing.assert_allclose(got, project_to_2d(np.array([1.0, 0.5, 1.0]), f, c, k, p), atol=1e-9)


def test_projection_broadcasts_per_camera_intrinsics():
    rng = np.random.default_rng(7)
    X = _points(rng, 3 * 17).reshape(3, 17, 3)
    focal = rng.uniform(900, 1200, size=(3, 1, 2))
    center = rng.uniform(400, 600, size=(3, 1, 2))
    out = project_to_2d(X, focal, center, K, P)
    for i in range(3):
        np.testing.assert_allclose(out[i], project_to_2d(X[i], focal[i, 0], center[i, 0], K, P))


def test_normalized_intrinsics_project_to_normalized_coordinates():
    cam = Camera("c", 1000, 1002, F, C, K, P)
    X = _points(np.random.default_rng(8))
    ni = cam.normalized_intrinsics().astype(np.float64)
    assert ni.shape == (9,)
    n = project_to_2d(X, ni[0:2], ni[2:4], ni[4:7], ni[7:9])
    np.testing.assert_allclose(n, cam.normalize(cam.project(X)), atol=1e-5)


def _h36m_cameras():
    with resources.as_file(H36M_JSON) as path:
        return [c for cams in load_calibration_json(path).values() for c in cams]


def test_projection_layer_matches_camera_projection_and_has_finite_gradients():
    """The torch layer of semi-supervised training against ``Camera.project`` (real distortion)."""
    rng = np.random.default_rng(9)
    cams = _h36m_cameras()
    X = np.stack([_points(rng, 17) for _ in cams])  # (n_cams, 17, 3): one camera per pose
    ref = np.stack([c.normalize(c.project(x)) for c, x in zip(cams, X)])
    K = torch.tensor(np.stack([c.normalized_intrinsics() for c in cams]))
    Xt = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    out = project_with_intrinsics(Xt, K)
    assert out.shape == (len(cams), 17, 2)
    assert (out.detach().numpy() - ref).__abs__().max() < 1e-5
    out.square().sum().backward()
    assert torch.isfinite(Xt.grad).all() and Xt.grad.abs().sum() > 0
    lin = project_with_intrinsics(Xt.detach(), K, distortion=False).numpy()
    ref_lin = np.stack([c.normalize(c.project(x, distortion=False)) for c, x in zip(cams, X)])
    assert np.abs(lin - ref_lin).max() < 1e-5
    assert np.abs(lin - ref).max() > 1e-4  # the distortion terms do something


def test_flipped_intrinsics_project_the_mirrored_pose():
    rng = np.random.default_rng(10)
    for cam in _h36m_cameras()[:4]:
        X = _points(rng, 17)
        K = cam.normalized_intrinsics().astype(np.float64)
        mirrored = X * np.array([-1.0, 1.0, 1.0])
        flipped = project_with_intrinsics(mirrored, flip_intrinsics(K))
        np.testing.assert_allclose(flipped, project_with_intrinsics(X, K) * np.array([-1.0, 1.0]), atol=1e-12)
        np.testing.assert_array_equal(flip_intrinsics(flip_intrinsics(K)), K)


def test_intrinsic_from_screen_matches_pixels():
    from poselift.data.dataset import intrinsic_normalize

    cam = Camera("c", 1000, 1002, F, C, K, P)
    px = np.random.default_rng(11).uniform(0, 1000, size=(5, 17, 2))
    got = intrinsic_from_screen(cam.normalize(px), cam.normalized_intrinsics().astype(np.float64))
    np.testing.assert_allclose(got, intrinsic_normalize(px, cam), atol=1e-6)


# ------------------------------------------------------------------ calibration


def test_load_bundled_h36m_calibration():
    with resources.as_file(H36M_JSON) as path:
        cams = load_calibration_json(path)
    assert sorted(cams) == sorted(["S1", "S5", "S6", "S7", "S8", "S9", "S11"])
    for subj in ("S2", "S3", "S4"):
        assert subj not in cams
    for subj, lst in cams.items():
        assert len(lst) == 4
        assert [c.id for c in lst] == ["54138969", "55011271", "58860488", "60457274"]
        for cam in lst:
            assert 3.0 < np.linalg.norm(cam.t) < 7.0, (subj, cam.id, cam.t)
            R = np.asarray(cam.R_c2w)
            np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-6)
            assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-6)
            assert (cam.res_w, cam.res_h) in ((1000, 1002), (1000, 1000))
            assert len(cam.radial) == 3 and len(cam.tangential) == 2
    s1 = cams["S1"][0]
    np.testing.assert_allclose(s1.t, [1.8411070556640625, 4.95528466796875, 1.5634454345703125], rtol=1e-9)
    np.testing.assert_allclose(s1.focal, [1145.0494384765625, 1143.7811279296875])


def test_load_calibration_subject_filter():
    with resources.as_file(H36M_JSON) as path:
        only = load_calibration_json(path, subject="S9")
        assert list(only) == ["S9"]
        with pytest.raises(PoseliftError, match="S42"):
            load_calibration_json(path, subject="S42")


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"intrinsics": []}', "[1, 2, 3]", b"\xff\xfe\x00garbage"],
    ids=["syntax", "missing-key", "wrong-type", "binary"],
)
def test_load_calibration_bad_file(tmp_path, content):
    path = tmp_path / "broken_cameras.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(PoseliftError) as ei:
        load_calibration_json(path)
    assert "broken_cameras.json" in str(ei.value)
    assert ei.value.path == str(path)


def test_load_calibration_missing_file(tmp_path):
    with pytest.raises(PoseliftError, match="nope.json"):
        load_calibration_json(tmp_path / "nope.json")


def test_load_calibration_wrong_camera_count(tmp_path):
    spec = json.loads(H36M_JSON.read_text())
    spec["extrinsics"] = {"S1": spec["extrinsics"]["S1"][:3]}
    path = tmp_path / "three.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(PoseliftError, match="three.json"):
        load_calibration_json(path)


# ---------------------------------------------------------------------- look-at


@pytest.mark.parametrize(
    "eye,target",
    [((0.0, -5.0, 1.0), (0.0, 0.0, 1.0)), ((3.0, 4.0, 2.5), (0.2, -0.1, 0.9)), ((-6.0, 1.0, 0.3), (0.0, 0.0, 1.2))],
)
def test_look_at_camera_centres_target(eye, target):
    cam = look_at_camera(eye, target, res=(1280, 720), fov_deg=60.0)
    R = np.asarray(cam.R_c2w)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    Xc = cam.world_to_camera(np.asarray(target))
    assert Xc[2] == pytest.approx(np.linalg.norm(np.subtract(target, eye)))
    np.testing.assert_allclose(cam.project(Xc), [640.0, 360.0], atol=1e-9)
    # world up appears towards the top of the image (smaller y)
    above = cam.project(cam.world_to_camera(np.asarray(target) + [0.0, 0.0, 0.3]))
    assert above[1] < 360.0
    # horizontal field of view: focal = (w / 2) / tan(fov / 2)
    assert cam.focal[0] == pytest.approx(640.0 / math.tan(math.radians(30.0)))


def test_look_at_camera_x_right():
    cam = look_at_camera((0.0, -5.0, 1.0), (0.0, 0.0, 1.0), res=(1000, 1000))
    right = cam.project(cam.world_to_camera(np.array([0.5, 0.0, 1.0])))
    assert right[0] > 500.0
    assert right[1] == pytest.approx(500.0)


def test_look_at_camera_along_up_axis_raises():
    with pytest.raises(PoseliftError):
        look_at_camera((0.0, 0.0, 5.0), (0.0, 0.0, 0.0))


# ------------------------------------------------------------------- shared data


def test_cmu_bench_cameras_reproduce_stored_projections(shared_data):
    from poselift.data.cmu import load_bench_file

    files = sorted((shared_data / "cmu" / "val").glob("bench_*.npz"))
    if not files:
        pytest.skip("no cmu/val/bench_*.npz in the shared data")
    for f in files:
        bench = load_bench_file(f)
        assert len(bench.cameras) == 4, f
        with np.load(f, allow_pickle=False) as d:
            world = d["positions_3d_world"].astype(np.float64)
        for c, cam in enumerate(bench.cameras):
            X = bench.positions_3d_camera[c].astype(np.float64)
            px = cam.project(X)
            err2d = np.abs(px - bench.positions_2d["gt"][c]).max()
            assert err2d < 0.01, f"{f.name} camera {cam.id}: 2D error {err2d} px"
            err3d = np.abs(cam.world_to_camera(world) - X).max()
            assert err3d < 1e-4, f"{f.name} camera {cam.id}: 3D error {err3d} m"
