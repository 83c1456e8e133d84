"""2D keypoints: detector adapters, importers of other tools' files, gap filling, tracking."""

from .keypoints import KeypointSequence

__all__ = ["KeypointSequence"]
