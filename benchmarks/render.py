"""Speed of the result-video render, part by part, at a video's size.

    python benchmarks/render.py [VIDEO] [--repeat 3] [--presets veryfast:20,ultrafast:26] [--json OUT]

Defaults to the bundled demo clip. Detects and lifts once (not timed), then times each part of
the render on its own (best of ``--repeat``): decoding the input (``iter_frames``, every
frame) at full size and scaled to the 2D panel as the render does, then over the first
``--frames``: scaling decoded frames to the panel the render's way and the way before it
(with each one's distance from the exact area average), drawing the 2D skeleton on the
panel, drawing the 3D panel (:class:`~poselift.render.panel3d.Pose3DPanel`) and encoding the
side-by-side frames (:class:`~poselift.video.VideoWriter`, libx264); then the whole
``render_video`` as ``poselift infer`` calls it, every frame: with its stages in threads (the
default) and one after another (``queue_depth=0``; the same file, checked). Prints
milliseconds per frame (wall clock and CPU, the CPU summed over threads) and frames/s.
``--presets`` also encodes the same frames with other libx264 settings (``PRESET`` or
``PRESET:CRF``; the render's own, :data:`poselift.video.PRESET` and ``CRF``, comes first):
time, file size and PSNR against the frames encoded.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    from PIL import Image

    from poselift.demo import demo_clip_path
    from poselift.infer import load_input, reconstruct
    from poselift.render.panel3d import Pose3DPanel
    from poselift.render.video import PersonDrawing, _bone_colour, _draw_2d, _rgb, render_video
    from poselift.skeleton import H36M17, get_skeleton
    from poselift.video import CRF, PRESET, VideoWriter, iter_frames

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("video", nargs="?", default=str(demo_clip_path()))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--height", type=int, default=720, help="output height (the render's default)")
    p.add_argument("--frames", type=int, default=100, help="frames held in memory for the parts")
    p.add_argument("--presets", default="",
                   help="libx264 settings to compare, comma-separated, each PRESET or PRESET:CRF")
    p.add_argument("--json", help="write the timings here")
    a = p.parse_args(argv)

    rec = reconstruct(load_input(a.video, progress=False), source=a.video)
    motion = rec.motion
    skeleton = get_skeleton(rec.layout)
    n = len(rec.keypoints)
    height = a.height + a.height % 2
    scale = height / rec.height
    left_w = max(2, int(round(rec.width * scale)))
    left_w += left_w % 2
    person = PersonDrawing(rec.keypoints, motion.positions_world, motion.filled_2d, motion.filled)
    colours = [_rgb(_bone_colour(skeleton, j, None)) for j in range(skeleton.num_joints)]

    def best(fn):
        walls, cpus = [], []
        for _ in range(a.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        k = int(np.argmin(walls))
        return walls[k], cpus[k]

    small: list[np.ndarray] = []  # the first input frames, scaled to the panel
    m = min(n, a.frames)

    def decode(size=None):
        small.clear()
        for frame in iter_frames(a.video, max_frames=n, size=size):
            if len(small) < m:
                small.append(frame)

    timings = {"decode": best(decode), "decode to panel": best(lambda: decode((left_w, height)))}
    levels: dict[str, float] = {}  # each scaling's distance from the exact area average
    timings.update(scaling(a.video, m, (left_w, height), best, levels))
    out = np.empty((m, height, left_w + height, 3), np.uint8)

    def overlay():
        for t in range(m):
            left = Image.fromarray(small[t])
            _draw_2d(left, rec.keypoints[t], skeleton, (left_w / rec.width, scale), colours, motion.filled_2d[t])
            out[t, :, :left_w] = np.asarray(left)

    timings["2D overlay"] = best(overlay)
    panel = Pose3DPanel([person], H36M17, height)
    timings["3D panel"] = best(lambda: [panel.draw(t, -60.0 + 10.0 * t / rec.fps, f"3D   frame {t}",
                                                   out=out[t, :, left_w:]) for t in range(m)])
    default = f"{PRESET}:{CRF}"  # what the render uses
    presets = [default] + [s for s in a.presets.split(",") if s and s != default]
    sizes, quality = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in presets:
            path = Path(tmp) / f"{preset.replace(':', '_')}.mp4"
            name, _, crf = preset.partition(":")  # "superfast:24": that preset at CRF 24 (default: the render's)

            def encode():
                with VideoWriter(path, rec.fps, out.shape[2], height, overwrite=True, preset=name,
                                 crf=int(crf or CRF)) as mp4:
                    for frame in out:
                        mp4.write(frame)

            timings[f"encode {preset}"] = best(encode)
            sizes[preset] = path.stat().st_size
            mse = np.mean([np.mean((f.astype(np.float32) - g) ** 2) for f, g in zip(iter_frames(path), out)])
            quality[preset] = float(10 * np.log10(255 ** 2 / mse))
        renders = {}
        for name, depth in (("whole render", None), ("render, 1 thread", 0)):
            renders[name] = Path(tmp) / f"render{depth}.mp4"
            kw = {} if depth is None else {"queue_depth": depth}
            timings[name] = best(lambda: render_video(
                renders[name], a.video, rec.keypoints, skeleton, motion.positions_world, rec.fps,
                overwrite=True, progress=False, image_size=(rec.width, rec.height), frames=motion.frames,
                filled=motion.filled, filled_2d=motion.filled_2d, height=a.height, **kw))
        same = renders["whole render"].read_bytes() == renders["render, 1 thread"].read_bytes()

    print(f"{a.video}: {n} frames, {rec.width}x{rec.height} -> {left_w + height}x{height}, best of {a.repeat}"
          f" (parts after decode: the first {m} frames)")
    print(f"{'part':<20}{'ms/frame':>10}{'CPU ms':>8}{'frames/s':>10}")
    per_frame = {}
    for k, (wall, cpu) in timings.items():
        count = m if k in ("2D overlay", "3D panel") or k.startswith(("encode ", "scale:")) else n
        per_frame[k] = (1000 * wall / count, 1000 * cpu / count)
        extra = f"   {levels[k]:.2f} levels from the area average" if k in levels else ""
        if k.startswith("encode "):
            preset = k.split()[1]
            extra = f"   {sizes[preset] / 1024:.0f} KiB, {sizes[preset] * 8 * rec.fps / m / 1e6:.2f} Mbit/s, " \
                    f"PSNR {quality[preset]:.1f} dB"
        print(f"{k:<20}{per_frame[k][0]:>10.2f}{per_frame[k][1]:>8.2f}{1000 / per_frame[k][0]:>10.1f}{extra}")
    print(f"threaded and one-thread renders {'byte for byte the same' if same else 'DIFFER'}")
    if a.json:
        Path(a.json).write_text(json.dumps({
            "video": a.video, "same_file": same, "frames": n, "size": [left_w + height, height],
            "ms_per_frame": {k: w for k, (w, _) in per_frame.items()},
            "cpu_ms_per_frame": {k: c for k, (_, c) in per_frame.items()},
            "encoded_bytes": sizes, "psnr_db": quality, "scaled_levels_from_area_average": levels}, indent=2) + "\n")
    return 0


def scaling(video, m: int, size: tuple[int, int], best, levels: dict) -> dict:
    """Scaling the first ``m`` decoded frames to the panel, alone: FFmpeg's scaled RGB output
    (the render before), and the YUV planes scaled then converted by OpenCV (the render now,
    ``poselift.video._to_rgb``). ``levels`` gets each one's mean absolute difference from the
    exact area average of the full RGB frame (OpenCV ``INTER_AREA`` in floating point)."""
    import av
    import cv2

    from poselift.video import _rotation, _to_rgb, _upright

    with av.open(str(video)) as container:
        frames = [f for _, f in zip(range(m), container.decode(video=0))]

    def ffmpeg_rgb(frame):
        rotation = _rotation(frame)
        w, h = size if rotation in (0, 180) else size[::-1]
        return _upright(frame.reformat(width=w, height=h, format="rgb24", interpolation="AREA").to_ndarray(),
                        rotation)

    timings = {}
    for name, fn in (("scale: FFmpeg RGB", ffmpeg_rgb), ("scale: YUV, OpenCV", lambda f: _to_rgb(f, size))):
        timings[name] = best(lambda: [fn(f) for f in frames])
        levels[name] = float(np.mean([np.abs(fn(f) - cv2.resize(_to_rgb(f, None).astype(np.float32), size,
                                                                  interpolation=cv2.INTER_AREA)).mean()
                                      for f in frames]))
    return timings


if __name__ == "__main__":
    sys.exit(main())
