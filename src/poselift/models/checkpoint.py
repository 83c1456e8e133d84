"""Reading checkpoints: the safetensors file and its JSON header checked, then loaded (no pickle).

A checkpoint (written by :func:`poselift.train.checkpoint.save_checkpoint`) holds the model
weights (``model.*``), optionally the optimiser state (``optim.*``) and the torch RNG state;
its metadata (``poselift``) holds the JSON of the config and training state. Everything that
reads one - inference, evaluation, resuming a training run - reads it through here, below
all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from ..errors import PoseliftError

FORMAT = "poselift-checkpoint-v1"


def read_meta(path) -> dict:
    from ..data.filetype import check_input_file, read_head, refuse_lfs_pointer

    path = Path(path)
    check_input_file(path, "a safetensors checkpoint", missing="checkpoint not found")
    refuse_lfs_pointer(read_head(path, 512), path)  # a clone without git lfs: one line, not a header error
    try:
        with safe_open(str(path), framework="pt") as f:
            md = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise PoseliftError(f"not a readable safetensors checkpoint ({e})", path) from None
    if "poselift" not in md:
        raise PoseliftError("safetensors file without poselift metadata (not a poselift checkpoint)", path)
    try:
        meta = json.loads(md["poselift"])
    except json.JSONDecodeError as e:
        raise PoseliftError(f"checkpoint metadata is not valid JSON ({e})", path) from None
    if not isinstance(meta, dict):
        raise PoseliftError(f"checkpoint metadata must be a JSON object, got {type(meta).__name__}", path)
    if meta.get("format") != FORMAT:
        raise PoseliftError(f"unknown checkpoint format {meta.get('format')!r:.60}", path)
    check_meta(meta, path)
    return meta


def _want(meta: dict, key: str, kind, path, what: str) -> None:
    if key in meta and not isinstance(meta[key], kind):
        raise PoseliftError(f"checkpoint metadata: {key!r} must be {what}, got {meta[key]!r:.40}", path)


def check_meta(meta: dict, path=None) -> None:
    """The metadata schema, checked before anything is built from it: each known key of its
    type, the model's settings within bounds (:class:`~poselift.models.temporal.ModelConfig`:
    no 12 TB model from a typo), its skeletons known, the training state and optimiser
    summary well-formed. Keys are optional here (a model file
    needs ``model``: :func:`model_config`)."""
    from .temporal import ModelConfig
    from ..skeleton import get_skeleton

    for key, kind, what in (("model", dict, "an object of model settings"),
                            ("train_config", dict, "an object of training settings"),
                            ("state", dict, "an object (the training state)"),
                            ("optimizer", dict, "an object (the optimiser state)"),
                            ("skeleton_in", str, "a skeleton name"), ("skeleton_out", str, "a skeleton name"),
                            ("target", str, "'pose' or 'trajectory'"), ("input_norm", str, "'screen' or 'intrinsic'"),
                            ("kind", str, "text"), ("weights", str, "text")):
        _want(meta, key, kind, path, what)
    if meta.get("target", "pose") not in ("pose", "trajectory"):
        raise PoseliftError(f"checkpoint metadata: target must be 'pose' or 'trajectory', got {meta['target']!r:.40}",
                            path)
    if meta.get("input_norm", "screen") not in ("screen", "intrinsic"):
        raise PoseliftError(f"checkpoint metadata: input_norm must be 'screen' or 'intrinsic', got "
                            f"{meta['input_norm']!r:.40}", path)
    if "model" in meta:
        try:
            ModelConfig.from_dict(meta["model"])
        except PoseliftError as e:
            raise PoseliftError(f"checkpoint metadata: {e.message}", path) from None
    for key in ("skeleton_in", "skeleton_out"):  # (their joint counts are checked against the input's)
        if key in meta:
            try:
                get_skeleton(meta[key])
            except PoseliftError as e:
                raise PoseliftError(f"checkpoint metadata: {e.message}", path) from None
    state = meta.get("state")
    if state is not None:
        from ..checks import number, whole

        try:
            for key in ("epoch", "batch", "drawn", "ema_updates", "unlabeled_batches"):
                if key in state:
                    whole(f"state {key}", state[key], 0)
            if "lr" in state:
                number("state lr", state["lr"], 0)
        except PoseliftError as e:
            raise PoseliftError(f"checkpoint metadata: {e.message}", path) from None
        _want(state, "history", list, path, "a list")
        _want(state, "finished", bool, path, "true or false")
    om = meta.get("optimizer")
    if om is not None and not (isinstance(om.get("param_groups"), list) and isinstance(om.get("scalars"), dict)
                               and all(isinstance(g, dict) for g in om["param_groups"])):
        raise PoseliftError("checkpoint metadata: the optimiser state is not well-formed "
                            "(param_groups: a list of objects, scalars: an object)", path)


def model_config(meta: dict, path=None):
    """The :class:`~poselift.models.temporal.ModelConfig` of a checkpoint's (checked) metadata."""
    from .temporal import ModelConfig

    if "model" not in meta:
        raise PoseliftError("checkpoint metadata has no 'model' settings (not a model checkpoint)", path)
    return ModelConfig.from_dict(meta["model"])


def load_tensors(path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of ``path`` whose names start with ``prefix``, with the prefix removed."""
    read_meta(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise PoseliftError(f"not a readable safetensors checkpoint ({e})", path) from None
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_checkpoint(path, model: torch.nn.Module | None = None, optimizer=None) -> dict:
    """Load ``path`` into ``model`` (and ``optimizer``, restoring the torch RNG); return meta."""
    meta = read_meta(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise PoseliftError(f"not a readable safetensors checkpoint ({e})", path) from None
    if model is not None:
        sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        ref = model.state_dict()
        bad = [k for k in ref if k not in sd or sd[k].shape != ref[k].shape]
        extra = [k for k in sd if k not in ref]
        if bad or extra:
            arch = meta.get("model", {})
            raise PoseliftError(
                f"weights do not fit this model (checkpoint architecture {arch.get('filter_widths')}, "
                f"channels {arch.get('channels')}, joints {arch.get('joints_in')}->{arch.get('joints_out')}; "
                f"{len(bad)} missing/mismatched, {len(extra)} unexpected tensors)",
                path,
            )
        model.load_state_dict({k: v.to(ref[k].dtype) for k, v in sd.items()})
    if optimizer is not None:
        if "optimizer" not in meta:
            raise PoseliftError("checkpoint holds no optimiser state (not a training checkpoint)", path)
        om = meta["optimizer"]
        state: dict = {}
        try:
            for k, v in tensors.items():
                if k.startswith("optim."):
                    _, pid, name = k.split(".", 2)
                    state.setdefault(int(pid), {})[name] = v
            for k, v in om["scalars"].items():
                pid, name = k.split(".", 1)
                state.setdefault(int(pid), {})[name] = v
            optimizer.load_state_dict({"state": state, "param_groups": om["param_groups"]})
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise PoseliftError(f"the optimiser state does not fit this run ({e.__class__.__name__}: "
                                f"{str(e)[:100]})", path) from None
        if "rng.torch" in tensors:
            torch.set_rng_state(tensors["rng.torch"])
    return meta
