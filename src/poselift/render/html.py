"""A self-contained interactive 3D viewer (plotly, library inlined: opens offline)."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

from ..data.formats import atomic_path
from ..errors import PoseliftError
from ..skeleton import H36M17, Skeleton

MAX_FRAMES = 600
_SIDES = (("left", "#d62728"), ("right", "#1f77b4"), ("centre", "#7f7f7f"))  # red, blue, grey
LEGEND = ('<span style="color:#d62728">━ left</span>  <span style="color:#1f77b4">━ right</span>  '
          '<span style="color:#aaaaaa">╌ filled (not detected)</span>')


def _bone_lines(skeleton: Skeleton) -> dict[str, list[tuple[int, int]]]:
    groups = {name: [] for name, _ in _SIDES}
    for child, parent in skeleton.bones:
        side = "left" if child in skeleton.joints_left else "right" if child in skeleton.joints_right else "centre"
        groups[side].append((parent, child))
    return groups


def _polyline(pose: np.ndarray, bones: list[tuple[int, int]]) -> tuple[list, list, list]:
    """x, y, z lists drawing ``bones`` as separate segments (None breaks the line)."""
    xs, ys, zs = [], [], []
    for a, b in bones:
        if not np.isfinite(pose[[a, b]]).all():
            continue
        for k, out in enumerate((xs, ys, zs)):
            out.extend((float(pose[a, k]), float(pose[b, k]), None))
    return xs, ys, zs


def _trace(kind: str, **props) -> dict:
    """A plotly trace as a plain dict (``type`` = ``kind``); arrays become lists of floats."""
    for key in ("x", "y", "z"):
        if isinstance(props.get(key), np.ndarray):
            props[key] = props[key].tolist()
    return dict(type=kind, **props)


@functools.lru_cache(maxsize=1)
def _template_json() -> str:
    import plotly.io as pio

    return json.dumps(pio.templates[pio.templates.default].to_plotly_json())


def _template() -> dict:
    """plotly's default template as a dict (a fresh copy each time)."""
    return json.loads(_template_json())


def _hex(colour) -> str:
    from matplotlib.colors import to_hex

    return to_hex(colour)


def write_html(path, positions, skeleton: Skeleton = H36M17, fps: float = 50.0, title: str = "poselift",
               overwrite: bool = False, max_frames: int = MAX_FRAMES, frames=None, filled=None,
               people: list[tuple[str, np.ndarray, np.ndarray | None, str]] | None = None) -> Path:
    """Write an interactive 3D view of ``positions`` (T, J, 3), metres in a Z-up world frame.

    Bones are drawn as lines (left side red, right blue, centre grey) over a floor patch at z = 0
    with the root's path on it; play/pause buttons and a frame slider run a plotly animation with
    one frame per pose, or every k-th pose for sequences longer than ``max_frames`` (the title
    says so). NaN frames or joints (left out) are not drawn; bones touching a joint that
    ``filled`` (T, J) marks as invented are drawn grey and dashed, and the slider's label says
    "filled" or "nobody". ``frames`` (T,): video frame numbers, for the time labels.

    Several people: ``people`` is a list of (label, positions (T, J, 3), filled (T, J) or None,
    colour), all in the same world frame and with the same rows (``positions`` and ``filled``
    are then ignored); each person is drawn in their colour with their label in the legend
    and above their head. The axes are fixed, equal in scale and cover the whole motion. The
    plotly.js library is embedded in the file, so it needs no network.
    """
    import plotly.io as pio

    if people is None:
        people = [("", positions, filled, None)]
    if not people:
        raise PoseliftError("nothing to draw (no people)")
    tracks = []
    for label, pos, flags, colour in people:
        P = np.asarray(pos, dtype=np.float64)
        if P.ndim != 3 or P.shape[1:] != (skeleton.num_joints, 3) or len(P) == 0:
            raise PoseliftError(f"expected positions of shape (frames, {skeleton.num_joints}, 3), got {P.shape}")
        if np.isinf(P).any():
            raise PoseliftError("positions contain infinite values")
        F = np.zeros(P.shape[:2], bool) if flags is None else np.asarray(flags, dtype=bool)
        if F.shape != P.shape[:2]:
            raise PoseliftError(f"filled must be (frames, joints) = {P.shape[:2]}, got {F.shape}")
        tracks.append((label, np.round(P, 4), F, colour))
    T = len(tracks[0][1])
    if any(len(P) != T for _, P, _, _ in tracks):
        raise PoseliftError("every person needs the same number of frames")
    if not any(np.isfinite(P).all(-1).any() for _, P, _, _ in tracks):
        raise PoseliftError("positions hold no finite joint: nothing to draw")
    from ..checks import frame_rate

    fps = frame_rate("fps", fps)
    step = max(1, math.ceil(T / max_frames))
    shown = np.arange(0, T, step)
    groups = _bone_lines(skeleton)
    side_colours = dict(_SIDES)
    frame_no = np.arange(T) if frames is None else np.asarray(frames)
    several = len(tracks) > 1

    def pose_traces(t: int) -> list:
        traces = []
        for label, P, F, colour in tracks:
            guessed = [(a, b) for bones in groups.values() for a, b in bones if F[t, a] or F[t, b]]
            if several:  # one trace per person in their colour
                kept = [bone for bones in groups.values() for bone in bones if bone not in guessed]
                x, y, z = _polyline(P[t], kept)
                traces.append(_trace("scatter3d", x=x, y=y, z=z, mode="lines", name=label, showlegend=False,
                                           line=dict(color=_hex(colour), width=6), hoverinfo="skip"))
            else:
                for side, bones in groups.items():
                    x, y, z = _polyline(P[t], [bone for bone in bones if bone not in guessed])
                    traces.append(_trace("scatter3d", x=x, y=y, z=z, mode="lines", name=side, showlegend=False,
                                               line=dict(color=side_colours[side], width=6), hoverinfo="skip"))
            x, y, z = _polyline(P[t], guessed)
            traces.append(_trace("scatter3d", x=x, y=y, z=z, mode="lines", name="filled", showlegend=False,
                                       line=dict(color="#aaaaaa", width=4, dash="dash"), hoverinfo="skip"))
            ok = np.isfinite(P[t]).all(-1)
            names = [f"{label} {n}".strip() for n, k in zip(skeleton.joint_names, ok) if k]
            traces.append(_trace("scatter3d", x=P[t, ok, 0], y=P[t, ok, 1], z=P[t, ok, 2], mode="markers", name="joints",
                                       showlegend=False, marker=dict(size=3, color="#222222"), text=names,
                                       hoverinfo="text"))
            if several:
                top = P[t, ok]
                head = [[float(top[:, 0].mean())], [float(top[:, 1].mean())], [float(top[:, 2].max() + 0.2)]] \
                    if len(top) else [[], [], []]
                traces.append(_trace("scatter3d", x=head[0], y=head[1], z=head[2], mode="text", text=[label] * len(head[0]),
                                           name="label", showlegend=False, hoverinfo="skip",
                                           textfont=dict(color=_hex(colour), size=14)))
        return traces

    allpos = np.concatenate([P for _, P, _, _ in tracks])
    finite = allpos[np.isfinite(allpos).all(-1)]
    lo = np.minimum(finite.min(0), [np.inf, np.inf, 0.0])
    hi = np.maximum(finite.max(0), [-np.inf, -np.inf, 0.0])
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2 * 1.05 + 0.05
    ranges = [[float(c - half), float(c + half)] for c in centre]
    root = skeleton.parents.index(-1)
    (x0, x1), (y0, y1) = ranges[0], ranges[1]
    floor = _trace("mesh3d", x=[x0, x1, x1, x0], y=[y0, y0, y1, y1], z=[0, 0, 0, 0], i=[0, 0], j=[1, 2], k=[2, 3],
                      color="#bbbbbb", opacity=0.35, hoverinfo="skip", name="floor")
    statics = [floor]
    for label, P, _, colour in tracks:
        path_xy = np.where(np.isfinite(P[:, root, :2]), P[:, root, :2], None)
        statics.append(_trace("scatter3d", x=path_xy[:, 0], y=path_xy[:, 1], z=np.zeros(T), mode="lines",
                                    name=label or "path", showlegend=several, hoverinfo="skip",
                                    line=dict(color=_hex(colour) if several else "#999999", width=2 if not several
                                              else 4)))
    n_animated = len(pose_traces(int(shown[0])))

    def present(t: int) -> bool:
        return any(np.isfinite(P[t]).any() for _, P, _, _ in tracks)

    def label_of(t: int) -> str:
        text = f"{frame_no[t] / fps:.2f}s"
        if not present(t):
            return text + " (nobody)"
        return text + " (filled)" if not several and tracks[0][2][t].all() else text

    frames_ = [dict(data=pose_traces(t), name=str(t), traces=list(range(n_animated))) for t in shown]
    play = dict(label="Play", method="animate",
                args=[None, dict(frame=dict(duration=1000 * step / fps, redraw=True), fromcurrent=True,
                                 transition=dict(duration=0), mode="immediate")])
    pause = dict(label="Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                                    mode="immediate")])
    has_pose = [k for k, t in enumerate(shown) if present(t)]
    start = has_pose[0] if has_pose else 0  # open on the first frame with a pose, not on an empty scene
    slider = dict(active=start, x=0.08, len=0.9, y=0, currentvalue=dict(prefix="time "), pad=dict(t=30),
                  steps=[dict(label=label_of(t), method="animate",
                              args=[[str(t)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                   transition=dict(duration=0))]) for t in shown])
    heading = f"{title} — {T} frames at {fps:g} fps" + (f", {len(tracks)} people" if several else "")
    if step > 1:
        heading += f" (animation subsampled to 1 frame in {step}: {len(shown)} of {T})"
    legend = LEGEND if not several else ('each person in their colour (their paths: legend on the right)  '
                                         '<span style="color:#aaaaaa">╌ filled (not detected)</span>')
    axis = dict(showbackground=False, zeroline=False)
    fig = dict(
        data=pose_traces(int(shown[start])) + statics,
        frames=frames_,
        layout=dict(
            template=_template(),  # what plotly's Figure would add: the default look
            title=dict(text=heading, x=0.5),
            scene=dict(xaxis=dict(title=dict(text="X (m)"), range=ranges[0], **axis),
                       yaxis=dict(title=dict(text="Y (m)"), range=ranges[1], **axis),
                       zaxis=dict(title=dict(text="Z up (m)"), range=ranges[2], **axis), aspectmode="cube",
                       camera=dict(up=dict(x=0, y=0, z=1), eye=dict(x=0.6, y=-1.6, z=0.7))),
            updatemenus=[dict(type="buttons", direction="left", x=0.08, y=0, xanchor="right", yanchor="top",
                              pad=dict(t=30, r=10), showactive=False, buttons=[play, pause])],
            sliders=[slider], margin=dict(l=0, r=0, t=50, b=0), uirevision="keep",
            annotations=[dict(text=legend, x=0.01, y=0.99, xref="paper", yref="paper", showarrow=False,
                              xanchor="left", yanchor="top", align="left", font=dict(size=13))],
        ),
    )
    # after plotting, record on the div how many animation frames plotly holds (for checks)
    post = ("var gd = document.getElementById('{plot_id}');"
            "gd.setAttribute('data-frames', (gd._transitionData && gd._transitionData._frames || []).length);")
    # the figure is built from plain dicts and written without plotly's per-property validation
    # (graph objects validated ~15,000 properties: 4/5 of the export time; same page)
    html = pio.to_html(fig, include_plotlyjs=True, full_html=True, auto_play=False, post_script=post,
                       validate=False)
    with atomic_path(path, overwrite) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return Path(path)
