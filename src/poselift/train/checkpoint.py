"""Checkpoints: safetensors tensors + a JSON header, no pickle anywhere.

One ``.safetensors`` file holds the model weights (``model.*``), optionally the optimiser
state (``optim.*``) and the torch RNG state; its metadata holds the JSON of the config and
training state, which is also written next to it as ``<name>.json`` for people to read.
Files are written to a temporary name and renamed, so the last good checkpoint survives
any interruption.

This module writes them (training); reading, checking and loading them is
:mod:`poselift.models.checkpoint`'s (below training, evaluation and inference alike), whose
functions are re-exported here.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from ..checks import dumps, json_safe
from ..data.formats import atomic_path, save_json
from ..models.checkpoint import (FORMAT, check_meta, load_checkpoint, load_tensors,  # noqa: F401  (re-exported)
                                 model_config, read_meta)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{pid}.{k}"] = v.detach().contiguous()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_checkpoint(path, model: torch.nn.Module, meta: dict, optimizer=None, half: bool = False,
                    weights: dict[str, torch.Tensor] | None = None, extra: dict[str, torch.Tensor] | None = None) -> None:
    """Write weights (+ optimiser and RNG state) and ``meta`` atomically to ``path``.

    ``weights`` replaces the model's own state dict (e.g. averaged weights); ``extra`` adds
    tensors under their own names (which must not start with ``model.`` or ``optim.``).
    """
    path = Path(path)
    tensors = {}
    for k, v in (model.state_dict() if weights is None else weights).items():
        v = v.detach().cpu().contiguous()
        if half and v.is_floating_point():
            v = v.half()
        tensors[f"model.{k}"] = v
    meta = dict(meta, format=FORMAT)
    if optimizer is not None:
        opt_t, opt_meta = _optimizer_tensors(optimizer)
        tensors.update(opt_t)
        meta["optimizer"] = opt_meta
        tensors["rng.torch"] = torch.get_rng_state()
    for k, v in (extra or {}).items():
        if k.startswith(("model.", "optim.")):
            raise ValueError(f"extra tensor name {k!r} clashes with the checkpoint's own")
        tensors[k] = v.detach().cpu().contiguous()
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"poselift": dumps(meta)})
    side = {k: v for k, v in meta.items() if k != "optimizer"}
    save_json(path.with_suffix(".json"), json_safe(side))
