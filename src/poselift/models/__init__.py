"""Neural networks: the temporal lifter and its relatives."""

from .build import build_model
from .temporal import TemporalModel, TemporalModelStrided, model_info

__all__ = ["TemporalModel", "TemporalModelStrided", "build_model", "model_info"]
