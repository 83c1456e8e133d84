"""Why the speed figures are what they are: the measurements behind the README's explanations.

    python benchmarks/speed_diagnostics.py            # about 3 min on 2 cores
    python benchmarks/speed_diagnostics.py --compile  # also torch.compile of the fast path (slow to compile)

1. Matrix-product rates of this CPU for the lifter's largest layer shape ((8000, 3072) @
   (3072, 1024)): fp32, bf16, and torch's dynamic int8 linear layer.
2. Dropout masks for 256 x 81 x 1024 activations: ``torch.bernoulli`` (what ``F.dropout``
   draws) against the fast path's byte masks.
3. One fp32 training step of the 243-frame strided model on the fast path (batch 256),
   profiled: the share of time in matrix products and their rate; the rest is element-wise.
4. With ``--compile``: the same step through ``torch.compile`` against eager, samples/s.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from poselift.models.fast import _keep_mask
from poselift.models.build import build_model
from poselift.models.temporal import ModelConfig


def best_of(fn, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def gemm_rates() -> dict:
    m, k, n = 8000, 3072, 1024
    flop = 2 * m * k * n
    x, lin = torch.randn(m, k), torch.nn.Linear(k, n)
    out = {}
    with torch.inference_mode():
        out["fp32"] = flop / best_of(lambda: lin(x)) / 1e9
        xb, lb = x.bfloat16(), torch.nn.Linear(k, n).bfloat16()
        out["bf16"] = flop / best_of(lambda: lb(xb)) / 1e9
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notice that eager quantisation moves to torchao
            q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, torch.qint8)
        out["int8_dynamic"] = flop / best_of(lambda: q(x)) / 1e9
    return out


def dropout_masks() -> dict:
    shape = (256 * 81, 1024)
    x = torch.empty(shape)
    return {"bernoulli_ms": 1000 * best_of(lambda: torch.empty_like(x).bernoulli_(0.75)),
            "byte_mask_ms": 1000 * best_of(lambda: _keep_mask(shape, 0.25, x.device))}


def training_step(batch: int = 1024, compile_: bool = False) -> dict:
    from torch.profiler import ProfilerActivity, profile

    model = build_model(ModelConfig(filter_widths=[3, 3, 3, 3, 3]), strided=True, fast=True).train()
    optim = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)
    x, y = torch.randn(batch, 243, 17, 2), torch.randn(batch, 1, 17, 3)

    def step(net):
        optim.zero_grad(set_to_none=True)
        (net(x) - y).norm(dim=-1).mean().backward()
        optim.step()

    out = {"eager_samples_per_s": batch / best_of(lambda: step(model), 2)}
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(model)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    mm = sum(e.self_cpu_time_total for e in events if e.key in ("aten::mm", "aten::addmm", "aten::bmm"))
    flop = 3 * 2 * batch * sum(  # forward + two backward products per layer, one output frame per stride
        m.weight.numel() * (243 // (m.stride[0] * _frames_before(model, m))) for m in _convs(model))
    out["matmul_share"] = mm / total
    out["matmul_gflops"] = flop / (mm / 1e6) / 1e9
    if compile_:
        compiled = torch.compile(model)
        step(compiled)  # compilation
        out["compiled_samples_per_s"] = batch / best_of(lambda: step(compiled), 2)
    return out


def _convs(model):
    return [model.expand_conv, *model.layers_conv]


def _frames_before(model, conv) -> int:
    """Product of the strides of the layers before ``conv`` (its input is 243 / that long)."""
    product = 1
    for m in _convs(model):
        if m is conv:
            return product
        product *= m.stride[0]
    raise ValueError("not a layer of this model")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compile", action="store_true")
    a = p.parse_args()
    g = gemm_rates()
    print(f"matrix products (8000x3072 @ 3072x1024): fp32 {g['fp32']:.0f}, bf16 {g['bf16']:.0f}, "
          f"int8 dynamic {g['int8_dynamic']:.0f} GFLOP/s (int8 {g['int8_dynamic'] / g['fp32']:.1f}x fp32, "
          f"bf16 {g['bf16'] / g['fp32']:.1f}x fp32)")
    d = dropout_masks()
    print(f"dropout masks, 21M elements: torch.bernoulli {d['bernoulli_ms']:.0f} ms, byte masks "
          f"{d['byte_mask_ms']:.0f} ms ({d['bernoulli_ms'] / d['byte_mask_ms']:.1f}x cheaper)")
    t = training_step(compile_=a.compile)
    print(f"fp32 training step, 243 frames, batch 1024, fast path: {t['eager_samples_per_s']:.0f} samples/s; "
          f"{100 * t['matmul_share']:.0f}% of the time in matrix products at {t['matmul_gflops']:.0f} GFLOP/s, "
          f"the rest element-wise")
    if a.compile:
        print(f"torch.compile: {t['compiled_samples_per_s']:.0f} samples/s against eager "
              f"{t['eager_samples_per_s']:.0f}")


if __name__ == "__main__":
    main()
