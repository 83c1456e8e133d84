"""The bundled demo: the whole pipeline, offline, on bundled inputs.

``run_demo(out)`` runs video → 2D detection → 3D lifting → root trajectory → exports and
renders on the bundled clip (``assets/demo_clip.mp4``: one person, 1080x1920, 60 fps, 100
frames, from the pose2sim project, BSD-3-Clause, licence in ``assets/LICENSE-demo_clip.txt``).

``run_demo(out, source="sequence")`` needs no video stack: it lifts a bundled 2D sequence
with known 3D (CMU subject 02, "punch/strike", seen by a Human3.6M camera, synthetic
detector noise), writes the exports (no mp4: no video stack needed), reports the error
against the ground truth and plots both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .assets_path import asset_path
from .data.formats import load_npz
from .errors import PoseliftError
from .metrics import mpjpe, p_mpjpe


def demo_clip_path() -> Path:
    return asset_path("demo_clip.mp4")


def demo_sequence_path() -> Path:
    return asset_path("demo_sequence.npz")


def _video_stack_missing() -> str | None:
    import importlib.util

    missing = [m for m in ("av", "mediapipe", "cv2") if importlib.util.find_spec(m) is None]
    return ", ".join(missing) or None


def run_demo(out_dir, overwrite: bool = False, source: str = "video", progress: bool = True) -> dict:
    """Run the demo into ``out_dir``; returns ``{kind: path or summary}``."""
    from .infer import infer_video, reconstruct, write_outputs

    if source == "video":
        missing = _video_stack_missing()
        if missing:
            raise PoseliftError(f"the video demo needs the video extra (missing: {missing}); install it with "
                                "`pip install poselift[video]`, or run `poselift demo --source sequence`")
        rec = infer_video(demo_clip_path(), out_dir, overwrite=overwrite, progress=progress)
        result = dict(rec.outputs)
        result["frames"] = f"{len(rec.positions_cam)} ({rec.width}x{rec.height}, {rec.fps:g} fps)"
        result["report"] = rec.summary
        return result
    if source != "sequence":
        raise PoseliftError(f"demo source must be 'video' or 'sequence', got {source!r}")
    from .detect.keypoints import KeypointSequence

    d = load_npz(demo_sequence_path(), ("keypoints", "scores", "res", "positions_3d_camera"))
    w, h = (int(v) for v in d["res"])
    seq = KeypointSequence(d["keypoints"], d["scores"], "h36m17", w, h, float(d.get("fps", 50.0)),
                           "bundled demo sequence")
    focal = float(d["focal"]) if "focal" in d else None  # the camera's own, as a user would give --focal
    rec = reconstruct(seq, checkpoint="default", focal=focal, source=demo_sequence_path())
    plot = Path(out_dir) / "demo_sequence_plot.png"
    from .infer import output_names
    from .transaction import transaction

    gt = d["positions_3d_camera"].astype(np.float64)
    pred = rec.positions_cam - rec.positions_cam[:, :1]
    with transaction(out_dir, output_names("demo_sequence", video=False) + [plot.name], overwrite=overwrite) as tx:
        result = write_outputs(rec, out_dir, "demo_sequence", video=False, overwrite=overwrite, progress=progress)
        from .render.plot import plot_sequence_strip

        frames = list(np.linspace(0, len(pred) - 1, 6).astype(int))
        plot_sequence_strip(tx.path(plot.name), rec.keypoints, pred, frames, res=(w, h),
                            ground_truth=gt - gt[:, :1],
                            title="poselift demo: 2D input (top), 3D lifted (bottom; dashed: ground truth)")
    result["plot"] = str(plot)
    result["error vs ground truth"] = (f"MPJPE {1000 * float(mpjpe(pred, gt - gt[:, :1])):.1f} mm, "
                                       f"P-MPJPE {1000 * float(p_mpjpe(pred, gt)):.1f} mm, "
                                       f"root {1000 * float(np.linalg.norm(rec.positions_cam[:, 0] - gt[:, 0], axis=-1).mean()):.0f} mm")
    result["report"] = rec.summary
    return result
