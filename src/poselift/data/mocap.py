"""Import raw motion capture (ASF/AMC, BVH) into the CMU-17 training layout.

The files are read by :mod:`poselift.data.asf` (ASF/AMC) and :mod:`poselift.data.bvh` (BVH),
walked by :mod:`poselift.data.kinematics`; this module holds the conversion, the repairs of
CMU's BVH files and the ``prepare mocap`` job, and re-exports the readers' public names.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tqdm.auto import tqdm

from ..errors import PoseliftError
from ..skeleton import H36M17
from .asf import AMC_FPS, INCH_M, AsfBone, AsfSkeleton, asf_amc_positions, asf_chain, read_amc, read_asf
from .bvh import BvhFile, BvhJoint, bvh_chain, bvh_positions, read_bvh, rest_points, round_fps
from .formats import save_npz
from .kinematics import Chain, forward, resample_chain, to_zup

__all__ = [  # the readers live in .asf and .bvh; re-exported here, where they have always been
    "AMC_FPS", "CMU_UNIT_M", "FLOOR_PERCENTILE", "INCH_M", "JOINT_NAMES", "LICENSE", "NOSE_FORWARD_M",
    "NOSE_UP_FRACTION", "PARENTS", "TARGET_FPS", "UNITS", "AsfBone", "AsfSkeleton", "BvhFile", "BvhJoint",
    "ConvertedClip", "asf_amc_positions", "asf_thorax_vector", "bvh_positions", "convert_asf_amc", "convert_bvh",
    "convert_clip", "find_mocap_files", "guess_bvh_scale", "median_bone_lengths", "prepare_mocap", "read_amc",
    "read_asf", "read_bvh", "standing_height",
]

CMU_UNIT_M = INCH_M / 0.45  # one CMU ASF/BVH length unit in metres
TARGET_FPS = 50.0
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


_round_fps = round_fps  # the old private name


# --------------------------------------------------------------------------- CMU-style BVH


def guess_bvh_scale(bvh: BvhFile) -> float:
    """Metres per BVH unit, from the rest-pose height (Y-up): CMU (1/0.45 in), inch, cm, mm, m
    — whichever makes the skeleton's rest height closest to 1.7 m."""
    pts = rest_points(bvh)
    h = float(pts[:, 1].max() - pts[:, 1].min())
    if not h > 0:
        raise PoseliftError("cannot tell the BVH's length unit: the rest pose has no height", bvh.path)
    cands = [CMU_UNIT_M, INCH_M, 0.01, 0.001, 1.0]
    return min(cands, key=lambda s: abs(math.log(h * s / 1.7)))




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


def _finish(chain: Chain, nodes: dict[str, str], head_len: float, fps: float, path, chunk: int = 4096) -> np.ndarray:
    chain = resample_chain(chain, fps)
    n = chain.rot.shape[0]
    J = np.zeros((n, 17, 3))
    lowest = np.zeros(n)
    for a in range(0, n, chunk):  # forward kinematics in chunks: (F, N, 3, 3) rotations get large
        part = Chain(chain.names, chain.parents, chain.offsets, chain.rot[a : a + chunk], chain.trans[a : a + chunk],
                      chain.fps, chain.scale_m)
        pos, glob = forward(part)
        J[a : a + chunk] = to_zup(_h36m17(pos, glob, chain.names, nodes, head_len, chain.scale_m), chain.scale_m)
        lowest[a : a + chunk] = to_zup(pos, chain.scale_m)[..., 2].min(axis=1)
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
    chain = asf_chain(skel, channels, unit, src_fps)
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
    src_fps = round_fps(bvh.frame_time)
    frames = slice(1 if drop else 0, None)
    chain = bvh_chain(bvh, offsets, frames, src_fps, scale)
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
