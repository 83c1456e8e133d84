"""Readers for the dataset files of the VideoPose3D release (pickled dicts inside ``.npz``).

* ``data_3d_<dataset>.npz``: key ``positions_3d`` = ``{subject: {sequence: (F, J, 3)}}``,
  metres, world frame;
* ``data_2d_<dataset>_<source>.npz``: key ``positions_2d`` = ``{subject: {sequence:
  [camera 0 (F, J2, 2), camera 1, ...]}}`` pixels (an entry may be None where a video is
  missing), and ``metadata`` = ``{'layout_name', 'num_joints', 'keypoints_symmetry'}``.

Both hold pickled objects: they are read only with ``allow_pickle=True`` (``--allow-pickle``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PoseliftError
from ..skeleton import get_skeleton, skeleton_for_joints
from .formats import load_pickled_npz

# VideoPose3D layout names → registered skeletons
LAYOUTS = {"h36m": "h36m17", "coco": "coco17", "humaneva15": "humaneva15", "mpii": "mpii16"}

# 16-joint files (Stacked-Hourglass detections, no layout name) come in two orders, told
# apart by their metadata's left/right joints: the reference release keeps the detector's
# MPII order; SemGCN's conversion of the same detections (same file names) reorders them
# into the Human3.6M-17 order without the neck/nose. The latter is put back in MPII order.
_MPII_SIDES = (frozenset({3, 4, 5, 13, 14, 15}), frozenset({0, 1, 2, 10, 11, 12}))
_H36M16_SIDES = (frozenset({4, 5, 6, 10, 11, 12}), frozenset({1, 2, 3, 13, 14, 15}))
MPII_FROM_H36M16 = (3, 2, 1, 4, 5, 6, 0, 7, 8, 9, 15, 14, 13, 10, 11, 12)  # slot k of MPII ← H36M-16 joint


def _sides(meta: dict):
    """The metadata's (left, right) keypoint sets, or None when it has none."""
    try:
        left, right = meta["keypoints_symmetry"]
        return frozenset(int(j) for j in left), frozenset(int(j) for j in right)
    except (KeyError, TypeError, ValueError):
        return None


def _order_16(out: dict, meta: dict, path) -> dict:
    """16-joint keypoints in the MPII order (see :data:`MPII_FROM_H36M16`)."""
    sides = _sides(meta)
    if sides is None or sides == _MPII_SIDES:
        return out
    if sides == _H36M16_SIDES:
        perm = list(MPII_FROM_H36M16)
        return {s: {a: [None if c is None else c[:, perm] for c in cams] for a, cams in seqs.items()}
                for s, seqs in out.items()}
    raise PoseliftError(f"16 keypoints whose left/right joints ({sorted(sides[0])} / {sorted(sides[1])}) fit "
                        "neither the MPII order of Stacked-Hourglass detections nor the Human3.6M order without "
                        "the neck/nose", path)


def source_name(path, dataset: str) -> str:
    """The 2D source named by a file: ``data_2d_h36m_cpn_ft_h36m_dbb.npz`` → ``cpn_ft_h36m_dbb``."""
    stem = Path(path).name.removesuffix(".npz")
    head = f"data_2d_{dataset}_"
    if not stem.startswith(head) or len(stem) == len(head):
        raise PoseliftError(f"cannot tell the 2D source from the file name (expected {head}<source>.npz)", path)
    return stem[len(head):]


def _table(obj, path, key: str) -> dict:
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise PoseliftError(f"{key} is not a dictionary of subjects → sequences", path)
    return obj


def _array(a, shape_tail: tuple[int, ...], what: str, path) -> np.ndarray:
    try:
        a = np.asarray(a, dtype=np.float32)
    except (TypeError, ValueError):
        raise PoseliftError(f"{what} is not a numeric array", path) from None
    if a.ndim != 1 + len(shape_tail) or any(t is not None and s != t for s, t in zip(a.shape[1:], shape_tail)):
        want = ", ".join("J" if t is None else str(t) for t in shape_tail)
        raise PoseliftError(f"{what} has shape {a.shape}, expected (frames, {want})", path)
    return a


def read_positions_3d(path, allow_pickle: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """``{subject: {sequence: (F, J, 3) float32 metres}}`` from a ``data_3d_*.npz``."""
    table = _table(load_pickled_npz(path, ("positions_3d",), allow_pickle)["positions_3d"], path, "positions_3d")
    return {str(s): {str(a): _array(v, (None, 3), f"positions_3d[{s!r}][{a!r}]", path) for a, v in seqs.items()}
            for s, seqs in table.items()}


def read_positions_2d(path, allow_pickle: bool = False) -> tuple[dict[str, dict[str, list]], str]:
    """(``{subject: {sequence: [per-camera (F, J2, 2) float32 or None]}}``, skeleton name)
    from a ``data_2d_*.npz``. The skeleton comes from ``metadata['layout_name']``
    (``h36m`` → ``h36m17``, ``coco`` → ``coco17``, ``mpii`` → ``mpii16``), else from the joint
    count; 16-joint keypoints come back in the MPII order whichever of the two published orders
    the file has (:func:`_order_16`)."""
    d = load_pickled_npz(path, ("positions_2d", "metadata"), allow_pickle)
    table = _table(d["positions_2d"], path, "positions_2d")
    meta = d["metadata"] if isinstance(d["metadata"], dict) else {}
    out: dict[str, dict[str, list]] = {}
    n_joints = None
    for s, seqs in table.items():
        out[str(s)] = {}
        for a, cams in seqs.items():
            if not isinstance(cams, (list, tuple)):
                raise PoseliftError(f"positions_2d[{s!r}][{a!r}] is not a list of cameras", path)
            arrays = [None if c is None else _array(c, (None, 2), f"positions_2d[{s!r}][{a!r}][{i}]", path)
                      for i, c in enumerate(cams)]
            for c in arrays:
                if c is not None:
                    if n_joints is not None and c.shape[1] != n_joints:
                        raise PoseliftError(f"positions_2d[{s!r}][{a!r}] has {c.shape[1]} joints, other "
                                            f"sequences {n_joints}", path)
                    n_joints = c.shape[1]
            out[str(s)][str(a)] = arrays
    if n_joints is None:
        raise PoseliftError("holds no 2D keypoints", path)
    layout = meta.get("layout_name")
    try:
        try:
            skeleton = get_skeleton(LAYOUTS.get(layout, layout)) if isinstance(layout, str) else None
        except PoseliftError:
            skeleton = None
        skeleton = skeleton or skeleton_for_joints(n_joints)
    except PoseliftError as e:
        raise PoseliftError(f"unknown keypoint layout {layout!r}: {e.message}", path) from None
    if skeleton.num_joints != n_joints:
        raise PoseliftError(f"metadata says layout {layout!r} ({skeleton.num_joints} joints) but the keypoints have "
                            f"{n_joints}", path)
    if skeleton.name == "mpii16":
        out = _order_16(out, meta, path)
    return out, skeleton.name
