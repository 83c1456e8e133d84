"""Side-by-side result videos (2D input | 3D skeleton)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from poselift.errors import PoseliftError  # noqa: E402
from poselift.render.video import render_video  # noqa: E402
from poselift.skeleton import COCO17  # noqa: E402
from poselift.video import VideoWriter, iter_frames, probe  # noqa: E402

FRAMES = 10
VW, VH = 160, 120

# a standing COCO-17 person in a 160 x 120 image
COCO_POSE = np.array([[80, 20], [77, 18], [83, 18], [74, 19], [86, 19], [70, 35], [90, 35], [66, 50], [94, 50],
                      [64, 62], [96, 62], [74, 65], [86, 65], [74, 85], [86, 85], [74, 105], [86, 105]], np.float32)


def keypoints(frames=FRAMES):
    kp = np.repeat(COCO_POSE[None], frames, 0) + np.arange(frames, dtype=np.float32)[:, None, None]
    kp[3, 9] = np.nan  # a missing wrist
    return kp


@pytest.fixture
def input_video(tmp_path):
    path = tmp_path / "input.mp4"
    with VideoWriter(path, 25, VW, VH) as out:
        for t in range(FRAMES):
            out.write(np.full((VH, VW, 3), 40 + 10 * t, np.uint8))
    return path


def test_ten_frame_render(tmp_path, input_video, motion):
    out = tmp_path / "result.mp4"
    gif = tmp_path / "result.gif"
    n = render_video(out, input_video, keypoints(), "coco17", motion[:FRAMES], overwrite=False, gif_path=gif,
                     progress=False, height=240)
    assert n == FRAMES
    info = probe(out)
    assert (info.frames, info.height, info.codec) == (FRAMES, 240, "h264")
    assert info.width == 320 + 240  # the 2D panel keeps the 4:3 input, the 3D panel is square
    assert info.fps == pytest.approx(25)
    frames = list(iter_frames(out))
    assert len(frames) == FRAMES
    first = frames[0]
    left, right = first[:, :320].astype(int), first[:, 320:].astype(int)
    # red (left limbs) and blue (right limbs) pixels in both panels
    for panel in (left, right):
        assert ((panel[..., 0] > 150) & (panel[..., 2] < 100)).sum() > 20
        assert ((panel[..., 2] > 120) & (panel[..., 0] < 90)).sum() > 20
    # the 3D view turns: the right panels of the first and last frames differ
    assert np.abs(frames[-1][:, 320:].astype(int) - right).mean() > 0.5
    assert probe(gif).frames >= 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.mp4", "result.gif", "result.mp4"]


def test_render_without_video(tmp_path, motion):
    out = tmp_path / "blank.mp4"
    render_video(out, None, keypoints(4), COCO17, motion[:4], fps=10, progress=False, height=128,
                 image_size=(VW, VH))
    info = probe(out)
    assert (info.frames, info.height, info.width) == (4, 128, 172 + 128)  # 160 * 128 / 120 -> 171 -> even
    assert info.fps == pytest.approx(10)


def test_refuses_overwrite_and_short_videos(tmp_path, input_video, motion):
    out = tmp_path / "result.mp4"
    out.write_bytes(b"old")
    with pytest.raises(PoseliftError, match="exists already"):
        render_video(out, input_video, keypoints(), "coco17", motion[:FRAMES], progress=False, height=128)
    assert out.read_bytes() == b"old"
    with pytest.raises(PoseliftError, match="video has 10 frames") as e:
        render_video(out, input_video, keypoints(12), "coco17", motion[:12], overwrite=True, progress=False,
                     height=128)
    assert e.value.path == str(input_video)
    assert out.read_bytes() == b"old"
    with pytest.raises(ValueError, match="frames"):
        render_video(out, input_video, keypoints(5), "coco17", motion[:6], overwrite=True, progress=False)


def test_3d_panel_draws_human36m_bones_for_coco_keypoints(tmp_path, motion):
    """The 2D is COCO-17 but the 3D is Human3.6M-17: the 3D panel must draw the Human3.6M
    bones, whose spine, neck and head are the dark grey centre line (COCO-17 has no centre
    bone at all: drawing its tree on Human3.6M joints gives no grey and a tangle of limbs)."""
    from poselift.render.plot import _limb_colour
    from poselift.render.video import _rgb
    from poselift.skeleton import H36M17

    out = tmp_path / "coco.mp4"
    render_video(out, None, keypoints(), COCO17, motion[:FRAMES], fps=25, image_size=(VW, VH), progress=False,
                 height=480)
    frame = next(iter_frames(out)).astype(int)
    panel = frame[int(0.08 * 480):, -480:]  # the 3D panel below its title
    grey = np.array(_rgb(_limb_colour(H36M17, 7)))
    near = np.abs(panel - grey).sum(-1) < 40
    print(near.sum())
    assert near.sum() > 120  # the spine, neck and head are drawn (~300 here; 23 stray pixels without them)
    red = np.array(_rgb(_limb_colour(H36M17, 4)))
    blue = np.array(_rgb(_limb_colour(H36M17, 1)))
    n_red, n_blue = ((np.abs(panel - c).sum(-1) < 60).sum() for c in (red, blue))
    assert n_red > 30 and n_blue > 30
