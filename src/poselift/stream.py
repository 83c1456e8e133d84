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

Threads: one frame's work is a handful of small matrix products (the bundled 27-frame
model: about 2 ms per frame at batch 1 on one core), too small to split across threads. With
several torch threads each product waits for all of them at a barrier; on a machine whose
cores are busy (a detector, a video decoder) a thread that has lost its core holds every
other one up for a scheduler time slice, and the frame takes tens of milliseconds instead
of a few. :func:`torch_threads` (``Stream(..., threads=1)``, and
:class:`~poselift.realtime.RealtimeLifter`'s default) runs the work on the calling thread
alone and restores the caller's thread count afterwards, so offline work elsewhere in the
process keeps its own setting. ``benchmarks/realtime_load.py`` measures it.

Precision: ``Stream(..., precision="bf16")`` runs every layer but the output one in bfloat16
(weights, ring buffers and activations; the output layer in fp32, as
:meth:`~poselift.models.folded.FoldedLifter.to_dtype` with ``output=float32``). A frame at
batch 1 reads each weight once, so the stream is bound by memory traffic and halving the
bytes per weight is most of the speed-up (``poselift bench``, ``stream_243``); the accuracy
change is measured by ``benchmarks/stream_precision.py`` (docs/speed.md).
``precision="int8"`` goes further: every layer but the output one reads int8 weights (one
scale per output channel) and quantises its input to 8 bits over that frame's own range
(FBGEMM's dynamic quantised linear layer, through torch): a quarter of fp32's bytes, and
more rounding (on CMU-17 val: +0.07 mm MPJPE, poses 3 mm from fp32's on average).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

import numpy as np
import torch

from .errors import PoseliftError
from .models.folded import FoldedLayer, FoldedLifter
from .models.temporal import TemporalModel


def check_threads(threads: int | None) -> int | None:
    """``threads`` if it is None (torch's own setting) or a count >= 1; PoseliftError otherwise."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise PoseliftError(f"threads must be >= 1 (or None for torch's own setting), got {threads!r}")
    return threads


@contextmanager
def torch_threads(threads: int | None):
    """torch's intra-op thread count set to ``threads`` inside the block (None: left as it is),
    the caller's count restored when the block ends.

    It is set from the calling thread: in torch's OpenMP builds (the usual ones) the OpenMP
    and MKL counts belong to that thread and other Python threads keep theirs. Inter-op
    threads are not touched: the streams run no inter-op parallel work, and
    ``torch.set_num_interop_threads`` may be called only once, before any, so a library
    cannot set it safely."""
    if check_threads(threads) is None:
        yield
        return
    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


PRECISIONS = ("fp32", "bf16", "int8")


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

    def output(self, window: torch.Tensor, affine: "_Affine") -> torch.Tensor:
        """The layer's output for the newest frame, (B, C_out), before the activation."""
        taps = window[:, ::self.layer.dilation]  # (B, width, C)
        return affine(taps.reshape(taps.shape[0], -1))


class _Affine:
    """``x @ weight.T + bias`` of a folded layer: as stored (fp32 or bf16), or in int8 (weights
    quantised per output channel, symmetric; each call's input quantised to 8 bits over its
    own range: FBGEMM's dynamic quantised linear, which reads a quarter of fp32's bytes)."""

    def __init__(self, layer: FoldedLayer, int8: bool = False):
        self.weight, self.bias = layer.weight, layer.bias
        self.packed = None
        if int8:
            import warnings

            w = layer.weight.float()
            scales = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
            with warnings.catch_warnings():  # torch marks its quantised tensors deprecated; the kernels stay
                warnings.simplefilter("ignore")
                q = torch.quantize_per_channel(w, scales, torch.zeros_like(scales, dtype=torch.int64), 0, torch.qint8)
                self.packed = torch.ops.quantized.linear_prepack(q, layer.bias.float())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return torch.ops.quantized.linear_dynamic(x, self.packed, not _vnni())
        return torch.addmm(self.bias, x, self.weight.t())


@functools.lru_cache(maxsize=1)
def _vnni() -> bool:
    """Whether the CPU multiplies 8-bit integers with 32-bit sums (AVX512-VNNI, AVX-VNNI, AMX).
    Without it FBGEMM's kernels pair-add 8-bit products in 16 bits, which can saturate, so the
    inputs are quantised to 7 bits there (``reduce_range``): twice the rounding error (on CMU-17
    val: 2.9 against 1.6 mm between the int8 and fp32 poses, on average)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        return False
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


class Stream:
    """Frame-by-frame lifting with a :class:`~poselift.models.temporal.TemporalModel`.

    ``threads``: torch threads while a frame is computed (:func:`torch_threads`; the caller's
    count is restored after each call). None (the default) leaves torch's setting alone; 1
    keeps a batch-1 stream fast when other processes keep the cores busy (module docs).

    ``precision``: ``fp32`` (the default) runs the model as given (a FoldedLifter keeps its own
    dtypes); ``bf16`` runs every layer but the output one in bfloat16 (a FoldedLifter passed
    in is converted in place); ``int8`` every layer but the output one with int8 weights and
    8-bit inputs (module docs)."""

    def __init__(self, model: TemporalModel | FoldedLifter, batch: int = 1, threads: int | None = None,
                 precision: str = "fp32"):
        from .checks import whole

        self.threads = check_threads(threads)
        if precision not in PRECISIONS:
            raise PoseliftError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = precision
        batch = whole("batch", batch, 1, 1_000_000)
        folded = model if isinstance(model, FoldedLifter) else FoldedLifter(model.eval())
        if precision == "bf16":
            folded.to_dtype(torch.bfloat16, output=torch.float32)
        self.model = folded
        self.batch = batch
        self.joints_in = folded.cfg.joints_in
        self.joints_out = folded.cfg.joints_out
        self.receptive_field = folded.receptive_field
        self.latency = (folded.receptive_field - 1) // 2 - folded.total_causal_shift
        C = folded.cfg.channels
        dtype = folded.expand.weight.dtype
        int8 = precision == "int8"
        self._expand = (_Ring(folded.expand, batch, folded.cfg.joints_in * folded.cfg.in_features, dtype),
                        _Affine(folded.expand, int8))
        self._blocks = []
        for i, (conv, pointwise) in enumerate(folded.blocks):
            # the residual is the input frame at offset pad + shift of the layer's window
            skip = folded.pad[i + 1] + folded.causal_shifts[i + 1]
            self._blocks.append((_Ring(conv, batch, C, dtype), _Affine(conv, int8), _Affine(pointwise, int8), skip))
        self._shrink = _Affine(folded.shrink)
        self.frames_in = 0

    @classmethod
    def from_checkpoint(cls, path="default", batch: int = 1, layout: str = "coco17",
                        threads: int | None = None, precision: str = "fp32") -> "Stream":
        """A stream on a checkpoint file (``default``: the bundled model for ``layout`` input)."""
        from .predict import load_model
        from .models.bundled import resolve_checkpoint

        path = resolve_checkpoint(path, layout)
        model, _ = load_model(path)
        if not isinstance(model, TemporalModel):
            raise PoseliftError("streaming needs a temporal lifter checkpoint", path)
        return cls(model, batch, threads, precision)

    def reset(self) -> None:
        self.frames_in = 0

    def weight_bytes(self) -> int:
        """Bytes of weights and biases one frame reads (the int8 layers' packed weights at one
        byte per value, their scales and fp32 biases)."""
        total = 0
        for affine in [self._expand[1], *(a for _, conv, pw, _ in self._blocks for a in (conv, pw)), self._shrink]:
            if affine.packed is not None:
                n_out = affine.weight.shape[0]
                total += affine.weight.numel() + 8 * n_out + 4 * n_out  # int8 values, scales, biases
            else:
                total += sum(t.numel() * t.element_size() for t in (affine.weight, affine.bias))
        return total

    def _as_input(self, keypoints) -> torch.Tensor:
        from .checks import as_array

        x = torch.from_numpy(as_array("frame", keypoints, np.float32).copy())  # tensors too (grad, GPU)
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
        def advance(ring: _Ring, affine: _Affine, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if prime:
                ring.fill(value)
                window = ring.buf[:, :ring.span]
            else:
                window = ring.push(value)
            return window, torch.relu_(ring.output(window, affine))

        _, h = advance(*self._expand, x)
        for ring, conv, pointwise, skip in self._blocks:
            window, y = advance(ring, conv, h)
            res = window[:, skip]
            h = torch.relu_(pointwise(y)).add_(res)
        return self._shrink(h.to(self.model.shrink.weight.dtype))

    @torch.inference_mode()
    def push(self, keypoints) -> np.ndarray | None:
        """Add one frame ((J, 2), or (B, J, 2) for a batch of streams); the 3D pose of frame
        ``frames_in - 1 - latency`` ((J_out, 3) or (B, J_out, 3)), or None while the first
        ``latency`` frames are still missing their future."""
        x = self._as_input(keypoints)
        with torch_threads(self.threads):
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
        ring = self._expand[0]
        last = ring.buf[:, (ring.pos - 1) % ring.span].clone()
        out = []
        with torch_threads(self.threads):
            for _ in range(min(self.latency, self.frames_in)):
                out.append(self._output(self._step(last, prime=False)))
        self.frames_in = 0
        return out
