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


def test_several_people_each_in_their_colour_in_both_panels(tmp_path, motion):
    from poselift.render.video import PERSON_COLOURS, PersonDrawing, _bone_colour, _rgb, render_people

    other = motion[:FRAMES].copy()
    other[..., 0] += 1.5
    other[6:] = np.nan  # the second person leaves after frame 5
    kb = keypoints() + np.array([50.0, 0.0], np.float32)
    kb[6:] = np.nan
    people = [PersonDrawing(keypoints(), motion[:FRAMES], label="id 0", colour=PERSON_COLOURS[0]),
              PersonDrawing(kb, other, label="id 1", colour=PERSON_COLOURS[1])]
    out = tmp_path / "two.mp4"
    assert render_people(out, None, people, COCO17, 25, progress=False, image_size=(VW, VH), height=360) == FRAMES
    frames = list(iter_frames(out))
    width_2d = frames[0].shape[1] - 360

    def count(panel, colour):  # pixels near the person's right-limb shade (darker than the colour)
        shade = np.array(_rgb(_bone_colour(COCO17, COCO17.joints_right[0], colour)))
        return int((np.abs(panel.astype(int) - shade).sum(-1) < 40).sum())

    for t, both in ((2, True), (8, False)):
        left, right = frames[t][:, :width_2d], frames[t][:, width_2d:]
        assert count(left, PERSON_COLOURS[0]) > 5 and count(right, PERSON_COLOURS[0]) > 5
        assert (count(left, PERSON_COLOURS[1]) > 5) == both and (count(right, PERSON_COLOURS[1]) > 5) == both
