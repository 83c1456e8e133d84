"""The look shared by the video render and its 3D panel: colours, sizes, fonts, what one
person to draw is (:class:`PersonDrawing`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import Skeleton
from .plot import _limb_colour

PANEL_BG = (250, 250, 250)


def _rgb(colour: str) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(int(round(255 * c)) for c in to_rgb(colour))


# the 3D view follows the person: a fixed box of this half-width (metres) around the pelvis,
# from the floor to twice that height: a standing adult fills about 80 % of the panel
VIEW_HALF = 1.0
GRID_STEP = 0.5  # metres between floor grid lines (fixed to the floor, so they slide as the person moves)
FILLED_GREY = "0.62"
# one colour per person when there are several (tab10 without its red, blue and grey, which
# mean left, right and the spine of a single person)
PERSON_COLOURS = ("tab:orange", "tab:green", "tab:purple", "tab:cyan", "tab:pink", "tab:olive", "tab:brown",
                  "gold", "teal", "slateblue")


@dataclass
class PersonDrawing:
    """One person to draw: ``keypoints`` (T, J, 2) pixels in the 2D layout, ``poses`` (T, 17, 3)
    world metres (Human3.6M-17; every person in the same world frame), NaN where absent;
    ``filled_2d`` (T, J) / ``filled`` (T, 17) positions invented over a gap; ``label`` written
    next to the person (e.g. "id 1"); ``colour`` the person's colour (None: left red, right blue)."""

    keypoints: np.ndarray
    poses: np.ndarray
    filled_2d: np.ndarray | None = None
    filled: np.ndarray | None = None
    label: str = ""
    colour: str | None = None


def _shade(colour: str, amount: float) -> tuple[float, float, float]:
    """``colour`` mixed with white (amount > 0) or black (amount < 0)."""
    from matplotlib.colors import to_rgb

    c = np.array(to_rgb(colour))
    return tuple(c + (1 - c) * amount if amount > 0 else c * (1 + amount))


def _bone_colour(skeleton: Skeleton, j: int, person: str | None):
    """Left limbs red and right blue for a lone person; for one of several, the person's colour,
    lighter on the left and darker on the right."""
    if person is None:
        return _limb_colour(skeleton, j)
    if j in skeleton.joints_left:
        return _shade(person, 0.45)
    if j in skeleton.joints_right:
        return _shade(person, -0.35)
    return _shade(person, 0.0)


def _font(size: int):
    """A TrueType font of ``size`` pixels (matplotlib's bundled DejaVu Sans), else PIL's default."""
    from PIL import ImageFont

    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
    except (OSError, ValueError, ImportError):
        return ImageFont.load_default()
