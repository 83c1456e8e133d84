"""Import raw motion capture (ASF/AMC, BVH) into the CMU-17 training layout.

``convert_clip`` turns one recording into ``(F, 17, 3)`` float32 positions of the
Human3.6M-17 joints with exactly the conventions of ``shared/data/cmu`` (checked against
the shipped files, see ``tests/data/test_mocap.py``):

* **Forward kinematics (ASF/AMC)**: for every bone, ``C`` = rotation of the ``axis`` angles,
  ``L`` = rotation of the frame's dof angles (both composed in the bone's axis order, e.g.
  ``XYZ`` = about x first, then y, then z, fixed axes: ``Rz·Ry·Rx``);
  ``G = G_parent · C · L · C⁻¹``; bone end = bone start + ``G · direction · length``.
  The root has ``G = C_root · L_root · C_root⁻¹`` (``orientation``/``axis``) and its
  ``TX TY TZ`` are absolute positions (``position`` is used only when the root has no
  translation dofs). **BVH**: ``G = G_parent · R(channels in their listed order)``, a joint
  sits at ``parent + G_parent · (OFFSET + position channels)``.
* **Units**: ASF lengths (and AMC root translations) are in ``1/length`` inches (CMU:
  ``length 0.45``), so metres = value / 0.45 · 0.0254. CMU BVH files (cgspeed conversions)
  use the same unit; other BVH units are guessed from the rest height (see
  :func:`guess_bvh_scale`) unless given.
* **Axes**: the source world is Y-up; the output is Z-up: ``(x, y, z) → (x, -z, y)``.
* **Resampling**: from the source rate (AMC: 120 Hz; BVH: ``1 / Frame Time``) to 50 Hz at
  ``t_k = k / 50`` s, ``k = 0 … ⌊(F−1)·50/src_fps⌋``, *before* forward kinematics: every joint's
  local rotation is interpolated by normalised linear quaternion interpolation (nlerp, signs
  aligned) and the root translation linearly. (Linear interpolation of joint positions is
  off by up to 1.1 mm on fast ankles, Euler-angle interpolation by 0.35 mm, slerp by
  0.007 mm; nlerp reproduces the reference to float precision.)
* **Virtual joints** (README): pelvis = midpoint of the hips (the ends of the hip-joint
  bones); spine = end of ``lowerback``; thorax = midpoint of the shoulders (clavicle ends);
  neck/nose = head joint (start of the head bone) + ``G_head · (0, 0.3·head length, 8.5 cm)``,
  i.e. 8.5 cm in front of the head joint (+z, the way a CMU skeleton faces in its rest
  pose) and 30 % of the head bone up; head = end of the head bone.
* **Floor** (per clip): z = 0 at the 5th percentile (numpy's linear) over the 50 Hz frames
  of the lowest skeleton point of each frame (every bone end, toes included).
* **Centring** (per clip): the pelvis xy path's bounding-box centre goes to x = y = 0.

CMU BVH files made with MotionBuilder (cgspeed's "MB" set) drop the ASF ``thorax`` bone:
``Spine1``'s children (``Neck``, ``LeftShoulder``, ``RightShoulder``) sit at offset 0, which
puts the neck and arms about 12 cm low. The importer detects this (a zero-offset ``Neck``
child of ``Spine1``) and adds the thorax vector to those children's offsets: the subject's
ASF ``thorax`` bone when an ASF is given (``prepare_mocap`` uses ``SS.asf`` next to
``SS_CC.bvh``), else an estimate: the ``Spine1`` offset itself (the upper-back bone; the
three CMU back bones have nearly the same length and direction, a few mm apart). These
files also start with a T-pose frame (whole-degree rotations, root where frame 1 is) that
is dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tqdm.auto import tqdm

from ..errors import PoseliftError
from ..skeleton import H36M17
from .formats import save_npz

INCH_M = 0.0254
CMU_UNIT_M = INCH_M / 0.45  # one CMU ASF/BVH length unit in metres
TARGET_FPS = 50.0
AMC_FPS = 120.0
NOSE_FORWARD_M = 0.085
NOSE_UP_FRACTION = 0.3
FLOOR_PERCENTILE = 5.0
UNITS = "metres; world frame Z up, floor z=0, pelvis-path bbox centred per clip"
LICENSE = (
    "The user's own motion capture data, imported with poselift.data.mocap; "
    "its licence is that of the source files."
)
JOINT_NAMES = H36M17.joint_names
PARENTS = np.array(H36M17.parents, dtype=np.int64)

_AXES = {"x": 0, "y": 1, "z": 2}


# --------------------------------------------------------------------------- rotations


def _axis_quat(axis: str, angle) -> np.ndarray:
    """Quaternions (w, x, y, z) of rotations by ``angle`` (radians, any shape) about x/y/z."""
    angle = np.asarray(angle, dtype=np.float64)
    q = np.zeros(angle.shape + (4,))
    q[..., 0] = np.cos(angle / 2)
    q[..., 1 + _AXES[axis]] = np.sin(angle / 2)
    return q


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def _qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _qmat(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=-2)


def _euler_quat(angles: dict[str, np.ndarray], order: str, shape=()) -> np.ndarray:
    """Rotation about the axes of ``order`` (e.g. "XYZ"), the first applied first (fixed axes):
    ``R = R_last · … · R_first``. ``angles`` maps "x"/"y"/"z" to radians (missing = 0)."""
    q = np.zeros(shape + (4,))
    q[..., 0] = 1.0
    for ax in order.lower():
        if ax in angles:
            q = _qmul(_axis_quat(ax, angles[ax]), q)
    return q


# --------------------------------------------------------------------------- kinematic chain


@dataclass
class _Chain:
    """A joint tree in BVH semantics, Y-up, in file length units.

    ``point_j = point_parent + G_parent · (offsets_j + trans_j)``, ``G_j = G_parent · R_j``.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (N, 3)
    rot: np.ndarray  # (F, N, 4) local rotations (quaternions)
    trans: np.ndarray  # (F, N, 3) local translations (channels), zero where none
    fps: float
    scale_m: float  # metres per length unit

    def index(self, name: str) -> int:
        return self.names.index(name)


def _resample_chain(chain: _Chain, fps: float) -> _Chain:
    """Sample at ``t_k = k / fps``: nlerp of local rotations, linear translations."""
    n = chain.rot.shape[0]
    if n == 1 or abs(chain.fps - fps) < 1e-9:
        return chain
    count = int(math.floor((n - 1) * fps / chain.fps + 1e-9)) + 1
    t = np.arange(count) * (chain.fps / fps)
    i = np.minimum(np.floor(t + 1e-9).astype(np.int64), n - 2)
    w = np.clip(t - i, 0.0, 1.0)
    q0, q1 = chain.rot[i], chain.rot[i + 1]
    sign = np.where(np.sum(q0 * q1, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    q = (1 - w)[:, None, None] * q0 + w[:, None, None] * sign * q1
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    tr = (1 - w)[:, None, None] * chain.trans[i] + w[:, None, None] * chain.trans[i + 1]
    return _Chain(chain.names, chain.parents, chain.offsets, q, tr, fps, chain.scale_m)


def _forward(chain: _Chain) -> tuple[np.ndarray, np.ndarray]:
    """Global positions (F, N, 3) and rotations (F, N, 3, 3) of every node."""
    local = _qmat(chain.rot)
    n_frames, n = chain.rot.shape[:2]
    pos = np.zeros((n_frames, n, 3))
    glob = np.zeros((n_frames, n, 3, 3))
    for j, p in enumerate(chain.parents):
        off = chain.offsets[j] + chain.trans[:, j]
        if p < 0:
            pos[:, j] = off
            glob[:, j] = local[:, j]
        else:
            pos[:, j] = pos[:, p] + np.einsum("fab,fb->fa", glob[:, p], off)
            glob[:, j] = glob[:, p] @ local[:, j]
    return pos, glob


def _to_zup(p: np.ndarray, scale: float) -> np.ndarray:
    """Y-up file coordinates → Z-up metres: (x, y, z) → (x, -z, y)."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1) * scale


# --------------------------------------------------------------------------- ASF / AMC


@dataclass
class AsfBone:
    name: str
    id: int | None
    direction: np.ndarray  # (3,) unit vector, world rest frame
    length: float  # file units
    axis: np.ndarray  # (3,) degrees (or radians, see AsfSkeleton.angle_unit)
    axis_order: str  # e.g. "XYZ"
    dof: tuple[str, ...]  # e.g. ("rx", "ry", "rz")
    limits: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class AsfSkeleton:
    path: str
    name: str
    mass: float
    length: float  # the ``:units length`` multiplier: file units are 1/length inches
    angle_unit: str  # "deg" or "rad"
    root_order: tuple[str, ...]
    root_axis: str
    root_position: np.ndarray
    root_orientation: np.ndarray
    bones: dict[str, AsfBone]
    parent: dict[str, str]  # bone → parent bone (or "root")
    order: list[str]  # bones, parents before children

    @property
    def scale_m(self) -> float:
        """Metres per file length unit."""
        return INCH_M / self.length

    def bone_vector(self, name: str) -> np.ndarray:
        b = self.bones[name]
        return b.direction * b.length


def _floats(tokens, n, path, lineno, what):
    if len(tokens) < n:
        raise PoseliftError(f"line {lineno}: {what} needs {n} numbers, got {len(tokens)}", path)
    try:
        v = np.array([float(t) for t in tokens[:n]])
    except ValueError:
        raise PoseliftError(f"line {lineno}: {what}: expected numbers, got {' '.join(tokens[:n])!r}", path) from None
    if not np.isfinite(v).all():
        raise PoseliftError(f"line {lineno}: {what}: numbers must be finite", path)
    return v


def _read_text(path) -> str:
    from .filetype import check_input_file

    path = Path(path)
    check_input_file(path, "a text file", max_bytes=1 << 30)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PoseliftError(f"cannot read ({e.strerror})", path) from None
    if b"\0" in data[:4096]:
        raise PoseliftError("binary file, expected text", path)
    return data.decode("utf-8", errors="replace")


def read_asf(path) -> AsfSkeleton:
    """Parse an Acclaim skeleton file (``.asf``)."""
    text = _read_text(path)
    units = {"mass": 1.0, "length": 1.0, "angle": "deg"}
    root = {"order": None, "axis": "XYZ", "position": np.zeros(3), "orientation": np.zeros(3)}
    bones: dict[str, AsfBone] = {}
    parent: dict[str, str] = {}
    name = ""
    section = None
    cur: dict | None = None
    seen = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tok = line.split()
        if tok[0].startswith(":"):
            section = tok[0][1:].lower()
            seen.add(section)
            if section == "name" and len(tok) > 1:
                name = " ".join(tok[1:])
            continue  # other sections (:skin, ...) are skipped below
        key = tok[0].lower()
        if section == "units":
            if key in ("mass", "length"):
                units[key] = float(_floats(tok[1:], 1, path, lineno, key)[0])
            elif key == "angle":
                if len(tok) < 2 or tok[1].lower() not in ("deg", "degree", "degrees", "rad", "radian", "radians"):
                    raise PoseliftError(f"line {lineno}: angle unit must be deg or rad", path)
                units["angle"] = "deg" if tok[1].lower().startswith("deg") else "rad"
        elif section == "root":
            if key == "order":
                root["order"] = tuple(t.lower() for t in tok[1:])
            elif key == "axis":
                root["axis"] = tok[1] if len(tok) > 1 else "XYZ"
            elif key in ("position", "orientation"):
                root[key] = _floats(tok[1:], 3, path, lineno, key)
        elif section == "bonedata":
            if key == "begin":
                if cur is not None:
                    raise PoseliftError(f"line {lineno}: 'begin' inside a bone (missing 'end')", path)
                cur = {"line": lineno, "dof": (), "limits": [], "axis": np.zeros(3), "axis_order": "XYZ", "id": None}
                continue
            if cur is None:
                raise PoseliftError(f"line {lineno}: {tok[0]!r} outside a begin/end bone block", path)
            if key == "end":
                for need in ("name", "direction", "length"):
                    if need not in cur:
                        raise PoseliftError(f"bone block at line {cur['line']} has no {need}", path)
                if cur["name"] in bones or cur["name"] == "root":
                    raise PoseliftError(f"line {cur['line']}: bone {cur['name']!r} defined twice", path)
                d = cur["direction"]
                nrm = float(np.linalg.norm(d))
                if not np.isfinite(nrm) or (nrm < 1e-12 and cur["length"] != 0):
                    raise PoseliftError(f"bone {cur['name']!r}: zero or invalid direction", path)
                for dof in cur["dof"]:
                    if dof not in ("rx", "ry", "rz"):
                        raise PoseliftError(
                            f"bone {cur['name']!r}: dof {dof!r} is not supported (rotations rx ry rz only)", path)
                bones[cur["name"]] = AsfBone(cur["name"], cur["id"], d / nrm if nrm > 0 else d, float(cur["length"]),
                                             cur["axis"], cur["axis_order"], tuple(cur["dof"]), cur["limits"])
                cur = None
                continue
            if key == "id":
                v = float(_floats(tok[1:], 1, path, lineno, "id")[0])
                cur["id"] = int(v)
            elif key == "name":
                if len(tok) < 2:
                    raise PoseliftError(f"line {lineno}: bone name missing", path)
                cur["name"] = tok[1]
            elif key == "direction":
                cur["direction"] = _floats(tok[1:], 3, path, lineno, "direction")
            elif key == "length":
                cur["length"] = float(_floats(tok[1:], 1, path, lineno, "length")[0])
                if not np.isfinite(cur["length"]) or cur["length"] < 0:
                    raise PoseliftError(f"line {lineno}: invalid bone length", path)
            elif key == "axis":
                cur["axis"] = _floats(tok[1:], 3, path, lineno, "axis")
                order = tok[4] if len(tok) > 4 else "XYZ"
                if sorted(order.lower()) != ["x", "y", "z"]:
                    raise PoseliftError(f"line {lineno}: axis order {order!r} must be a permutation of XYZ", path)
                cur["axis_order"] = order.upper()
            elif key == "dof":
                cur["dof"] = tuple(t.lower() for t in tok[1:])
            elif key == "limits" or line.startswith("("):
                nums = re.findall(r"[-+]?(?:inf|[\d.]+(?:e[-+]?\d+)?)", line, re.I)
                if len(nums) >= 2:
                    try:
                        cur["limits"].append((float(nums[0]), float(nums[1])))
                    except ValueError:
                        pass
            elif key == "bodymass" or key == "cofmass":
                pass
        elif section == "hierarchy":
            if key in ("begin", "end"):
                continue
            for child in tok[1:]:
                if child in parent:
                    raise PoseliftError(f"line {lineno}: bone {child!r} has two parents in the hierarchy", path)
                parent[child] = tok[0]
    if cur is not None:
        raise PoseliftError(f"bone block at line {cur['line']} has no 'end'", path)
    for sec in ("root", "bonedata", "hierarchy"):
        if sec not in seen:
            raise PoseliftError(f"not an ASF skeleton: no :{sec} section", path)
    if not bones:
        raise PoseliftError("no bones in :bonedata", path)
    if units["length"] <= 0 or not np.isfinite(units["length"]):
        raise PoseliftError("units: length must be positive", path)
    for child, par in parent.items():
        if child not in bones:
            raise PoseliftError(f"hierarchy names bone {child!r}, which :bonedata does not define", path)
        if par != "root" and par not in bones:
            raise PoseliftError(f"hierarchy names bone {par!r}, which :bonedata does not define", path)
    # topological order from the root; detects cycles and orphans
    children: dict[str, list[str]] = {}
    for child, par in parent.items():
        children.setdefault(par, []).append(child)
    order: list[str] = []
    stack = list(reversed(children.get("root", [])))
    while stack:
        b = stack.pop()
        order.append(b)
        stack.extend(reversed(children.get(b, [])))
    missing = [b for b in bones if b not in order]
    if missing:
        raise PoseliftError(f"bone(s) not connected to the root in :hierarchy: {', '.join(missing[:5])}", path)
    root_order = root["order"] or ("tx", "ty", "tz", "rx", "ry", "rz")
    for d in root_order:
        if d not in ("tx", "ty", "tz", "rx", "ry", "rz"):
            raise PoseliftError(f"root order: unknown channel {d!r}", path)
    return AsfSkeleton(str(path), name, float(units["mass"]), float(units["length"]), units["angle"], root_order,
                       root["axis"].upper(), root["position"], root["orientation"], bones, parent, order)


def read_amc(path, skeleton: AsfSkeleton) -> tuple[dict[str, np.ndarray], str]:
    """Parse an Acclaim motion file: per bone (and "root") an (F, n_dof) array in file order.

    Returns ``(channels, angle_unit)``; ``:RADIANS``/``:DEGREES`` in the file override the
    ASF's angle unit. A last frame cut short (a truncated file) is dropped; a bone missing
    from any other frame is an error.
    """
    text = _read_text(path)
    angle_unit = skeleton.angle_unit
    want = {"root": len(skeleton.root_order)}
    want.update({b.name: len(b.dof) for b in skeleton.bones.values() if b.dof})
    frames: list[dict[str, list[float]]] = []
    frame_lines: list[int] = []
    cur = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            kw = line.lower()
            if kw.startswith(":rad"):
                angle_unit = "rad"
            elif kw.startswith(":deg"):
                angle_unit = "deg"
            continue
        tok = line.split()
        if len(tok) == 1 and tok[0].isdigit():
            cur = {}
            frames.append(cur)
            frame_lines.append(lineno)
            continue
        if cur is None:
            raise PoseliftError(f"line {lineno}: bone values before the first frame number", path)
        bone = tok[0]
        if bone not in want:
            if bone in skeleton.bones:  # a bone without dofs listed anyway: accept if empty
                if len(tok) > 1:
                    raise PoseliftError(f"line {lineno}: bone {bone!r} has no dof in the skeleton but has values", path)
                continue
            raise PoseliftError(f"line {lineno}: unknown bone {bone!r} (not in {Path(skeleton.path).name})", path)
        if len(tok) - 1 != want[bone]:
            raise PoseliftError(f"line {lineno}: bone {bone!r} needs {want[bone]} values, got {len(tok) - 1}", path)
        try:
            cur[bone] = [float(t) for t in tok[1:]]
        except ValueError:
            raise PoseliftError(f"line {lineno}: bone {bone!r}: expected numbers", path) from None
    if not frames:
        raise PoseliftError("no frames (an AMC file lists a frame number, then one line per bone)", path)
    if len(frames) > 1 and len(frames[-1]) < len(want):
        frames.pop()  # truncated file: the last frame was cut short
        frame_lines.pop()
    for f, ln in zip(frames, frame_lines):
        if len(f) < len(want):
            miss = [b for b in want if b not in f]
            raise PoseliftError(f"frame at line {ln} lacks bone(s) {', '.join(miss[:5])}", path)
    channels = {b: np.array([f[b] for f in frames], dtype=np.float64).reshape(len(frames), n) for b, n in want.items()}
    for b, a in channels.items():
        if not np.isfinite(a).all():
            raise PoseliftError(f"bone {b!r} has NaN or inf values", path)
    return channels, angle_unit


def _asf_chain(skel: AsfSkeleton, channels: dict[str, np.ndarray], angle_unit: str, fps: float) -> _Chain:
    """ASF bones as BVH-style nodes: node ``b`` at the bone's start rotates by ``C·L·C⁻¹``;
    node ``b:end`` (offset ``direction·length``) marks its end."""
    n_frames = channels["root"].shape[0]
    to_rad = (lambda a: np.deg2rad(a)) if angle_unit == "deg" else (lambda a: np.asarray(a, float))
    ang_asf = (lambda a: np.deg2rad(a)) if skel.angle_unit == "deg" else (lambda a: np.asarray(a, float))
    names, parents, offsets, rots, trans = ["root"], [-1], [np.zeros(3)], [], []
    # root
    rc = channels["root"]
    t = np.tile(skel.root_position, (n_frames, 1)).astype(float)
    tr_idx = {d: i for i, d in enumerate(skel.root_order)}
    if any(d in tr_idx for d in ("tx", "ty", "tz")):
        t = np.zeros((n_frames, 3))
        for ax, k in (("tx", 0), ("ty", 1), ("tz", 2)):
            if ax in tr_idx:
                t[:, k] = rc[:, tr_idx[ax]]
    ra = {d[1]: to_rad(rc[:, i]) for d, i in tr_idx.items() if d.startswith("r")}
    qc = _euler_quat({a: ang_asf(v) for a, v in zip("xyz", skel.root_orientation)}, skel.root_axis)
    ql = _euler_quat(ra, skel.root_axis, (n_frames,))
    rots.append(_qmul(_qmul(qc, ql), _qconj(qc)))
    trans.append(t)
    index = {"root": 0}
    ident = np.tile([1.0, 0, 0, 0], (n_frames, 1))
    zero = np.zeros((n_frames, 3))
    for b in skel.order:
        bone = skel.bones[b]
        par = skel.parent[b]
        qc = _euler_quat({a: ang_asf(v) for a, v in zip("xyz", bone.axis)}, bone.axis_order)
        if bone.dof:
            ql = _euler_quat({d[1]: to_rad(channels[b][:, i]) for i, d in enumerate(bone.dof)}, bone.axis_order,
                             (n_frames,))
            q = _qmul(_qmul(qc, ql), _qconj(qc))
        else:
            q = ident
        index[b] = len(names)
        names.append(b)
        parents.append(index[par])
        offsets.append(np.zeros(3) if par == "root" else skel.bone_vector(par))
        rots.append(q)
        trans.append(zero)
        index[b + ":end"] = len(names)
        names.append(b + ":end")
        parents.append(index[b])
        offsets.append(skel.bone_vector(b))
        rots.append(ident)
        trans.append(zero)
    return _Chain(names, parents, np.array(offsets), np.stack(rots, 1), np.stack(trans, 1), fps, skel.scale_m)


# --------------------------------------------------------------------------- BVH


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


def read_bvh(path) -> BvhFile:
    """Parse a BVH file (any channel order, End Sites, several values per line or one)."""
    text = _read_text(path)
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
            if u == "ROOT" and joints:
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
            joints[stack[-1]].offset = np.array([number("OFFSET")  for _ in range(3)])
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


def _round_fps(frame_time: float) -> float:
    fps = 1.0 / frame_time
    r = round(fps)
    return float(r) if r > 0 and abs(fps - r) < 1e-4 * r else fps


def guess_bvh_scale(bvh: BvhFile) -> float:
    """Metres per BVH unit, from the rest-pose height (Y-up): CMU (1/0.45 in), inch, cm, mm, m
    — whichever makes the skeleton's rest height closest to 1.7 m."""
    pts = _bvh_rest_points(bvh)
    h = float(pts[:, 1].max() - pts[:, 1].min())
    if not h > 0:
        raise PoseliftError("cannot tell the BVH's length unit: the rest pose has no height", bvh.path)
    cands = [CMU_UNIT_M, INCH_M, 0.01, 0.001, 1.0]
    return min(cands, key=lambda s: abs(math.log(h * s / 1.7)))


def _bvh_rest_points(bvh: BvhFile) -> np.ndarray:
    pts = np.zeros((len(bvh.joints), 3))
    for i, j in enumerate(bvh.joints):
        pts[i] = j.offset + (pts[j.parent] if j.parent >= 0 else 0)
    return pts


def _is_tpose_frame(bvh: BvhFile) -> bool:
    """cgspeed's MotionBuilder BVH (CMU joint names: ``LHipJoint``) start with a T-pose frame:
    whole-degree rotations, the root where frame 1 has it."""
    if bvh.motion.shape[0] < 2 or bvh.index("LHipJoint") is None:
        return False
    col = 0
    for j in bvh.joints:
        for c in j.channels:
            v0, v1 = bvh.motion[0, col], bvh.motion[1, col]
            if c.endswith("rotation") and abs(v0 - round(v0)) > 1e-9:
                return False
            if c.endswith("position") and j.parent < 0 and abs(v0 - v1) > 1e-9:
                return False
            col += 1
    return True


_BVH_NAMES = {  # CMU (cgspeed) names first, then common alternatives
    "hips": ("Hips", "Hip", "Pelvis", "Root"),
    "r_hip": ("RightUpLeg", "RightHip", "RThigh", "RightThigh"),
    "r_knee": ("RightLeg", "RightKnee", "RShin", "RightShin"),
    "r_ankle": ("RightFoot", "RightAnkle", "RFoot"),
    "l_hip": ("LeftUpLeg", "LeftHip", "LThigh", "LeftThigh"),
    "l_knee": ("LeftLeg", "LeftKnee", "LShin", "LeftShin"),
    "l_ankle": ("LeftFoot", "LeftAnkle", "LFoot"),
    "spine": ("Spine", "Chest", "Abdomen"),
    "head": ("Head",),
    "l_shoulder": ("LeftArm", "LeftUpArm", "LeftShoulder", "LShldr"),
    "l_elbow": ("LeftForeArm", "LeftElbow", "LeftLowArm", "LForeArm"),
    "l_wrist": ("LeftHand", "LeftWrist", "LHand"),
    "r_shoulder": ("RightArm", "RightUpArm", "RightShoulder", "RShldr"),
    "r_elbow": ("RightForeArm", "RightElbow", "RightLowArm", "RForeArm"),
    "r_wrist": ("RightHand", "RightWrist", "RHand"),
}


def _bvh_find(bvh: BvhFile, key: str) -> int:
    for n in _BVH_NAMES[key]:
        i = bvh.index(n)
        if i is not None:
            return i
    raise PoseliftError(f"no joint for {key} (looked for {', '.join(_BVH_NAMES[key])}); "
                        "only CMU-style BVH joint names are understood", bvh.path)


def _bvh_lacks_thorax(bvh: BvhFile) -> bool:
    """A CMU MotionBuilder BVH: ``Neck`` sits on ``Spine1`` at offset 0 (the thorax bone is gone)."""
    neck, spine1 = bvh.index("Neck"), bvh.index("Spine1")
    return (neck is not None and spine1 is not None and bvh.joints[neck].parent == spine1
            and float(np.linalg.norm(bvh.joints[neck].offset)) <= 1e-6)


def _bvh_thorax_fix(bvh: BvhFile, thorax_vector) -> tuple[np.ndarray, str]:
    """Offsets with the dropped ASF thorax added to every child of ``Spine1``."""
    spine1 = bvh.index("Spine1")
    if thorax_vector is None:
        vec = bvh.joints[spine1].offset.copy()
        note = ("thorax offset estimated from the upper back (Spine1 offset): "
                "the BVH omits it and no subject ASF was given")
    else:
        vec = np.asarray(thorax_vector, float)
        note = "thorax offset restored from the subject ASF (cgspeed MB BVH omits it)"
    offsets = np.array([j.offset for j in bvh.joints])
    for i, j in enumerate(bvh.joints):
        if j.parent == spine1:
            offsets[i] = offsets[i] + vec
    return offsets, note


def _bvh_chain(bvh: BvhFile, offsets: np.ndarray, frames: slice, fps: float, scale: float) -> _Chain:
    motion = bvh.motion[frames]
    n_frames = motion.shape[0]
    rots, trans = [], []
    col = 0
    for j in bvh.joints:
        q = np.zeros((n_frames, 4))
        q[:, 0] = 1.0
        t = np.zeros((n_frames, 3))
        for c in j.channels:
            v = motion[:, col]
            if c.endswith("rotation"):
                q = _qmul(q, _axis_quat(c[0], np.deg2rad(v)))
            else:
                t[:, _AXES[c[0]]] += v
            col += 1
        rots.append(q)
        trans.append(t)
    return _Chain([j.name for j in bvh.joints], [j.parent for j in bvh.joints], offsets,
                  np.stack(rots, 1), np.stack(trans, 1), fps, scale)


def asf_amc_positions(asf, amc) -> tuple[list[str], np.ndarray]:
    """Raw forward kinematics: ``("root", bone, ...)`` and their end points ``(F, 1+B, 3)`` in
    file units and the file's own (Y-up) frame, at the source rate."""
    skel = asf if isinstance(asf, AsfSkeleton) else read_asf(asf)
    channels, unit = read_amc(amc, skel)
    chain = _asf_chain(skel, channels, unit, AMC_FPS)
    pos, _ = _forward(chain)
    names = ["root"] + list(skel.order)
    return names, pos[:, [0] + [chain.index(b + ":end") for b in skel.order]]


def bvh_positions(path) -> tuple[list[str], np.ndarray]:
    """Raw forward kinematics of every BVH joint and End Site (named ``<joint>:end``):
    ``(F, N, 3)`` in file units and frame, every frame, offsets as written."""
    bvh = read_bvh(path)
    chain = _bvh_chain(bvh, np.array([j.offset for j in bvh.joints]), slice(None), _round_fps(bvh.frame_time), 1.0)
    pos, _ = _forward(chain)
    return chain.names, pos


# --------------------------------------------------------------------------- conversion


@dataclass
class ConvertedClip:
    """One converted recording and where it came from."""

    name: str
    positions: np.ndarray  # (F, 17, 3) float32, metres, Z-up, floor z=0, centred
    fps: float
    src_fps: float
    src_frames: int
    source_path: str
    source_format: str  # "asf/amc" or "bvh"
    skeleton_note: str = ""


def _h36m17(pos: np.ndarray, glob: np.ndarray, names: list[str], nodes: dict[str, str], head_len: float,
            scale: float) -> np.ndarray:
    idx = {k: names.index(v) for k, v in nodes.items()}
    f = pos.shape[0]
    J = np.zeros((f, 17, 3))
    get = lambda k: pos[:, idx[k]]  # noqa: E731
    J[:, 1], J[:, 2], J[:, 3] = get("r_hip"), get("r_knee"), get("r_ankle")
    J[:, 4], J[:, 5], J[:, 6] = get("l_hip"), get("l_knee"), get("l_ankle")
    J[:, 0] = (J[:, 1] + J[:, 4]) / 2
    J[:, 7] = get("spine")
    J[:, 11], J[:, 12], J[:, 13] = get("l_shoulder"), get("l_elbow"), get("l_wrist")
    J[:, 14], J[:, 15], J[:, 16] = get("r_shoulder"), get("r_elbow"), get("r_wrist")
    J[:, 8] = (J[:, 11] + J[:, 14]) / 2
    nose_local = np.array([0.0, NOSE_UP_FRACTION * head_len, NOSE_FORWARD_M / scale])
    J[:, 9] = get("head_joint") + glob[:, idx["head_joint"]] @ nose_local
    J[:, 10] = get("head_end")
    return J


def _normalise(J: np.ndarray, lowest: np.ndarray) -> np.ndarray:
    """Floor (5th percentile of each frame's lowest point, ``lowest`` (F,)) to z=0;
    pelvis-path bbox centre to x=y=0."""
    floor = np.percentile(lowest, FLOOR_PERCENTILE)
    pel = J[:, 0, :2]
    centre = (pel.min(axis=0) + pel.max(axis=0)) / 2
    out = J.copy()
    out[..., 2] -= floor
    out[..., :2] -= centre
    return out


_ASF_NODES = {
    "r_hip": "rhipjoint:end", "r_knee": "rfemur:end", "r_ankle": "rtibia:end",
    "l_hip": "lhipjoint:end", "l_knee": "lfemur:end", "l_ankle": "ltibia:end",
    "spine": "lowerback:end", "head_joint": "head", "head_end": "head:end",
    "l_shoulder": "lclavicle:end", "l_elbow": "lhumerus:end", "l_wrist": "lradius:end",
    "r_shoulder": "rclavicle:end", "r_elbow": "rhumerus:end", "r_wrist": "rradius:end",
}


def _positive(**kw) -> None:
    for k, v in kw.items():
        if v is not None and not (isinstance(v, (int, float, np.number)) and math.isfinite(v) and v > 0):
            raise PoseliftError(f"{k} must be a positive number, got {v!r}")


def _finish(chain: _Chain, nodes: dict[str, str], head_len: float, fps: float, path, chunk: int = 4096) -> np.ndarray:
    chain = _resample_chain(chain, fps)
    n = chain.rot.shape[0]
    J = np.zeros((n, 17, 3))
    lowest = np.zeros(n)
    for a in range(0, n, chunk):  # forward kinematics in chunks: (F, N, 3, 3) rotations get large
        part = _Chain(chain.names, chain.parents, chain.offsets, chain.rot[a : a + chunk], chain.trans[a : a + chunk],
                      chain.fps, chain.scale_m)
        pos, glob = _forward(part)
        J[a : a + chunk] = _to_zup(_h36m17(pos, glob, chain.names, nodes, head_len, chain.scale_m), chain.scale_m)
        lowest[a : a + chunk] = _to_zup(pos, chain.scale_m)[..., 2].min(axis=1)
    out = _normalise(J, lowest)
    if not np.isfinite(out).all():
        raise PoseliftError("conversion produced NaN or inf", path)
    return out.astype(np.float32)


def convert_asf_amc(asf, amc, fps: float = TARGET_FPS, src_fps: float = AMC_FPS,
                    skeleton: AsfSkeleton | None = None) -> ConvertedClip:
    _positive(fps=fps, src_fps=src_fps)
    skel = skeleton if skeleton is not None else read_asf(asf)
    missing = [b for b in dict.fromkeys(n.removesuffix(":end") for n in _ASF_NODES.values()) if b not in skel.bones]
    if missing:
        raise PoseliftError(f"not a CMU-style skeleton: no bone(s) {', '.join(missing)}", asf)
    channels, unit = read_amc(amc, skel)
    chain = _asf_chain(skel, channels, unit, src_fps)
    head_len = skel.bones["head"].length
    pos = _finish(chain, _ASF_NODES, head_len, fps, amc)
    return ConvertedClip(Path(amc).stem, pos, fps, src_fps, int(channels["root"].shape[0]), str(amc), "asf/amc")


def asf_thorax_vector(asf) -> np.ndarray:
    """The ``thorax`` bone (direction · length, file units) of an ASF path or
    :class:`AsfSkeleton`; a 3-vector is passed through."""
    if isinstance(asf, (np.ndarray, list, tuple)):
        vec = np.asarray(asf, dtype=np.float64)
        if vec.shape != (3,) or not np.isfinite(vec).all():
            raise PoseliftError(f"a thorax vector needs 3 finite numbers, got shape {vec.shape}")
        return vec
    skel = asf if isinstance(asf, AsfSkeleton) else read_asf(asf)
    if "thorax" not in skel.bones:
        raise PoseliftError("the skeleton has no thorax bone", skel.path)
    return skel.bone_vector("thorax")


def convert_bvh(path, fps: float = TARGET_FPS, thorax_asf=None, length_scale: float | None = None,
                drop_first_frame: bool | None = None, fix_thorax: bool = True) -> ConvertedClip:
    """Convert a CMU-style BVH. ``thorax_asf``: the subject's ASF to restore the thorax bone
    the MotionBuilder conversions omit (else it is estimated, see the module notes);
    ``length_scale``: metres per BVH unit (default: guessed); ``drop_first_frame``: None =
    drop a leading T-pose frame when detected."""
    _positive(fps=fps, length_scale=length_scale)
    bvh = read_bvh(path)
    nodes = {k: bvh.joints[_bvh_find(bvh, k)].name for k in _BVH_NAMES if k != "hips"}
    head = _bvh_find(bvh, "head")
    ends = [i for i, j in enumerate(bvh.joints) if j.parent == head]
    if not ends:
        raise PoseliftError("the Head joint has no child or End Site marking the top of the head", path)
    nodes["head_joint"] = bvh.joints[head].name
    nodes["head_end"] = bvh.joints[ends[0]].name
    del nodes["head"]
    scale = guess_bvh_scale(bvh) if length_scale is None else float(length_scale)
    offsets = np.array([j.offset for j in bvh.joints])
    note = ""
    if fix_thorax and _bvh_lacks_thorax(bvh):
        vec = None if thorax_asf is None else asf_thorax_vector(thorax_asf)
        offsets, note = _bvh_thorax_fix(bvh, vec)
    drop = _is_tpose_frame(bvh) if drop_first_frame is None else bool(drop_first_frame)
    if drop and bvh.motion.shape[0] < 2:
        raise PoseliftError("only one frame, nothing left after dropping the T-pose frame", path)
    src_fps = _round_fps(bvh.frame_time)
    frames = slice(1 if drop else 0, None)
    chain = _bvh_chain(bvh, offsets, frames, src_fps, scale)
    head_len = float(np.linalg.norm(offsets[ends[0]]))
    pos = _finish(chain, nodes, head_len, fps, path)
    return ConvertedClip(Path(path).stem, pos, fps, src_fps, int(chain.rot.shape[0]), str(path), "bvh", note)


def convert_clip(asf_or_bvh, amc=None, fps: float = TARGET_FPS, **kwargs) -> np.ndarray:
    """One recording → ``(F, 17, 3)`` float32 metres (CMU-17 conventions, module notes).

    ``convert_clip("02.asf", "02_01.amc")`` or ``convert_clip("08_01.bvh")``; keyword
    arguments go to :func:`convert_asf_amc` / :func:`convert_bvh`.
    """
    p = Path(asf_or_bvh)
    if amc is not None:
        return convert_asf_amc(p, amc, fps=fps, **kwargs).positions
    if p.suffix.lower() == ".asf":
        raise PoseliftError("an ASF skeleton needs its AMC motion file (amc=...)", p)
    return convert_bvh(p, fps=fps, **kwargs).positions


# --------------------------------------------------------------------------- folders


def _subject_of(stem: str) -> str:
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def find_mocap_files(source_dir) -> list[tuple[str, Path, Path | None]]:
    """``(clip name, motion file, ASF or None)`` for every ``*_*.amc`` and ``*.bvh`` in a folder
    (sorted). An AMC ``SS_CC.amc`` uses ``SS.asf`` (or the folder's only ASF); a BVH uses the
    ASF of its subject, when present, to restore the thorax."""
    folder = Path(source_dir)
    if not folder.exists():
        raise PoseliftError("folder not found", folder)
    if not folder.is_dir():
        raise PoseliftError("expected a folder", folder)
    files = sorted(p for p in folder.iterdir() if p.is_file())
    asfs = {p.stem: p for p in files if p.suffix.lower() == ".asf"}
    jobs: list[tuple[str, Path, Path | None]] = []
    seen: dict[str, Path] = {}
    for p in files:
        ext = p.suffix.lower()
        if ext not in (".amc", ".bvh"):
            continue
        if ext == ".amc" and "_" not in p.stem:
            continue
        asf = asfs.get(_subject_of(p.stem))
        if asf is None and ext == ".amc":
            if len(asfs) == 1:
                asf = next(iter(asfs.values()))
            else:
                raise PoseliftError(f"no skeleton {_subject_of(p.stem)}.asf for this motion"
                                    + (f" (the folder has {len(asfs)} ASF files)" if asfs else ""), p)
        if p.stem in seen:
            raise PoseliftError(f"clip {p.stem!r} found twice (also {seen[p.stem].name})", p)
        seen[p.stem] = p
        jobs.append((p.stem, p, asf))
    if not jobs:
        raise PoseliftError("no *_*.amc (with its .asf) or *.bvh motion files in this folder", folder)
    return jobs


def median_bone_lengths(positions: np.ndarray) -> np.ndarray:
    """Median length of each of the 16 bones (child joints 1…16) over all frames, metres."""
    pos = np.asarray(positions, dtype=np.float64)
    return np.median(np.linalg.norm(pos[:, 1:] - pos[:, PARENTS[1:]], axis=-1), axis=0)


def standing_height(bone_lengths: np.ndarray) -> float:
    """Height estimate from the 16 bone lengths: mean leg (hip–knee–ankle) + pelvis–spine–
    thorax–neck/nose–head (ankle to the top of the head, no foot)."""
    b = np.asarray(bone_lengths, dtype=np.float64)
    return float((b[1] + b[2] + b[4] + b[5]) / 2 + b[6] + b[7] + b[8] + b[9])


def prepare_mocap(source_dir, out_path, subject: str | None = None, overwrite: bool = False,
                  progress: bool = True, fps: float = TARGET_FPS) -> Path:
    """Convert every clip of a folder into one training file in the CMU-17 layout
    (readable by :func:`poselift.data.cmu.load_train_file`).

    The file holds ``positions`` (F, 17, 3) float32, ``offsets``, ``clip_names``,
    ``descriptions`` (empty), ``fps``, ``subject``, ``joint_names``, ``parents``,
    ``bone_lengths_m`` (median per bone over all frames), ``height_m`` (see below),
    per clip ``source_path``, ``source_format``, ``src_fps``, ``src_frames``,
    ``skeleton_note``, and ``units``, ``license``. ``height_m`` is an estimate of standing
    height: mean leg (hip–knee–ankle) + pelvis–spine–thorax–neck/nose–head from the median
    bone lengths (the shipped files' own ``height_m`` follows another, unpublished rule and
    comes out 0–3 cm lower). Returns the path written.
    """
    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", out_path)
    jobs = find_mocap_files(source_dir)
    skeletons: dict[Path, AsfSkeleton] = {}
    clips: list[ConvertedClip] = []
    for name, motion, asf in tqdm(jobs, desc="convert mocap", unit="clip", disable=not progress or len(jobs) < 2):
        if asf is not None and asf not in skeletons:
            skeletons[asf] = read_asf(asf)
        if motion.suffix.lower() == ".amc":
            clip = convert_asf_amc(asf, motion, fps=fps, skeleton=skeletons[asf])
        else:
            skel = skeletons.get(asf)
            has_thorax = skel is not None and "thorax" in skel.bones
            clip = convert_bvh(motion, fps=fps, thorax_asf=skel if has_thorax else None)
        clip.name = name
        clips.append(clip)
    if subject is None:
        subs = {_subject_of(c.name) for c in clips}
        subject = subs.pop() if len(subs) == 1 else Path(source_dir).resolve().name
    positions = np.concatenate([c.positions for c in clips]).astype(np.float32)
    offsets = np.cumsum([0] + [len(c.positions) for c in clips]).astype(np.int64)
    bl = median_bone_lengths(positions)
    height = standing_height(bl)
    arrays = {
        "positions": positions,
        "offsets": offsets,
        "clip_names": np.array([c.name for c in clips]),
        "descriptions": np.array([""] * len(clips)),
        "source_path": np.array([c.source_path for c in clips]),
        "source_format": np.array([c.source_format for c in clips]),
        "src_fps": np.array([c.src_fps for c in clips], dtype=np.float32),
        "src_frames": np.array([c.src_frames for c in clips], dtype=np.int32),
        "skeleton_note": np.array([c.skeleton_note for c in clips]),
        "joint_names": np.array(JOINT_NAMES),
        "parents": PARENTS.copy(),
        "fps": np.float32(fps),
        "subject": np.str_(subject),
        "units": np.str_(UNITS),
        "bone_lengths_m": bl.astype(np.float32),
        "height_m": np.float32(height),
        "license": np.str_(LICENSE),
    }
    save_npz(out_path, arrays, overwrite=overwrite)
    return out_path
