"""Joint layouts: names, parent tree, left/right symmetry.

A :class:`Skeleton` is an immutable description of a joint layout. The standard ones
(``h36m17``, ``humaneva15``, ``coco17``) are registered; declare another with
:func:`register_skeleton` or by constructing :class:`Skeleton` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import PoseliftError


@dataclass(frozen=True)
class Skeleton:
    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]
    _flip: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        n = len(self.joint_names)
        if len(self.parents) != n:
            raise PoseliftError(f"skeleton {self.name!r}: {n} joint names but {len(self.parents)} parents")
        for j, p in enumerate(self.parents):
            if p != -1 and not (0 <= p < n) or p == j:
                raise PoseliftError(f"skeleton {self.name!r}: joint {j} has invalid parent {p}")
        if len(self.joints_left) != len(self.joints_right):
            raise PoseliftError(f"skeleton {self.name!r}: left and right joint lists differ in length")
        sided = list(self.joints_left) + list(self.joints_right)
        if any(not (0 <= j < n) for j in sided) or len(set(sided)) != len(sided):
            raise PoseliftError(f"skeleton {self.name!r}: left/right joints must be distinct indices in [0, {n})")
        for j in range(n):  # every joint must reach a root: no cycles in the parent tree
            seen, k = set(), j
            while k != -1:
                if k in seen:
                    raise PoseliftError(f"skeleton {self.name!r}: parents of joint {j} form a cycle")
                seen.add(k)
                k = self.parents[k]
        flip = list(range(n))
        for left, right in zip(self.joints_left, self.joints_right):
            flip[left], flip[right] = right, left
        object.__setattr__(self, "_flip", tuple(flip))

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def flip_permutation(self) -> tuple[int, ...]:
        """Index array that swaps every left joint with its right counterpart."""
        return self._flip

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(child, parent) pairs, one per non-root joint, in joint order."""
        return tuple((j, p) for j, p in enumerate(self.parents) if p >= 0)

    def children(self, joint: int) -> list[int]:
        return [j for j, p in enumerate(self.parents) if p == joint]

    def index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise PoseliftError(f"skeleton {self.name!r} has no joint {name!r}") from None

    def bone_lengths(self, positions):
        """Lengths of the bones of ``positions`` (..., J, D) → (..., J-1), numpy or torch."""
        from .metrics import bone_lengths

        return bone_lengths(positions, self.parents)


H36M17 = Skeleton(
    name="h36m17",
    joint_names=(
        "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine",
        "thorax", "neck_nose", "head", "l_shoulder", "l_elbow", "l_wrist",
        "r_shoulder", "r_elbow", "r_wrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    joints_left=(4, 5, 6, 11, 12, 13),
    joints_right=(1, 2, 3, 14, 15, 16),
)

HUMANEVA15 = Skeleton(
    name="humaneva15",
    joint_names=(
        "pelvis", "thorax", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow",
        "r_wrist", "l_hip", "l_knee", "l_ankle", "r_hip", "r_knee", "r_ankle", "head",
    ),
    parents=(-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
    joints_left=(2, 3, 4, 8, 9, 10),
    joints_right=(5, 6, 7, 11, 12, 13),
)

COCO17 = Skeleton(
    name="coco17",
    joint_names=(
        "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
        "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle",
        "r_ankle",
    ),
    # A drawing tree rooted at the nose; COCO itself defines only limb pairs.
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    joints_left=(1, 3, 5, 7, 9, 11, 13, 15),
    joints_right=(2, 4, 6, 8, 10, 12, 14, 16),
)

ROOT1 = Skeleton(name="root1", joint_names=("root",), parents=(-1,), joints_left=(), joints_right=())

# The 16 joints of the MPII dataset in its order, as Stacked-Hourglass detectors give them
# (the reference release's data_2d_h36m_sh_pt_mpii.npz / sh_ft_h36m.npz). Left/right pairs
# follow the joints (l_hip <-> r_hip, ...); the release's metadata lists the same joints
# as sets but pairs them in another order.
MPII16 = Skeleton(
    name="mpii16",
    joint_names=(
        "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
        "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow",
        "l_wrist",
    ),
    parents=(1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 7, 7, 13, 14),
    joints_left=(3, 4, 5, 13, 14, 15),
    joints_right=(2, 1, 0, 12, 11, 10),
)

# The same 16 slots read as Human3.6M joints (3d-pose-baseline's reading of its Stacked-
# Hourglass files, and what a detector fine-tuned on Human3.6M that way outputs): slots 7-9
# hold the spine, the thorax and the head; Human3.6M's neck/nose has no slot.
# poselift prepare h36m tells the two readings apart on the data (see poselift.data.h36m).
MPII16_H36M = Skeleton(
    name="mpii16_h36m",
    joint_names=(
        "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "spine",
        "thorax", "head", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
    ),
    parents=(1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 8, 8, 13, 14),
    joints_left=(3, 4, 5, 13, 14, 15),
    joints_right=(2, 1, 0, 12, 11, 10),
)

_REGISTRY: dict[str, Skeleton] = {}


def register_skeleton(skeleton: Skeleton) -> Skeleton:
    """Make ``skeleton`` available by name through :func:`get_skeleton`."""
    _REGISTRY[skeleton.name] = skeleton
    return skeleton


for _s in (H36M17, HUMANEVA15, COCO17, MPII16, MPII16_H36M, ROOT1):
    register_skeleton(_s)


def get_skeleton(name: str) -> Skeleton:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise PoseliftError(f"unknown skeleton {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def skeleton_for_joints(num_joints: int) -> Skeleton:
    """The registered skeleton with ``num_joints`` joints (Human3.6M-17 preferred for 17)."""
    if num_joints == 17:
        return H36M17
    for s in _REGISTRY.values():
        if s.num_joints == num_joints:
            return s
    raise PoseliftError(f"no registered skeleton has {num_joints} joints")


def flip_pose(positions, skeleton: Skeleton = H36M17):
    """Mirror poses horizontally: negate x and swap left/right joints.

    Works on numpy arrays and torch tensors of shape (..., J, D) with D >= 1 (x is
    coordinate 0). Applying it twice gives the input back. For 2D coordinates this is a
    mirror about x = 0, i.e. about the image centre once normalised to [-1, 1].
    """
    perm = list(skeleton.flip_permutation)
    out = positions[..., perm, :]
    if isinstance(out, np.ndarray):
        out = out.copy()
    else:
        out = out.clone()
    out[..., 0] = -out[..., 0]
    return out


# Human3.6M-17 index of each COCO-17 joint that exists in both layouts (face joints: -1)
COCO_FROM_H36M = {0: 9, 5: 11, 6: 14, 7: 12, 8: 15, 9: 13, 10: 16, 11: 4, 12: 1, 13: 5, 14: 2, 15: 6, 16: 3}


def coco17_from_h36m17(positions: np.ndarray, eye_offsets=(0.035, -0.02, 0.032), ear_offsets=(0.01, -0.09, 0.075)):
    """Synthesise COCO-17 3D joints from Human3.6M-17 poses (..., 17, 3), metres.

    Body joints are copied (COCO's hips are taken at the H36M hip joints, the nose at the
    neck/nose joint). Eyes and ears are placed in a head frame built from thorax → head
    (up), the nose's offset from that axis (forward) and their cross product (left):
    ``*_offsets`` = (up, forward, lateral) distances from the nose, approximate adult
    anthropometry. Used to make COCO-layout training inputs from motion capture.
    """
    p = np.asarray(positions, dtype=np.float64)
    out = np.zeros(p.shape[:-2] + (17, 3))
    for c, h in COCO_FROM_H36M.items():
        out[..., c, :] = p[..., h, :]
    nose, head, thorax = p[..., 9, :], p[..., 10, :], p[..., 8, :]
    up = head - thorax
    up /= np.linalg.norm(up, axis=-1, keepdims=True) + 1e-9
    v = nose - thorax
    fwd = v - (v * up).sum(-1, keepdims=True) * up
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True) + 1e-9
    left = np.cross(up, fwd)
    for (li, ri), (du, df, dl) in (((1, 2), eye_offsets), ((3, 4), ear_offsets)):
        centre = nose + du * up + df * fwd
        out[..., li, :] = centre + dl * left
        out[..., ri, :] = centre - dl * left
    return out.astype(np.asarray(positions).dtype)


def h36m17_from_coco17(keypoints: np.ndarray, scores: np.ndarray | None = None, spine_frac: float = 0.5,
                       head_ext: float = 0.35):
    """Approximate Human3.6M-17 keypoints from COCO-17 ones (..., 17, D), any D.

    Limb joints are copied; pelvis = mid-hips; thorax = mid-shoulders; spine = ``spine_frac``
    of the way from pelvis to thorax; neck/nose = nose; head = mid-ears extended away from
    the thorax by ``head_ext`` of the thorax → mid-ears distance (approximate). Returns
    (keypoints, scores): a converted joint scores the minimum of the joints it comes from.
    A stop-gap for lifting detector output with a Human3.6M-17-input model.
    """
    k = np.asarray(keypoints, dtype=np.float64)
    s = np.ones(k.shape[:-1]) if scores is None else np.asarray(scores, dtype=np.float64)
    out = np.zeros(k.shape[:-2] + (17, k.shape[-1]))
    sc = np.zeros(k.shape[:-1])
    for c, h in COCO_FROM_H36M.items():
        out[..., h, :] = k[..., c, :]
        sc[..., h] = s[..., c]
    pelvis = (k[..., 11, :] + k[..., 12, :]) / 2
    thorax = (k[..., 5, :] + k[..., 6, :]) / 2
    ears = (k[..., 3, :] + k[..., 4, :]) / 2
    out[..., 0, :] = pelvis
    out[..., 8, :] = thorax
    out[..., 7, :] = pelvis + spine_frac * (thorax - pelvis)
    out[..., 10, :] = ears + head_ext * (ears - thorax)
    s_p = np.minimum(s[..., 11], s[..., 12])
    s_t = np.minimum(s[..., 5], s[..., 6])
    sc[..., 0], sc[..., 8], sc[..., 7] = s_p, s_t, np.minimum(s_p, s_t)
    sc[..., 10] = np.minimum(np.minimum(s[..., 3], s[..., 4]), s_t)
    return out, sc


# ----------------------------------------------------------------- between joint layouts
#
# For a figure across datasets (poselift evaluate --map-joints): 2D keypoints of one layout
# made into a model's input layout, and the 3D joints two layouts share. Each mapping is
# a table below; a joint without a counterpart is synthesised from its neighbours as said.

# slots of the 16-joint MPII order that are the same joints in every reading
_MPII16_LIMBS = {"pelvis": 6, "r_hip": 2, "r_knee": 1, "r_ankle": 0, "l_hip": 3, "l_knee": 4, "l_ankle": 5,
                 "l_shoulder": 13, "l_elbow": 14, "l_wrist": 15, "r_shoulder": 12, "r_elbow": 11, "r_wrist": 10}


def _mid(a, b):
    return (a + b) / 2


def _h36m17_from_named(k, index: dict[str, int], synthesised: dict[str, tuple[str, str]]):
    """Human3.6M-17 keypoints from ``k`` (..., J, D): joint name → its index in ``k``, and
    the joints made as the midpoint of two Human3.6M-17 joints (filled first)."""
    out = np.zeros(k.shape[:-2] + (17, k.shape[-1]), dtype=np.float64)
    for name, j in index.items():
        out[..., H36M17.index(name), :] = k[..., j, :]
    for name, (a, b) in synthesised.items():
        out[..., H36M17.index(name), :] = _mid(out[..., H36M17.index(a), :], out[..., H36M17.index(b), :])
    return out


def h36m17_from_mpii16(keypoints: np.ndarray) -> np.ndarray:
    """Human3.6M-17 keypoints from MPII-16 ones (..., 16, D) read with MPII's definitions:
    thorax = MPII thorax (slot 7), neck/nose = upper neck (8), head = head top (9), the
    limbs and pelvis as they are; the spine, which MPII lacks, is the pelvis-thorax midpoint."""
    k = np.asarray(keypoints, dtype=np.float64)
    return _h36m17_from_named(k, {**_MPII16_LIMBS, "thorax": 7, "neck_nose": 8, "head": 9},
                              {"spine": ("pelvis", "thorax")})


def h36m17_from_mpii16_h36m(keypoints: np.ndarray) -> np.ndarray:
    """Human3.6M-17 keypoints from the 16 MPII slots read as Human3.6M joints (spine, thorax,
    head in slots 7-9); the neck/nose, which has no slot, is the thorax-head midpoint."""
    k = np.asarray(keypoints, dtype=np.float64)
    return _h36m17_from_named(k, {**_MPII16_LIMBS, "spine": 7, "thorax": 8, "head": 9},
                              {"neck_nose": ("thorax", "head")})


def h36m17_from_humaneva15(keypoints: np.ndarray) -> np.ndarray:
    """Human3.6M-17 keypoints from HumanEva-15 ones: the 15 joints of the same names copied;
    spine = pelvis-thorax midpoint, neck/nose = thorax-head midpoint (HumanEva has neither)."""
    k = np.asarray(keypoints, dtype=np.float64)
    return _h36m17_from_named(k, {n: HUMANEVA15.index(n) for n in HUMANEVA15.joint_names},
                              {"spine": ("pelvis", "thorax"), "neck_nose": ("thorax", "head")})


def humaneva15_from_h36m17(keypoints: np.ndarray) -> np.ndarray:
    """HumanEva-15 keypoints from Human3.6M-17 ones: the 15 joints of the same names."""
    return np.asarray(keypoints, dtype=np.float64)[..., list(shared_joints("h36m17", "humaneva15")[0]), :]


def _coco_to_h36m(k):
    return h36m17_from_coco17(k)[0]


# (from layout, to layout) → function of keypoints (..., J_from, D) → (..., J_to, D)
CONVERSIONS_2D = {
    ("mpii16", "h36m17"): h36m17_from_mpii16,
    ("mpii16_h36m", "h36m17"): h36m17_from_mpii16_h36m,
    ("humaneva15", "h36m17"): h36m17_from_humaneva15,
    ("h36m17", "humaneva15"): humaneva15_from_h36m17,
    ("coco17", "h36m17"): _coco_to_h36m,
}

# layouts whose keypoints are the same slots in the same order (only what they are called differs)
SAME_SLOTS = (frozenset({"mpii16", "mpii16_h36m"}),)


def same_slots(a: str, b: str) -> bool:
    """Whether 2D of layout ``a`` can go as it is into a model that takes layout ``b``."""
    return a == b or any(a in group and b in group for group in SAME_SLOTS)


def convert_2d(keypoints: np.ndarray, source: str, target: str) -> np.ndarray:
    """Keypoints (..., J, D) of layout ``source`` in layout ``target`` (see
    :data:`CONVERSIONS_2D`); the same array when the layouts have the same slots."""
    if same_slots(source, target):
        return np.asarray(keypoints)
    try:
        fn = CONVERSIONS_2D[source, target]
    except KeyError:
        have = ", ".join(f"{a}→{b}" for a, b in CONVERSIONS_2D)
        raise PoseliftError(f"no mapping of {source} keypoints to {target} (have {have})") from None
    return fn(keypoints)


def shared_joints(a: str, b: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Indices of the 3D joints layouts ``a`` and ``b`` share, in ``a`` and in ``b``
    (joints of the same name, in ``b``'s order), for scoring a model of one layout on data
    of the other. The root (index 0) must be shared, so that root-relative poses compare."""
    sa, sb = get_skeleton(a), get_skeleton(b)
    pairs = [(sa.joint_names.index(n), j) for j, n in enumerate(sb.joint_names) if n in sa.joint_names]
    if not pairs or pairs[0] != (0, 0):
        raise PoseliftError(f"{a} and {b} do not share their root joint: their 3D cannot be compared")
    return tuple(p for p, _ in pairs), tuple(q for _, q in pairs)
