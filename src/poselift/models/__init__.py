"""Neural networks: the temporal lifter and its relatives.

The names below are loaded on first use, so that importing a torch-free module of this
package (:mod:`.config`, the architecture's settings, which the command line reads to build
its flags) does not import torch."""

import importlib

_LAZY = {"build_model": ".build", "TemporalModel": ".temporal", "TemporalModelStrided": ".temporal",
         "model_info": ".temporal"}

__all__ = ["TemporalModel", "TemporalModelStrided", "build_model", "model_info"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
