"""Streaming inference: one new 2D frame in, one 3D frame out, with cached layer states.

Run over a whole sequence, the dilated lifter computes every layer once per frame; a new
frame changes only the newest output of each layer. :class:`Stream` keeps, for each layer,
a ring buffer of the inputs its next output will read (as fast WaveNet generation does),
so a frame costs one output per layer: the model's FLOPs per frame, against a full
receptive field of work for the naive approach (re-running the model on the last window).

The stream reproduces the offline result exactly (to rounding): the first frame fills the
buffers as edge padding would, and :meth:`Stream.flush` pads the end the same way. A
causal model answers each frame at once; a symmetric one answers ``latency`` (= half its
receptive field) frames later.

Example::

    stream = poselift.Stream.from_checkpoint("default")
    for keypoints in frames:              # (J, 2) normalised screen coordinates
        pose = stream.push(keypoints)     # (J_out, 3), or None while the first frames fill
    rest = stream.flush()                 # the last ``latency`` frames
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import PoseliftError
from .models.folded import FoldedLayer, FoldedLifter
from .models.temporal import TemporalModel


class _Ring:
    """The last ``span`` inputs of a layer, (B, span, C); each value is written twice so that
    the window is always one contiguous slice of a (B, 2·span, C) buffer."""

    def __init__(self, layer: FoldedLayer, batch: int, channels: int, dtype: torch.dtype):
        self.layer = layer
        self.span = layer.span
        self.buf = torch.zeros(batch, 2 * self.span, channels, dtype=dtype)
        self.pos = 0  # where the next value goes

    def fill(self, value: torch.Tensor) -> None:
        self.buf.copy_(value[:, None, :].expand_as(self.buf))
        self.pos = 0

    def push(self, value: torch.Tensor) -> torch.Tensor:
        """Append (B, C); the window (B, span, C), oldest first."""
        p = self.pos
        self.buf[:, p] = value
        self.buf[:, p + self.span] = value
        self.pos = (p + 1) % self.span
        return self.buf[:, p + 1:p + 1 + self.span]

    def output(self, window: torch.Tensor) -> torch.Tensor:
        """The layer's output for the newest frame, (B, C_out), before the activation."""
        taps = window[:, ::self.layer.dilation]  # (B, width, C)
        return torch.addmm(self.layer.bias, taps.reshape(taps.shape[0], -1), self.layer.weight.t())


class Stream:
    """Frame-by-frame lifting with a :class:`~poselift.models.temporal.TemporalModel`."""

    def __init__(self, model: TemporalModel | FoldedLifter, batch: int = 1):
        folded = model if isinstance(model, FoldedLifter) else FoldedLifter(model.eval())
        self.model = folded
        self.batch = batch
        self.joints_in = folded.cfg.joints_in
        self.joints_out = folded.cfg.joints_out
        self.receptive_field = folded.receptive_field
        self.latency = (folded.receptive_field - 1) // 2 - folded.total_causal_shift
        C = folded.cfg.channels
        dtype = folded.expand.weight.dtype
        self._expand = _Ring(folded.expand, batch, folded.cfg.joints_in * folded.cfg.in_features, dtype)
        self._blocks = []
        for i, (conv, pointwise) in enumerate(folded.blocks):
            # the residual is the input frame at offset pad + shift of the layer's window
            skip = folded.pad[i + 1] + folded.causal_shifts[i + 1]
            self._blocks.append((_Ring(conv, batch, C, dtype), pointwise, skip))
        self.frames_in = 0

    @classmethod
    def from_checkpoint(cls, path="default", batch: int = 1, layout: str = "coco17") -> "Stream":
        """A stream on a checkpoint file (``default``: the bundled model for ``layout`` input)."""
        from .evaluate import load_model
        from .infer import resolve_checkpoint

        path = resolve_checkpoint(path, layout)
        model, _ = load_model(path)
        if not isinstance(model, TemporalModel):
            raise PoseliftError("streaming needs a temporal lifter checkpoint", path)
        return cls(model, batch)

    def reset(self) -> None:
        self.frames_in = 0

    def _as_input(self, keypoints) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(keypoints, dtype=np.float32) if not torch.is_tensor(keypoints) else keypoints)
        if x.dim() == 2:
            x = x[None]
        if x.shape != (self.batch, self.joints_in, self.model.cfg.in_features):
            raise PoseliftError(f"stream expects a frame ({self.batch}, {self.joints_in}, "
                                f"{self.model.cfg.in_features}) or ({self.joints_in}, 2), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise PoseliftError("frame has NaN or infinite coordinates (fill gaps before streaming)")
        if x.abs().max() > 10:
            raise PoseliftError("frame looks like pixels (coordinates beyond ±10): the stream takes normalised "
                                "coordinates (poselift.camera.normalize_screen_coordinates)")
        return x.reshape(self.batch, -1).to(self.model.expand.weight.dtype)

    def _step(self, x: torch.Tensor, prime: bool) -> torch.Tensor:
        def advance(ring: _Ring, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if prime:
                ring.fill(value)
                window = ring.buf[:, :ring.span]
            else:
                window = ring.push(value)
            return window, torch.relu_(ring.output(window))

        _, h = advance(self._expand, x)
        for ring, pointwise, skip in self._blocks:
            window, y = advance(ring, h)
            res = window[:, skip]
            h = torch.relu_(torch.addmm(pointwise.bias, y, pointwise.weight.t())).add_(res)
        shrink = self.model.shrink
        return torch.addmm(shrink.bias, h, shrink.weight.t())

    @torch.inference_mode()
    def push(self, keypoints) -> np.ndarray | None:
        """Add one frame ((J, 2), or (B, J, 2) for a batch of streams); the 3D pose of frame
        ``frames_in - 1 - latency`` ((J_out, 3) or (B, J_out, 3)), or None while the first
        ``latency`` frames are still missing their future."""
        x = self._as_input(keypoints)
        y = self._step(x, prime=self.frames_in == 0)
        self.frames_in += 1
        if self.frames_in <= self.latency:
            return None
        return self._output(y)

    def _output(self, y: torch.Tensor) -> np.ndarray:
        out = y.float().reshape(self.batch, self.joints_out, 3).numpy()
        return out[0] if self.batch == 1 else out

    @torch.inference_mode()
    def flush(self) -> list[np.ndarray]:
        """The last ``latency`` frames' poses, their future padded with the last input frame."""
        if self.frames_in == 0:
            return []
        last = self._expand.buf[:, (self._expand.pos - 1) % self._expand.span].clone()
        out = []
        for _ in range(min(self.latency, self.frames_in)):
            out.append(self._output(self._step(last, prime=False)))
        self.frames_in = 0
        return out
