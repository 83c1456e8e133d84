"""Training: supervised (and, later, semi-supervised and multi-view) loops and checkpoints."""
