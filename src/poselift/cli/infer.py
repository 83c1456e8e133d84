"""``poselift infer``: a video or keypoint file (or, live, a camera) lifted to 3D."""

from __future__ import annotations

import sys

from ..checks import MAX_FPS, MAX_IMAGE_SIDE, Limit, dumps
from ..errors import PoseliftError
from .flags import COUNT, THREADS, HelpFormatter


def cmd_infer(a) -> int:
    from ..detect.base import parse_person
    from ..infer import check_focal

    check_focal(a.focal, a.fov)  # before the (slow) detection
    if a.realtime:
        if a.device != "cpu":
            raise PoseliftError("--device goes without --realtime (the streaming lifter runs on the CPU)")
        return _infer_realtime(a)
    from ..predict import resolve_device

    resolve_device(a.device)  # before the (slow) detection
    if a.jsonl:
        raise PoseliftError("--jsonl goes with --realtime")
    if a.threads is not None:
        raise PoseliftError("--threads goes with --realtime")
    if a.out is None:
        raise PoseliftError("give an output folder: --out DIR")
    if a.max_gap is not None and a.max_gap < 0:
        raise PoseliftError(f"--max-gap is a number of frames, 0 or more, got {a.max_gap}")
    if a.person_height is not None and not 0.3 < a.person_height < 3.0:  # NaN fails too
        raise PoseliftError(f"--person-height is a standing height in metres (0.3-3), got {a.person_height:g}")
    from ..infer import infer

    person = None if a.person is None else parse_person(a.person)  # before the (slow) detection
    if a.people == "all":
        if person is not None:
            raise PoseliftError("--person picks one person; --people all lifts everyone: give one of them")
        from ..people import infer_people

        out = infer_people(a.source, a.out, checkpoint=a.checkpoint, width=a.width, height=a.height, fps=a.fps,
                           focal=a.focal, fov=a.fov, overwrite=a.overwrite, video=not a.no_video, gif=a.gif,
                           progress=not a.quiet, min_score=a.min_score, trajectory=a.trajectory,
                           rigid=not a.free_bones, fuse=not a.lift_only, max_gap=a.max_gap, trim=a.trim,
                           smooth=a.smooth, pin_feet=a.pin_feet, detector_size=not a.lift_size, device=a.device)
        report = out.pop("report")
        for k, v in out.items():
            print(f"{k}: {v}")
        print(f"keypoints: {report}", file=sys.stderr)
        return 0
    out = infer(a.source, a.out, checkpoint=a.checkpoint, allow_pickle=a.allow_pickle, person=person, layout=a.layout,
                width=a.width, height=a.height, fps=a.fps, focal=a.focal, fov=a.fov, overwrite=a.overwrite,
                video=not a.no_video, gif=a.gif, progress=not a.quiet, min_score=a.min_score,
                trajectory=a.trajectory, rigid=not a.free_bones, person_height=a.person_height,
                fuse=not a.lift_only, max_gap=a.max_gap, trim=a.trim, smooth=a.smooth, pin_feet=a.pin_feet,
                detector_size=not a.lift_size, device=a.device)
    report = out.pop("report")
    for k, v in out.items():
        print(f"{k}: {v}")
    print(f"keypoints: {report}", file=sys.stderr)
    return 0


def _infer_realtime(a) -> int:
    from ..detect.base import parse_person
    from ..realtime import run_realtime

    if a.out is None and not a.jsonl:
        raise PoseliftError("give --out DIR and/or --jsonl FILE (- for stdout) for the results")
    if a.person_height is not None:
        raise PoseliftError("--person-height needs the whole clip; it does not go with --realtime")
    if a.threads is not None and a.threads < 0:
        raise PoseliftError(f"--threads is a number of threads (0: torch's default), got {a.threads}")
    for flag, given in (("--smooth butterworth", a.smooth == "butterworth"), ("--pin-feet", a.pin_feet),
                        ("--trim", a.trim)):
        if given:
            raise PoseliftError(f"{flag} needs the whole clip; it does not go with --realtime "
                                "(--smooth one-euro does)")
    if a.max_gap is not None and a.max_gap < 0:
        raise PoseliftError(f"--max-gap is a number of frames, 0 or more, got {a.max_gap}")
    if a.people == "all":
        if a.person is not None:
            raise PoseliftError("--person picks one person; --people all lifts everyone: give one of them")
        from ..realtime_people import run_realtime_people

        recs, timing = run_realtime_people(a.source, a.out, checkpoint=a.checkpoint, width=a.width, height=a.height,
                                           fps=a.fps, focal=a.focal, fov=a.fov, trajectory=a.trajectory,
                                           min_score=a.min_score, max_gap=a.max_gap, jsonl=a.jsonl,
                                           overwrite=a.overwrite, progress=not a.quiet,
                                           threads=1 if a.threads is None else a.threads or None,
                                           precision=a.precision, smooth=a.smooth)
        outputs = next(iter(recs.values())).outputs
        for k, v in outputs.items():
            print(f"{k}: {v}", file=sys.stderr if a.jsonl == "-" else sys.stdout)
        print(dumps(timing), file=sys.stderr)
        return 0
    person = 0 if a.person is None else parse_person(a.person)
    rec, timing = run_realtime(a.source, a.out, checkpoint=a.checkpoint, allow_pickle=a.allow_pickle, person=person,
                               layout=a.layout, width=a.width, height=a.height, fps=a.fps, focal=a.focal, fov=a.fov,
                               trajectory=a.trajectory, min_score=a.min_score, max_gap=a.max_gap, jsonl=a.jsonl,
                               overwrite=a.overwrite, progress=not a.quiet,
                               threads=1 if a.threads is None else a.threads or None, precision=a.precision,
                               smooth=a.smooth)
    for k, v in rec.outputs.items():
        print(f"{k}: {v}", file=sys.stderr if a.jsonl == "-" else sys.stdout)
    print(rec.report, file=sys.stderr)
    print(dumps(timing), file=sys.stderr)
    return 0


def add_infer_parser(sub) -> None:
    s = sub.add_parser("infer", formatter_class=HelpFormatter, help="video or 2D keypoint file in; 3D motion, renders and exports out")
    g = s.add_argument_group("input")
    g.add_argument("source", help="a video, or 2D keypoints (COCO/MMPose JSON, OpenPose folder, VideoPose3D npz); "
                                  "with --realtime also a camera (0 = /dev/video0) or a stream URL")
    g.add_argument("--checkpoint", default="default", help="pose model (default: the bundled one for the input)")
    g.add_argument("--allow-pickle", action="store_true", help="read legacy pickled files (trusted files only)")
    g.add_argument("--device", default="cpu",
                   help="where the lifting models run: cpu, cuda, cuda:N or auto (CUDA if any; the 2D detector "
                        "stays on the CPU)")
    g.add_argument("--layout", choices=["coco17", "h36m17"], help="joint layout of a keypoint file (default coco17)")
    g.add_argument("--width", type=Limit(int, 1, MAX_IMAGE_SIDE, unit="pixels").flag("--width"),
                   help="image width in pixels, when the keypoint file lacks it")
    g.add_argument("--height", type=Limit(int, 1, MAX_IMAGE_SIDE, unit="pixels").flag("--height"),
                   help="image height in pixels, when the keypoint file lacks it")
    g.add_argument("--fps", type=Limit(float, 0, MAX_FPS, lo_open=True, unit="frames per second").flag("--fps"),
                   help="frame rate, when the input lacks it")

    g = s.add_argument_group("people")
    g.add_argument("--people", choices=["one", "all"], default="one",
                   help="all: every person in the video, each tracked with an id, lifted, exported "
                        "(<name>_id<k>.*) and drawn in the render and viewer")
    g.add_argument("--person", metavar="ID|X,Y,W,H",
                   help="whom to lift in a video: a tracked person's id (ids as --people all prints them: 0 is "
                        "the first person seen), or a box in pixels: the person overlapping it, from the first "
                        "frame anyone does (someone entering later: a box where they appear). Default: the most "
                        "visible person at the start, followed by the single-person tracker. Keypoint files: "
                        "the k-th most visible person")
    g.add_argument("--min-score", type=Limit(float, 0, 1).flag("--min-score"), default=0.3,
                   help="keypoints below this confidence are filled")

    g = s.add_argument_group("camera and body")
    g.add_argument("--focal", type=Limit(float, 0, 1e7, lo_open=True).flag("--focal", "must be a positive number of "
                                                                            "pixels (at most 1e7)"),
                   help="focal length in pixels (default: from the video's metadata where it has one, else a 60 "
                        "degree field of view across the long side)")
    g.add_argument("--fov", type=Limit(float, 5, 170).flag("--fov", "must be degrees across the image's long side, "
                                                                    "5-170"),
                   metavar="DEGREES", help="field of view across the image's long side, instead of --focal")
    g.add_argument("--person-height", type=Limit(float, 0.3, 3.0, lo_open=True, hi_open=True).flag(
        "--person-height", "is a standing height in metres (0.3-3)"), metavar="METRES",
                   help="the person's standing height: the 3D body (and its distance) is scaled to it")
    g.add_argument("--trajectory", choices=["auto", "model", "reprojection"], default="auto",
                   help="root placement: the bundled trajectory model, or reprojection of the lifted pose "
                        "(auto: the model where one is bundled for the input's layout)")
    g.add_argument("--lift-only", action="store_true",
                   help="do not average the lift with the detector's own 3D (BlazePose world landmarks)")
    g.add_argument("--lift-size", action="store_true",
                   help="keep the lifter's body size (its training subjects') instead of the size of the "
                        "detector's own 3D (BlazePose's, read from the image; the default where it exists)")
    g.add_argument("--free-bones", action="store_true",
                   help="keep the lift's per-frame bone lengths (default: one rigid body, each bone its median "
                        "length over the clip)")

    g = s.add_argument_group("gaps and post-processing")
    g.add_argument("--max-gap", type=COUNT.flag("--max-gap", "is a number of frames, 0 or more"), metavar="FRAMES",
                   help="longest gap (frames without a detection, or a joint missing) that is filled by "
                        "interpolation; longer ones are left out, NaN (default 10, as Sports2D)")
    g.add_argument("--smooth", choices=["none", "butterworth", "one-euro"], default="none",
                   help="smooth the 3D joints: zero-phase Butterworth (order 4, 6 Hz, as Sports2D) or the "
                        "one-euro filter (default none: the temporal lifter is smooth already)")
    g.add_argument("--pin-feet", action="store_true", help="hold each ankle still while its foot is on the floor")
    g.add_argument("--trim", action="store_true", help="drop the frames before the person is first seen and after "
                                                       "they are last seen from the outputs")

    g = s.add_argument_group("realtime")
    g.add_argument("--realtime", action="store_true",
                   help="lift each frame as it arrives (cached streaming model; exports, no renders)")
    g.add_argument("--jsonl", help="with --realtime: one JSON line per lifted frame to this file (- = stdout)")
    g.add_argument("--precision", choices=["bf16", "int8", "fp32"], default="bf16",
                   help="with --realtime: the lifting's number format (bf16: 2.7x faster than fp32; int8: a quarter "
                        "of fp32's bytes, more rounding; the output layer stays fp32)")
    g.add_argument("--threads", type=THREADS.flag("--threads"), metavar="N",
                   help="with --realtime: torch threads for the lifting (default 1: a frame is too small to share "
                        "and more threads stall on a busy machine; 0: torch's default)")

    g = s.add_argument_group("output")
    g.add_argument("--out", help="output folder (required unless --realtime --jsonl)")
    g.add_argument("--no-video", action="store_true", help="skip the mp4 render")
    g.add_argument("--gif", action="store_true", help="also write a GIF")
    g.add_argument("--overwrite", action="store_true", help="replace the outputs in an existing --out folder")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_infer)
