"""Static matplotlib figures of 2D inputs and 3D poses."""

from __future__ import annotations

import numpy as np

from ..skeleton import H36M17, Skeleton


def _limb_colour(skeleton: Skeleton, j: int) -> str:
    if j in skeleton.joints_left:
        return "tab:red"
    if j in skeleton.joints_right:
        return "tab:blue"
    return "0.3"


def plot_sequence_strip(path, keypoints_2d: np.ndarray, poses_3d: np.ndarray, frames: list[int],
                        res=(1000, 1000), skeleton: Skeleton = H36M17, ground_truth: np.ndarray | None = None,
                        title: str = "") -> None:
    """Save a figure: for each of ``frames``, the 2D input (top) and the 3D pose (bottom).

    ``keypoints_2d`` (T, J, 2) pixels; ``poses_3d`` / ``ground_truth`` (T, J, 3) metres in the
    camera frame (x right, y down, z forward), drawn upright.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(frames)
    fig = plt.figure(figsize=(2.6 * n, 5.6))
    for col, f in enumerate(frames):
        ax = fig.add_subplot(2, n, col + 1)
        kp = keypoints_2d[f]
        for j, p in enumerate(skeleton.parents):
            if p >= 0:
                ax.plot(kp[[j, p], 0], kp[[j, p], 1], color=_limb_colour(skeleton, j), lw=2)
        ax.scatter(kp[:, 0], kp[:, 1], s=6, c="k", zorder=3)
        centre = kp.mean(0)
        half = max(np.ptp(kp[:, 0]), np.ptp(kp[:, 1])) * 0.7 + 10
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] + half, centre[1] - half)
        ax.set_aspect("equal")
        ax.set_title(f"frame {f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax3 = fig.add_subplot(2, n, n + col + 1, projection="3d")
        for pose, style in ((ground_truth, dict(color="0.6", lw=1.5, ls="--")), (poses_3d, None)):
            if pose is None:
                continue
            q = pose[f] - pose[f][:1]
            # camera frame → upright plot: x right, z (depth) into the plot, -y up
            X, Y, Z = q[:, 0], q[:, 2], -q[:, 1]
            for j, p in enumerate(skeleton.parents):
                if p >= 0:
                    kw = style or dict(color=_limb_colour(skeleton, j), lw=2)
                    ax3.plot(X[[j, p]], Y[[j, p]], Z[[j, p]], **kw)
        ax3.set_xlim(-0.9, 0.9)
        ax3.set_ylim(-0.9, 0.9)
        ax3.set_zlim(-1.0, 0.9)
        ax3.view_init(elev=12, azim=-70)
        ax3.set_xticklabels([])
        ax3.set_yticklabels([])
        ax3.set_zticklabels([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
