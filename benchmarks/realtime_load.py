"""Realtime lifting latency per frame, on an idle machine and while other processes keep every core busy.

    python benchmarks/realtime_load.py                      # under 2 minutes on 2 cores
    python benchmarks/realtime_load.py --json load.json     # also every figure as JSON
    python benchmarks/realtime_load.py --load matmul        # numpy matrix products as the load

What is timed is :meth:`poselift.realtime.RealtimeLifter.push`, one frame at a time, as
``poselift infer --realtime`` times it (its ``lift_ms``): the causal gap filler, the pose
stream and the root trajectory stream (flip averaging: batch 2 each), the unflip and the
root placement. The frames are the bundled demo sequence (``assets/demo_sequence.npz``, CMU
02_05), its 3D projected to COCO-17 pixels, so the default path (COCO-17 lifter and the
trajectory model) runs; ``--layout h36m17`` uses its H3.6M-17 keypoints as they are (no
trajectory model: root by reprojection).

Each torch thread setting (``--threads``, default ``1,2,default``; ``default`` is torch's own
count, which is the core count) gets its own lifter; the first ``--warmup`` frames of each
are not counted. The frames are fed two ways (``--feeds``): ``paced``, at ``--fps`` (30) as
a camera delivers them, the lifter idle between frames; and ``flat-out``, back to back, as
``infer --realtime`` on a file does, where the lifter is itself one more busy thread and
on a loaded machine gets only its fair share of a core whatever its thread setting. The
timed frames are taken in ``--rounds`` rounds, the settings in turn, so that a drift in the
machine's load hits every setting alike.

Under load, ``--procs`` processes (default: one per core) spin in a busy loop (pure Python,
or numpy matrix products with ``--load matmul``) from before the first timed frame until
after the last. "idle" means no load from this script. For each condition the table gives
the CPU (in cores) that the load, this process and everything else on the machine used
(``/proc/stat``): on a shared machine, "others" shows whether someone else's work skewed it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing as mp
import os
import platform
import sys
import time

import numpy as np


# ----------------------------------------------------------------------------- the load
def _spin(kind: str, ready, stop, results) -> None:
    """Keep one core busy until ``stop`` is set; report the CPU seconds used and the wall time."""
    t0, c0 = time.perf_counter(), time.process_time()
    ready.release()
    if kind == "matmul":
        a = np.random.default_rng(os.getpid()).standard_normal((192, 192))
        while not stop.is_set():
            for _ in range(20):
                a = np.tanh(a @ a)
    else:
        x = 0
        while not stop.is_set():
            for i in range(20000):
                x = (x * 31 + i) % 1000003
    results.put((time.process_time() - c0, time.perf_counter() - t0))


class Load:
    """``procs`` busy processes while the ``with`` block runs."""

    def __init__(self, procs: int, kind: str):
        self.procs, self.kind = procs, kind
        self.ctx = mp.get_context("spawn")  # the children import nothing but numpy
        self.cpu_share = None

    def __enter__(self):
        self.ready = self.ctx.Semaphore(0)
        self.stop = self.ctx.Event()
        self.results = self.ctx.Queue()
        self.workers = [self.ctx.Process(target=_spin, args=(self.kind, self.ready, self.stop, self.results),
                                         daemon=True) for _ in range(self.procs)]
        for w in self.workers:
            w.start()
        for _ in self.workers:
            if not self.ready.acquire(timeout=60):
                raise RuntimeError("the load processes did not start")
        time.sleep(1.0)  # every worker spinning, the scheduler settled
        return self

    def __exit__(self, *exc):
        self.stop.set()
        got = [self.results.get(timeout=30) for _ in self.workers]
        for w in self.workers:
            w.join(timeout=30)
        cpu = sum(c for c, _ in got)
        wall = max(w for _, w in got)
        self.cpu_share = cpu / wall  # cores' worth of CPU the load used
        return False


# ----------------------------------------------------------------------------- the frames
def sample_frames(layout: str):
    """(keypoints (T, 17, 2) pixels, scores (T, 17), width, height) of the bundled demo sequence."""
    from poselift.demo import demo_sequence_path
    from poselift.skeleton import coco17_from_h36m17

    d = np.load(demo_sequence_path(), allow_pickle=False)
    w, h = (int(v) for v in d["res"])
    if layout == "h36m17":
        return d["keypoints"].astype(np.float64), d["scores"].astype(np.float64), w, h
    X = coco17_from_h36m17(d["positions_3d_camera"].astype(np.float64))  # camera frame, metres
    f, c = float(d["focal"]), np.array([w / 2, h / 2])
    kp = f * X[..., :2] / X[..., 2:3] + c
    return kp, np.ones(kp.shape[:2]), w, h


# ----------------------------------------------------------------------------- the measurement
def _setting(name: str) -> int | None:
    return None if name == "default" else int(name)


def _busy_jiffies() -> int | None:
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return sum(v) - v[3] - v[4]  # all but idle and iowait


class CpuUse:
    """Cores' worth of CPU used, while the block runs, by the whole machine and by this process."""

    def __enter__(self):
        self.t, self.own, self.all = time.perf_counter(), sum(os.times()[:2]), _busy_jiffies()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t
        self.own_cores = (sum(os.times()[:2]) - self.own) / wall
        end = _busy_jiffies()
        self.all_cores = None if end is None else (end - self.all) / os.sysconf("SC_CLK_TCK") / wall
        return False


def measure(settings, frames, warmup: int, timed: int, rounds: int, layout: str, flip: bool,
            fps: float | None, precision: str) -> dict:
    """Per-frame milliseconds of ``RealtimeLifter.push`` for each thread setting, the frames
    pushed at ``fps`` (None: back to back)."""
    import torch

    from poselift.realtime import RealtimeLifter

    kp, sc, w, h = frames
    n = len(kp)
    lifters, pos, ms = {}, {}, {}
    for name in settings:
        rt = RealtimeLifter(layout, w, h, flip=flip, threads=_setting(name), precision=precision)
        for t in range(warmup):
            rt.push(kp[t % n], sc[t % n])
        lifters[name], pos[name], ms[name] = rt, warmup, []
    before = torch.get_num_threads()
    per_round = [timed // rounds + (r < timed % rounds) for r in range(rounds)]
    period = 1 / fps if fps else 0.0
    for count in per_round:
        for name in settings:
            rt, t0 = lifters[name], pos[name]
            due = time.perf_counter()
            for t in range(t0, t0 + count):
                k, s = kp[t % n], sc[t % n]
                if period:
                    wait = due - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    due = max(due + period, time.perf_counter())
                start = time.perf_counter()
                rt.push(k, s)
                ms[name].append(1000 * (time.perf_counter() - start))
            pos[name] = t0 + count
    assert torch.get_num_threads() == before, "a lifter left torch's thread count changed"
    return {name: {"median": float(np.median(v)), "p95": float(np.percentile(v, 95)), "max": float(np.max(v)),
                   "frames": len(v)} for name, v in ms.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", default="1,2,default", help="torch thread settings, comma-separated "
                                                             "(default: torch's own count)")
    ap.add_argument("--frames", type=int, default=200, help="timed frames per row (default 200)")
    ap.add_argument("--warmup", type=int, default=30, help="frames pushed before timing (default 30)")
    ap.add_argument("--rounds", type=int, default=3, help="the timed frames in this many turns per setting")
    ap.add_argument("--procs", type=int, default=os.cpu_count(), help="load processes (default: one per core)")
    ap.add_argument("--load", choices=["python", "matmul"], default="python", help="what the load processes run")
    ap.add_argument("--conditions", default="idle,load", help="idle, load or both (default)")
    ap.add_argument("--feeds", default="paced,flat-out", help="paced (at --fps), flat-out or both (default)")
    ap.add_argument("--fps", type=float, default=30.0, help="frame rate of the paced feed (default 30)")
    ap.add_argument("--layout", choices=["coco17", "h36m17"], default="coco17")
    ap.add_argument("--no-flip", action="store_true", help="lift without flip averaging (batch 1)")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default=None,
                    help="the lifters' number format (default: RealtimeLifter's)")
    ap.add_argument("--goal-ms", type=float, default=10.0,
                    help="median under load to meet with the default setting (default 10)")
    ap.add_argument("--json", help="write every figure here")
    a = ap.parse_args(argv)

    import torch

    import poselift
    from poselift.realtime import RealtimeLifter

    settings = [s.strip() for s in a.threads.split(",") if s.strip()]
    conditions = [c.strip() for c in a.conditions.split(",") if c.strip()]
    feeds = [c.strip() for c in a.feeds.split(",") if c.strip()]
    if not conditions or any(c not in ("idle", "load") for c in conditions):
        ap.error("--conditions takes idle and/or load")
    if not feeds or any(c not in ("paced", "flat-out") for c in feeds):
        ap.error("--feeds takes paced and/or flat-out")
    if a.fps <= 0:
        ap.error("--fps must be positive")
    torch_default = torch.get_num_threads()
    default_flag = inspect.signature(RealtimeLifter).parameters["threads"].default
    precision = a.precision or inspect.signature(RealtimeLifter).parameters["precision"].default
    frames = sample_frames(a.layout)
    info = {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "torch": torch.__version__, "poselift": getattr(poselift, "__version__", "?"),
            "torch_default_threads": torch_default, "interop_threads": torch.get_num_interop_threads(),
            "realtime_default_threads": default_flag, "layout": a.layout, "flip": not a.no_flip,
            "warmup": a.warmup, "frames": a.frames, "rounds": a.rounds, "procs": a.procs, "load": a.load,
            "fps": a.fps, "precision": precision}
    results, loads = {}, {}
    t_all = time.perf_counter()

    def run_feeds():
        return {feed: measure(settings, frames, a.warmup, a.frames, a.rounds, a.layout, not a.no_flip,
                              a.fps if feed == "paced" else None, precision) for feed in feeds}

    for cond in conditions:
        loadavg = os.getloadavg()[0]
        if cond == "load":
            with Load(a.procs, a.load) as load, CpuUse() as use:
                results[cond] = run_feeds()
            load_cores = load.cpu_share
        else:
            with CpuUse() as use:
                results[cond] = run_feeds()
            load_cores = 0.0
        others = None if use.all_cores is None else max(use.all_cores - use.own_cores - load_cores, 0.0)
        loads[cond] = {"loadavg_1min_before": loadavg, "load_cores": load_cores, "own_cores": use.own_cores,
                       "machine_cores": use.all_cores, "other_cores": others}
    info["seconds"] = time.perf_counter() - t_all

    what = (f"RealtimeLifter.push, {a.layout}, {precision}, {'flip averaging' if not a.no_flip else 'no flip'}"
            f"{', trajectory model' if a.layout == 'coco17' else ', root by reprojection'}")
    print(f"realtime lifting latency, ms per frame ({what}; {a.frames} frames per row after {a.warmup} warm-up; "
          f"paced = {a.fps:g} fps, flat-out = back to back)")
    print(f"machine: {info['cores']} cores ({info['cpu']}), torch {info['torch']}, torch default threads "
          f"{torch_default}, interop threads {info['interop_threads']}; RealtimeLifter default threads={default_flag}")
    def cores(v):
        return "?" if v is None else f"{v:.2f}"

    for cond in conditions:
        u = loads[cond]
        line = f"{cond}: 1-min load average before {u['loadavg_1min_before']:.2f}; CPU used (cores of {info['cores']}):"
        if cond == "load":
            line += f" load ({a.procs} busy {a.load} processes) {cores(u['load_cores'])},"
        line += f" this process {cores(u['own_cores'])}, others {cores(u['other_cores'])}"
        print(line)
    print()
    print(f"{'condition':<10} {'feed':<9} {'threads':<12} {'median':>8} {'p95':>8} {'max':>8}")
    for cond in conditions:
        for feed in feeds:
            for name in settings:
                r = results[cond][feed][name]
                label = f"default ({torch_default})" if name == "default" else name
                print(f"{cond:<10} {feed:<9} {label:<12} {r['median']:>8.2f} {r['p95']:>8.2f} {r['max']:>8.2f}")
    goal = []
    default_name = "default" if default_flag is None else str(default_flag)
    if "load" in results and default_name in settings:
        print()
        for feed in feeds:
            med = results["load"][feed][default_name]["median"]
            goal.append({"feed": feed, "setting": default_name, "median_ms": med, "goal_ms": a.goal_ms,
                         "met": med <= a.goal_ms})
            print(f"goal, {feed}: median under load <= {a.goal_ms:g} ms with RealtimeLifter's default (threads="
                  f"{default_name}): {med:.2f} ms, {'met' if med <= a.goal_ms else 'NOT met'}")
    print(f"({info['seconds']:.0f} s)")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"info": info, "conditions": loads, "ms_per_frame": results, "goal": goal}, f, indent=1)
            f.write("\n")
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
