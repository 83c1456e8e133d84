"""Static figures (``plot_sequence_strip``): each frame's 2D input above its 3D pose."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from PIL import Image  # noqa: E402

from poselift.render.plot import plot_sequence_strip  # noqa: E402

from conftest import rigid_motion  # noqa: E402

RED, BLUE, GREY = (214, 39, 40), (31, 119, 180), (153, 153, 153)  # tab:red, tab:blue, "0.6"


def share(image: np.ndarray, colour, tol: int = 30) -> float:
    """The fraction of ``image``'s pixels within ``tol`` of ``colour``."""
    return float((np.abs(image.astype(int) - colour).max(-1) <= tol).mean())


def camera_motion(frames: int, seed: int) -> np.ndarray:
    """A walk in front of a camera (camera frame: x right, y down, z forward), metres."""
    world = rigid_motion(frames, "circle", seed=seed)  # Z up
    return np.stack([world[..., 0], -world[..., 2], world[..., 1] + 4.0], -1)


def test_strip_draws_both_rows_for_each_frame(tmp_path):
    cam = camera_motion(10, seed=0)
    keypoints = cam[..., :2] / cam[..., 2:] * 1000 + 500
    truth = cam[:, :1] + (cam - cam[:, :1]) * 1.3  # a bigger body: its dashed grey bones show
    images = {}
    for name, gt in (("with", truth), ("without", None)):
        plot_sequence_strip(tmp_path / f"{name}.png", keypoints, cam, [0, 5, 9], ground_truth=gt, title="walk")
        images[name] = np.asarray(Image.open(tmp_path / f"{name}.png").convert("RGB"))
    image = images["with"]
    assert image.shape[1] == pytest.approx(2.6 * 3 * 90, abs=2) and image.shape[0] == pytest.approx(5.6 * 90, abs=2)
    half = image.shape[0] // 2
    for row in (image[:half], image[half:]):
        for col in np.array_split(row, 3, axis=1):  # every frame's panel has left (red) and right (blue) limbs
            assert share(col, RED) > 1e-3 and share(col, BLUE) > 1e-3
    np.testing.assert_array_equal(image[:half], images["without"][:half])  # the 2D row has no ground truth
    panels = [np.array_split(images[k][half:], 3, axis=1) for k in ("with", "without")]
    for with_gt, without in zip(*panels):
        assert share(with_gt, GREY, 12) > share(without, GREY, 12) + 1e-3  # the ground truth's grey bones


def test_strip_without_ground_truth(tmp_path):
    cam = camera_motion(3, seed=1)
    plot_sequence_strip(tmp_path / "one.png", cam[..., :2] * 100 + 300, cam, [1])
    image = np.asarray(Image.open(tmp_path / "one.png").convert("RGB"))
    assert share(image, RED) > 1e-3 and share(image, BLUE) > 1e-3
