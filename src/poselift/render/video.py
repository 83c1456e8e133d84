"""Side-by-side result videos: the input with its 2D skeleton, and the lifted 3D skeleton.

Each output frame is the input frame (or a blank canvas) with the 2D keypoints drawn on it,
next to a 3D view of the pose seen from a slowly turning viewpoint (drawn with OpenCV by
:class:`~poselift.render.panel3d.Pose3DPanel`, as matplotlib's 3D axes would draw it). Frames
are rendered and encoded one at a time (:class:`~poselift.video.VideoWriter`), so memory does
not grow with the length of the video.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..background import Behind, ahead
from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton, get_skeleton
from .style import (FILLED_GREY, GRID_STEP, PANEL_BG, PERSON_COLOURS, VIEW_HALF, PersonDrawing,  # noqa: F401
                    _bone_colour, _font, _rgb, _shade)

def _skeleton(layout) -> Skeleton:
    return layout if isinstance(layout, Skeleton) else get_skeleton(layout)


def _draw_2d(image, keypoints: np.ndarray, skeleton: Skeleton, scale: float, colours, filled=None,
             tag: str = "", tag_colour=(255, 255, 255)):
    """Draw one 2D skeleton (pixels of the source frame, × ``scale``) on a PIL image: detected
    joints as white dots, bones in ``colours`` (one per joint); joints ``filled`` (J,) marks
    (invented over a gap) as hollow grey rings, their bones grey and thin; ``tag`` (e.g. the
    person's id) above the head."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    kp = keypoints * np.asarray(scale, dtype=np.float64)
    flags = np.zeros(len(kp), bool) if filled is None else np.asarray(filled, bool)
    width = max(2, int(round(image.height / 180)))
    for j, p in enumerate(skeleton.parents):
        if p >= 0 and np.isfinite(kp[[j, p]]).all():
            guessed = flags[j] or flags[p]
            draw.line([tuple(kp[j]), tuple(kp[p])], fill=(160, 160, 160) if guessed else colours[j],
                      width=max(1, width // 2) if guessed else width)
    r = width * 0.9
    for j in np.flatnonzero(np.isfinite(kp).all(-1)):
        x, y = kp[j]
        if flags[j]:
            draw.ellipse([x - r, y - r, x + r, y + r], outline=(160, 160, 160), width=max(1, width // 2))
        else:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255), outline=(40, 40, 40))
    pts = kp[np.isfinite(kp).all(-1)]
    if tag and len(pts):
        font = _font(max(12, image.height // 36))
        x, y = pts[:, 0].mean(), pts[:, 1].min() - 6
        box = draw.textbbox((x, y), tag, font=font, anchor="mb")
        draw.rectangle([box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2], fill=tag_colour)
        draw.text((x, y), tag, fill=(0, 0, 0), font=font, anchor="mb")


def _draw_note(image, label: str) -> None:
    """``label`` in the top-left corner of a PIL image, yellow on black."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    size = max(12, image.height // 30)
    font = _font(size)
    box = draw.textbbox((size // 2, size // 2), label, font=font)
    draw.rectangle([box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3], fill=(0, 0, 0))
    draw.text((size // 2, size // 2), label, fill=(255, 220, 90), font=font)


def render_video(path, video_path, keypoints_2d: np.ndarray, layout, poses_3d: np.ndarray,
                 fps: float | None = None, overwrite: bool = False, gif_path=None, progress: bool = True,
                 *, filled=None, filled_2d=None, **options) -> int:
    """Render an mp4 (and optionally a GIF) of one person's 2D input and 3D result; returns the
    frame count. ``keypoints_2d`` (T, J, 2) pixels in ``layout``, ``poses_3d`` (T, 17, 3) world
    metres; the rest as :func:`render_people`, which this calls with one person."""
    person = PersonDrawing(np.asarray(keypoints_2d, dtype=np.float64), np.asarray(poses_3d, dtype=np.float64),
                           filled_2d, filled)
    return render_people(path, video_path, [person], layout, fps, overwrite, gif_path, progress, **options)


def render_people(path, video_path, people: list[PersonDrawing], layout, fps: float | None = None,
                  overwrite: bool = False, gif_path=None, progress: bool = True, *, height: int = 720,
                  image_size: tuple[int, int] | None = None, degrees_per_second: float = 10.0, elev: float = 15.0,
                  gif_width: int = 480, gif_fps: float = 12.0, frames=None, queue_depth: int | None = None) -> int:
    """Render an mp4 (and optionally a GIF) of the 2D input and the 3D result of one or several
    people (:class:`PersonDrawing`, all with the same number of rows); returns the frame count.

    ``video_path``: the input video, or None for a blank canvas of ``image_size`` (width,
    height; default: the extent of the keypoints). Keypoints are pixels of that video in
    skeleton ``layout`` (name or :class:`~poselift.skeleton.Skeleton`), NaN where missing;
    poses are Human3.6M-17 world metres (Z up, the floor at z = 0), NaN where left out
    (nothing is drawn there; a frame without anyone says so). A lone person without a colour
    has red left and blue right limbs; several people each have their colour (lighter on the
    left, darker on the right) and their label beside them in both panels. Positions marked
    filled are grey (dashed in 3D); a frame without any detection is labelled "filled". The 3D
    view follows the pelvis (the mean pelvis of those present) at a fixed metre scale, turns by
    ``degrees_per_second`` about the vertical, and shows the pelvis paths from above.
    ``frames`` (T,): the video frame of each row (consecutive; default 0, 1, ...: a trimmed
    reconstruction starts later in the video).

    ``fps`` defaults to the video's (or 30). Output frames are ``height`` pixels high (the 2D
    panel keeps the video's aspect, the 3D panel is square). ``gif_path`` also writes an
    animated GIF, ``gif_width`` wide at about ``gif_fps``. Files are written atomically;
    ``overwrite=False`` refuses existing ones (before any rendering).

    Decoding (scaled to the panel by FFmpeg) and encoding run in threads beside the drawing,
    ``queue_depth`` frames between stages (default
    :func:`~poselift.background.queue_depth`; 0: one after another in this thread; the file
    is the same either way).
    """
    from tqdm.auto import tqdm

    from ..video import GifWriter, VideoWriter, iter_frames, probe

    skeleton = _skeleton(layout)
    if not people:
        raise PoseliftError("nothing to render (no people)", path)
    count = len(people[0].poses)
    for pp in people:
        pp.keypoints = np.asarray(pp.keypoints, dtype=np.float64)
        pp.poses = np.asarray(pp.poses, dtype=np.float64)
        if pp.poses.ndim != 3 or pp.poses.shape[1:] != (H36M17.num_joints, 3):
            raise ValueError(f"poses_3d must be (frames, 17, 3), got {pp.poses.shape}")
        kp2 = pp.keypoints
        if kp2.ndim != 3 or kp2.shape[2] != 2 or kp2.shape[1] != skeleton.num_joints:
            raise ValueError(f"keypoints_2d must be (frames, {skeleton.num_joints}, 2) for layout "
                             f"{skeleton.name}, got {kp2.shape}")
        if len(kp2) != len(pp.poses):
            raise ValueError(f"keypoints_2d has {len(kp2)} frames but poses_3d has {len(pp.poses)}")
        if len(pp.poses) != count:
            raise ValueError("every person needs the same number of rows")
        pp.filled = np.zeros(pp.poses.shape[:2], bool) if pp.filled is None else np.asarray(pp.filled, bool)
        pp.filled_2d = np.zeros(kp2.shape[:2], bool) if pp.filled_2d is None else np.asarray(pp.filled_2d, bool)
        if pp.filled.shape != pp.poses.shape[:2] or pp.filled_2d.shape != kp2.shape[:2]:
            raise ValueError("filled must be (frames, 17) and filled_2d (frames, joints of the layout)")
    if count == 0:
        raise PoseliftError("nothing to render (no frames)", path)
    rows = np.arange(count) if frames is None else np.asarray(frames, dtype=np.int64)
    if rows.shape != (count,) or (count > 1 and not (np.diff(rows) == 1).all()) or rows[0] < 0:
        raise ValueError("frames must be consecutive video frame numbers, one per row")
    first = int(rows[0])
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
        if info.frames_exact and info.frames < first + count:
            raise PoseliftError(f"video has {info.frames} frames but there are {first + count} poses to draw",
                                video_path)
        source = None  # opened below, once the panel's size is known
    else:
        if image_size is not None:
            src_w, src_h = (int(v) for v in image_size)
        else:
            allkp = np.concatenate([pp.keypoints for pp in people])
            finite = allkp[np.isfinite(allkp).all(-1)]
            extent = finite.max(0) * 1.05 if len(finite) else np.array([640.0, 480.0])
            src_w, src_h = max(int(extent[0]), 64), max(int(extent[1]), 64)
        source = None
    fps = float(fps) if fps else 30.0
    scale = height / src_h
    left_w = max(2, int(round(src_w * scale)))
    left_w += left_w % 2
    out_w = left_w + height
    if video_path is not None:  # decoded (and scaled to the panel) in a thread, a few frames ahead
        source = ahead(iter_frames(video_path, max_frames=first + count, size=(left_w, height)), depth=queue_depth,
                       name="render-decode")
        for _ in range(first):  # a trimmed reconstruction starts later in the video
            next(source, None)

    import cv2
    from PIL import Image

    from .panel3d import Pose3DPanel

    colours = [[_rgb(_bone_colour(skeleton, j, pp.colour)) for j in range(skeleton.num_joints)] for pp in people]
    tags = [(pp.label, _rgb(_shade(pp.colour, 0.3)) if pp.colour else (255, 255, 255)) for pp in people]
    panel = Pose3DPanel(people, H36M17, height, elev=elev)  # the 3D is Human3.6M-17 whatever the 2D layout
    gif_step = max(1, int(round(fps / gif_fps))) if gif_path is not None else 0
    gif_h = int(round(height * min(1.0, gif_width / out_w)))
    gif_w = int(round(out_w * gif_h / height))
    blank = Image.new("RGB", (left_w, height), (24, 24, 24))
    def encode(item: tuple[int, np.ndarray]) -> None:
        t, frame = item
        mp4.write(frame)
        if gif is not None and t % gif_step == 0:
            gif.write(cv2.resize(frame, (gif_w, gif_h), interpolation=cv2.INTER_AREA))

    try:
        with VideoWriter(path, fps, out_w, height, overwrite=overwrite) as mp4, \
                _maybe(GifWriter(gif_path, fps / gif_step, overwrite=overwrite) if gif_path else None) as gif, \
                tqdm(total=count, unit="frame", desc="render", disable=not progress, leave=False) as bar, \
                Behind(encode, depth=queue_depth, name="render-encode") as encoder:  # encoded in a thread
            for t in range(count):
                if source is not None:
                    frame = next(source, None)
                    if frame is None:
                        raise PoseliftError(f"video ended after {first + t} frames but there are {first + count} "
                                            "poses to draw", video_path)
                    left = Image.fromarray(frame)
                else:
                    left = blank.copy()
                present = [np.isfinite(pp.poses[t]).any() for pp in people]
                whole = [ok and pp.filled_2d[t].all() for ok, pp in zip(present, people)]
                for pp, cols, (tag, tag_colour), ok in zip(people, colours, tags, present):
                    _draw_2d(left, pp.keypoints[t], skeleton, (left_w / src_w, scale), cols, pp.filled_2d[t],
                             tag if ok else "", tag_colour)
                if not any(present):
                    _draw_note(left, "no 3D: nobody seen")
                elif len(people) == 1 and whole[0]:
                    _draw_note(left, "filled: nobody detected")
                azim = -60.0 + degrees_per_second * t / fps
                seconds = (first + t) / fps
                title = f"3D   {seconds:.2f} s   frame {first + t}"
                if len(people) == 1 and whole[0]:
                    title += "   (filled)"
                elif len(people) > 1:
                    title += f"   {sum(present)} of {len(people)} people"
                image = np.empty((height, out_w, 3), np.uint8)  # a new one: the last is still being encoded
                image[:, :left_w] = np.asarray(left)
                panel.draw(t, azim, title, out=image[:, left_w:])
                encoder.put((t, image))
                bar.update(1)
    finally:
        if source is not None:
            source.close()
        panel.close()
    return count


class _maybe:
    """``with _maybe(cm) as x``: enters ``cm``, or gives None when ``cm`` is None."""

    def __init__(self, cm):
        self.cm = cm

    def __enter__(self):
        return None if self.cm is None else self.cm.__enter__()

    def __exit__(self, *exc):
        return False if self.cm is None else self.cm.__exit__(*exc)
