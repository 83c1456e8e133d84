import numpy as np
import pytest

from poselift.data.virtual import RandomCameraSpec, random_camera, random_camera_facing
from poselift.errors import PoseliftError

from helpers import random_motion


def test_random_cameras_span_shapes_and_keep_subject_in_view():
    rng = np.random.default_rng(0)
    pos = random_motion(40, seed=1)
    shapes, inside, offsets = set(), [], []
    for _ in range(300):
        cam = random_camera_facing(rng, pos)
        shapes.add((cam.res_w, cam.res_h))
        c3 = cam.world_to_camera(pos)
        assert c3[..., 2].min() >= 1.0
        px = cam.project(c3)
        root = px[:, 0]
        inside.append(np.mean((root[:, 0] > 0) & (root[:, 0] < cam.res_w) & (root[:, 1] > 0) & (root[:, 1] < cam.res_h)))
        offsets.append(abs(root[:, 0].mean() / cam.res_w - 0.5))
    assert shapes == {(1000, 1000), (1920, 1080), (1080, 1920)}
    assert np.mean(inside) > 0.95  # the subject is in the picture
    assert np.percentile(offsets, 90) > 0.05  # and not always in its centre


def test_random_camera_ranges():
    rng = np.random.default_rng(3)
    spec = RandomCameraSpec()
    for _ in range(100):
        cam = random_camera(rng, spec, centre=(2.0, -1.0))
        eye = np.asarray(cam.t)
        d = np.hypot(eye[0] - 2.0, eye[1] + 1.0)
        assert spec.distance[0] - 1e-9 <= d <= spec.distance[1] + 1e-9
        assert spec.height[0] <= eye[2] <= spec.height[1]
        fov = 2 * np.degrees(np.arctan(cam.res_w / 2 / cam.focal[0]))
        assert spec.fov[0] - 1e-6 <= fov <= spec.fov[1] + 1e-6


def test_clip_that_cannot_be_seen_is_refused():
    spec = RandomCameraSpec(distance=(1.0, 1.0))
    pos = random_motion(10, seed=0)
    pos[5:, :, 0] += 50.0  # walks 50 m away: always passes behind a camera 1 m from its centre
    with pytest.raises(PoseliftError, match="in front"):
        random_camera_facing(np.random.default_rng(0), pos, spec, tries=5)
