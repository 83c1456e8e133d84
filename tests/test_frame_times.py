"""Variable-frame-rate video keeps its real frame times: from the container through detection,
the KeypointSequence and the reconstruction to the exports' ``time_s``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("av")

# a phone-like VFR clip: 30 fps bursts with pauses in between (0.3 s, then 0.2 s, without frames)
TIMES_MS = [0, 33, 67, 100, 400, 433, 467, 500, 533, 733, 767, 800, 833, 867, 900, 933]


def write_vfr(path, times_ms=TIMES_MS, size=(96, 64)):
    """An H.264 mp4 whose frames are stamped at ``times_ms`` (time base 1/1000 s)."""
    import av

    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.time_base = Fraction(1, 1000)
        for i, t in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), (i * 15) % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


class DemoPoseDetector:
    """A one-person detector that returns the bundled demo sequence's 2D, one frame per call."""

    name, layout = "demo-poses", "h36m17"

    def __init__(self):
        from poselift.demo import demo_sequence_path

        with np.load(demo_sequence_path(), allow_pickle=False) as d:
            self.keypoints = d["keypoints"] * 0.1  # the demo's 1000 px image to the clip's 96 px
        self.t = 0

    def detect(self, frame):
        kp = self.keypoints[self.t % len(self.keypoints)]
        self.t += 1
        return [(kp, np.full(len(kp), 0.9, np.float32))]

    def close(self):
        pass


def test_iter_timed_frames_gives_the_container_times(tmp_path):
    from poselift.video import iter_frames, iter_timed_frames

    path = write_vfr(tmp_path / "vfr.mp4")
    timed = list(iter_timed_frames(path))
    np.testing.assert_allclose([t for _, t in timed], np.array(TIMES_MS) / 1000, atol=1e-6)
    plain = list(iter_frames(path))
    assert len(plain) == len(timed) and all((a == b).all() for a, (b, _) in zip(plain, timed))
    assert [t for _, t in iter_timed_frames(path, max_frames=3)] == pytest.approx([0, 0.033, 0.067])


def test_constant_rate_video_times_are_frame_over_fps(tmp_path):
    from helpers import write_mp4
    from poselift.video import iter_timed_frames

    write_mp4(tmp_path / "cfr.mp4", frames=8, fps=25)
    np.testing.assert_allclose([t for _, t in iter_timed_frames(tmp_path / "cfr.mp4")], np.arange(8) / 25,
                               atol=1e-6)


def test_vfr_times_reach_the_sequence_and_the_exports(tmp_path):
    from poselift.detect.base import detect_video
    from poselift.infer import reconstruct
    from poselift.render.export import export_all, read_motion

    path = write_vfr(tmp_path / "vfr.mp4")
    seq = detect_video(path, DemoPoseDetector(), progress=False)
    real = np.array(TIMES_MS) / 1000
    np.testing.assert_allclose(seq.times, real, atol=1e-6)
    uniform = np.arange(len(real)) / seq.fps
    assert np.abs(uniform - real).max() > 0.1  # what frame / fps would have said
    assert any("variable frame rate" in n for n in seq.notes)

    rec = reconstruct(seq, source=path)
    np.testing.assert_allclose(rec.motion.time_s, real, atol=1e-6)
    out = export_all(tmp_path / "out", "vfr", rec.motion)
    with np.load(out["npz"], allow_pickle=False) as d:
        np.testing.assert_allclose(d["time_s"], real, atol=1e-6)
    for kind in ("npz", "json"):
        np.testing.assert_allclose(read_motion(out[kind]).time_s, real, atol=1e-6)
    rows = (tmp_path / "out").joinpath(out["csv_world"]).read_text().splitlines()[1:]
    np.testing.assert_allclose([float(r.split(",")[1]) for r in rows], real, atol=1e-6)


def test_trimmed_reconstruction_keeps_the_rows_times(tmp_path):
    from poselift.detect.keypoints import KeypointSequence
    from poselift.infer import reconstruct

    det = DemoPoseDetector()
    kp = np.stack([det.detect(None)[0][0] for _ in range(40)]).astype(np.float32)
    kp[:5] = np.nan  # nobody in the first five frames
    times = np.cumsum(np.r_[0, np.full(39, 0.04)]) + np.r_[np.zeros(20), np.full(20, 0.5)]
    seq = KeypointSequence(kp, np.where(np.isnan(kp[..., 0]), 0, 0.9), "h36m17", 96, 64, 25.0, times=times)
    rec = reconstruct(seq, trim=True)
    np.testing.assert_allclose(rec.motion.time_s, times[5:])
    np.testing.assert_array_equal(rec.motion.frames, np.arange(5, 40))


def test_keypoint_sequence_checks_its_times():
    from poselift.detect.keypoints import KeypointSequence
    from poselift.errors import PoseliftError

    kp, sc = np.zeros((3, 17, 2)), np.ones((3, 17))
    with pytest.raises(PoseliftError, match="one time per frame"):
        KeypointSequence(kp, sc, times=[0.0, 0.1])
    with pytest.raises(PoseliftError, match="non-decreasing"):
        KeypointSequence(kp, sc, times=[0.0, 0.2, 0.1])
