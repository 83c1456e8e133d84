"""BVH motion files: write 3D joint positions as a rotation animation, read any BVH back.

Conventions of :func:`write_bvh` (undone by :func:`read_bvh`):

* Input positions are metres in a Z-up world frame, e.g. the floor-aligned frame of
  :func:`poselift.render.export.camera_to_floor` (X right as seen from the camera, Y away from
  it, Z up). BVH is Y-up: a world point (X, Y, Z) is written as BVH (X, Z, -Y), a proper
  rotation (-90 degrees about X), in **centimetres**. Blender's BVH importer with its default
  axes (forward -Z, up Y) maps this back onto the world frame; set its Scale to 0.01 for metres.
* HIERARCHY is the skeleton tree. The ROOT (e.g. pelvis) has 6 channels, ``Xposition Yposition
  Zposition`` then 3 rotations; every other joint, leaves included (so that every joint keeps its
  name), is a JOINT with 3 rotation channels. Leaves never rotate and end in an End Site that
  continues their bone by 30 % of its length, a stub for the last bone.
* The rest pose (OFFSETs) is T-pose-like and faces -Y: legs straight down, spine and head up,
  arms out sideways, left side at +X. Bone lengths are the medians over the sequence. The
  children of a branching joint (pelvis: hips + spine; thorax: neck + shoulders) keep their mean
  observed arrangement, turned to best match the T-pose, so rigid motions are reproduced exactly.
* Rotations: a joint with one child turns by the smallest rotation that points the child's rest
  direction along the observed bone; a branching joint takes the least-squares (Kabsch) rotation
  of its children's directions. Each is written relative to its parent as Euler angles in
  degrees. The order is chosen per joint so that the middle (gimbal-locking) axis is the one
  least likely to reach 90 degrees: the rest direction of the bone for a one-child joint (a
  smallest rotation never turns about it), the front-back axis (Z) for the root and branching
  joints. Channels list the outermost rotation first: ``Zrotation Yrotation Xrotation`` means
  R = Rz @ Ry @ Rx, the usual BVH reading. Angles are unwrapped over time (no 360-degree jumps).

Forward kinematics of the result reproduces the input positions up to bone-length variation
(bones are fixed to their medians), the arrangement of branching joints' children, and the
twist of a one-child bone about itself (which positions cannot tell).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.formats import atomic_path
from ..errors import PoseliftError
from ..rotations import kabsch as _kabsch
from ..skeleton import H36M17, Skeleton

#: world (Z up) → BVH (Y up) as a matrix acting on column vectors: BVH = A @ world
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
CM_PER_M = 100.0
END_SITE_FRACTION = 0.3
_AXIS = {"X": 0, "Y": 1, "Z": 2}
_ORDER_FOR_MIDDLE = {0: "ZXY", 1: "ZYX", 2: "YZX"}  # middle axis → rotation order (outermost first)
_DOWN_WORDS = ("knee", "ankle", "foot", "toe", "heel")


def rest_directions(skeleton: Skeleton = H36M17) -> np.ndarray:
    """Unit T-pose direction (J, 3) of each joint's bone from its parent, world frame (Z up).

    Chosen from joint names: knees, ankles and feet point down (-Z); other left joints (hips,
    shoulders, elbows, wrists, ...) point to +X, right ones to -X; the rest (spine, neck, head)
    up (+Z). The root's entry is zero.
    """
    dirs = np.zeros((skeleton.num_joints, 3))
    for j, name in enumerate(skeleton.joint_names):
        if skeleton.parents[j] < 0:
            continue
        side = 1.0 if j in skeleton.joints_left else -1.0 if j in skeleton.joints_right else 0.0
        if side and any(w in name.lower() for w in _DOWN_WORDS):
            dirs[j] = (0, 0, -1)
        elif side:
            dirs[j] = (side, 0, 0)
        else:
            dirs[j] = (0, 0, 1)
    return dirs


# ---------------------------------------------------------------------------------------------
# rotation helpers (batched over a leading axis)


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12), n[..., 0] > 1e-9


def _smallest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) turning unit vector ``a`` (3,) onto unit vectors ``b`` (N, 3)."""
    a = np.broadcast_to(a, b.shape)
    v = np.cross(a, b)
    c = np.einsum("nd,nd->n", a, b)
    K = np.zeros(b.shape[:1] + (3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    K -= K.transpose(0, 2, 1)
    opposite = c < -1 + 1e-9
    R = np.eye(3) + K + K @ K / np.where(opposite, 1.0, 1.0 + c)[:, None, None]
    if opposite.any():  # half turn about any axis perpendicular to a
        n = np.cross(a[opposite], (1.0, 0.0, 0.0))
        n = np.where(np.linalg.norm(n, axis=-1, keepdims=True) < 1e-6, np.cross(a[opposite], (0.0, 1.0, 0.0)), n)
        n = _unit(n)[0]
        R[opposite] = 2 * n[:, :, None] * n[:, None, :] - np.eye(3)
    return R


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros(angle.shape + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    R[..., axis, axis] = 1.0
    R[..., i, i], R[..., j, j] = c, c
    R[..., i, j], R[..., j, i] = -s, s
    return R


def _to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Angles (N, 3) radians, in ``order``'s order, with R = R_order[0] @ R_order[1] @ R_order[2]."""
    i, j, k = (_AXIS[a] for a in order)
    s = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders (XYZ, YZX, ZXY)
    sb = np.clip(s * R[:, i, k], -1.0, 1.0)
    b = np.arcsin(sb)
    a = np.arctan2(-s * R[:, j, k], R[:, k, k])
    c = np.arctan2(-s * R[:, i, j], R[:, i, i])
    lock = np.abs(sb) > 1 - 1e-12  # gimbal lock: only the first + last angle is defined; put it in a
    a = np.where(lock, np.arctan2(s * R[:, k, j], R[:, j, j]), a)
    c = np.where(lock, 0.0, c)
    return np.stack([a, b, c], axis=-1)


# ---------------------------------------------------------------------------------------------
# writing


def _check_positions(positions, skeleton: Skeleton) -> np.ndarray:
    P = np.asarray(positions, dtype=np.float64)
    if P.ndim != 3 or P.shape[1:] != (skeleton.num_joints, 3) or len(P) == 0:
        raise PoseliftError(
            f"expected positions of shape (frames, {skeleton.num_joints}, 3) for skeleton {skeleton.name!r}, "
            f"got {P.shape}"
        )
    if not np.isfinite(P).all():
        raise PoseliftError("positions contain NaN or infinite values")
    return P


def _solve(P: np.ndarray, skeleton: Skeleton):
    """Joints parents-first, rest offsets (J, 3), End Site offsets of leaves {j: (3,)} and local
    rotations (J, T, 3, 3) for positions ``P`` (T, J, 3) in BVH axes and units.
    """
    T, J = P.shape[:2]
    parents = skeleton.parents
    children = [skeleton.children(j) for j in range(J)]
    roots = [j for j in range(J) if parents[j] < 0]
    if len(roots) != 1:
        raise PoseliftError(f"skeleton {skeleton.name!r} must be a single tree for BVH, it has {len(roots)} roots")
    order = roots[:]
    for j in order:  # breadth first: parents before children
        order.extend(children[j])

    rest = rest_directions(skeleton) @ WORLD_TO_BVH.T
    bone = P - P[:, [max(p, 0) for p in parents]]
    lengths = np.median(np.linalg.norm(bone, axis=-1), axis=0)
    dirs, valid = _unit(bone)
    for j in range(J):  # branching joints: the children's mean observed arrangement, T-pose aligned
        kids = children[j]
        ok = valid[:, kids].all(1)
        if len(kids) > 1 and ok.any():
            R = _kabsch(rest[kids], dirs[ok][:, kids])
            canonical = np.einsum("tdk,tcd->tck", R, dirs[ok][:, kids])  # R^T u for each child
            rest[kids] = _unit(canonical.mean(0))[0]
    offsets = rest * lengths[:, None]
    offsets[roots[0]] = 0.0
    end_sites = {j: rest[j] * lengths[j] * END_SITE_FRACTION for j in range(J) if not children[j]}

    local = np.tile(np.eye(3), (J, T, 1, 1))
    glob = np.empty_like(local)
    for j in order:
        parent_rot = glob[parents[j]] if parents[j] >= 0 else np.broadcast_to(np.eye(3), (T, 3, 3))
        kids = children[j]
        if kids:
            # observed child directions in the parent's frame; a zero-length bone keeps its rest direction
            obs = np.einsum("tdk,tcd->tck", parent_rot, dirs[:, kids])
            obs = np.where(valid[:, kids, None], obs, rest[kids][None])
            if len(kids) == 1:
                local[j] = _smallest_rotation(rest[kids[0]], obs[:, 0])
            else:
                local[j] = _kabsch(rest[kids], obs)
        glob[j] = parent_rot @ local[j]
    return order, offsets, end_sites, local


def _rotation_order(j: int, skeleton: Skeleton, offsets: np.ndarray) -> str:
    kids = skeleton.children(j)
    if len(kids) == 1 and skeleton.parents[j] >= 0:
        return _ORDER_FOR_MIDDLE[int(np.argmax(np.abs(offsets[kids[0]])))]
    return _ORDER_FOR_MIDDLE[2]


def write_bvh(path, positions, skeleton: Skeleton = H36M17, fps: float = 50.0, overwrite: bool = False) -> Path:
    """Write ``positions`` (T, J, 3), metres in a Z-up world frame, as a BVH animation.

    See the module docstring for axes, units (centimetres), rest pose and rotation orders.
    Returns the path written.
    """
    P = _check_positions(positions, skeleton) @ WORLD_TO_BVH.T * CM_PER_M
    from ..checks import frame_rate

    fps = frame_rate("fps", fps)  # finite and positive: the frame time is 1 / fps
    order, offsets, end_sites, local = _solve(P, skeleton)
    root = order[0]
    lines = ["HIERARCHY"]
    columns = [P[:, root]]  # MOTION values: root position, then each joint's angles in file order

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        rot_order = _rotation_order(j, skeleton, offsets)
        channels = " ".join(f"{a}rotation" for a in rot_order)
        head = f"ROOT {skeleton.joint_names[j]}" if j == root else f"JOINT {skeleton.joint_names[j]}"
        lines.extend([pad + head, pad + "{", pad + "\t" + "OFFSET " + " ".join(f"{v:.6f}" for v in offsets[j])])
        if j == root:
            lines.append(pad + f"\tCHANNELS 6 Xposition Yposition Zposition {channels}")
        else:
            lines.append(pad + f"\tCHANNELS 3 {channels}")
        angles = np.unwrap(_to_euler(local[j], rot_order), axis=0)
        columns.append(np.degrees(angles))
        kids = skeleton.children(j)
        for c in kids:
            emit(c, depth + 1)
        if not kids:
            lines.extend([pad + "\tEnd Site", pad + "\t{",
                          pad + "\t\tOFFSET " + " ".join(f"{v:.6f}" for v in end_sites[j]), pad + "\t}"])
        lines.append(pad + "}")

    emit(root, 0)
    values = np.concatenate(columns, axis=1)
    lines += ["MOTION", f"Frames: {len(P)}", f"Frame Time: {1.0 / fps:.8f}"]
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write("\n".join(lines) + "\n")
            np.savetxt(fh, values, fmt="%.6f")
    return Path(path)


# ---------------------------------------------------------------------------------------------
# reading

_CHANNELS = {f"{a}{kind}": (kind, _AXIS[a]) for a in "XYZ" for kind in ("position", "rotation")}


class _Tokens:
    def __init__(self, text: str, path: Path):
        self.words, self.pos, self.path = text.split(), 0, path

    def next(self, what: str) -> str:
        if self.pos >= len(self.words):
            raise PoseliftError(f"not a valid BVH file: ends early, expected {what}", self.path)
        self.pos += 1
        return self.words[self.pos - 1]

    def expect(self, word: str) -> None:
        got = self.next(repr(word))
        if got != word:
            raise PoseliftError(f"not a valid BVH file: expected {word!r}, found {got[:40]!r}", self.path)

    def number(self, what: str, kind=float):
        word = self.next(what)
        try:
            return kind(word)
        except ValueError:
            raise PoseliftError(f"not a valid BVH file: expected {what}, found {word[:40]!r}", self.path) from None


def read_bvh(path, scale: float = 1.0 / CM_PER_M):
    """Forward kinematics of a BVH file → ``(positions (T, J, 3), joint_names, parents, fps)``.

    Reads any ROOT/JOINT/End Site hierarchy (several roots too) with any order of position and
    rotation channels; rotation channels compose outermost first (``Zrotation Xrotation
    Yrotation`` = Rz @ Rx @ Ry). Position channels replace the matching component of the
    joint's OFFSET (as Blender reads them). Joints are in file order, End Sites are left out.
    Positions are turned from BVH's Y up into the Z-up world frame (the inverse of
    :func:`write_bvh`'s mapping) and multiplied by ``scale`` (default: centimetres → metres).
    """
    from ..data.filetype import check_input_file

    path = Path(path)
    check_input_file(path, "a BVH file", max_bytes=1 << 30)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise PoseliftError("file not found", path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PoseliftError(f"cannot read as a BVH text file ({e})", path) from None
    tok = _Tokens(text, path)
    tok.expect("HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    channels: list[list[tuple[str, int]]] = []
    stack: list[int] = []
    while True:
        word = tok.next("ROOT, JOINT, End Site, '}' or MOTION")
        if word in ("ROOT", "JOINT"):
            if (word == "ROOT") != (not stack):
                raise PoseliftError(f"not a valid BVH file: unexpected {word} (joint {len(names)})", path)
            names.append(tok.next("a joint name"))
            parents.append(stack[-1] if stack else -1)
            tok.expect("{")
            tok.expect("OFFSET")
            offsets.append(tuple(tok.number("an OFFSET number") for _ in range(3)))
            chans = []
            if tok.pos < len(tok.words) and tok.words[tok.pos] == "CHANNELS":
                tok.pos += 1
                for _ in range(tok.number("a channel count", int)):
                    name = tok.next("a channel name")
                    if name not in _CHANNELS:
                        raise PoseliftError(f"not a valid BVH file: unknown channel {name[:40]!r}", path)
                    chans.append(_CHANNELS[name])
            channels.append(chans)
            stack.append(len(names) - 1)
        elif word == "End" and stack:
            tok.expect("Site")
            tok.expect("{")
            tok.expect("OFFSET")
            for _ in range(3):
                tok.number("an OFFSET number")
            tok.expect("}")
        elif word == "}" and stack:
            stack.pop()
        elif word == "MOTION" and not stack and names:
            break
        else:
            raise PoseliftError(f"not a valid BVH file: unexpected {word[:40]!r} in HIERARCHY", path)
    tok.expect("Frames:")
    frames = tok.number("the frame count", int)
    tok.expect("Frame")
    tok.expect("Time:")
    frame_time = tok.number("the frame time")
    if frames < 0 or not frame_time > 0:
        raise PoseliftError(f"not a valid BVH file: {frames} frames of {frame_time} s", path)
    widths = [len(c) for c in channels]
    rest = tok.words[tok.pos:]
    if len(rest) != frames * sum(widths):
        raise PoseliftError(
            f"not a valid BVH file: MOTION should hold {frames} frames x {sum(widths)} channels = "
            f"{frames * sum(widths)} numbers, found {len(rest)} (truncated?)", path)
    try:
        values = np.array(rest, dtype=np.float64).reshape(frames, sum(widths))
    except ValueError as e:
        raise PoseliftError(f"not a valid BVH file: non-numeric MOTION data ({e})", path) from None

    J = len(names)
    pos = np.zeros((frames, J, 3))
    glob = np.zeros((frames, J, 3, 3))
    col = 0
    for j in range(J):
        t = np.tile(np.asarray(offsets[j], dtype=np.float64), (frames, 1))
        R = np.tile(np.eye(3), (frames, 1, 1))
        for kind, axis in channels[j]:
            if kind == "position":
                t[:, axis] = values[:, col]
            else:
                R = R @ _axis_rotation(axis, np.radians(values[:, col]))
            col += 1
        p = parents[j]
        if p < 0:
            pos[:, j], glob[:, j] = t, R
        else:
            pos[:, j] = pos[:, p] + np.einsum("tij,tj->ti", glob[:, p], t)
            glob[:, j] = glob[:, p] @ R
    world = pos @ WORLD_TO_BVH * scale  # row vectors: world = A^T bvh
    return world, tuple(names), tuple(parents), 1.0 / frame_time
