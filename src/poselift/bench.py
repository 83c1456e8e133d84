"""Speed benchmark (``poselift bench``): every optimised path against the straightforward one.

The straightforward path is the model as the paper describes it, with no optimisation:
``nn.Conv1d`` layers, batch norm as its own layer, channels-first, fp32, eager PyTorch —
the project's :class:`~poselift.models.temporal.TemporalModel` and its strided twin with
``fast`` off. Each figure is measured for both paths in the same run, the repetitions
interleaved so that a change of machine load hits both, and reported with their ratio
(optimised ÷ straightforward; the median of the repetitions). Inputs are random: speed
does not depend on the values.

* training: samples/s of one optimiser step (Amsgrad) of the strided twin, 27 and 243
  frames: reference vs fast fp32 vs fast bf16 (where the device computes bf16 natively);
* inference: frames/s over a 10,000-frame sequence, without and with flip averaging
  (batch 2): reference vs folded fp32 vs folded bf16; and the share of the device's
  measured fp32 matrix-product rate that the folded fp32 path reaches (FLOPs per frame x
  frames/s ÷ peak);
* streaming (CPU): frames/s and latency of a 243-frame causal model, one new frame per call,
  batch 1 and 16: :class:`~poselift.stream.Stream` vs re-running the model on the last
  window (the naive approach); at batch 1 also fp32 and bf16 streams vs the reference
  release's single-frame model (the strided twin run on the last window, as
  ``TemporalModelOptimized1f``: the honest baseline), and the share of the measured memory
  copy bandwidth a stream reaches (its weights are read once per frame);
* data: training clips/s the sampler assembles (243 frames, flip on), which must stay far
  above the training rate;
* memory: peak resident memory of each part, measured in a fresh process per part.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import statistics
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from .errors import PoseliftError

ARCHS = {27: [3, 3, 3], 243: [3, 3, 3, 3, 3]}


@dataclass
class BenchOptions:
    device: str = "cpu"
    train_batch: int = 1024
    train_steps: int = 3  # timed steps per repetition
    repeats: int = 3
    infer_frames: int = 10_000
    stream_frames: int = 200
    channels: int = 1024
    threads: int = 0
    quick: bool = False

    def scaled(self) -> "BenchOptions":
        if not self.quick:
            return self
        return replace(self, train_batch=min(self.train_batch, 128), train_steps=1, repeats=2, infer_frames=2_000,
                       stream_frames=60)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _interleaved(fns: dict, repeats: int, device: torch.device) -> dict:
    """Median seconds of each callable; one warm-up call each, then ``repeats`` rounds."""
    for f in fns.values():
        f()
    _sync(device)
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            _sync(device)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def bf16_native(device: torch.device) -> bool:
    """Whether matrix products in bf16 run on dedicated hardware (AMX / AVX512-BF16, or a GPU)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def peak_matmul_gflops(device: torch.device, dtype=torch.float32) -> float:
    """Measured rate of a large matrix product (the practical limit for the lifter's layers)."""
    a = torch.randn(4096, 3072, device=device, dtype=dtype)
    b = torch.randn(3072, 1024, device=device, dtype=dtype)
    sec = _interleaved({"mm": lambda: [a @ b for _ in range(4)]}, 3, device)["mm"] / 4
    return 2 * 4096 * 3072 * 1024 / sec / 1e9


# ----------------------------------------------------------------------------- parts
def bench_training(opt: BenchOptions, frames: int) -> dict:
    from .models.build import build_model
    from .models.temporal import ModelConfig

    device = torch.device(opt.device)
    cfg = ModelConfig(filter_widths=ARCHS[frames], channels=opt.channels)
    x = torch.randn(opt.train_batch, frames, 17, 2, device=device)
    y = torch.randn(opt.train_batch, 1, 17, 3, device=device)
    variants = {"reference": (False, False), "fast_fp32": (True, False)}
    if bf16_native(device):
        variants["fast_bf16"] = (True, True)
    steps = {}
    for name, (fast, bf16) in variants.items():
        torch.manual_seed(0)
        model = build_model(cfg, strided=True, fast=fast).to(device).train()
        optim = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)

        def step(model=model, optim=optim, bf16=bf16):
            for _ in range(opt.train_steps):
                optim.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    pred = model(x)
                loss = (pred.float() - y).norm(dim=-1).mean()
                loss.backward()
                optim.step()

        steps[name] = step
    sec = _interleaved(steps, opt.repeats, device)
    rate = {k: opt.train_batch * opt.train_steps / s for k, s in sec.items()}
    best = max((k for k in rate if k != "reference"), key=rate.get)
    out = {f"train_samples_per_s_{frames}_{k}": rate[k] for k in rate}
    out[f"train_samples_per_s_{frames}"] = rate[best]
    out[f"train_ratio_{frames}"] = rate[best] / rate["reference"]
    out[f"train_ratio_{frames}_fp32"] = rate["fast_fp32"] / rate["reference"]
    out[f"train_path_{frames}"] = best
    return out


def bench_inference(opt: BenchOptions, frames: int = 243) -> dict:
    from .models.folded import FoldedLifter
    from .models.temporal import ModelConfig, TemporalModel, flops_per_frame

    device = torch.device(opt.device)
    torch.manual_seed(0)
    model = TemporalModel(ModelConfig(filter_widths=ARCHS[frames], channels=opt.channels)).to(device).eval()
    folded = FoldedLifter(model)
    if device.type != "cpu":
        folded.to_device(device)
    low = FoldedLifter(model).to_dtype(torch.bfloat16) if bf16_native(device) else None
    if low is not None and device.type != "cpu":
        low.to_device(device)
    n = opt.infer_frames
    out = {}
    for flip, tag in ((False, ""), (True, "_flip")):
        x = torch.randn(2 if flip else 1, n + model.receptive_field - 1, 17, 2, device=device)
        fns = {"reference": lambda: model(x), "folded_fp32": lambda: folded(x)}
        if low is not None:
            fns["folded_bf16"] = lambda: low(x)
        with torch.inference_mode():
            sec = _interleaved(fns, opt.repeats, device)
        fps = {k: n / s for k, s in sec.items()}
        for k, v in fps.items():
            out[f"infer_fps_{frames}{tag}_{k}"] = v
        out[f"infer_fps_{frames}{tag}"] = fps["folded_fp32"]
        out[f"infer_ratio_{frames}{tag}"] = fps["folded_fp32"] / fps["reference"]
        if low is not None:
            out[f"infer_ratio_{frames}{tag}_bf16"] = fps["folded_bf16"] / fps["reference"]
    flops = flops_per_frame(model)
    peak = peak_matmul_gflops(device)
    out["flops_per_frame_243"] = flops
    out["peak_matmul_gflops_fp32"] = peak
    out[f"infer_fraction_of_peak_{frames}"] = out[f"infer_fps_{frames}"] * flops / (peak * 1e9)
    return out


def memory_copy_gbps() -> float:
    """Measured memory bandwidth of this CPU: bytes read + written per second by a 256 MB copy
    (the practical limit of a batch-1 stream, which reads every weight once per frame)."""
    src = torch.ones(64 * 2**20)  # 256 MB of fp32
    dst = torch.empty_like(src)
    sec = _interleaved({"copy": lambda: dst.copy_(src)}, 5, torch.device("cpu"))["copy"]
    return 2 * src.numel() * src.element_size() / sec / 1e9


LOW_PRECISIONS = ("bf16", "int8")  # the streams' reduced-precision paths, reported apart from fp32


def bench_streaming(opt: BenchOptions, frames: int = 243) -> dict:
    """Streaming at batch 1 against the re-run dilated model (naive) and against the
    reference release's single-frame model (``TemporalModelOptimized1f``: here the strided twin,
    straightforward path, one call per new frame on its last ``receptive_field`` frames), fp32,
    bf16 and int8 streams; at batch 16 against the naive approach."""
    from .models.build import build_model
    from .models.temporal import ModelConfig, TemporalModel
    from .stream import Stream

    torch.manual_seed(0)
    cfg = ModelConfig(filter_widths=ARCHS[frames], channels=opt.channels, causal=True)
    model = TemporalModel(cfg).eval()
    strided = build_model(cfg, strided=True).eval()  # fast off: the reference's layers
    strided.load_state_dict(model.state_dict())
    out = {}
    for batch in (1, 16):
        seq = torch.randn(opt.stream_frames, batch, 17, 2)
        window = torch.randn(batch, model.receptive_field, 17, 2)
        streams = {"stream": Stream(model, batch=batch)}
        if batch == 1:
            for precision in LOW_PRECISIONS:
                streams[f"stream_{precision}"] = Stream(model, batch=batch, precision=precision)
        naive_calls = max(3, opt.stream_frames // 20)

        def run_stream(stream):
            stream.reset()
            for f in seq:
                stream.push(f[0] if batch == 1 else f)

        def run_naive():
            for _ in range(naive_calls):
                model(window)

        def run_strided():
            for _ in range(opt.stream_frames):
                strided(window)

        fns = {k: (lambda s=s: run_stream(s)) for k, s in streams.items()}
        fns["naive"] = run_naive
        if batch == 1:
            fns["strided"] = run_strided
        with torch.inference_mode():
            sec = _interleaved(fns, opt.repeats, torch.device("cpu"))
        step_stream = sec["stream"] / opt.stream_frames
        step_naive = sec["naive"] / naive_calls
        tag = "" if batch == 1 else f"_b{batch}"
        out[f"stream_fps_{frames}{tag}"] = batch / step_stream
        out[f"stream_latency_ms_{frames}{tag}"] = 1000 * step_stream
        out[f"stream_naive_fps_{frames}{tag}"] = batch / step_naive
        out[f"stream_ratio_{frames}{tag}"] = step_naive / step_stream
        if batch == 1:
            step_strided = sec["strided"] / opt.stream_frames
            out[f"stream_strided_fps_{frames}"] = 1 / step_strided
            out[f"stream_ratio_{frames}_strided"] = step_strided / step_stream
            gbps = memory_copy_gbps()
            out["memory_copy_gbps"] = gbps
            steps = {"": step_stream}
            for precision in LOW_PRECISIONS:
                step = steps[f"_{precision}"] = sec[f"stream_{precision}"] / opt.stream_frames
                out[f"stream_fps_{frames}_{precision}"] = 1 / step
                out[f"stream_latency_ms_{frames}_{precision}"] = 1000 * step
                out[f"stream_ratio_{frames}_{precision}_strided"] = step_strided / step
            for k, step in steps.items():
                nbytes = streams["stream" + k].weight_bytes()
                out[f"stream_weight_mb_{frames}{k}"] = nbytes / 1e6
                out[f"stream_bandwidth_fraction_{frames}{k}"] = nbytes / step / (gbps * 1e9)
    return out


def bench_data(opt: BenchOptions, frames: int = 243) -> dict:
    from .data.windows import ClipSampler

    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(2000, 17, 2)).astype(np.float32) for _ in range(20)]
    targets = [rng.normal(size=(2000, 17, 3)).astype(np.float32) for _ in range(20)]
    sampler = ClipSampler(seqs, targets, receptive_field=frames, flip=True)
    batches = 4
    it = sampler.iter_epoch(0, 0, opt.train_batch)
    next(it)
    t = time.perf_counter()
    for _ in range(batches):
        next(it)
    return {f"data_clips_per_s_{frames}": batches * opt.train_batch / (time.perf_counter() - t)}


# ----------------------------------------------------------------------------- driver
def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run_part(name: str, opt: BenchOptions, queue) -> None:
    try:
        if opt.threads > 0:
            torch.set_num_threads(opt.threads)
        device = torch.device(opt.device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        fn, args = PARTS[name]
        result = fn(opt, *args)
        result[f"peak_rss_mb_{name}"] = _peak_rss_mb()
        if device.type == "cuda":
            result[f"peak_gpu_mb_{name}"] = torch.cuda.max_memory_allocated(device) / 2**20
        queue.put((name, result, None))
    except Exception as e:  # reported by the parent
        queue.put((name, {}, f"{type(e).__name__}: {e}"))


PARTS = {
    "train_27": (bench_training, (27,)),
    "train_243": (bench_training, (243,)),
    "infer_243": (bench_inference, (243,)),
    "stream_243": (bench_streaming, (243,)),
    "data_243": (bench_data, (243,)),
}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        names = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")]
        cpu = names[0] if names else cpu
        flags = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
        isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in flags]
    except OSError:
        isa = []
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "isa": isa,
            "torch": torch.__version__, "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run_bench(opt: BenchOptions, parts=None, progress: bool = True) -> dict:
    """All parts, each in a fresh process (so that its peak memory is its own)."""
    from .predict import resolve_device

    device = resolve_device(opt.device)
    opt = replace(opt.scaled(), device=str(device))  # "auto" settled once, for every part
    names = list(parts or PARTS)
    if device.type != "cpu":
        names = [n for n in names if not n.startswith("stream")]  # streaming is a CPU path
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise PoseliftError(f"unknown benchmark part(s): {', '.join(unknown)} (have {', '.join(PARTS)})")
    result = {"machine": machine(), "options": vars(opt).copy()}
    ctx = mp.get_context("spawn")
    from tqdm.auto import tqdm

    for name in tqdm(names, desc="bench", disable=not progress):
        queue = ctx.Queue()
        proc = ctx.Process(target=_run_part, args=(name, opt, queue))
        proc.start()
        _, part, error = queue.get()
        proc.join()
        if error:
            raise PoseliftError(f"benchmark part {name} failed: {error}")
        result.update(part)
    return result


KEY_ROWS = [  # (label, key of the optimised figure, key of the straightforward one, key of the ratio, unit)
    ("training, 27 frames ({path})", "train_samples_per_s_27", "train_samples_per_s_27_reference", "train_ratio_27",
     "samples/s"),
    ("training, 27 frames, fp32", "train_samples_per_s_27_fast_fp32", "train_samples_per_s_27_reference",
     "train_ratio_27_fp32", "samples/s"),
    ("training, 243 frames ({path})", "train_samples_per_s_243", "train_samples_per_s_243_reference",
     "train_ratio_243", "samples/s"),
    ("training, 243 frames, fp32", "train_samples_per_s_243_fast_fp32", "train_samples_per_s_243_reference",
     "train_ratio_243_fp32", "samples/s"),
    ("inference, 243 frames, fp32 (folded)", "infer_fps_243", "infer_fps_243_reference", "infer_ratio_243",
     "frames/s"),
    ("inference with flip averaging, fp32", "infer_fps_243_flip", "infer_fps_243_flip_reference",
     "infer_ratio_243_flip", "frames/s"),
    ("inference, bf16 (folded)", "infer_fps_243_folded_bf16", "infer_fps_243_reference", "infer_ratio_243_bf16",
     "frames/s"),
    ("streaming, 243 frames causal, batch 1", "stream_fps_243", "stream_naive_fps_243", "stream_ratio_243",
     "frames/s"),
    ("streaming, batch 1, vs the reference's strided single-frame model, fp32", "stream_fps_243",
     "stream_strided_fps_243", "stream_ratio_243_strided", "frames/s"),
    ("streaming, batch 1, vs the reference's strided single-frame model, bf16", "stream_fps_243_bf16",
     "stream_strided_fps_243", "stream_ratio_243_bf16_strided", "frames/s"),
    ("streaming, batch 1, vs the reference's strided single-frame model, int8", "stream_fps_243_int8",
     "stream_strided_fps_243", "stream_ratio_243_int8_strided", "frames/s"),
    ("streaming, batch 16", "stream_fps_243_b16", "stream_naive_fps_243_b16", "stream_ratio_243_b16", "frames/s"),
]


def format_table(result: dict) -> str:
    """The README's performance table (markdown) from a bench result."""
    lines = ["| measure | straightforward | optimised | ratio |", "|---|---|---|---|"]
    for label, key, ref, ratio, unit in KEY_ROWS:
        if key in result:
            label = label.format(path=result.get(f"train_path_{key.split('_')[-1]}", "").replace("fast_", ""))
            lines.append(f"| {label} | {result[ref]:,.0f} {unit} | {result[key]:,.0f} {unit} | {result[ratio]:.2f}x |")
    m = result["machine"]
    extra = []
    if "infer_fraction_of_peak_243" in result:
        extra.append(f"folded fp32 inference runs at {100 * result['infer_fraction_of_peak_243']:.0f}% of the measured "
                     f"fp32 matrix-product rate ({result['peak_matmul_gflops_fp32']:.0f} GFLOP/s)")
    if "stream_latency_ms_243" in result:
        extra.append(f"stream latency {result['stream_latency_ms_243']:.2f} ms per frame (batch 1)")
    if "stream_bandwidth_fraction_243_int8" in result:
        kinds = ("", "_bf16", "_int8")
        extra.append("a batch-1 stream reads its weights ("
                     + ", ".join(f"{result['stream_weight_mb_243' + k]:.0f} MB {k[1:] or 'fp32'}" for k in kinds)
                     + ") once per frame: "
                     + ", ".join(f"{100 * result['stream_bandwidth_fraction_243' + k]:.0f}% ({k[1:] or 'fp32'})"
                                 for k in kinds)
                     + f" of the measured memory copy bandwidth ({result['memory_copy_gbps']:.0f} GB/s)")
    if "data_clips_per_s_243" in result:
        extra.append(f"data pipeline {result['data_clips_per_s_243']:,.0f} clips/s")
    lines.append("")
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads)"
                 + (f", {m['gpu']}" if "gpu" in m else "") + ". " + "; ".join(extra) + ".")
    return "\n".join(lines)
