"""BVH motion files: the one parser of the package, and forward kinematics.

:func:`read_bvh` reads the HIERARCHY (ROOT / JOINT / End Site, any channels in any order,
keywords in any case, several values per line or one) and the MOTION block into a
:class:`BvhFile`: joints in file order, each End Site a joint of its own named
``<joint>:end`` (``end_site=True``), channel names lower-cased, angles in degrees as written.
Every bad file is a one-line :class:`~poselift.errors.PoseliftError` naming it.

Forward kinematics (:func:`bvh_chain`, :func:`bvh_forward`): a joint's rotation is its rotation
channels composed in their listed order, outermost first (``Zrotation Xrotation Yrotation`` =
Rz @ Rx @ Ry, intrinsic Euler angles, see :mod:`poselift.rotations`);
``G = G_parent · R``, a joint sits at ``parent + G_parent · (OFFSET + position channels)``
(or, with ``replace_positions``, with the position channels in place of the OFFSET's
components, as Blender reads them). Results are in the file's own units and (Y-up) frame.

The CMU-specific conversion into the 17-joint training layout is :mod:`poselift.data.mocap`;
writing BVH (and reading it back into the world frame) is :mod:`poselift.render.bvh`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import PoseliftError
from ..rotations import euler_to_quaternion
from .kinematics import Chain, forward
from .textfile import read_text


@dataclass
class BvhJoint:
    name: str
    parent: int
    offset: np.ndarray
    channels: tuple[str, ...]
    end_site: bool = False


@dataclass
class BvhFile:
    path: str
    joints: list[BvhJoint]
    motion: np.ndarray  # (F, n_channels)
    frame_time: float

    def index(self, name: str) -> int | None:
        low = name.lower()
        for i, j in enumerate(self.joints):
            if j.name.lower() == low:
                return i
        return None


_BVH_CHANNELS = {"xposition", "yposition", "zposition", "xrotation", "yrotation", "zrotation"}
_AXES = {"x": 0, "y": 1, "z": 2}


def read_bvh(path, several_roots: bool = False) -> BvhFile:
    """Parse a BVH file (any channel order, End Sites, several values per line or one).

    ``several_roots``: accept more than one ROOT (each a tree of its own; the CMU conversion
    wants one).
    """
    text = read_text(path, "a BVH file")
    m = re.search(r"^\s*MOTION\s*$", text, re.M | re.I)
    if not text.lstrip().upper().startswith("HIERARCHY") or m is None:
        raise PoseliftError("not a BVH file (needs a HIERARCHY and a MOTION section)", path)
    tokens = text[: m.start()].split()[1:]
    joints: list[BvhJoint] = []
    stack: list[int] = []
    pos = 0

    def take(what):
        nonlocal pos
        if pos >= len(tokens):
            raise PoseliftError(f"HIERARCHY ends early: expected {what}", path)
        pos += 1
        return tokens[pos - 1]

    def number(what):
        t = take(what)
        try:
            v = float(t)
        except ValueError:
            raise PoseliftError(f"HIERARCHY: expected a number for {what}, got {t!r}", path) from None
        if not math.isfinite(v):
            raise PoseliftError(f"HIERARCHY: {what} is not finite", path)
        return v

    pending = None  # (name, parent, end_site) waiting for its "{"
    while pos < len(tokens):
        t = take("a keyword")
        u = t.upper()
        if u in ("ROOT", "JOINT"):
            if u == "ROOT" and joints and stack:
                raise PoseliftError("HIERARCHY: ROOT inside another joint", path)
            if u == "ROOT" and joints and not several_roots:
                raise PoseliftError("HIERARCHY: more than one ROOT is not supported", path)
            if u == "JOINT" and not stack:
                raise PoseliftError("HIERARCHY: JOINT outside the ROOT", path)
            pending = (take("a joint name"), stack[-1] if stack else -1, False)
        elif u == "END":
            nxt = take("Site")
            if nxt.upper() != "SITE":
                raise PoseliftError(f"HIERARCHY: expected 'End Site', got 'End {nxt}'", path)
            if not stack:
                raise PoseliftError("HIERARCHY: End Site outside a joint", path)
            pending = (joints[stack[-1]].name + ":end", stack[-1], True)
        elif t == "{":
            if pending is None:
                raise PoseliftError("HIERARCHY: '{' without a joint", path)
            joints.append(BvhJoint(pending[0], pending[1], np.zeros(3), (), pending[2]))
            stack.append(len(joints) - 1)
            pending = None
        elif t == "}":
            if not stack:
                raise PoseliftError("HIERARCHY: unbalanced '}'", path)
            stack.pop()
        elif u == "OFFSET":
            if not stack:
                raise PoseliftError("HIERARCHY: OFFSET outside a joint", path)
            joints[stack[-1]].offset = np.array([number("OFFSET") for _ in range(3)])
        elif u == "CHANNELS":
            if not stack:
                raise PoseliftError("HIERARCHY: CHANNELS outside a joint", path)
            n = number("the channel count")
            if n != int(n) or n < 0 or n > 12:
                raise PoseliftError(f"HIERARCHY: bad channel count {n}", path)
            chans = tuple(take("a channel name") for _ in range(int(n)))
            bad = [c for c in chans if c.lower() not in _BVH_CHANNELS]
            if bad:
                raise PoseliftError(f"HIERARCHY: unknown channel {bad[0]!r} in joint {joints[stack[-1]].name!r}", path)
            joints[stack[-1]].channels = tuple(c.lower() for c in chans)
        else:
            raise PoseliftError(f"HIERARCHY: unexpected {t!r}", path)
    if stack or pending is not None:
        raise PoseliftError("HIERARCHY: unbalanced braces (file cut short?)", path)
    if not joints:
        raise PoseliftError("HIERARCHY has no joints", path)
    rest = text[m.end():]
    fm = re.search(r"Frames:\s*(\S+)", rest, re.I)
    tm = re.search(r"Frame\s+Time:\s*(\S+)", rest, re.I)
    if fm is None or tm is None:
        raise PoseliftError("MOTION needs 'Frames:' and 'Frame Time:' lines", path)
    try:
        n_frames = int(fm.group(1))
        frame_time = float(tm.group(1))
    except ValueError:
        raise PoseliftError("MOTION: bad 'Frames:' or 'Frame Time:' value", path) from None
    if n_frames < 1:
        raise PoseliftError("MOTION: no frames", path)
    if not (frame_time > 0 and math.isfinite(frame_time)):
        raise PoseliftError(f"MOTION: Frame Time must be positive, got {tm.group(1)}", path)
    n_ch = sum(len(j.channels) for j in joints)
    body = rest[tm.end():]
    try:
        values = np.array(body.split(), dtype=np.float64)
    except ValueError as e:
        raise PoseliftError(f"MOTION: non-numeric value ({e})", path) from None
    if values.size != n_frames * n_ch:
        have = values.size / n_ch if n_ch else 0
        raise PoseliftError(
            f"MOTION: 'Frames: {n_frames}' with {n_ch} channels needs {n_frames * n_ch} values, "
            f"the file has {values.size} ({have:g} frames)", path)
    if not np.isfinite(values).all():
        raise PoseliftError("MOTION has NaN or inf values", path)
    return BvhFile(str(path), joints, values.reshape(n_frames, n_ch), frame_time)


def round_fps(frame_time: float) -> float:
    """``1 / frame_time``, rounded to a whole number when within 1e-4 of one (0.0333333 s → 30)."""
    fps = 1.0 / frame_time
    r = round(fps)
    return float(r) if r > 0 and abs(fps - r) < 1e-4 * r else fps


def rest_points(bvh: BvhFile) -> np.ndarray:
    """Every joint's rest position (N, 3): the OFFSETs summed down the tree."""
    pts = np.zeros((len(bvh.joints), 3))
    for i, j in enumerate(bvh.joints):
        pts[i] = j.offset + (pts[j.parent] if j.parent >= 0 else 0)
    return pts


def bvh_chain(bvh: BvhFile, offsets: np.ndarray | None = None, frames: slice = slice(None),
              fps: float | None = None, scale: float = 1.0, replace_positions: bool = False) -> Chain:
    """The joint tree of ``bvh`` (End Sites included) for :func:`~poselift.data.kinematics.forward`:
    ``offsets`` (N, 3) in place of the file's (default: as written), the MOTION rows ``frames``,
    ``fps`` (default: :func:`round_fps` of the frame time), ``scale`` metres per unit.
    Position channels add to the OFFSET, or with ``replace_positions`` take the place of its
    components."""
    motion = bvh.motion[frames]
    n_frames = motion.shape[0]
    offsets = np.array([j.offset for j in bvh.joints]) if offsets is None else np.array(offsets, dtype=np.float64)
    rots, trans = [], []
    col = 0
    for i, j in enumerate(bvh.joints):
        t = np.zeros((n_frames, 3))
        axes, angles = "", []
        for c in j.channels:
            v = motion[:, col]
            if c.endswith("rotation"):
                axes += c[0].upper()
                angles.append(np.deg2rad(v))
            elif replace_positions:
                t[:, _AXES[c[0]]] = v
                offsets[i, _AXES[c[0]]] = 0.0
            else:
                t[:, _AXES[c[0]]] += v
            col += 1
        if axes:
            q = euler_to_quaternion(np.stack(angles, axis=-1), axes)  # listed order, outermost first
        else:
            q = np.zeros((n_frames, 4))
            q[:, 0] = 1.0
        rots.append(q)
        trans.append(t)
    return Chain([j.name for j in bvh.joints], [j.parent for j in bvh.joints], offsets,
                  np.stack(rots, 1), np.stack(trans, 1), round_fps(bvh.frame_time) if fps is None else fps, scale)


def bvh_forward(bvh: BvhFile, replace_positions: bool = False) -> np.ndarray:
    """Positions (F, N, 3) of every joint and End Site, every frame, file units and frame
    (see :func:`bvh_chain` for ``replace_positions``)."""
    return forward(bvh_chain(bvh, replace_positions=replace_positions))[0]


def bvh_positions(path) -> tuple[list[str], np.ndarray]:
    """Raw forward kinematics of every BVH joint and End Site (named ``<joint>:end``):
    ``(F, N, 3)`` in file units and frame, every frame, offsets as written."""
    bvh = read_bvh(path)
    return [j.name for j in bvh.joints], bvh_forward(bvh)
