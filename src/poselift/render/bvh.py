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

from ..data.bvh import bvh_forward
from ..data.bvh import read_bvh as parse_bvh
from ..data.formats import atomic_path
from ..errors import PoseliftError
from ..rotations import kabsch, matrix_to_euler, smallest_rotation
from ..skeleton import H36M17, Skeleton

#: world (Z up) → BVH (Y up) as a matrix acting on column vectors: BVH = A @ world
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
CM_PER_M = 100.0
END_SITE_FRACTION = 0.3
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
# helpers


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12), n[..., 0] > 1e-9


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
            R = kabsch(rest[kids], dirs[ok][:, kids])
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
                local[j] = smallest_rotation(rest[kids[0]], obs[:, 0])
            else:
                local[j] = kabsch(rest[kids], obs)
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
        angles = np.unwrap(matrix_to_euler(local[j], rot_order), axis=0)
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


def read_bvh(path, scale: float = 1.0 / CM_PER_M):
    """Forward kinematics of a BVH file → ``(positions (T, J, 3), joint_names, parents, fps)``.

    Reads any ROOT/JOINT/End Site hierarchy (several roots too) with any order of position and
    rotation channels, through the package's one BVH parser (:func:`poselift.data.bvh.read_bvh`);
    rotation channels compose outermost first (``Zrotation Xrotation Yrotation`` =
    Rz @ Rx @ Ry). Position channels replace the matching component of the joint's OFFSET (as
    Blender reads them). Joints are in file order, End Sites are left out. Positions are turned
    from BVH's Y up into the Z-up world frame (the inverse of :func:`write_bvh`'s mapping) and
    multiplied by ``scale`` (default: centimetres → metres).
    """
    bvh = parse_bvh(path, several_roots=True)
    pos = bvh_forward(bvh, replace_positions=True)
    keep = [i for i, j in enumerate(bvh.joints) if not j.end_site]  # End Sites are leaves
    new_index = {old: new for new, old in enumerate(keep)}
    names = tuple(bvh.joints[i].name for i in keep)
    parents = tuple(new_index[bvh.joints[i].parent] if bvh.joints[i].parent >= 0 else -1 for i in keep)
    world = pos[:, keep] @ WORLD_TO_BVH * scale  # row vectors: world = A^T bvh
    return world, names, parents, 1.0 / bvh.frame_time
