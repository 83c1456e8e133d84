"""The 3D panel of the result video (poselift.render.panel3d): where things land on screen."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from poselift.render.panel3d import Pose3DPanel  # noqa: E402
from poselift.render.video import FILLED_GREY, PERSON_COLOURS, PersonDrawing, _bone_colour, _rgb  # noqa: E402
from poselift.skeleton import H36M17  # noqa: E402

SIZE = 360
RED, BLUE, GREY = (np.array(_rgb(c)) for c in ("tab:red", "tab:blue", FILLED_GREY))

# bone offsets from the parent (metres; X the person's left, Y the way they face, Z up): standing,
# the right arm hanging; the left arm straight up when raised
OFFSETS = np.array([
    [0, 0, 0.95], [-.13, 0, -.03], [0, .02, -.44], [0, -.02, -.43], [.13, 0, -.03], [0, .02, -.44],
    [0, -.02, -.43], [0, .02, .23], [0, 0, .25], [0, -.06, .12], [0, .01, .11], [.15, 0, -.02],
    [.03, 0, -.28], [0, -.02, -.25], [-.15, 0, -.02], [-.03, 0, -.28], [0, -.02, -.25],
])


def standing(left_hand_up: bool = False, x: float = 0.0) -> np.ndarray:
    offsets = OFFSETS.copy()
    if left_hand_up:
        offsets[12], offsets[13] = [.03, 0, .28], [0, .02, .25]
    pose = np.zeros((17, 3))
    for j, p in enumerate(H36M17.parents):
        pose[j] = offsets[j] + (pose[p] if p >= 0 else [x, 0, 0])
    return pose


def drawing(poses: np.ndarray, **kw) -> PersonDrawing:
    return PersonDrawing(np.zeros((len(poses), 17, 2)), poses, **kw)


def near(image: np.ndarray, colour, tol: int = 60) -> np.ndarray:
    """(rows, cols) of the pixels within ``tol`` of ``colour`` in the 3D axes, away from the
    title, the legend (bottom left) and the top view (top right)."""
    area = np.zeros(image.shape[:2], bool)
    area[int(0.08 * SIZE):int(0.85 * SIZE), :int(0.74 * SIZE)] = True
    return np.nonzero(area & (np.abs(image.astype(int) - np.asarray(colour)).sum(-1) < tol))


def test_left_hand_raised_is_red_and_above_and_on_the_side_the_camera_sees_it():
    panel = Pose3DPanel([drawing(standing(left_hand_up=True)[None])], H36M17, SIZE)
    for azim, left_on_screen_right in ((-90, True), (-60, True), (90, False), (120, False)):
        image = panel.draw(0, azim, "")
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
        (ry, rx), (by, bx) = near(image, RED), near(image, BLUE)
        assert len(ry) > 50 and len(by) > 50
        assert ry.min() < by.min() - 0.1 * SIZE  # the raised left hand is far above the right one
        # from behind (azimuth -90: the eye on -Y, the person facing +Y) their left is on the right
        assert (rx.mean() > bx.mean()) == left_on_screen_right


def test_projection_is_matplotlibs():
    """The panel's projection is the one matplotlib's 3D axes made for the same limits, box
    and view (Axes3D.get_proj and transData), to a millionth of a pixel."""
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import proj3d

    rng = np.random.default_rng(0)
    poses = standing()[None] + np.array([0.7, -0.4, 0.0])
    panel = Pose3DPanel([drawing(poses)], H36M17, SIZE, elev=15.0)
    fig = Figure(figsize=(SIZE / 100, SIZE / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.93), projection="3d")
    ax.set_box_aspect((1, 1, 1), zoom=1.45)
    for azim in (-60.0, -90.0, 33.0, 170.0):
        panel.draw(0, azim, "")
        (cx, cy), zlo, half = panel.centre, panel.zlo, panel.half
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_zlim(zlo, zlo + 2 * half)
        ax.view_init(elev=15.0, azim=azim)
        fig.canvas.draw()
        points = np.c_[rng.uniform(cx - half, cx + half, (50, 2)), rng.uniform(zlo, zlo + 2 * half, 50)]
        x, y, _ = proj3d.proj_transform(*points.T, ax.get_proj())
        expected = ax.transData.transform(np.c_[x, y])
        expected[:, 1] = SIZE - expected[:, 1]  # pixels from the top
        got, depth = panel.project(points, (cx, cy), zlo, azim)
        assert np.abs(got - expected).max() < 1e-6
        eye = np.array([np.cos(np.radians(azim)), np.sin(np.radians(azim))])
        assert np.corrcoef(depth, -points[:, :2] @ eye)[0, 1] > 0.9  # farther from the eye: larger


def test_panel_follows_a_person_walking_right_and_the_top_view_dot_moves_right():
    steps = np.arange(0.0, 3.01, 0.5)
    poses = np.stack([standing(x=x) for x in steps])
    panel = Pose3DPanel([drawing(poses)], H36M17, SIZE)
    columns, dots = [], []
    for t in range(len(steps)):
        image = panel.draw(t, -90.0, "")
        (_, rx), (_, bx) = near(image, RED), near(image, BLUE)
        columns.append(np.r_[rx, bx].mean())
        inset = image[:int(0.3 * SIZE), int(0.74 * SIZE):]
        dots.append(np.nonzero((inset.astype(int).sum(-1) < 60))[1].mean())  # the black dot
    # the view follows: the person stays where they were on screen, 3 m later
    assert np.ptp(columns) < 0.02 * SIZE
    assert abs(columns[0] - SIZE / 2) < 0.1 * SIZE
    assert (np.diff(dots) > 0).all() and dots[-1] - dots[0] > 0.1 * SIZE


def test_a_person_walking_right_moves_right_of_one_standing_still():
    steps = np.arange(1.0, 2.51, 0.5)
    still = drawing(np.stack([standing()] * len(steps)), label="id 0", colour=PERSON_COLOURS[0])
    walking = drawing(np.stack([standing(x=x) for x in steps]), label="id 1", colour=PERSON_COLOURS[1])
    panel = Pose3DPanel([still, walking], H36M17, SIZE)

    def column(image, colour):
        shades = [np.array(_rgb(_bone_colour(H36M17, j, colour))) for j in (0, 1, 4)]  # centre, right, left
        return np.concatenate([near(image, s, 30)[1] for s in shades]).mean()

    gaps = []
    for t in range(len(steps)):
        image = panel.draw(t, -90.0, "")
        gaps.append(column(image, PERSON_COLOURS[1]) - column(image, PERSON_COLOURS[0]))
    assert gaps[0] > 0.1 * SIZE and (np.diff(gaps) > 0.05 * SIZE).all()


def test_filled_bones_are_grey_and_dashed():
    pose = standing()[None]
    filled = np.zeros((1, 17), bool)
    filled[0, [12, 13]] = True  # the left elbow and wrist invented over a gap
    image = Pose3DPanel([drawing(pose, filled=filled)], H36M17, SIZE).draw(0, -90.0, "")
    gy, gx = near(image, GREY, 30)
    assert len(gy) > 20
    # the grey runs down the left arm (screen right from behind) in dashes: rows with and without it
    arm = (gx > SIZE / 2) & (gy > gy.min())
    rows = np.unique(gy[arm])
    assert len(rows) > 15 and len(rows) < rows.ptp() + 1 - 3
    solid = Pose3DPanel([drawing(pose)], H36M17, SIZE).draw(0, -90.0, "")
    assert len(near(solid, GREY, 30)[0]) < len(gy) / 4
