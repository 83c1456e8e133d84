"""The bundled demo: lift a bundled 2D sequence with the bundled model; write 3D and a plot."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from .data.formats import load_npz, save_json, save_npz
from .errors import PoseliftError
from .infer import Lifter
from .metrics import mpjpe, p_mpjpe


def demo_sequence_path() -> Path:
    return Path(str(resources.files("poselift") / "assets" / "demo_sequence.npz"))


def run_demo(out_dir, overwrite: bool = False, checkpoint=None) -> dict:
    out = Path(out_dir)
    targets = {"3d": out / "demo_3d.npz", "json": out / "demo_3d.json", "plot": out / "demo_plot.png"}
    if not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise PoseliftError("demo outputs exist already (use --overwrite to replace them)", out)
    d = load_npz(demo_sequence_path(), ("keypoints", "res"))
    kp = d["keypoints"]
    w, h = (int(v) for v in d["res"])
    lifter = Lifter(checkpoint)
    pred = lifter.lift(kp, w, h)
    summary = {"frames": int(len(kp)), "sequence": str(d.get("description", "")), "checkpoint": str(lifter.path)}
    gt = None
    if "positions_3d_camera" in d:
        gt = d["positions_3d_camera"] - d["positions_3d_camera"][:, :1]
        summary["mpjpe_mm"] = round(1000 * float(mpjpe(pred, gt)), 1)
        summary["p_mpjpe_mm"] = round(1000 * float(p_mpjpe(pred, gt)), 1)
    save_npz(targets["3d"], {"positions_3d": pred.astype(np.float32), "keypoints_2d": kp,
                             "res": d["res"], "fps": d.get("fps", np.float32(50))}, overwrite=True)
    save_json(targets["json"], dict(summary, positions_3d=np.round(pred, 4).tolist()), overwrite=True)
    from .render.plot import plot_sequence_strip

    frames = list(np.linspace(0, len(kp) - 1, 6).astype(int))
    plot_sequence_strip(targets["plot"], kp, pred, frames, res=(w, h), ground_truth=gt,
                        title="poselift demo: 2D input (top), 3D lifted (bottom; dashed: ground truth)")
    result = {k: str(v) for k, v in targets.items()}
    if "mpjpe_mm" in summary:
        result["error vs ground truth"] = f"MPJPE {summary['mpjpe_mm']} mm, P-MPJPE {summary['p_mpjpe_mm']} mm"
    return result
