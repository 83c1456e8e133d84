"""Acclaim motion capture: ASF skeletons and AMC motions, read and turned into a joint tree.

:func:`read_asf` parses a skeleton (units, root, bone data, hierarchy), :func:`read_amc` a
motion (per bone an (F, n_dof) array of its dof values). :func:`asf_chain` turns both into a
:class:`~poselift.data.kinematics.Chain` in BVH semantics: for every bone, ``C`` = rotation of
its ``axis`` angles, ``L`` = rotation of the frame's dof angles (both Euler angles about fixed
axes in the bone's axis order: ``XYZ`` = about x first, then y, then z = ``Rz·Ry·Rx``, the
extrinsic ``"xyz"`` of :mod:`poselift.rotations`); the node at the bone's start rotates by
``C·L·C⁻¹`` and a node ``<bone>:end`` (offset ``direction·length``) marks its end. The root
rotates by ``C_root·L_root·C_root⁻¹`` (``orientation``/``axis``); its ``TX TY TZ`` are absolute
positions (``position`` is used only when the root has no translation dofs). Lengths are in
``1/length`` inches (CMU: ``length 0.45``).

Every bad file is a one-line :class:`~poselift.errors.PoseliftError` naming it (and the line).
The conversion into the CMU-17 layout is :mod:`poselift.data.mocap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PoseliftError
from ..rotations import euler_to_quaternion, quaternion_conjugate, quaternion_multiply
from .kinematics import Chain, forward
from .textfile import read_text

INCH_M = 0.0254
AMC_FPS = 120.0


def _euler_quat(angles: dict[str, np.ndarray], order: str, shape=()) -> np.ndarray:
    """Quaternions of the rotation about the fixed axes of ``order`` (e.g. "XYZ": x first, then
    y, then z, ``Rz·Ry·Rx``); ``angles`` maps "x"/"y"/"z" to radians (missing = 0), broadcast
    to ``shape``."""
    order = "".join(a for a in order.lower() if a in "xyz")  # other letters are ignored
    if not order:
        q = np.zeros(tuple(shape) + (4,))
        q[..., 0] = 1.0
        return q
    parts = np.broadcast_arrays(*(np.asarray(angles.get(a, 0.0), dtype=np.float64) for a in order),
                                np.zeros(shape))[:-1]
    return euler_to_quaternion(np.stack(parts, axis=-1), order)


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




def read_asf(path) -> AsfSkeleton:
    """Parse an Acclaim skeleton file (``.asf``)."""
    text = read_text(path)
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
    text = read_text(path)
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


def asf_chain(skel: AsfSkeleton, channels: dict[str, np.ndarray], angle_unit: str, fps: float) -> Chain:
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
    rots.append(quaternion_multiply(quaternion_multiply(qc, ql), quaternion_conjugate(qc)))
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
            q = quaternion_multiply(quaternion_multiply(qc, ql), quaternion_conjugate(qc))
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
    return Chain(names, parents, np.array(offsets), np.stack(rots, 1), np.stack(trans, 1), fps, skel.scale_m)




def asf_amc_positions(asf, amc) -> tuple[list[str], np.ndarray]:
    """Raw forward kinematics: ``("root", bone, ...)`` and their end points ``(F, 1+B, 3)`` in
    file units and the file's own (Y-up) frame, at the source rate."""
    skel = asf if isinstance(asf, AsfSkeleton) else read_asf(asf)
    channels, unit = read_amc(amc, skel)
    chain = asf_chain(skel, channels, unit, AMC_FPS)
    pos, _ = forward(chain)
    names = ["root"] + list(skel.order)
    return names, pos[:, [0] + [chain.index(b + ":end") for b in skel.order]]

