"""Readers for other tools' 2D keypoint files; each returns one person's :class:`KeypointSequence`.

Formats: COCO keypoint JSON (dataset files and detection results), OpenPose per-frame JSON
(BODY_25 or COCO-18, converted to COCO-17), MMPose predictions (``MMPoseInferencer``) and
legacy VideoPose3D "custom" ``.npz`` files, which hold pickles and are read only with
``allow_pickle=True``. :func:`load_keypoints` recognises the format by itself.

Where frames hold several people, detections are linked into tracks
(:func:`~poselift.detect.track.build_tracks`) and the ``person``-th track ranked by total
keypoint score is returned (0, the default, is the most visible person).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np

from ..data.filetype import check_input_file, describe, read_head, refuse_lfs_pointer
from ..data.formats import load_json
from ..errors import PoseliftError
from ..skeleton import get_skeleton
from .keypoints import NO_PERSON, KeypointSequence
from .track import Detection, Track, build_tracks


# OpenPose joint index of each COCO-17 joint (nose, l_eye, r_eye, l_ear, r_ear, l_shoulder, ...).
BODY25_TO_COCO17 = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
COCO18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
_OPENPOSE_LAYOUTS = {25: ("BODY_25", BODY25_TO_COCO17), 18: ("COCO-18", COCO18_TO_COCO17)}

_VIDEOPOSE3D_LAYOUTS = {"coco": "coco17", "h36m": "h36m17"}
_EXPECTED = ("expected COCO keypoint JSON, an OpenPose *_keypoints.json (or a folder of them), MMPose "
             "predictions or a VideoPose3D .npz")
_UNRECOGNISED = f"not a recognised keypoint file ({_EXPECTED})"


# ------------------------------------------------------------------------------- dispatcher


def load_keypoints(path, *, allow_pickle: bool = False, person: int | None = None,
                   layout: str | None = None) -> KeypointSequence:
    """Read a 2D keypoint file of any supported format, recognised from the path and content.

    A folder is read as OpenPose output, a zip archive (``.npz``) as VideoPose3D, anything
    else as JSON: COCO (``annotations`` or a list of results with ``image_id``), OpenPose
    (``people``) or MMPose (``instances``, or a list of ``keypoints``/``keypoint_scores``).
    ``person`` picks the k-th most visible person (default 0); ``layout`` names the
    registered skeleton of the file's joints where the format does not fix it.
    """
    path = Path(path)
    _check_person(person)
    if _is_dir(path):
        return load_openpose(path, person=person, layout=layout)
    check_input_file(path, "a keypoint file (JSON, .npz, or an OpenPose folder)")
    head = read_head(path)
    refuse_lfs_pointer(head, path)
    if head.startswith(b"PK\x03\x04") or path.suffix.lower() == ".npz":
        if person:
            raise PoseliftError(f"VideoPose3D files hold one person per video; there is no person {person}", path)
        return load_videopose3d_npz(path, allow_pickle=allow_pickle, layout=layout)
    what = describe(head)
    if what is not None and what != "UTF-16 text":
        hint = " (videos go in with a video file suffix, e.g. .mp4)" if "video" in what else ""
        raise PoseliftError(f"is {what}, not a keypoint file{hint}; {_EXPECTED}", path)
    data = load_json(path)
    if isinstance(data, list) and not data:
        raise PoseliftError(f"{NO_PERSON} (empty list)", path)
    first = data[0] if isinstance(data, list) else data
    if (isinstance(data, dict) and "annotations" in data) or (isinstance(first, dict) and "image_id" in first):
        return _coco(data, path, person, layout)
    if isinstance(data, dict) and "people" in data:
        return _openpose([(path, data)], path, person, layout)
    if isinstance(data, list) and isinstance(first, dict) and ("instances" in first or "keypoints" in first):
        return _mmpose(data, path, person, layout)
    raise PoseliftError(f"{_UNRECOGNISED}; this JSON holds {_json_kind(data)}", path)


def _json_kind(data) -> str:
    """What a JSON document holds, in words."""
    if isinstance(data, dict):
        keys = ", ".join(repr(k)[:30] for k in list(data)[:5])
        return f"an object with keys {keys}{', ...' if len(data) > 5 else ''}" if data else "an empty object"
    if isinstance(data, list):
        kinds = sorted({_json_kind(v).split(" ")[-1] + "s" if not isinstance(v, (dict, list)) else
                        "objects" if isinstance(v, dict) else "lists" for v in data[:50]})
        return f"a list of {len(data)} item{'s' if len(data) != 1 else ''} ({', '.join(kinds)})"
    if isinstance(data, bool):
        return "a boolean"
    if isinstance(data, (int, float)):
        return "a number"
    if isinstance(data, str):
        return "a string"
    return "null"


# ------------------------------------------------------------------------------- COCO


def load_coco_json(path, *, person: int | None = None, layout: str | None = None) -> KeypointSequence:
    """Read COCO keypoints: a dataset file (``images`` + ``annotations``) or a results list.

    Frames are the images sorted by id (dataset: every listed image, so images without
    people become missing frames; results: the ids that occur). In dataset files v = 0
    marks a missing joint and present joints score the annotation's ``score`` (default 1);
    in results the third value is the joint's confidence and (0, 0, 0) marks a missing joint.
    """
    path = Path(path)
    _check_person(person)
    return _coco(load_json(path), path, person, layout)


def _coco(data, path: Path, person, layout) -> KeypointSequence:
    name = layout or "coco17"
    num_joints = _skeleton(name, path).num_joints
    results = isinstance(data, list)
    if results:
        annotations, images = data, []
    elif isinstance(data, dict):
        annotations, images = data.get("annotations"), data.get("images", [])
        if not isinstance(annotations, list) or not isinstance(images, list):
            raise PoseliftError("COCO 'annotations' and 'images' must be lists", path)
    else:
        raise PoseliftError(_UNRECOGNISED, path)

    people: dict = {}
    sizes = set()
    for i, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image:
            raise PoseliftError(f"images[{i}] is not an object with an 'id'", path)
        people.setdefault(_image_id(image["id"], f"images[{i}]", path), [])
        w, h = image.get("width"), image.get("height")
        if isinstance(w, int) and isinstance(h, int) and not isinstance(w, bool) and w > 0 and h > 0:
            sizes.add((w, h))
    for i, ann in enumerate(annotations):
        where = f"annotations[{i}]" if not results else f"result {i}"
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise PoseliftError(f"{where} is not an object with an 'image_id'", path)
        dets = people.setdefault(_image_id(ann["image_id"], where, path), [])
        if "keypoints" not in ann or ann.get("iscrowd"):
            continue
        values = _floats(ann["keypoints"], where, path).ravel()
        if len(values) != 3 * num_joints:
            raise PoseliftError(f"{where}: {len(values)} keypoint values, expected {3 * num_joints} "
                                f"(3 for each of the {num_joints} joints of {name})", path)
        xyv = values.reshape(num_joints, 3)
        if results:
            missing = (xyv == 0).all(-1)
            scores = xyv[:, 2]
        else:
            missing = ~(xyv[:, 2] > 0)
            score = ann.get("score", 1.0)
            if not isinstance(score, (int, float)) or isinstance(score, bool):
                raise PoseliftError(f"{where}: 'score' must be a number", path)
            scores = np.full(num_joints, float(score))
        det = _detection(xyv[:, :2], scores, missing)
        if det is not None:
            dets.append(det)

    ids = sorted(people, key=lambda k: (isinstance(k, str), k))
    notes = [f"COCO keypoint {'results' if results else 'dataset'}: {len(ids)} images as frames, by image id"]
    width = height = None
    if len(sizes) == 1:
        width, height = sizes.pop()
    elif sizes:
        notes.append("images differ in size; width and height left unset")
    return _sequence([people[k] for k in ids], path, person, name, notes, width, height)


def _image_id(value, where: str, path: Path):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PoseliftError(f"{where}: image id must be a number or a string, got {value!r:.40}", path)
    return value


# ------------------------------------------------------------------------------- OpenPose


def load_openpose(path, *, person: int | None = None, layout: str | None = None) -> KeypointSequence:
    """Read OpenPose JSON: a folder of ``*_keypoints.json`` files (one per frame) or one file.

    Files are ordered by the frame number before ``_keypoints.json`` (``<name>_<frame>_keypoints.json``,
    as OpenPose writes them), the first file being frame 0; numbers missing between them are
    frames without a file, kept as missing frames so that the timing stays that of the video.
    A file without a number among numbered ones, two files of one frame number, or the files
    of several videos in one folder are refused. Body keypoints (``pose_keypoints_2d``,
    BODY_25 or COCO-18) are converted to COCO-17; joints at (0, 0) with confidence 0 are
    missing, and a frame without people is a missing frame.
    """
    path = Path(path)
    _check_person(person)
    if _is_dir(path):
        entries, note = _openpose_frames(path)
        return _openpose([(f, None if f is None else load_json(f)) for f in entries], path, person, layout, note)
    return _openpose([(path, load_json(path))], path, person, layout)


#: A numbered sequence (OpenPose frame files, MMPose frame ids) whose numbers span more than
#: this many frames is refused where fewer than a tenth of them are present: the numbers are
#: then not frame numbers of one video, and keeping the gaps would allocate every frame.
MAX_SPAN = 100_000


def _openpose_frames(folder: Path) -> tuple[list[Path | None], str]:
    """The frame files of an OpenPose folder, in frame order, None where a number is missing;
    and a note on the numbering."""
    try:
        files = sorted(f for f in folder.glob("*_keypoints.json"))
    except OSError as e:
        raise PoseliftError(f"cannot list the folder ({e.strerror or e})", folder) from None
    if not files:
        raise PoseliftError("no OpenPose *_keypoints.json files in this folder", folder)
    if len(files) == 1:
        return files, "1 file"
    numbered: dict[int, Path] = {}
    prefixes: dict[str, Path] = {}
    for f in files:
        m = re.search(r"(\d+)_keypoints\.json$", f.name)
        if m is None:
            raise PoseliftError("has no frame number before _keypoints.json, unlike the other files of its folder "
                                "(OpenPose names them <name>_<frame>_keypoints.json); move it out", f)
        n = int(m.group(1))
        if n in numbered:
            raise PoseliftError(f"frame {n} has two files, {numbered[n].name} and {f.name} (keep one video's "
                                "frames per folder)", folder)
        numbered[n] = f
        prefixes.setdefault(f.name[:m.start(1)], f)
    if len(prefixes) > 1:
        a, b = list(prefixes.values())[:2]
        raise PoseliftError(f"holds the frames of more than one video ({a.name}, {b.name}, ...): keep one video's "
                            "frames per folder", folder)
    first, last = min(numbered), max(numbered)
    span = last - first + 1
    _check_span(span, len(numbered), folder, f"frame numbers run from {first} to {last}")
    note = f"files numbered {first}-{last}"
    if span > len(numbered):
        note += f", {span - len(numbered)} numbers without a file kept as missing frames"
    return [numbered.get(first + i) for i in range(span)], note


def _check_span(span: int, count: int, path: Path, what: str) -> None:
    if span > MAX_SPAN and span > 10 * count:
        raise PoseliftError(f"{what} but only {count} frames are given: these are not one video's frame numbers",
                            path)


def _openpose(frames_json: list, path: Path, person, layout, numbering: str = "") -> KeypointSequence:
    if layout not in (None, "coco17"):
        raise PoseliftError(f"OpenPose keypoints are converted to coco17; layout {layout!r} is not possible", path)
    frames, found = [], set()
    for file, data in frames_json:
        if file is None:  # no file for this frame number
            frames.append([])
            continue
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise PoseliftError("not an OpenPose keypoint file (no 'people' list)", file)
        dets = []
        for i, p in enumerate(data["people"]):
            values = p.get("pose_keypoints_2d", []) if isinstance(p, dict) else None
            if values is None:
                raise PoseliftError(f"people[{i}] is not an object", file)
            values = _floats(values, f"people[{i}]", file).ravel()
            if len(values) == 0:
                continue  # face or hand keypoints only
            if len(values) % 3 or len(values) // 3 not in _OPENPOSE_LAYOUTS:
                raise PoseliftError(f"people[{i}]: pose_keypoints_2d has {len(values)} values, expected "
                                    "75 (BODY_25) or 54 (COCO-18)", file)
            layout_name, to_coco = _OPENPOSE_LAYOUTS[len(values) // 3]
            found.add(layout_name)
            xyc = values.reshape(-1, 3)[list(to_coco)]
            det = _detection(xyc[:, :2], xyc[:, 2], (xyc == 0).all(-1))
            if det is not None:
                dets.append(det)
        frames.append(dets)
    numbering = f" ({numbering})" if numbering else ""
    notes = [f"OpenPose {' and '.join(sorted(found)) or 'JSON'}: {len(frames)} frames{numbering}, converted to coco17"]
    return _sequence(frames, path, person, "coco17", notes)


# ------------------------------------------------------------------------------- MMPose


def load_mmpose_json(path, *, person: int | None = None, layout: str | None = None) -> KeypointSequence:
    """Read MMPose predictions: ``[{"frame_id", "instances": [...]}, ...]`` (video, ordered by
    ``frame_id``) or a single image's ``[{"keypoints", "keypoint_scores", ...}, ...]``.

    17 keypoints are taken as COCO-17 unless ``layout`` says otherwise.
    """
    path = Path(path)
    _check_person(person)
    return _mmpose(load_json(path), path, person, layout)


def _mmpose(data, path: Path, person, layout) -> KeypointSequence:
    name = layout or "coco17"
    num_joints = _skeleton(name, path).num_joints
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise PoseliftError("not MMPose predictions (expected a non-empty list of objects)", path)
    if "instances" in data[0]:
        if not all(isinstance(d.get("instances"), list) for d in data):
            raise PoseliftError("not MMPose predictions: every frame needs an 'instances' list", path)
        instances = [(f"frame {i}", d["instances"]) for i, d in enumerate(data)]
        slots = _frame_ids([d.get("frame_id") for d in data], path)
        if slots is not None:  # in frame_id order, frame ids missing between them kept as frames without people
            by_slot = dict(zip(slots, instances))
            instances = [by_slot.get(i, (f"frame_id {i}", [])) for i in range(max(slots) + 1)]
    else:
        instances = [("image", data)]
    frames = []
    for where, people in instances:
        dets = []
        for i, inst in enumerate(people):
            w = f"{where}, instance {i}"
            if not isinstance(inst, dict) or "keypoints" not in inst:
                raise PoseliftError(f"{w}: not an object with 'keypoints'", path)
            xy = _floats(inst["keypoints"], w, path)
            if xy.shape != (num_joints, 2):
                raise PoseliftError(f"{w}: keypoints have shape {xy.shape}, expected ({num_joints}, 2) for {name}",
                                    path)
            scores = _floats(inst.get("keypoint_scores", np.ones(num_joints)), w, path)
            if scores.shape != (num_joints,):
                raise PoseliftError(f"{w}: {scores.size} keypoint_scores for {num_joints} keypoints", path)
            det = _detection(xy, scores, np.zeros(num_joints, bool))
            if det is not None:
                dets.append(det)
        frames.append(dets)
    notes = [f"MMPose predictions: {len(frames)} frame{'s' if len(frames) != 1 else ''}"]
    return _sequence(frames, path, person, name, notes)


def _frame_ids(ids: list, path: Path) -> list[int] | None:
    """Each frame's index in the sequence from its MMPose ``frame_id`` (id - the first id), or
    None when no frame has one (file order). Ids must be whole numbers >= 0, each once."""
    if all(i is None for i in ids):
        return None
    seen: dict[int, int] = {}
    for k, i in enumerate(ids):
        if isinstance(i, float) and i.is_integer():
            i = int(i)
        if i is None:
            raise PoseliftError(f"frame {k} has no frame_id, unlike the others", path)
        if isinstance(i, bool) or not isinstance(i, int):
            raise PoseliftError(f"frame {k}: frame_id must be a whole number, got {i!r:.40}", path)
        if i < 0:
            raise PoseliftError(f"frame {k}: frame_id must be 0 or more, got {i}", path)
        if i in seen:
            raise PoseliftError(f"frame_id {i} appears twice (frames {seen[i]} and {k})", path)
        seen[i] = k
    first, last = min(seen), max(seen)
    _check_span(last - first + 1, len(seen), path, f"frame ids run from {first} to {last}")
    return [i - first for i in seen]


# ------------------------------------------------------------------------------- VideoPose3D


def load_videopose3d_npz(path, *, allow_pickle: bool = False, layout: str | None = None,
                         video: str | None = None) -> KeypointSequence:
    """Read a VideoPose3D "custom" 2D file (``positions_2d`` and ``metadata``, both pickled).

    Refused unless ``allow_pickle=True``, since unpickling can run arbitrary code; when
    allowed, a warning says pickled data was loaded. ``video`` picks one of the videos in
    the file (default: the first). Every finite keypoint scores 1.

    A plain ``.npz`` (no pickles: any numeric dtype, float16 and int8 included) whose
    ``positions_2d`` is one (frames, joints, 2) array is read as it is, with ``scores``
    (frames, joints) where the file has them; ``layout`` names its joints (default coco17).
    """
    from ..data.formats import load_pickled_npz, npz_dtypes

    path = Path(path)
    check_input_file(path, "an .npz file")
    plain = npz_dtypes(path).get("positions_2d")
    if plain is not None and not plain.hasobject:
        return _plain_npz(path, layout)
    d = load_pickled_npz(path, ("positions_2d", "metadata"), allow_pickle=allow_pickle)
    positions, metadata = d["positions_2d"], d["metadata"]
    if not isinstance(positions, dict) or not positions or not isinstance(metadata, dict):
        raise PoseliftError("positions_2d and metadata must be non-empty dictionaries", path)
    videos = list(positions)
    if video is None:
        video = videos[0]
    elif video not in positions:
        raise PoseliftError(f"no video {video!r} (has {', '.join(map(str, videos))})", path)
    entry = positions[video]
    if not isinstance(entry, dict) or not isinstance(entry.get("custom"), (list, tuple)) or not entry["custom"]:
        raise PoseliftError(f"video {video!r} has no 'custom' keypoint list", path)
    xy = _floats(entry["custom"][0], f"video {video!r}", path)
    if xy.ndim != 3 or xy.shape[-1] != 2:
        raise PoseliftError(f"video {video!r}: keypoints have shape {xy.shape}, expected (frames, joints, 2)", path)
    if len(xy) == 0:
        raise PoseliftError(NO_PERSON, path)

    name = layout
    if name is None:
        given = metadata.get("layout_name")
        name = _VIDEOPOSE3D_LAYOUTS.get(given, given) if isinstance(given, str) else None
        if name is None:
            raise PoseliftError(f"metadata has no usable layout_name ({given!r}); give the layout explicitly", path)
    _skeleton(name, path)
    notes = [f"VideoPose3D custom file: video {video!r}, {len(xy)} frames"]
    if len(videos) > 1:
        notes.append(f"file holds {len(videos)} videos; read {video!r}")
    size = metadata.get("video_metadata", {})
    size = size.get(video, {}) if isinstance(size, dict) else {}
    size = size if isinstance(size, dict) else {}
    width, height = (v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None
                     for v in (size.get("w"), size.get("h")))
    finite = np.isfinite(xy).all(-1)
    keypoints = np.where(finite[..., None], xy, np.nan)
    return KeypointSequence(keypoints, finite.astype(np.float32), layout=name, width=width, height=height,
                            source=str(path), notes=notes)


def _plain_npz(path: Path, layout: str | None) -> KeypointSequence:
    from ..data.formats import load_npz

    d = load_npz(path, required=("positions_2d",), select=lambda k: k == "scores")
    xy = d["positions_2d"]
    if xy.dtype.kind not in "fiu":
        raise PoseliftError(f"positions_2d holds {xy.dtype} values, expected numbers", path)
    if xy.ndim != 3 or xy.shape[-1] != 2:
        raise PoseliftError(f"positions_2d has shape {xy.shape}, expected (frames, joints, 2)", path)
    if len(xy) == 0:
        raise PoseliftError(NO_PERSON, path)
    name = layout or "coco17"
    num_joints = _skeleton(name, path).num_joints
    if xy.shape[1] != num_joints:
        raise PoseliftError(f"positions_2d has {xy.shape[1]} joints, expected {num_joints} for {name}", path)
    xy = xy.astype(np.float64)
    scores = d.get("scores")
    if scores is None:
        scores = np.ones(xy.shape[:2])
    elif scores.dtype.kind not in "fiu" or scores.shape != xy.shape[:2]:
        raise PoseliftError(f"scores has shape {scores.shape} ({scores.dtype}), expected {xy.shape[:2]} numbers", path)
    finite = np.isfinite(xy).all(-1)
    scores = np.clip(np.nan_to_num(scores.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    if not finite.any():
        raise PoseliftError(NO_PERSON, path)
    return KeypointSequence(np.where(finite[..., None], xy, np.nan), np.where(finite, scores, 0.0), layout=name,
                            source=str(path), notes=[f"plain .npz: positions_2d of {len(xy)} frames "
                                                     f"({d['positions_2d'].dtype})"])


# ------------------------------------------------------------------------------- helpers


def _check_person(person) -> None:
    if person is not None and (isinstance(person, bool) or not isinstance(person, int) or person < 0):
        raise PoseliftError(f"person must be a whole number >= 0, got {person!r}")


def _is_dir(path: Path) -> bool:
    """Whether ``path`` is a folder; False where it cannot be looked at (the file check says why)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _skeleton(name, path: Path):
    try:
        return get_skeleton(name)
    except PoseliftError as e:
        raise PoseliftError(e.message, path) from None


def _floats(value, where: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise PoseliftError(f"{where}: keypoints and scores must be arrays of numbers", path) from None


def _detection(xy: np.ndarray, scores: np.ndarray, missing: np.ndarray) -> Detection | None:
    """Keypoints NaN and scores 0 where missing or not finite; None if nothing is left."""
    missing = missing | ~np.isfinite(xy).all(-1)
    if missing.all():
        return None
    scores = np.clip(np.nan_to_num(scores, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return (np.where(missing[:, None], np.nan, xy).astype(np.float32),
            np.where(missing, 0.0, scores).astype(np.float32))


def _sequence(frames: list[list[Detection]], path: Path, person, layout: str, notes: list[str],
              width: int | None = None, height: int | None = None) -> KeypointSequence:
    """Pick one person from per-frame detections and wrap it as a KeypointSequence."""
    if not any(frames):
        raise PoseliftError(NO_PERSON, path)
    k = person or 0
    if max(len(dets) for dets in frames) == 1:  # never two people at once: nothing to associate
        num_joints = len(next(dets for dets in frames if dets)[0][0])
        track = Track(np.full((len(frames), num_joints, 2), np.nan, np.float32),
                      np.zeros((len(frames), num_joints), np.float32))
        for t, dets in enumerate(frames):
            if dets:
                track.keypoints[t], track.scores[t] = dets[0]
        tracks = [track]
    else:
        skeleton = get_skeleton(layout)
        hips = [skeleton.joint_names.index(j) for j in ("l_hip", "r_hip") if j in skeleton.joint_names]
        tracks = build_tracks(frames, hip_joints=hips or None)
    if k >= len(tracks):
        raise PoseliftError(f"person {k} asked for, but only {len(tracks)} "
                            f"{'person is' if len(tracks) == 1 else 'people are'} in the file", path)
    if len(tracks) > 1:
        notes = [*notes, f"{len(tracks)} people tracked; using person {k} (ranked by total keypoint score)"]
    return KeypointSequence(tracks[k].keypoints, tracks[k].scores, layout=layout, width=width, height=height,
                            source=str(path), notes=notes)
