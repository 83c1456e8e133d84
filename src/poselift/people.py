"""Several people: everyone in a video detected, tracked, lifted, exported and rendered together.

``poselift infer VIDEO --people all`` (:func:`infer_people`): the multi-person detector and
tracker (:func:`~poselift.detect.base.detect_people`) give one 2D track per identity; each is
lifted as one person is (:func:`~poselift.infer.reconstruct`: its own gaps, body, root
trajectory); all of them are then placed in **one** floor-aligned world frame (the floor
fitted to everyone's feet), so their positions relative to each other are kept. Outputs:

* per person ``<stem>_id<k>.npz`` / ``.json`` / ``_camera.csv`` / ``_world.csv`` / ``_2d.csv``
  / ``.bvh`` / ``.html`` (the one-person exports, docs/formats.md, with ``run.person_id``);
* ``<stem>_people.json``: the index (ids, the frames each was seen in, their files);
* ``<stem>.html``: everyone in one viewer; ``<stem>_3d.mp4`` (and ``.gif``): the video with
  everyone's 2D skeleton and id beside the 3D of everyone, one colour per person.

Every file is checked before anything is written (nothing is overwritten without
``overwrite``, no input ever), and all of them are one transaction (:mod:`poselift.transaction`):
they appear together when everything has succeeded, or not at all.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .checks import dumps
from .errors import PoseliftError


def reconstruct_people(people, *, trim: bool = False, source=None, **options) -> tuple[list, list[str]]:
    """One :class:`~poselift.infer.Reconstruction` per tracked person (``person_id`` set), all in
    one world frame; with ``trim`` all cut to the frames from the first to the last in which
    anyone is lifted. ``options`` go to :func:`~poselift.infer.reconstruct`. Returns the
    reconstructions and notes on people left out (too little of them seen to lift)."""
    from .infer import reconstruct
    from .render.export import floor_transform

    recs, notes = [], []
    for seq in people:
        try:
            rec = reconstruct(seq, source=source, trim=False, **options)
        except PoseliftError as e:
            notes.append(f"id {seq.person_id} left out: {e.message}")
            continue
        recs.append(rec)
    if not recs:
        raise PoseliftError("nobody could be lifted: " + "; ".join(notes), source)
    complete = np.concatenate([r.positions_cam[np.isfinite(r.positions_cam).all((-1, -2))] for r in recs])
    R, origin = floor_transform(complete)  # one floor under everyone's feet
    present = np.stack([np.isfinite(r.positions_cam).all(-1).any(-1) for r in recs]).any(0)
    rows = np.flatnonzero(present)
    sl = slice(rows[0], rows[-1] + 1) if trim else slice(None)
    out = []
    for r in recs:
        out.append(replace(r, positions_cam=r.positions_cam[sl], keypoints=r.keypoints[sl], scores=r.scores[sl],
                           filled=r.filled[sl], filled_2d=r.filled_2d[sl], frames=r.frames[sl], world_rotation=R,
                           world_origin=origin, times=None if r.times is None else r.times[sl]))
    return out, notes


def output_paths(out_dir, stem: str, ids: list[int], video: bool, gif: bool) -> dict[str, Path]:
    """``{kind: path}`` of every file :func:`write_people_outputs` writes for these ids."""
    from .render.export import export_paths

    out_dir = Path(out_dir)
    paths = {"people": out_dir / f"{stem}_people.json", "html": out_dir / f"{stem}.html"}
    if video:
        paths["mp4"] = out_dir / f"{stem}_3d.mp4"
        if gif:
            paths["gif"] = out_dir / f"{stem}_3d.gif"
    for k in ids:
        for kind, path in export_paths(out_dir, f"{stem}_id{k}").items():
            paths[f"id{k}_{kind}"] = path
    return paths


def write_people_outputs(recs, out_dir, stem: str, *, video_path=None, video: bool = True, gif: bool = False,
                         overwrite: bool = False, progress: bool = True) -> dict[str, str]:
    """Every export of every person, the index, the joint viewer and the render (module docs),
    as one transaction."""
    from .transaction import transaction

    paths = output_paths(out_dir, stem, [r.person_id for r in recs], video, gif)
    with transaction(out_dir, [p.name for p in paths.values()], overwrite=overwrite) as tx:
        _write_people(recs, out_dir, stem, paths, {k: tx.path(p.name) for k, p in paths.items()},
                      video_path=video_path, video=video, overwrite=overwrite, progress=progress)
    return {k: str(v) for k, v in paths.items()}


def _write_people(recs, out_dir, stem: str, paths: dict, staged: dict, *, video_path, video: bool, overwrite: bool,
                  progress: bool) -> None:
    """:func:`write_people_outputs` into the transaction's staging files ``staged``."""
    from .render.export import export_all
    from .render.html import write_html
    from .render.video import PERSON_COLOURS, PersonDrawing, render_people
    from .skeleton import get_skeleton

    motions = [r.motion for r in recs]
    colours = [PERSON_COLOURS[k % len(PERSON_COLOURS)] for k in range(len(recs))]
    for r, m in zip(recs, motions):
        export_all(out_dir, f"{stem}_id{r.person_id}", m, overwrite=overwrite)
    index = {"format": "poselift.people", "version": 1, "source": str(video_path or ""), "fps": recs[0].fps,
             "num_frames": len(motions[0]), "people": []}
    for r, m, colour in zip(recs, motions, colours):
        seen = np.flatnonzero(m.present)
        index["people"].append({
            "id": r.person_id, "colour": colour,
            "frames": [int(m.frames[seen[0]]), int(m.frames[seen[-1]])] if len(seen) else None,
            "frames_with_3d": int(len(seen)),
            "files": {kind.split("_", 1)[1]: str(p.name) for kind, p in paths.items()
                      if kind.startswith(f"id{r.person_id}_")},
            "report": r.report})
    from .data.formats import atomic_path

    with atomic_path(staged["people"], overwrite) as tmp:
        Path(tmp).write_text(dumps(index, indent=1) + "\n", encoding="utf-8")
    write_html(staged["html"], None, fps=recs[0].fps, title=stem, overwrite=overwrite, frames=motions[0].frames,
               people=[(f"id {r.person_id}", m.positions_world, m.filled, c) for r, m, c in zip(recs, motions,
                                                                                            colours)])
    if video:
        drawings = [PersonDrawing(r.keypoints, m.positions_world, m.filled_2d, m.filled, f"id {r.person_id}", c)
                    for r, m, c in zip(recs, motions, colours)]
        render_people(staged["mp4"], video_path, drawings, get_skeleton(recs[0].layout), recs[0].fps,
                      overwrite=overwrite, gif_path=staged.get("gif"), progress=progress,
                      image_size=(recs[0].width, recs[0].height), frames=motions[0].frames)


def infer_people(source, out_dir=None, *, progress: bool = True, video: bool = True, gif: bool = False,
                 overwrite: bool = False, trim: bool = False, detector: str | None = None, **options) -> dict:
    """Every person in a video: detected, tracked, lifted, exported and rendered (module docs).
    Returns ``{kind: path}`` of what was written plus ``"report"``; ``options`` go to
    :func:`~poselift.infer.reconstruct` (focal, trajectory, smoothing...)."""
    from .detect.base import MULTI_DETECTOR, detect_people, get_detector
    from .data.filetype import is_video

    source = Path(source)
    if not source.exists():
        raise PoseliftError("file not found", source)
    if not is_video(source):
        raise PoseliftError("--people all needs a video (keypoint files: one person at a time, --person k)", source)
    stem = source.stem
    from contextlib import nullcontext

    from .models.bundled import user_checkpoint
    from .transaction import transaction

    # the fixed names checked and the folder locked before the (slow) detection; one transaction to the end
    written = nullcontext() if out_dir is None else transaction(
        out_dir, [p.name for p in output_paths(out_dir, stem, [], video, gif).values()], overwrite=overwrite,
        inputs=[source, user_checkpoint(options.get("checkpoint"))])
    with written:
        det = get_detector(detector or MULTI_DETECTOR)
        try:
            people = detect_people(source, det, progress=progress)
        finally:
            det.close()
        recs, notes = reconstruct_people(people, trim=trim, source=source, **options)
        outputs = {}
        if out_dir is not None:
            outputs = write_people_outputs(recs, out_dir, stem, video_path=source, video=video, gif=gif,
                                           overwrite=overwrite, progress=progress)
    report = f"{len(recs)} people lifted (ids {', '.join(str(r.person_id) for r in recs)})"
    if notes:
        report += "; " + "; ".join(notes)
    report += "; " + " | ".join(f"id {r.person_id}: {r.summary}" for r in recs)
    return dict(outputs, report=report)
