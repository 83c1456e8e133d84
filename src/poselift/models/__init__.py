"""Neural networks: the temporal lifter and its relatives."""

from .temporal import TemporalModel, TemporalModelStrided, build_model, model_info

__all__ = ["TemporalModel", "TemporalModelStrided", "build_model", "model_info"]
