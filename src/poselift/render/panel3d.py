"""The 3D panel of the result video, drawn directly with numpy and OpenCV.

It draws the picture the matplotlib 3D axes used to draw (the same orbit camera, box, floor
grid, shadows, colours, legend and top-view inset), about 20 times faster (1.5 against 28 ms
a 720×720 frame): the world points go through matplotlib's own projection
(``Axes3D.get_proj``: a box scaled to the axes' ``box_aspect``, an eye 10 box units away at
the view's elevation and azimuth, a focal length of 1), bones are anti-aliased OpenCV polygons
(round-ended, matplotlib's widths and dashes) drawn from the farthest to the nearest, and what
does not change from frame to frame (legend, "grid" note, the top view's frame and whole paths)
is drawn once into a layer that each frame lays over the picture. Sizes follow the matplotlib
figure it replaces: points at 100 dots per inch, text in DejaVu Sans.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..skeleton import Skeleton
from .style import FILLED_GREY, GRID_STEP, PANEL_BG, VIEW_HALF, PersonDrawing, _bone_colour, _font, _rgb, _shade

DPI = 100.0
PT = DPI / 72.0  # pixels per point
SHIFT = 4  # fractional bits of the coordinates handed to OpenCV (sub-pixel positions)
ONE = 1 << SHIFT
DASH = (3.7, 1.6)  # matplotlib's "--": dash and gap, in line widths
# OpenCV's anti-aliased polygons come out this much wider than asked, its filled circles this
# much larger in radius (measured): subtracted to draw matplotlib's widths
AA_GROW = 1.4
AA_CIRCLE = 0.55
THIN = 1.8  # lines thinner than this (pixels) are OpenCV's one-pixel lines (about 1.4 wide)
DIST = 10.0  # matplotlib's eye distance (box units) ...
VIEW_LIM = (-0.95 / DIST, 0.9 / DIST)  # ... and the projected extent its axes show (Axes3D.set_top_view)
BOX = 1.8294640721620434 * 25 / 24 * 1.45 / math.sqrt(3)  # set_box_aspect((1, 1, 1), zoom=1.45)
AXES = (0.0, 0.0, 1.0, 0.93)  # where the 3D axes sit in the panel (figure fractions)
INSET = (0.74, 0.72, 0.24, 0.2)  # the top view (figure fractions, before its equal aspect)


def _fixed(xy) -> np.ndarray:
    """Pixel positions (x right, y down, a pixel's centre at +0.5) as OpenCV fixed-point ints."""
    return np.round((np.asarray(xy, dtype=np.float64) - 0.5) * ONE).astype(np.int32)


def _dashes(a, b, width: float):
    """matplotlib's "--" along the segment a → b (pixels) for a line ``width`` pixels wide:
    (start, end) pixel pairs of each butt-ended dash, the first one at ``a``, each drawn
    AA_GROW shorter (OpenCV's anti-aliasing adds that much)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = float(np.hypot(*(b - a)))
    if length < 1e-6:
        return []
    along = (b - a) / length
    on, off = DASH[0] * width, DASH[1] * width
    grow = min(AA_GROW, on / 2)
    out, s = [], grow / 2
    while s < length:
        e = min(s + on - grow, length)
        out.append((a + along * s, a + along * e))
        s += on + off
    return out


def _text_mask(text: str, font):
    """(mask, x0, y0): the anti-aliased coverage of ``text`` and its offset from the baseline's
    left end."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = font.getbbox(text, anchor="ls")
    x0, y0, x1, y1 = x0 - 1, y0 - 1, x1 + 1, y1 + 1
    image = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    ImageDraw.Draw(image).text((-x0, -y0), text, fill=255, font=font, anchor="ls")
    return np.asarray(image), x0, y0


class _Text:
    """Text placed as matplotlib places it: ``ha`` left/center/right of the advance width,
    ``va`` baseline/bottom/center/top of the box from the descent to the ascent of "lp"."""

    def __init__(self, pixels: float):
        self.size = pixels
        self.font = _font(pixels)
        _, top, _, bottom = self.font.getbbox("lp", anchor="ls")
        self.descent, self.height = bottom, bottom - top
        self.cache: dict[str, tuple] = {}

    def origin(self, text: str, x: float, y: float, ha: str = "left", va: str = "baseline"):
        """The baseline's left end of ``text`` anchored at (x, y) (pixels, y down)."""
        width = self.font.getlength(text)
        x -= {"left": 0.0, "center": width / 2, "right": width}[ha]
        y += {"baseline": 0.0, "bottom": -self.descent, "center": self.height / 2 - self.descent,
              "top": self.height - self.descent}[va]
        return x, y

    def mask(self, text: str, keep: bool = False):
        if text in self.cache:
            return self.cache[text]
        out = _text_mask(text, self.font)
        if keep:
            self.cache[text] = out
        return out

    def draw(self, image: np.ndarray, text: str, x: float, y: float, colour, ha="left", va="baseline",
             keep: bool = False) -> None:
        """Blend ``text`` in ``colour`` into ``image`` (clipped to it)."""
        if not text:
            return
        ox, oy = self.origin(text, x, y, ha, va)
        mask, x0, y0 = self.mask(text, keep)
        _blend(image, mask, int(round(ox)) + x0, int(round(oy)) + y0, colour)


def _blend(image: np.ndarray, mask: np.ndarray, x: int, y: int, colour, opacity: float = 1.0) -> None:
    """``image`` ← ``colour`` over ``image`` with coverage ``mask`` (uint8) placed at (x, y)."""
    h, w = mask.shape
    H, W = image.shape[:2]
    xa, ya, xb, yb = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if xa >= xb or ya >= yb:
        return
    a = mask[ya - y:yb - y, xa - x:xb - x, None].astype(np.float32) * (opacity / 255.0)
    region = image[ya:yb, xa:xb]
    region[:] = (region + (np.asarray(colour, np.float32) - region) * a + 0.5).astype(np.uint8)


class _Layer:
    """What stays the same in every frame, drawn once with its coverage (premultiplied RGBA),
    laid over each frame only where it covers something."""

    def __init__(self, size: int):
        self.size = size
        self.rgb = np.zeros((size, size, 3), np.float32)
        self.alpha = np.zeros((size, size), np.float32)
        self.parts: list[tuple] = []

    def canvas(self) -> np.ndarray:
        return np.zeros((self.size, self.size), np.uint8)

    def paint(self, mask: np.ndarray, colour, opacity: float = 1.0) -> None:
        """Lay ``colour`` with coverage ``mask`` (uint8, the layer's size) over the layer."""
        ys, xs = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        if not len(ys):
            return
        box = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
        a = mask[box].astype(np.float32)[..., None] * (opacity / 255.0)
        self.rgb[box] = self.rgb[box] * (1 - a) + np.asarray(colour, np.float32) * a
        self.alpha[box] = self.alpha[box] * (1 - a[..., 0]) + a[..., 0]

    def finish(self, blank: np.ndarray) -> None:
        """Cut the layer into the boxes around what it covers, each also laid over ``blank``."""
        covered = (self.alpha > 0).astype(np.uint8)
        grown = cv2.dilate(covered, np.ones((9, 9), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(grown)
        for x, y, w, h, _ in stats[1:count]:
            box = (slice(y, y + h), slice(x, x + w))
            rgb, keep = self.rgb[box].copy(), 1 - self.alpha[box][..., None]
            self.parts.append((box, rgb, keep, blank[box].copy(), (blank[box] * keep + rgb + 0.5).astype(np.uint8)))
        self.rgb = self.alpha = None

    def over(self, image: np.ndarray) -> None:
        for box, rgb, keep, blank, ready in self.parts:
            region = image[box]
            if np.array_equal(region, blank):  # nothing drawn there in this frame
                np.copyto(region, ready)
            else:
                region[:] = (region * keep + rgb + 0.5).astype(np.uint8)


class Pose3DPanel:
    """Draws the 3D panel of the result video: ``draw(t, azim, label)`` returns an RGB image
    (size, size, 3) of every person's pose of row ``t`` in a box of fixed size around the
    pelvis (of the mean of the pelvises, for several people; a metre is always as long) seen
    from elevation ``elev`` and azimuth ``azim`` (degrees, matplotlib's ``view_init``), a floor
    grid fixed to the floor with the bones' shadows, a legend, and a top view of the whole
    pelvis paths with the current positions in the corner. Bones touching a filled joint are
    grey and dashed."""

    def __init__(self, people: list[PersonDrawing], skeleton: Skeleton, size: int, elev: float = 15.0):
        self.people, self.elev, self.size = people, float(elev), int(size)
        size = self.size
        font = max(7.0, size / 70) * PT  # pixels
        self.text = _Text(font)
        self.title_text = _Text(font * 1.1)

        allpose = np.concatenate([pp.poses for pp in people])
        finite = allpose[np.isfinite(allpose).all(-1)]
        lowest = float(finite[:, 2].min()) if len(finite) else 0.0
        self.floor = 0.0 if abs(lowest) < 0.3 else lowest
        # several people: one box for the whole clip, wide enough for the widest spread of pelvises
        pelvis = np.stack([pp.poses[:, 0, :2] for pp in people], 1)  # (T, P, 2)
        spread = 0.0
        for here in pelvis:  # the widest spread of those present in one frame
            here = here[np.isfinite(here).all(-1)]
            if len(here) > 1:
                spread = max(spread, float((here.max(0) - here.min(0)).max()))
        self.half = max(VIEW_HALF, spread / 2 + 0.8)
        self.bones = np.array([(j, p) for j, p in enumerate(skeleton.parents) if p >= 0])
        self.width = max(2.0, size / 200) * (1.0 if len(people) == 1 else 0.8)  # points
        self.colours = [[_rgb(_bone_colour(skeleton, j, pp.colour)) for j, _ in self.bones] for pp in people]
        self.filled_grey = _rgb(FILLED_GREY)
        self.grid_grey, self.shadow_grey, self.label_grey = _rgb("0.82"), _rgb("0.7"), _rgb("0.2")
        self.grid_line = _towards(np.zeros((1, 1, 3)), self.grid_grey, 0.7 * PT / 1.4)
        self.blank = np.empty((size, size, 3), np.uint8)
        self.blank[:] = PANEL_BG

        # the 3D axes: a square (equal aspect) centred in AXES, drawing clipped to it
        left, bottom, w, h = (v * size for v in AXES)
        side = min(w, h)
        self.axes_x0, self.axes_top = left + (w - side) / 2, size - (bottom + (h - side) / 2 + side)
        self.axes_side = side
        self.clip = (int(round(self.axes_top)), int(round(self.axes_top + side)),
                     int(round(self.axes_x0)), int(round(self.axes_x0 + side)))
        self.shadow_mask = np.zeros((self.clip[1] - self.clip[0], self.clip[3] - self.clip[2]), np.uint8)

        self.layer = _Layer(size)
        self._legend(people)
        self._text_static("grid %g m" % GRID_STEP, 0.98 * size, size * (1 - 0.015), _rgb("0.45"), "right", "bottom")
        self._inset(people, pelvis)
        self.layer.finish(self.blank)

    # ------------------------------------------------------------------ static parts
    def _text_static(self, text, x, y, colour, ha="left", va="baseline", style=None):
        """``text`` into the layer, placed as matplotlib would (see :class:`_Text`)."""
        style = style or self.text
        ox, oy = style.origin(text, x, y, ha, va)
        mask, x0, y0 = style.mask(text)
        canvas = self.layer.canvas()
        _blend_into_mask(canvas, mask, int(round(ox)) + x0, int(round(oy)) + y0)
        self.layer.paint(canvas, colour)

    def _line_static(self, points, colour, width_px, dashed=False, cap="round"):
        canvas = self.layer.canvas()
        _line(canvas, points, 255, width_px, dashed=dashed, cap=cap)
        self.layer.paint(canvas, colour)

    def _legend(self, people) -> None:
        """matplotlib's figure legend, lower left: handles 1.6 font sizes long, rows half a font
        size apart, 0.4 font sizes of padding 0.3 from the corner (frameless)."""
        fs, size, width = self.text.size, self.size, self.width * PT
        if len(people) == 1 and people[0].colour is None:
            rows = [("left", _rgb("tab:red"), False), ("right", _rgb("tab:blue"), False)]
        else:
            rows = [(pp.label, _rgb(pp.colour), False) for pp in people[:6]]
            rows.append(("lighter: left", None, False))
        rows.append(("filled", self.filled_grey, True))
        x = (0.3 + 0.4) * fs
        for k, (label, colour, dashed) in enumerate(reversed(rows)):
            # rows of text boxes 1.01 font sizes high (matplotlib's), the handle 0.35 above the baseline
            bottom = size - ((0.3 + 0.4) * fs + k * ((1.01 + 0.5) * fs))
            mid = bottom - self.text.descent - 0.35 * fs
            if colour is not None:
                ends = np.array([[x, mid], [x + 1.6 * fs, mid]])
                if dashed:
                    self._line_static(ends, colour, width, dashed=True, cap="butt")
                else:  # matplotlib's "projecting" cap: half the width beyond each end
                    ends += [[-width / 2, 0], [width / 2, 0]]
                    self._line_static(ends, colour, width, cap="butt")
            self._text_static(label, x + (1.6 + 0.8) * fs, bottom, (0, 0, 0), "left", "bottom")

    def _inset(self, people, pelvis) -> None:
        """The top view (world X right, Y up the panel) of the pelvis paths, fixed limits."""
        size = self.size
        left, bottom, w, h = (v * size for v in INSET)
        side = min(w, h)
        x0, top = left + (w - side) / 2, size - (bottom + (h - side) / 2 + side)
        flat = pelvis.reshape(-1, 2)
        ok = np.isfinite(flat).all(-1)
        lo, hi = (flat[ok].min(0), flat[ok].max(0)) if ok.any() else (np.zeros(2), np.zeros(2))
        centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.5) * 1.15

        def to_px(xy):
            u = (xy - (centre - half)) / (2 * half)
            return np.stack([x0 + u[..., 0] * side, top + (1 - u[..., 1]) * side], -1)

        box = (int(round(top)), int(round(top + side)), int(round(x0)), int(round(x0 + side)))
        canvas = self.layer.canvas()
        canvas[box[0]:box[1], box[2]:box[3]] = 255
        self.layer.paint(canvas, (255, 255, 255), 0.7)
        self.paths, self.trail_colours, self.dot_colours = [], [], []
        for pp in people:
            path = to_px(pp.poses[:, 0, :2])
            colour = pp.colour or "0.3"
            canvas = self.layer.canvas()
            _polyline(canvas, path, 255, 1.0 * PT)
            self.layer.paint(canvas, _rgb(_shade(colour, 0.6)) if pp.colour else _rgb("0.75"))
            self.paths.append(path)
            self.trail_colours.append(_rgb(colour))
            self.dot_colours.append(_rgb(pp.colour or "k"))
        canvas = self.layer.canvas()
        lw = max(1, int(round(0.8 * PT)))  # spines: 0.8 points
        cv2.rectangle(canvas, (box[2], box[0]), (box[3], box[1]), 255, lw)
        self.layer.paint(canvas, _rgb("0.7"))
        self._text_static(f"top view, {2 * half:.1f} m across", x0 + side / 2, top - 2 * PT, _rgb("0.35"),
                          "center", "baseline", style=_Text(self.text.size * 0.85))
        self.dot_radius = (max(3.0, size / 160) + 1.0) * PT / 2  # marker size plus its edge, points

    # ------------------------------------------------------------------ projection
    def project(self, points: np.ndarray, centre, zlo: float, azim: float):
        """(N, 3) world points → (N, 2) panel pixels (x right, y down) and (N,) distances from
        the eye (larger: farther), as matplotlib's 3D axes with these limits and view."""
        half = self.half
        lo = np.array([centre[0] - half, centre[1] - half, zlo])
        q = (np.asarray(points, np.float64) - lo) * (BOX / (2 * half))  # the box: 0 .. BOX on each axis
        e, a = math.radians(self.elev), math.radians(azim)
        w = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])  # out of the screen
        u = np.cross([0.0, 0.0, 1.0], w)
        u /= np.linalg.norm(u)
        v = np.cross(w, u)
        eye = BOX / 2 + DIST * w
        d = q - eye
        depth = -(d @ w)
        px, py = (d @ u) / depth, (d @ v) / depth
        span = VIEW_LIM[1] - VIEW_LIM[0]
        x = self.axes_x0 + (px - VIEW_LIM[0]) / span * self.axes_side
        y = self.axes_top + (1 - (py - VIEW_LIM[0]) / span) * self.axes_side
        return np.stack([x, y], -1), depth

    # ------------------------------------------------------------------ a frame
    def draw(self, t: int, azim: float, label: str = "", out: np.ndarray | None = None) -> np.ndarray:
        """Draw every person's pose of row ``t``; bones touching a filled joint are grey and dashed.
        Draws into ``out`` (size, size, 3) uint8, e.g. part of a video frame, when given."""
        size, half, z0 = self.size, self.half, self.floor
        image = np.empty((size, size, 3), np.uint8) if out is None else out
        np.copyto(image, self.blank)
        roots = np.array([pp.poses[t, 0] for pp in self.people])
        here = np.isfinite(roots).all(-1)
        if here.any():
            self.centre = roots[here, :2].mean(0)
        cx, cy = getattr(self, "centre", np.zeros(2))
        # from the floor up, unless someone is so high (a jump off a box) that the box must rise
        # with them: then the floor is out of view and its grid and shadows are not drawn
        top = np.nanmax(roots[here, 2]) + 1.0 if here.any() else z0
        if here.any() or not hasattr(self, "zlo"):
            self.zlo = max(z0, top - 2 * half)
        floor_seen = self.zlo <= z0 + 1e-9

        # everything of this frame in one projection: grid ends, joints, their shadows
        xs = np.arange(np.ceil((cx - half) / GRID_STEP), np.floor((cx + half) / GRID_STEP) + 1) * GRID_STEP
        ys = np.arange(np.ceil((cy - half) / GRID_STEP), np.floor((cy + half) / GRID_STEP) + 1) * GRID_STEP
        grid = np.concatenate([[[x, cy - half], [x, cy + half]] for x in xs]
                              + [[[cx - half, y], [cx + half, y]] for y in ys]).reshape(-1, 2)
        grid = np.c_[grid, np.full(len(grid), z0)]
        poses = np.stack([pp.poses[t] for pp in self.people])  # (P, 17, 3)
        shadows = poses.copy()
        shadows[..., 2] = z0
        pts = np.concatenate([grid, poses.reshape(-1, 3), shadows.reshape(-1, 3)])
        with np.errstate(invalid="ignore"):
            xy, depth = self.project(pts, (cx, cy), self.zlo, azim)
        xy -= (self.clip[2], self.clip[0])  # drawn in the axes' square, clipped to it
        n, J = len(grid), poses.shape[1]
        g_xy = xy[:n].reshape(-1, 2, 2)
        p_xy = xy[n:n + poses.size // 3].reshape(len(poses), J, 2)
        p_depth = depth[n:n + poses.size // 3].reshape(len(poses), J)
        s_xy = xy[n + poses.size // 3:].reshape(len(poses), J, 2)
        view = image[self.clip[0]:self.clip[1], self.clip[2]:self.clip[3]]

        width = self.width * PT
        if floor_seen:
            for a, b in _fixed(g_xy[np.isfinite(g_xy).all((-1, -2))]):  # 0.7 points: thinner than a pixel
                cv2.line(view, tuple(a), tuple(b), self.grid_line, 1, cv2.LINE_AA, SHIFT)
            self._shadows(view, s_xy, width * 0.6)

        # the bones, the farthest first (matplotlib's order too)
        ends = p_xy[:, self.bones]  # (P, bones, 2 ends, 2)
        drawn = np.isfinite(ends).all((-1, -2)) & np.isfinite(poses[:, self.bones]).all((-1, -2))
        filled = np.stack([np.zeros(J, bool) if pp.filled is None else pp.filled[t] for pp in self.people])
        guessed = filled[:, self.bones].any(-1)
        kk, bb = np.nonzero(drawn)
        order = np.argsort(-p_depth[:, self.bones].sum(-1)[kk, bb], kind="stable")
        solid = _fixed(_outlines(ends[kk, bb, 0], ends[kk, bb, 1], width)) if width >= THIN else None
        for i in order:
            k, b = kk[i], bb[i]
            if guessed[k, b]:
                _line(view, ends[k, b], self.filled_grey, width * 0.75, dashed=True)
            elif solid is None:
                _line(view, ends[k, b], self.colours[k][b], width)
            else:
                cv2.fillConvexPoly(view, solid[i], self.colours[k][b], cv2.LINE_AA, SHIFT)

        if len(self.people) > 1:  # each person's label above their head
            for k, pp in enumerate(self.people):
                ok = np.isfinite(poses[k]).all(-1)
                if ok.any() and pp.label:
                    head = np.array([[*poses[k][ok, :2].mean(0), poses[k][ok, 2].max() + 0.15]])
                    ((x, y),), _ = self.project(head, (cx, cy), self.zlo, azim)
                    self.text.draw(image, pp.label, x, y, _rgb(pp.colour) if pp.colour else self.label_grey,
                                   "center", "baseline", keep=True)

        self.layer.over(image)
        self._trails(image, t)
        self.title_text.draw(image, label, size / 2, size * (1 - 0.965), self.label_grey, "center", "center")
        return image

    def _shadows(self, view: np.ndarray, s_xy: np.ndarray, width: float) -> None:
        """Grey shadows of the bones on the floor, 60 % opaque."""
        ends = s_xy[:, self.bones].reshape(-1, 2, 2)
        ends = ends[np.isfinite(ends).all((-1, -2))]
        if not len(ends):
            return
        mask = self.shadow_mask
        mask[:] = 0
        if width >= THIN:
            for outline in _fixed(_outlines(ends[:, 0], ends[:, 1], width)):
                cv2.fillConvexPoly(mask, outline, 255, cv2.LINE_AA, SHIFT)
        else:
            for seg in ends:
                _line(mask, seg, 255, width)
        pad = int(width) + 3
        x0, y0 = np.maximum(np.floor(ends.reshape(-1, 2).min(0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(ends.reshape(-1, 2).max(0)).astype(int) + pad, mask.shape[::-1])
        if x0 < x1 and y0 < y1:
            _blend(view[y0:y1, x0:x1], mask[y0:y1, x0:x1], 0, 0, self.shadow_grey, 0.6)

    def _trails(self, image: np.ndarray, t: int) -> None:
        """In the top view: each path so far, and a dot where each person is now."""
        for path, colour in zip(self.paths, self.trail_colours):
            _polyline(image, path[:t + 1], colour, 1.2 * PT)
        for pp, path, colour in zip(self.people, self.paths, self.dot_colours):
            if np.isfinite(pp.poses[t, 0]).all() and np.isfinite(path[t]).all():
                cv2.circle(image, tuple(_fixed(path[t])), int(round((self.dot_radius - AA_CIRCLE) * ONE)), colour, -1,
                           cv2.LINE_AA, SHIFT)

    def close(self) -> None:
        """Nothing to free (kept for the renderer's ``finally``)."""


def _line(image: np.ndarray, ends: np.ndarray, colour, width: float, dashed: bool = False,
          cap: str = "round") -> None:
    """An anti-aliased line ``width`` pixels wide between two points (pixels, x right, y down):
    round or butt ends, solid or in matplotlib's dashes (butt-ended)."""
    if not np.isfinite(ends).all():
        return
    if width < THIN:  # thin: OpenCV's one-pixel line, its colour thinned to the width asked
        if width < 1.4:
            colour = _towards(image, colour, width / 1.4)
        for a, b in _dashes(*ends, width) if dashed else [ends]:
            cv2.line(image, tuple(_fixed(a)), tuple(_fixed(b)), colour, 1, cv2.LINE_AA, SHIFT)
        return
    if dashed:
        for a, b in _dashes(*ends, width):
            _quad(image, _outlines(a[None], b[None], width, "butt")[0], colour)
    else:
        _quad(image, _outlines(ends[:1], ends[1:], width, cap)[0], colour)


# half a circle in 8 steps, for round ends
_ARC = np.stack([np.cos(np.linspace(-np.pi / 2, np.pi / 2, 9)), np.sin(np.linspace(-np.pi / 2, np.pi / 2, 9))], -1)


def _outlines(a: np.ndarray, b: np.ndarray, width: float, cap: str = "round") -> np.ndarray:
    """The convex outlines (N, K, 2 pixels) of lines ``width`` wide from a (N, 2) to b (N, 2),
    less OpenCV's anti-aliasing growth: rectangles (butt ends) or capsules (round ends)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    r = max(width - AA_GROW, 0.3) / 2
    along = b - a
    n = np.hypot(along[:, 0], along[:, 1])[:, None]
    along = np.where(n > 1e-9, along / np.maximum(n, 1e-9), [1.0, 0.0])
    across = np.stack([-along[:, 1], along[:, 0]], -1)
    if cap == "butt":
        return np.stack([a + across * r, b + across * r, b - across * r, a - across * r], 1)
    # the arc's points: cos along + sin across, from -across round to +across
    arc = r * (_ARC[None, :, :1] * along[:, None] + _ARC[None, :, 1:] * across[:, None])
    return np.concatenate([b[:, None] + arc, a[:, None] - arc], 1)


def _quad(image: np.ndarray, quad: np.ndarray, colour) -> None:
    cv2.fillConvexPoly(image, _fixed(quad), colour, cv2.LINE_AA, SHIFT)


def _towards(image: np.ndarray, colour, amount: float):
    """``colour`` mixed with the panel's background, for lines thinner than a pixel."""
    bg = np.asarray(PANEL_BG if image.ndim == 3 else 0, np.float64)
    mixed = bg + (np.asarray(colour, np.float64) - bg) * amount
    return tuple(float(c) for c in np.atleast_1d(mixed)) if image.ndim == 3 else float(mixed)


def _polyline(image: np.ndarray, points: np.ndarray, colour, width: float) -> None:
    """An anti-aliased path, broken where points are missing (NaN)."""
    ok = np.isfinite(points).all(-1)
    if ok.sum() < 2:
        return
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    runs = [_fixed(points[s:e]) for s, e in zip(edges[::2], edges[1::2]) if e - s > 1]
    if runs:  # OpenCV's one-pixel anti-aliased line is about 1.4 px wide
        if width < 1.4:
            colour = _towards(image, colour, width / 1.4)
        cv2.polylines(image, runs, False, colour, 1, cv2.LINE_AA, SHIFT)


def _blend_into_mask(canvas: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
    h, w = mask.shape
    H, W = canvas.shape
    xa, ya, xb, yb = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if xa < xb and ya < yb:
        region = canvas[ya:yb, xa:xb]
        np.maximum(region, mask[ya - y:yb - y, xa - x:xb - x], out=region)
