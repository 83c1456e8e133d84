"""Data sources and the clip sampler."""
