"""Open the interactive HTML in headless Chromium: it must render a non-blank 3D plot with its frames."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from poselift.render.html import write_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (Debian package 'chromium')")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--use-gl=swiftshader", "--enable-unsafe-swiftshader",
         "--window-size=900,700", "--virtual-time-budget=8000"]


def test_html_renders_in_headless_chromium(tmp_path, motion):
    page = write_html(tmp_path / "view.html", motion, fps=50, title="browser test")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120,
                   cwd=tmp_path)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    assert img.shape[0] > 500 and img.shape[1] > 800
    # a blank page is one colour; the plot draws axes, floor and coloured limbs
    assert img.std() > 0.02
    reds = ((img[..., 0] > 0.6) & (img[..., 1] < 0.4) & (img[..., 2] < 0.4)).sum()
    blues = ((img[..., 2] > 0.5) & (img[..., 0] < 0.3)).sum()
    assert reds > 20 and blues > 20, (reds, blues)
    dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path).stdout
    m = re.search(r'data-frames="(\d+)"', dom)
    assert m is not None, "plotly did not run"
    assert int(m.group(1)) == len(motion)
