"""The README's picture: one frame of what `make demo` writes (`demo_clip_3d.mp4`).

    python scripts/demo_picture.py [--demo poselift-demo] [--frame 41] [--out docs/demo.jpg]

Runs the demo into ``--demo`` first when that folder has no render yet.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", default="poselift-demo", help="the demo's output folder")
    ap.add_argument("--frame", type=int, default=41, help="which frame of the render")
    ap.add_argument("--width", type=int, default=900, help="width of the picture in pixels")
    ap.add_argument("--out", default="docs/demo.jpg")
    a = ap.parse_args()

    from PIL import Image

    from poselift.demo import run_demo
    from poselift.video import iter_frames

    render = Path(a.demo) / "demo_clip_3d.mp4"
    if not render.exists():
        run_demo(a.demo, overwrite=True)
    for t, frame in enumerate(iter_frames(render, max_frames=a.frame + 1)):
        if t == a.frame:
            image = Image.fromarray(frame)
            image = image.resize((a.width, round(image.height * a.width / image.width)), Image.LANCZOS)
            image.save(a.out, quality=85)
            print(f"wrote {a.out} (frame {a.frame} of {render})")
            return
    raise SystemExit(f"{render} has fewer than {a.frame + 1} frames")


if __name__ == "__main__":
    main()
