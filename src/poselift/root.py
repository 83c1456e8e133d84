"""Placing the lifted pose in the camera frame: the root joint's position.

Two ways: a learned trajectory model (a temporal model with one output joint, trained on
intrinsics-normalised 2D, see ``poselift train --target trajectory``), or
:func:`root_by_reprojection`, which solves for the translation that best reprojects the
lifted root-relative pose onto the 2D keypoints.
"""

from __future__ import annotations

import numpy as np

from .camera import solve_root_translation


def root_by_reprojection(pose_rel: np.ndarray, uv: np.ndarray, scores: np.ndarray, layout: str) -> np.ndarray:
    """Root positions (T, 1, 3) from a Human3.6M-17 pose (T, 17, 3) and 2D keypoints ``uv``
    in intrinsics-normalised coordinates ((px - c) / f) in ``layout``, weighted by confidence.

    With COCO-17 keypoints only the joints both layouts share are used.
    """
    from .skeleton import COCO_FROM_H36M

    uv = np.asarray(uv, dtype=np.float64)
    if layout == "coco17":
        coco_idx = list(COCO_FROM_H36M)
        h36m_idx = [COCO_FROM_H36M[k] for k in coco_idx]
        P, u, w = pose_rel[:, h36m_idx], uv[:, coco_idx], scores[:, coco_idx]
    else:
        P, u, w = pose_rel, uv, scores
    root = solve_root_translation(P, u, np.clip(w, 0.05, 1.0))
    return root[:, None, :].astype(np.float32)
