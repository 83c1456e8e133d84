"""Streaming video I/O through PyAV: round trips, rotation metadata, GIFs, errors."""

from __future__ import annotations

import numpy as np
import pytest

av = pytest.importorskip("av")

from poselift.errors import PoseliftError  # noqa: E402
from poselift.video import GifWriter, VideoWriter, iter_frames, probe, write_gif  # noqa: E402

from helpers import pattern, write_mp4  # noqa: E402


def test_mp4_round_trip(tmp_path):
    path = tmp_path / "clip.mp4"
    writer = write_mp4(path, frames=10, fps=25)
    assert writer.frames_written == 10
    info = probe(path)
    assert (info.width, info.height, info.frames, info.rotation) == (64, 48, 10, 0)
    assert info.fps == pytest.approx(25)
    assert info.codec == "h264" and info.frames_exact
    frames = list(iter_frames(path))
    assert len(frames) == 10
    for t, frame in enumerate(frames):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert np.abs(frame.astype(int) - pattern(t)).mean() < 6
    assert len(list(iter_frames(path, max_frames=3))) == 3
    assert not [p for p in tmp_path.iterdir() if p.name != "clip.mp4"]  # no temporary files left


def test_non_integer_frame_rate(tmp_path):
    write_mp4(tmp_path / "ntsc.mp4", frames=4, fps=30000 / 1001)
    assert probe(tmp_path / "ntsc.mp4").fps == pytest.approx(29.97, abs=0.01)


def test_odd_size_is_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    writer = write_mp4(path, frames=3, height=47, width=65)
    assert writer.encoded_size == (66, 48)
    frame = next(iter_frames(path))
    assert frame.shape == (48, 66, 3)
    assert np.abs(frame[:47, :65].astype(int) - pattern(0, 47, 65)).mean() < 6


def test_display_rotation_is_applied(tmp_path):
    path = tmp_path / "phone.mp4"
    image = np.zeros((32, 48, 3), np.uint8)
    image[:8, :8] = 255  # a white top-left corner
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        stream.set_display_rotation(90)  # counter-clockwise, as phones store portrait video
        for t in range(3):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = t
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (32, 48, 90)
    upright = next(iter_frames(path))
    assert upright.shape == (48, 32, 3)
    assert upright[-8:, :8].mean() > 200 and upright[:8, :8].mean() < 50  # top-left went bottom-left
    small = next(iter_frames(path, size=(16, 24)))  # the size is the upright frame's
    assert small.shape == (24, 16, 3)
    assert small[-4:, :4].mean() > 200 and small[:4, :4].mean() < 50


def test_scaled_decoding_is_the_area_average(tmp_path):
    """``size``: scaled in YUV then converted to RGB, within a few levels of converting the
    whole frame and averaging it down (cv2's area average; this saturated test pattern is the
    hard case for the 4:2:0 chroma: 1.3-2.7 levels, FFmpeg's scaled RGB 0.9-1.6)."""
    import cv2

    path = tmp_path / "clip.mp4"
    write_mp4(path, frames=4, height=96, width=128)
    whole = list(iter_frames(path))
    for size in ((64, 48), (96, 72), (40, 30)):  # 2x, 0.75x and 3.2x smaller
        small = list(iter_frames(path, size=size))
        assert len(small) == 4
        for full, got in zip(whole, small):
            assert got.shape == (size[1], size[0], 3) and got.dtype == np.uint8 and got.flags.c_contiguous
            want = cv2.resize(full.astype(np.float32), size, interpolation=cv2.INTER_AREA)
            assert np.abs(got - want).mean() < 3.0
    with pytest.raises(ValueError, match="even"):
        next(iter_frames(path, size=(63, 48)))


def test_gif_round_trip(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (10, 20, 250)]
    frames = [np.tile(np.array(c, np.uint8), (40, 60, 1)) for c in colours]
    frames[2][:20] = 100
    assert write_gif(tmp_path / "a.gif", iter(frames), fps=10) == 3
    back = list(iter_frames(tmp_path / "a.gif"))
    assert len(back) == 3
    for got, want in zip(back, frames):
        np.testing.assert_array_equal(got, want)
    assert probe(tmp_path / "a.gif").fps == pytest.approx(10)


def test_gif_writer_refuses_a_frame_of_another_size(tmp_path):
    with pytest.raises(ValueError, match="first was"):
        with GifWriter(tmp_path / "b.gif", fps=5) as gif:
            gif.write(np.zeros((10, 10, 3), np.uint8))
            gif.write(np.zeros((12, 10, 3), np.uint8))
    assert not list(tmp_path.iterdir())


def test_refuses_overwrite(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"keep me")
    with pytest.raises(PoseliftError, match="exists already") as e:
        write_mp4(path, frames=2)
    assert e.value.path == str(path)
    with pytest.raises(PoseliftError, match="exists already"):
        write_gif(path, [pattern(0)], fps=5)
    assert path.read_bytes() == b"keep me"
    write_mp4(path, frames=2, overwrite=True)
    assert probe(path).frames == 2


def test_error_inside_the_block_leaves_nothing(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, 25, 64, 48) as out:
            out.write(pattern(0))
            raise RuntimeError("boom")
    assert not list(tmp_path.iterdir())
    with pytest.raises(PoseliftError, match="no frames"):
        with VideoWriter(path, 25, 64, 48):
            pass
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(path, 25, 64, 48) as out:
            out.write(np.zeros((48, 64, 3), np.float32))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fps", [0, -5, float("nan"), "fast"])
def test_bad_frame_rate(tmp_path, fps):
    with pytest.raises(PoseliftError, match="frame rate") as e:
        VideoWriter(tmp_path / "x.mp4", fps, 64, 48)
    assert e.value.path == str(tmp_path / "x.mp4")


def test_bad_files_raise_poselift_error_naming_the_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    good = tmp_path / "good.mp4"
    write_mp4(good, frames=10)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[:300])
    for path in (missing, text, truncated, tmp_path):
        with pytest.raises(PoseliftError) as e:
            probe(path)
        assert e.value.path == str(path)
        with pytest.raises(PoseliftError) as e:
            list(iter_frames(path))
        assert e.value.path == str(path)


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(PoseliftError, match="no video stream") as e:
        probe(path)
    assert e.value.path == str(path)


def test_encoder_frames_are_written_whole_padding_included():
    """Each yuv420p plane handed to libx264 is written to its last byte (the row padding holds
    copies of the last pixel): left unwritten it held whatever the memory held, and the same
    frames encoded differently from run to run (seen on sports2d's 2002-pixel-wide render)."""
    import cv2

    from poselift.video import _yuv420_frame

    rng = np.random.default_rng(3)
    rgb = cv2.resize(rng.integers(0, 255, (9, 15, 3), dtype=np.uint8), (2002, 722), interpolation=cv2.INTER_CUBIC)
    frame = _yuv420_frame(rgb)
    flat = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    n = 2002 * 722
    want = [flat[:n].reshape(722, 2002), flat[n:n + n // 4].reshape(361, 1001), flat[n + n // 4:].reshape(361, 1001)]
    for plane, data in zip(frame.planes, want):
        whole = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        assert plane.line_size > plane.width  # there is padding to fill
        np.testing.assert_array_equal(whole[:, :plane.width], data)
        np.testing.assert_array_equal(whole[:, plane.width:], np.repeat(data[:, -1:], plane.line_size - plane.width, 1))
