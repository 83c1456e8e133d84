"""``poselift bench``, ``export`` and ``demo``."""

from __future__ import annotations

import sys
from pathlib import Path

from ..checks import LIMITS, Limit, json_safe
from ..errors import PoseliftError
from .flags import THREADS, HelpFormatter


def cmd_bench(a) -> int:
    from ..bench import BenchOptions, format_table, run_bench
    from ..data.formats import save_json

    if a.json and Path(a.json).exists() and not a.overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", a.json)
    opt = BenchOptions(device=a.device, train_batch=a.train_batch, repeats=a.repeats, threads=a.threads,
                       quick=a.quick)
    result = run_bench(opt, parts=a.parts.split(",") if a.parts else None, progress=not a.quiet)
    print(format_table(result))
    if a.json:
        save_json(a.json, json_safe(result), overwrite=a.overwrite)
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


def cmd_export(a) -> int:
    from ..export_onnx import export_onnx
    from ..transaction import refuse_input

    refuse_input(a.onnx, [a.checkpoint])
    out = export_onnx(a.checkpoint, a.onnx, overwrite=a.overwrite, opset=a.opset)
    print(f"wrote {out}")
    return 0


def cmd_demo(a) -> int:
    from ..demo import run_demo

    out = run_demo(a.out, overwrite=a.overwrite, source=a.source, progress=not a.quiet)
    for k, v in out.items():
        print(f"{k}: {v}")
    return 0


def add_tool_parsers(sub) -> None:
    s = sub.add_parser("bench", formatter_class=HelpFormatter, help="speed of training, inference and streaming against the straightforward path")
    s.add_argument("--json", default=None, help="also write every figure to this JSON file")
    s.add_argument("--device", default="cpu", help="cpu or cuda")
    s.add_argument("--train-batch", type=LIMITS["batch_size"].flag("--train-batch"), default=1024,
                   help="training batch (the published recipe's)")
    s.add_argument("--repeats", type=Limit(int, 1, 1000).flag("--repeats"), default=3,
                   help="timed repetitions per figure (median)")
    s.add_argument("--threads", type=THREADS.flag("--threads"), default=0, help="torch threads (0: torch's default)")
    s.add_argument("--parts", default=None,
                   help="comma-separated subset: train_27,train_243,infer_243,stream_243,data_243")
    s.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("export", formatter_class=HelpFormatter, help="export a lifter checkpoint to ONNX")
    s.add_argument("--checkpoint", default="default", help="model file (default: the bundled COCO-17 lifter)")
    s.add_argument("--onnx", required=True, help="output .onnx file")
    s.add_argument("--opset", type=Limit(int, 9, 20).flag("--opset"), default=17, help="ONNX opset (9-20)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --onnx file")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("demo", formatter_class=HelpFormatter, help="run the whole pipeline on the bundled clip (offline)")
    s.add_argument("--out", default="poselift-demo", help="output folder")
    s.add_argument("--source", choices=["video", "sequence"], default="video",
                   help="video: the bundled clip; sequence: a bundled 2D sequence with 3D ground truth (no video stack)")
    s.add_argument("--overwrite", action="store_true", help="replace the outputs in an existing --out folder")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_demo)
