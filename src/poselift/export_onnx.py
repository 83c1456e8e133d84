"""ONNX export of a lifter checkpoint (``poselift export --onnx``).

The graph is the dilated model in evaluation mode with batch and sequence length left
dynamic: input ``keypoints`` (N, T, J_in, 2) with T ≥ the receptive field, output ``pose``
(N, T − rf + 1, J_out, 3). As with the model itself, pad the sequence first to get one
output per input frame; the padding the project uses is written into the file's metadata
(``receptive_field``, ``pad_left``, ``pad_right``: repeat the first / last frame that many
times), together with the skeletons and the input normalisation.

Needs the ``onnx`` package (``pip install poselift[export]``); onnxruntime runs the result.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from .data.formats import atomic_path
from .errors import PoseliftError

OPSET = 17


def _require_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise PoseliftError("ONNX export needs the onnx package: pip install 'poselift[export]'") from None


def export_onnx(checkpoint, out, overwrite: bool = False, opset: int = OPSET) -> Path:
    """Write the lifter of ``checkpoint`` (a path or ``default``) as an ONNX file ``out``."""
    from .predict import load_model
    from .models.bundled import resolve_checkpoint
    from .models.temporal import TemporalModel

    _require_onnx()
    import onnx

    path = resolve_checkpoint(checkpoint)
    model, meta = load_model(path)
    if not isinstance(model, TemporalModel):
        raise PoseliftError("ONNX export takes a temporal lifter checkpoint (not a pose embedder)", path)
    cfg = model.cfg
    example = torch.zeros(1, model.receptive_field + 8, cfg.joints_in, cfg.in_features)
    pad = (model.receptive_field - 1) // 2
    info = {
        "receptive_field": model.receptive_field,
        "pad_left": pad + model.total_causal_shift,
        "pad_right": pad - model.total_causal_shift,
        "skeleton_in": meta.get("skeleton_in", ""),
        "skeleton_out": meta.get("skeleton_out", ""),
        "input_norm": meta.get("input_norm", "screen"),
        "target": meta.get("target", "pose"),
        "model": json.dumps(cfg.to_dict()),
        "producer": "poselift",
    }
    out = Path(out)
    with atomic_path(out, overwrite) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shape checks and the legacy exporter
            torch.onnx.export(
                model, (example,), str(tmp), dynamo=False, opset_version=opset,
                input_names=["keypoints"], output_names=["pose"],
                dynamic_axes={"keypoints": {0: "batch", 1: "frames"}, "pose": {0: "batch", 1: "out_frames"}},
            )
        proto = onnx.load(str(tmp))
        for key, value in info.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, str(value)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
    return out
