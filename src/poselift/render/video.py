"""Side-by-side result videos: the input with its 2D skeleton, and the lifted 3D skeleton.

Each output frame is the input frame (or a blank canvas) with the 2D keypoints drawn on it,
next to a matplotlib 3D view of the pose seen from a slowly turning viewpoint. Frames are
rendered and encoded one at a time (:class:`~poselift.video.VideoWriter`), so memory does
not grow with the length of the video.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton, get_skeleton
from .plot import _limb_colour

PANEL_BG = (250, 250, 250)


def _rgb(colour: str) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(int(round(255 * c)) for c in to_rgb(colour))


def _skeleton(layout) -> Skeleton:
    return layout if isinstance(layout, Skeleton) else get_skeleton(layout)


class _Pose3DPanel:
    """A reusable matplotlib 3D axes; ``draw(pose, azim)`` returns an RGB image (size, size, 3)."""

    def __init__(self, poses: np.ndarray, skeleton: Skeleton, size: int, elev: float = 15.0):
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        dpi = 100
        self.fig = Figure(figsize=(size / dpi, size / dpi), dpi=dpi, facecolor=np.array(PANEL_BG) / 255)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0.0, 0.0, 1.0, 0.94), projection="3d")
        ax.set_facecolor(np.array(PANEL_BG) / 255)
        self.ax, self.elev, self.size = ax, elev, size

        # fixed axes from the whole motion: a cube around all finite joints, floor at z = 0
        finite = poses[np.isfinite(poses).all(-1)]
        if len(finite) == 0:
            lo, hi = np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 2.0])
        else:
            lo, hi = finite.min(0), finite.max(0)
        floor = 0.0 if abs(lo[2]) < 0.3 else float(lo[2])
        half = max(float((hi - lo).max()) / 2 + 0.2, 0.8)
        cx, cy = (lo[:2] + hi[:2]) / 2
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_zlim(floor, floor + 2 * half)
        ax.set_box_aspect((1, 1, 1))
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_zticklabels([])
        ax.tick_params(length=0)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.pane.set_alpha(0.0)
            axis._axinfo["grid"]["color"] = (0.85, 0.85, 0.85, 1.0)
        # a floor grid
        ticks = np.linspace(-half, half, 9)
        for v in ticks:
            ax.plot([cx + v, cx + v], [cy - half, cy + half], [floor, floor], color="0.8", lw=0.6)
            ax.plot([cx - half, cx + half], [cy + v, cy + v], [floor, floor], color="0.8", lw=0.6)
        self.bones = [(j, p) for j, p in enumerate(skeleton.parents) if p >= 0]
        self.lines = [ax.plot([], [], [], color=_limb_colour(skeleton, j), lw=2.5, solid_capstyle="round")[0]
                      for j, _ in self.bones]
        self.shadow = [ax.plot([], [], [], color="0.65", lw=1.5, alpha=0.6)[0] for _ in self.bones]
        self.floor = floor
        self.title = self.fig.text(0.5, 0.965, "", ha="center", va="center", fontsize=9, color="0.25")

    def draw(self, pose: np.ndarray, azim: float, label: str = "") -> np.ndarray:
        for (j, p), line, shadow in zip(self.bones, self.lines, self.shadow):
            seg = pose[[j, p]]
            if np.isfinite(seg).all():
                line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
                shadow.set_data_3d(seg[:, 0], seg[:, 1], np.full(2, self.floor))
            else:
                line.set_data_3d([], [], [])
                shadow.set_data_3d([], [], [])
        self.ax.view_init(elev=self.elev, azim=azim)
        self.title.set_text(label)
        self.canvas.draw()
        image = np.asarray(self.canvas.buffer_rgba())[..., :3]
        if image.shape[:2] != (self.size, self.size):  # rounding of the figure size in pixels
            image = _fit(image, self.size, self.size)
        return image.copy()

    def close(self) -> None:
        self.fig.clear()


def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    out = np.full((height, width, 3), PANEL_BG, dtype=np.uint8)
    h, w = min(height, image.shape[0]), min(width, image.shape[1])
    out[:h, :w] = image[:h, :w]
    return out


def _draw_2d(image, keypoints: np.ndarray, skeleton: Skeleton, scale: float, colours) -> np.ndarray:
    """Draw the 2D skeleton (pixels of the source frame, × ``scale``) on a PIL image."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    kp = keypoints * np.asarray(scale, dtype=np.float64)
    width = max(2, int(round(image.height / 180)))
    for j, p in enumerate(skeleton.parents):
        if p >= 0 and np.isfinite(kp[[j, p]]).all():
            draw.line([tuple(kp[j]), tuple(kp[p])], fill=colours[j], width=width)
    r = width * 0.9
    for x, y in kp[np.isfinite(kp).all(-1)]:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255), outline=(40, 40, 40))
    return np.asarray(image)


def render_video(path, video_path, keypoints_2d: np.ndarray, layout, poses_3d: np.ndarray,
                 fps: float | None = None, overwrite: bool = False, gif_path=None, progress: bool = True,
                 *, height: int = 540, image_size: tuple[int, int] | None = None,
                 degrees_per_second: float = 20.0, elev: float = 15.0, gif_width: int = 480,
                 gif_fps: float = 12.0) -> int:
    """Render an mp4 (and optionally a GIF) of the 2D input and the 3D result; returns the frame count.

    ``video_path``: the input video, or None for a blank canvas of ``image_size`` (width,
    height; default: the extent of the keypoints). ``keypoints_2d`` (T, J, 2) pixels of that
    video in skeleton ``layout`` (name or :class:`~poselift.skeleton.Skeleton`), NaN where
    missing; ``poses_3d`` (T, 17, 3) metres, Human3.6M-17, world frame with Z up and the
    floor at z = 0. Left limbs are red, right limbs blue. The 3D view keeps axes fixed over
    the whole motion and turns by ``degrees_per_second`` about the vertical.

    ``fps`` defaults to the video's (or 30). Output frames are ``height`` pixels high (the
    2D panel keeps the video's aspect, the 3D panel is square). ``gif_path`` also writes an
    animated GIF, ``gif_width`` wide at about ``gif_fps``. Files are written atomically;
    ``overwrite=False`` refuses existing ones (before any rendering).
    """
    from tqdm.auto import tqdm

    from ..video import GifWriter, VideoWriter, iter_frames, probe

    skeleton = _skeleton(layout)
    kp2 = np.asarray(keypoints_2d, dtype=np.float64)
    poses = np.asarray(poses_3d, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (H36M17.num_joints, 3):
        raise ValueError(f"poses_3d must be (frames, 17, 3), got {poses.shape}")
    if kp2.ndim != 3 or kp2.shape[2] != 2 or kp2.shape[1] != skeleton.num_joints:
        raise ValueError(f"keypoints_2d must be (frames, {skeleton.num_joints}, 2) for layout "
                         f"{skeleton.name}, got {kp2.shape}")
    if len(kp2) != len(poses):
        raise ValueError(f"keypoints_2d has {len(kp2)} frames but poses_3d has {len(poses)}")
    frames = len(poses)
    if frames == 0:
        raise PoseliftError("nothing to render (no frames)", path)
    if int(height) < 64:
        raise ValueError(f"height must be at least 64 pixels, got {height}")
    height = int(height) + int(height) % 2
    for out in (path, gif_path):
        if out is not None and not overwrite and Path(out).exists():
            raise PoseliftError("exists already (use --overwrite to replace it)", out)

    if video_path is not None:
        info = probe(video_path)
        src_w, src_h = info.width, info.height
        if fps is None:
            fps = info.fps
        if info.frames_exact and info.frames < frames:
            raise PoseliftError(f"video has {info.frames} frames but there are {frames} poses to draw", video_path)
        source = iter_frames(video_path, max_frames=frames)
    else:
        if image_size is not None:
            src_w, src_h = (int(v) for v in image_size)
        else:
            finite = kp2[np.isfinite(kp2).all(-1)]
            extent = finite.max(0) * 1.05 if len(finite) else np.array([640.0, 480.0])
            src_w, src_h = max(int(extent[0]), 64), max(int(extent[1]), 64)
        source = None
    fps = float(fps) if fps else 30.0
    scale = height / src_h
    left_w = max(2, int(round(src_w * scale)))
    left_w += left_w % 2
    out_w = left_w + height

    from PIL import Image

    colours = [_rgb(_limb_colour(skeleton, j)) for j in range(skeleton.num_joints)]
    panel = _Pose3DPanel(poses, H36M17, height, elev=elev)  # the 3D is Human3.6M-17 whatever the 2D layout
    gif_step = max(1, int(round(fps / gif_fps))) if gif_path is not None else 0
    gif_h = int(round(height * min(1.0, gif_width / out_w)))
    gif_w = int(round(out_w * gif_h / height))
    blank = Image.new("RGB", (left_w, height), (24, 24, 24))
    try:
        with VideoWriter(path, fps, out_w, height, overwrite=overwrite) as mp4, \
                _maybe(GifWriter(gif_path, fps / gif_step, overwrite=overwrite) if gif_path else None) as gif, \
                tqdm(total=frames, unit="frame", desc="render", disable=not progress, leave=False) as bar:
            for t in range(frames):
                if source is not None:
                    frame = next(source, None)
                    if frame is None:
                        raise PoseliftError(f"video ended after {t} frames but there are {frames} poses to draw",
                                            video_path)
                    left = Image.fromarray(frame).resize((left_w, height), Image.BILINEAR)
                else:
                    left = blank.copy()
                left = _draw_2d(left, kp2[t], skeleton, (left_w / src_w, scale), colours)
                azim = -60.0 + degrees_per_second * t / fps
                right = panel.draw(poses[t], azim, f"3D  frame {t + 1}/{frames}")
                image = np.concatenate([left, right], axis=1)
                mp4.write(image)
                if gif is not None and t % gif_step == 0:
                    gif.write(np.asarray(Image.fromarray(image).resize((gif_w, gif_h), Image.BILINEAR)))
                bar.update(1)
    finally:
        if source is not None:
            source.close()
        panel.close()
    return frames


class _maybe:
    """``with _maybe(cm) as x``: enters ``cm``, or gives None when ``cm`` is None."""

    def __init__(self, cm):
        self.cm = cm

    def __enter__(self):
        return None if self.cm is None else self.cm.__enter__()

    def __exit__(self, *exc):
        return False if self.cm is None else self.cm.__exit__(*exc)
