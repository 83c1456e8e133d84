"""``poselift prepare``: a dataset's raw files converted to poselift's safe format."""

from __future__ import annotations

import sys

from .flags import HelpFormatter


def cmd_prepare(a) -> int:
    import warnings

    from ..data.protocols import split_list
    from ..transaction import refuse_input

    refuse_input(a.out, [a.source, *a.detections, a.cameras])  # even with --overwrite
    if a.dataset == "mocap":
        from ..data.mocap import prepare_mocap

        out = prepare_mocap(a.source, a.out, subject=a.subject, overwrite=a.overwrite, progress=not a.quiet)
        print(f"wrote {out}")
        return 0
    common = dict(allow_pickle=a.allow_pickle, overwrite=a.overwrite, progress=not a.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if a.dataset == "h36m":
            from ..data.h36m import prepare_h36m

            out = prepare_h36m(a.source, a.out, detections=a.detections, cameras=a.cameras,
                               subjects=split_list(a.subjects) or None, **common)
        elif a.dataset == "humaneva":
            from ..data.humaneva import prepare_humaneva

            out = prepare_humaneva(a.source, a.out, detections=a.detections, cameras=a.cameras,
                                   subjects=split_list(a.subjects) or None, **common)
        else:
            from ..data.mpi3dhp import prepare_mpi3dhp

            out = prepare_mpi3dhp(a.source, a.out, sequences=split_list(a.subjects) or None, target=a.target,
                                  **common)
    for w in caught:
        print(f"poselift: warning: {w.message}", file=sys.stderr)
    from ..data.prepared import prepared_info

    info = prepared_info(out)
    sources = [src if info.source_layouts.get(src, info.skeleton) == info.skeleton else
               f"{src} ({info.source_layouts[src]} joints)" for src in info.sources]
    print(f"wrote {out}: {info.dataset}, subjects {', '.join(info.subjects)}, 2D sources {', '.join(sources)}")
    return 0


def add_prepare_parser(sub) -> None:
    s = sub.add_parser("prepare", formatter_class=HelpFormatter, help="convert a dataset's raw files to poselift's safe format")
    s.add_argument("dataset", choices=["mocap", "h36m", "humaneva", "3dhp"],
                   help="mocap: CMU-style motion capture (ASF/AMC, BVH) to training clips; h36m, humaneva, 3dhp: "
                        "a benchmark dataset to a prepared file")
    s.add_argument("--source", required=True,
                   help="mocap: folder of *.asf + *_*.amc, *.bvh; h36m: the release folder (S*/MyPoseFeatures/"
                        "D3_Positions/*.cdf) or data_3d_h36m.npz; humaneva: data_3d_humaneva15.npz; "
                        "3dhp: the test set folder (TS1..TS6/annot_data.mat)")
    s.add_argument("--out", required=True, help="output .npz (mocap: CMU-17 training layout; others: prepared file)")
    s.add_argument("--subject", help="mocap: subject id to record (default: from the file names)")
    s.add_argument("--detections", nargs="*", default=(),
                   help="h36m/humaneva: 2D files (data_2d_<dataset>_<source>.npz, e.g. ..._gt, ..._cpn_ft_h36m_dbb, "
                        "..._sh_pt_mpii: 16 MPII joints)")
    s.add_argument("--cameras", help="h36m/humaneva: calibration JSON (default: the bundled one)")
    s.add_argument("--subjects", help="only these subjects (3dhp: sequences TS1..TS6), comma-separated")
    s.add_argument("--target", choices=["univ_annot3", "annot3"], default="univ_annot3",
                   help="3dhp: which 3D annotation (universal skeleton scale, the usual choice, or original)")
    s.add_argument("--allow-pickle", action="store_true",
                   help="read the legacy pickled VideoPose3D npz files (trusted files only)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_prepare)
