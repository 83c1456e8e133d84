import json
import re

import numpy as np
import pytest
from conftest import rigid_motion

from poselift.errors import PoseliftError
from poselift.render.html import write_html


def _plot_arguments(html: str):
    """(data, layout, frames): the JSON arguments of Plotly.newPlot(id, data, layout, ...) and
    Plotly.addFrames(id, frames) as embedded by plotly.io.to_html."""
    dec = json.JSONDecoder()

    def values(call: str, count: int) -> list:
        at = html.index(",", html.index(call)) + 1  # skip the div id
        out = []
        while True:
            value, at = dec.raw_decode(html, re.compile(r"\s*").match(html, at).end())
            out.append(value)
            if len(out) == count:
                return out
            at = html.index(",", at) + 1

    data, layout = values("Plotly.newPlot(", 2)
    (frames,) = values("Plotly.addFrames(", 1)
    return data, layout, frames


def test_viewer_is_self_contained_and_animated(tmp_path):
    motion = rigid_motion(50, "circle")
    html = write_html(tmp_path / "v.html", motion, fps=25, title="demo clip").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html)  # no CDN or other external script
    assert "plotly.js v" in html and len(html) > 1_000_000  # the library itself is inline
    data, layout, frames = _plot_arguments(html)
    assert len(frames) == 50
    assert [f["name"] for f in frames[:3]] == ["0", "1", "2"]
    assert {t["line"]["color"] for t in data[:3]} == {"#d62728", "#1f77b4", "#7f7f7f"}  # left, right, centre
    assert len(layout["sliders"]) == 1 and len(layout["sliders"][0]["steps"]) == 50
    assert [b["label"] for b in layout["updatemenus"][0]["buttons"]] == ["Play", "Pause"]
    assert "demo clip" in layout["title"]["text"]
    ranges = [layout["scene"][a]["range"] for a in ("xaxis", "yaxis", "zaxis")]
    spans = {round(hi - lo, 9) for lo, hi in ranges}
    assert len(spans) == 1 and layout["scene"]["aspectmode"] == "cube"  # equal scales
    for axis, (lo, hi) in enumerate(ranges):  # the whole motion is inside
        assert lo <= motion[..., axis].min() and motion[..., axis].max() <= hi


def test_long_sequences_are_subsampled(tmp_path):
    html = write_html(tmp_path / "v.html", rigid_motion(1300, "line"), fps=50, max_frames=600).read_text()
    _, layout, frames = _plot_arguments(html)
    assert len(frames) == 434 and frames[1]["name"] == "3"  # every 3rd of 1300 frames
    assert "1 frame in 3" in layout["title"]["text"]


def test_refusals(tmp_path):
    motion = rigid_motion(5)
    path = write_html(tmp_path / "v.html", motion)
    with pytest.raises(PoseliftError, match="exists"):
        write_html(path, motion)
    with pytest.raises(PoseliftError, match="shape"):
        write_html(tmp_path / "w.html", motion[:, :3])


def test_several_people_in_one_viewer(tmp_path):
    a = rigid_motion(30, "line", seed=0)
    b = rigid_motion(30, "circle", seed=1)
    b[..., 0] += 2.0
    b[20:] = np.nan  # the second person leaves
    html = write_html(tmp_path / "two.html", None, fps=30, people=[("id 0", a, None, "tab:orange"),
                                                                  ("id 1", b, None, "tab:green")]).read_text()
    assert "2 people" in html and '"id 0"' in html and '"id 1"' in html
    assert "#ff7f0e" in html and "#2ca02c" in html  # each person in their colour
    with pytest.raises(PoseliftError, match="same number of frames"):
        write_html(tmp_path / "x.html", None, people=[("a", a, None, "red"), ("b", b[:10], None, "blue")])


def test_the_figure_is_valid_plotly_with_the_default_look(tmp_path):
    """The page is written from plain dicts without plotly's validation (for speed): every
    trace, frame and layout property must still be one plotly accepts, and the page carries
    the default template a validated Figure would have added."""
    import plotly.graph_objects as go
    import plotly.io as pio

    motion = rigid_motion(12, "circle")
    filled = np.zeros(motion.shape[:2], bool)
    filled[3:5, 13:] = True
    for people in (None, [("id0", motion, filled, "#ff7f0e"), ("id1", motion + [1, 0, 0], None, "#2ca02c")]):
        html = write_html(tmp_path / "v.html", motion, fps=25, filled=filled, people=people,
                          overwrite=True).read_text(encoding="utf-8")
        data, layout, frames = _plot_arguments(html)
        go.Figure(data=data, layout=layout, frames=frames)  # raises on any unknown or malformed property
        assert layout["template"] == pio.templates[pio.templates.default].to_plotly_json()
        assert layout["scene"]["xaxis"]["title"] == {"text": "X (m)"}
