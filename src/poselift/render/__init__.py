"""Renders: plots, videos, interactive views, exports."""
