"""``poselift evaluate`` and ``poselift retrieve``: checkpoints scored on benchmark files."""

from __future__ import annotations

import sys
from pathlib import Path

from ..checks import Limit, json_safe
from ..errors import PoseliftError
from .flags import COUNT, THREADS, HelpFormatter


def cmd_evaluate(a) -> int:
    from ..data.formats import save_json
    from ..evaluate import evaluate_checkpoint, format_report
    from ..transaction import refuse_input

    refuse_input(a.json, [a.checkpoint, a.pose_checkpoint, a.dataset])
    if a.json and Path(a.json).exists() and not a.overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", a.json)
    if a.checkpoint == "default":
        from ..infer import default_checkpoint

        # the benchmark files hold Human3.6M-17 2D; COCO-17 2D is derived from their 3D
        a.checkpoint = str(default_checkpoint(a.layout))
    pose = a.pose_checkpoint
    if pose == "default":
        from ..infer import default_checkpoint

        pose = str(default_checkpoint(a.layout))
    from ..data.protocols import split_list

    res = evaluate_checkpoint(a.checkpoint, a.bench, a.input, flip_test=not a.no_test_flip,
                              progress=not a.quiet, threads=a.threads, pose_checkpoint=pose, data=a.data,
                              dataset=a.dataset, subjects=split_list(a.subjects) or None,
                              actions=split_list(a.actions) or None, precision=a.precision,
                              map_joints=a.map_joints, device=a.device)
    where = a.bench if a.data == "cmu" else a.dataset
    print(format_report(res, title=f"{a.checkpoint} on {where}, input {a.input} (mm)",
                        by_description=a.by_description))
    if a.json:
        save_json(a.json, json_safe(res))  # NaN / inf (no frames, a diverged model): null
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


def retrieval_embedder(checkpoint: str):
    """(embed function for a normalised 2D clip, its input layout, name); ``keypoints`` = the raw-2D floor."""
    from ..retrieval import embed_sequence, keypoint_embedding

    if checkpoint == "keypoints":
        return keypoint_embedding, None, "normalised 2D keypoints"
    from ..predict import load_model

    model, meta = load_model(checkpoint)
    if not hasattr(model, "embed"):
        raise PoseliftError("not a pose embedder (train one with poselift train --multiview --embed-dim N)",
                            checkpoint)
    return (lambda x: embed_sequence(model, x)), meta.get("skeleton_in", "h36m17"), str(checkpoint)


def cmd_retrieve(a) -> int:
    from ..data.formats import save_json
    from ..retrieval import bench_gallery, retrieval_scores, same_instant_hit_rate, video_inputs
    from ..transaction import refuse_input

    refuse_input(a.json, [a.checkpoint, *a.videos])
    if a.json and Path(a.json).exists() and not a.overwrite:
        raise PoseliftError("exists already (use --overwrite to replace it)", a.json)
    if not a.bench and not a.videos:
        raise PoseliftError("give a benchmark folder (--bench DIR) and/or synchronised videos (--videos A B ...)")
    embed, layout, name = retrieval_embedder(a.checkpoint)
    layout = layout or a.layout
    result = {"checkpoint": name, "input": a.input, "layout": layout}
    if a.bench:
        from ..data.cmu import load_bench_dir

        gallery = bench_gallery(load_bench_dir(a.bench), embed, a.input, progress=not a.quiet, layout=layout)
        r = retrieval_scores(gallery, query_stride=a.query_stride)
        result["bench"] = r
        print(f"{name} on {a.bench}, input {a.input}: queries from one camera, gallery the others")
        print(f"{'query camera':>13}{'Hit@1':>8}{'Hit@10':>8}{'Hit@20':>8}{'top-1 P-MPJPE mm':>18}")
        for c, v in list(r["per_camera"].items()) + [("mean", r)]:
            print(f"{c:>13}{v['hit@1']:>8.1f}{v['hit@10']:>8.1f}{v['hit@20']:>8.1f}{v['top1_p_mpjpe']:>18.1f}")
    if a.videos:
        if len(a.videos) < 2:
            raise PoseliftError("give at least two synchronised videos")
        views = [embed(video_inputs(v, layout)) for v in a.videos]
        r = same_instant_hit_rate(views, a.tolerance)
        result["videos"] = dict(r, files=[str(v) for v in a.videos])
        print(f"same instant (±{a.tolerance} frames) across {len(a.videos)} views: Hit@1 {r['hit@1']:.1f}% "
              f"(per query view {', '.join(f'{v:.1f}' for v in r['per_view'].values())})")
    if a.json:
        save_json(a.json, json_safe(result))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


def add_evaluate_parsers(sub) -> None:
    s = sub.add_parser("evaluate", formatter_class=HelpFormatter, help="evaluate a checkpoint on benchmark files")
    s.add_argument("--checkpoint", required=True,
                   help="model file to evaluate ('default': the bundled one for --layout)")
    s.add_argument("--data", choices=["cmu", "h36m", "humaneva", "3dhp"], default="cmu",
                   help="dataset (default cmu: give --bench; others: give --dataset)")
    s.add_argument("--bench", help="cmu: folder of bench_*.npz files")
    s.add_argument("--dataset", help="h36m/humaneva/3dhp: the prepared file (poselift prepare ...)")
    s.add_argument("--input", "-k", "--keypoints", dest="input", default="gt",
                   help="2D source: gt or det (cmu), gt, cpn_ft_h36m_dbb, ... (prepared datasets)")
    s.add_argument("--subjects", help="evaluate these subjects, comma-separated (default: the protocol's test set)")
    s.add_argument("--actions", help="only these actions, comma-separated (default: all; HumanEva: Walk,Jog,Box)")
    s.add_argument("--json", help="write the full result here")
    s.add_argument("--no-test-flip", action="store_true",
                   help="no test-time flip augmentation (averaging the prediction of the mirrored input)")
    s.add_argument("--precision", choices=["fp32", "bf16", "reference"], default="fp32",
                   help="fp32: batch norm folded (default); bf16: folded, in bfloat16; reference: the plain model")
    s.add_argument("--by-description", action="store_true", help="also print the per-description table")
    s.add_argument("--map-joints", action="store_true",
                   help="score a model of another joint layout (e.g. a Human3.6M-17 model on HumanEva-I, or on "
                        "16-joint Stacked-Hourglass 2D): 2D mapped to the model's input, the joints both share "
                        "scored (a cross-dataset figure; mappings in docs/datasets.md)")
    s.add_argument("--layout", choices=["h36m17", "coco17"], default="h36m17",
                   help="with --checkpoint default: which bundled model (coco17 inputs are derived from the 3D)")
    s.add_argument("--pose-checkpoint",
                   help="for a trajectory model: the pose model to combine it with ('default': the bundled one "
                        "for --layout), adding absolute errors and the reprojection baseline")
    s.add_argument("--threads", type=THREADS.flag("--threads"), default=0, help="torch threads (0: torch's default)")
    s.add_argument("--device", default="cpu", help="where the model runs: cpu, cuda, cuda:N or auto (CUDA if any)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("retrieve", formatter_class=HelpFormatter, help="view-invariant pose retrieval with a pose embedder")
    s.add_argument("--checkpoint", required=True, help="a pose embedder, or 'keypoints' for raw normalised 2D")
    s.add_argument("--bench", help="cmu: folder of bench_*.npz (queries from one camera, gallery the others)")
    s.add_argument("--input", "-k", default="gt", help="2D source of the benchmark (gt, det)")
    s.add_argument("--videos", nargs="*", default=(), help="synchronised videos of one person: same-instant Hit@1")
    s.add_argument("--tolerance", type=COUNT.flag("--tolerance"), default=2,
                   help="frames within which a video retrieval is the same instant")
    s.add_argument("--layout", choices=["h36m17", "coco17"], default="h36m17",
                   help="2D layout for 'keypoints' (a model uses its own)")
    s.add_argument("--query-stride", type=Limit(int, 1, 10**6).flag("--query-stride"), default=1,
                   help="use every n-th frame as a query")
    s.add_argument("--json", help="write the full result here")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_retrieve)
