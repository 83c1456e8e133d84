"""Focal length from a video's metadata (poselift.video.focal_from_metadata)."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

av = pytest.importorskip("av")

from poselift.video import FULL_FRAME_DIAGONAL_MM, focal_from_metadata  # noqa: E402

APPLE_F35 = "com.apple.quicktime.camera.focal_length.35mm_equivalent"
APPLE_LENS = "com.apple.quicktime.camera.lens_model"


def expected(f35: float, width: float, height: float) -> float:
    """By hand: f35 over the 36 x 24 mm diagonal = focal_px over the image diagonal."""
    return f35 * math.sqrt(width ** 2 + height ** 2) / math.sqrt(36 ** 2 + 24 ** 2)


def write_clip(path, metadata=None, fmt=None, frames=3, size=(64, 48)):
    """A tiny H.264 clip; ``metadata`` goes to the file level as QuickTime mdta keys
    (``movflags=use_metadata_tags``, without which the mov/mp4 muxer drops unknown keys)."""
    options = {"movflags": "use_metadata_tags"} if metadata else {}
    fmt = fmt or path.suffix.lstrip(".")
    with av.open(str(path), mode="w", format=fmt, options=options) as container:
        for key, value in (metadata or {}).items():
            container.metadata[key] = value
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for t in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 40 * t, np.uint8), format="rgb24")
            frame.pts = t
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


# --- raw QuickTime atoms, to put metadata where an iPhone puts it (the video track) --------

def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", len(payload) + 8, kind) + payload


def mdta_meta(items, iso_header=False) -> bytes:
    """A ``meta`` atom with ``hdlr`` (mdta), ``keys`` and ``ilst``; items: (key, QuickTime
    well-known data type, value bytes)."""
    hdlr = _box(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    keys = _box(b"keys", bytes(4) + struct.pack(">I", len(items))
                + b"".join(_box(b"mdta", key.encode()) for key, _, _ in items))
    ilst = _box(b"ilst", b"".join(
        _box(struct.pack(">I", i + 1), _box(b"data", struct.pack(">II", data_type, 0) + value))
        for i, (_, data_type, value) in enumerate(items)))
    return _box(b"meta", (bytes(4) if iso_header else b"") + hdlr + keys + ilst)


def _top_atoms(data: bytes):
    pos, out = 0, {}
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        out[kind] = (pos, size)
        pos += size
    return out


def add_to_video_track(path, meta: bytes):
    """Append ``meta`` inside the first ``trak`` of the file's ``moov`` (which PyAV's muxer
    writes after ``mdat``, so no chunk offset moves) and fix the sizes."""
    data = bytearray(path.read_bytes())
    top = _top_atoms(bytes(data))
    moov_at, moov_size = top[b"moov"]
    assert moov_at > top[b"mdat"][0]
    pos = moov_at + 8
    while data[pos + 4:pos + 8] != b"trak":
        pos += struct.unpack(">I", data[pos:pos + 4])[0]
    trak_size = struct.unpack(">I", data[pos:pos + 4])[0]
    data[pos + trak_size:pos + trak_size] = meta
    struct.pack_into(">I", data, pos, trak_size + len(meta))
    struct.pack_into(">I", data, moov_at, moov_size + len(meta))
    path.write_bytes(bytes(data))
    return path


def add_to_moov(path, atom: bytes):
    data = bytearray(path.read_bytes())
    moov_at, moov_size = _top_atoms(bytes(data))[b"moov"]
    data[moov_at + moov_size:moov_at + moov_size] = atom
    struct.pack_into(">I", data, moov_at, moov_size + len(atom))
    path.write_bytes(bytes(data))
    return path


# ------------------------------------------------------------------------------ tests

def test_full_frame_diagonal():
    assert FULL_FRAME_DIAGONAL_MM == pytest.approx(43.2666, abs=1e-4)


@pytest.mark.parametrize("suffix", [".mov", ".mp4"])
def test_file_level_apple_key_round_trips_landscape_and_portrait(tmp_path, suffix):
    path = write_clip(tmp_path / f"clip{suffix}", {APPLE_F35: "26"})
    with av.open(str(path)) as container:  # the muxer wrote it and FFmpeg reads it back
        assert container.metadata[APPLE_F35] == "26"
    for width, height in [(1920, 1080), (1080, 1920), (1280, 960), (64, 48)]:
        focal, source = focal_from_metadata(path, width, height)
        assert focal == pytest.approx(expected(26, width, height), rel=1e-9)
        assert APPLE_F35 in source and "26 mm" in source
    assert focal_from_metadata(path, 1920, 1080)[0] == pytest.approx(1323.78, abs=0.01)
    assert focal_from_metadata(path, 1080, 1920)[0] == focal_from_metadata(path, 1920, 1080)[0]


def test_lens_model_is_quoted(tmp_path):
    lens = "iPhone 15 Pro back triple camera 6.765mm f/1.78"
    path = write_clip(tmp_path / "clip.mov", {APPLE_F35: "24", APPLE_LENS: lens})
    focal, source = focal_from_metadata(path, 3840, 2160)
    assert focal == pytest.approx(expected(24, 3840, 2160))
    assert lens in source


@pytest.mark.parametrize("value, f35", [("26.000000", 26), ("50.00mm", 50), ("28 mm", 28), ("13", 13)])
def test_text_forms(tmp_path, value, f35):
    path = write_clip(tmp_path / "clip.mov", {APPLE_F35: value})
    assert focal_from_metadata(path, 1920, 1080)[0] == pytest.approx(expected(f35, 1920, 1080))


@pytest.mark.parametrize("key", ["FocalLengthIn35mmFormat", "camera.focal_length.35mm_equivalent"])
def test_other_key_names(tmp_path, key):
    path = write_clip(tmp_path / "clip.mp4", {key: "35"})
    focal, source = focal_from_metadata(path, 1920, 1080)
    assert focal == pytest.approx(expected(35, 1920, 1080))
    assert key in source


@pytest.mark.parametrize("data_type, value", [
    (1, b"26"),                        # UTF-8
    (21, struct.pack(">h", 26)),       # BE signed integer, 2 bytes
    (22, struct.pack(">I", 26)),       # BE unsigned integer, 4 bytes
    (23, struct.pack(">f", 26.0)),     # float32
    (24, struct.pack(">d", 26.0)),     # float64
    (67, struct.pack(">i", 26)),       # int32
])
@pytest.mark.parametrize("iso_header", [False, True])
def test_video_track_metadata_like_an_iphone(tmp_path, data_type, value, iso_header):
    """iPhones write the key in the video track's meta atom, which FFmpeg does not read."""
    path = add_to_video_track(write_clip(tmp_path / "IMG_0001.MOV", fmt="mov"),
                              mdta_meta([(APPLE_LENS, 1, b"iPhone back camera 5.7mm f/1.5"),
                                         (APPLE_F35, data_type, value)], iso_header))
    assert len(list(av.open(str(path)).decode(video=0))) == 3  # still a valid file
    focal, source = focal_from_metadata(path, 1080, 1920)
    assert focal == pytest.approx(expected(26, 1080, 1920), rel=1e-6)
    assert "video track" in source and APPLE_F35 in source and "5.7mm" in source


def test_video_track_value_wins_over_file_level(tmp_path):
    path = write_clip(tmp_path / "clip.mov", {APPLE_F35: "30"})
    add_to_video_track(path, mdta_meta([(APPLE_F35, 22, struct.pack(">B", 26))]))
    assert focal_from_metadata(path, 1920, 1080)[0] == pytest.approx(expected(26, 1920, 1080))


def test_nonsense_in_one_place_falls_back_to_a_sane_one(tmp_path):
    path = write_clip(tmp_path / "clip.mov", {APPLE_F35: "26"})
    add_to_video_track(path, mdta_meta([(APPLE_F35, 21, struct.pack(">i", -13))]))
    assert focal_from_metadata(path, 1920, 1080)[0] == pytest.approx(expected(26, 1920, 1080))


def test_xmp(tmp_path):
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
           b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
           b'exif:FocalLengthIn35mmFilm="28"/></rdf:RDF></x:xmpmeta>')
    path = add_to_moov(write_clip(tmp_path / "clip.mov"), _box(b"udta", _box(b"XMP_", xmp)))
    focal, source = focal_from_metadata(path, 1920, 1080)
    assert focal == pytest.approx(expected(28, 1920, 1080))
    assert "XMP" in source


def test_sensor_aspect(tmp_path):
    """With sensor_aspect the value refers to the 4:3 sensor the 16:9 video spans in width."""
    path = write_clip(tmp_path / "clip.mov", {APPLE_F35: "26"})
    for width, height in [(1920, 1080), (1080, 1920)]:
        focal, source = focal_from_metadata(path, width, height, sensor_aspect=4 / 3)
        assert focal == pytest.approx(26 * 1920 * 1.25 / FULL_FRAME_DIAGONAL_MM)  # 4:3 diagonal = 1.25 x width
        assert focal / expected(26, 1920, 1080) == pytest.approx(1.25 / math.hypot(1, 9 / 16))  # ~1.09
    # a square frame from a 4:3 sensor spans its short side
    assert focal_from_metadata(path, 1080, 1080, sensor_aspect=4 / 3)[0] == pytest.approx(
        26 * 1080 * 5 / 3 / FULL_FRAME_DIAGONAL_MM)
    # a 4:3 frame from a 4:3 sensor: the plain formula
    assert focal_from_metadata(path, 1440, 1080, sensor_aspect=4 / 3)[0] == pytest.approx(expected(26, 1440, 1080))


@pytest.mark.parametrize("suffix", [".mov", ".mp4"])
def test_no_metadata(tmp_path, suffix):
    assert focal_from_metadata(write_clip(tmp_path / f"plain{suffix}"), 1920, 1080) is None


@pytest.mark.parametrize("value", ["abc", "0", "-26", "5", "5000", "nan", "inf", "26/0", "", "26 cm", "1e400"])
def test_nonsense_values(tmp_path, value):
    path = write_clip(tmp_path / "clip.mov", {APPLE_F35: value} if value else {"title": "x"})
    assert focal_from_metadata(path, 1920, 1080) is None


@pytest.mark.parametrize("data_type, value", [(23, struct.pack(">f", float("nan"))),
                                              (22, struct.pack(">I", 0)),
                                              (22, struct.pack(">I", 100000)),
                                              (0, b"\x00\x1a"),               # binary: not a number
                                              (23, b"\x00\x00")])             # wrong size for a float
def test_nonsense_binary_values(tmp_path, data_type, value):
    path = add_to_video_track(write_clip(tmp_path / "clip.mov"), mdta_meta([(APPLE_F35, data_type, value)]))
    assert focal_from_metadata(path, 1920, 1080) is None


def test_odd_inputs_never_raise(tmp_path):
    good = write_clip(tmp_path / "good.mov", {APPLE_F35: "26"})
    assert focal_from_metadata(tmp_path / "missing.mov", 1920, 1080) is None
    assert focal_from_metadata(tmp_path, 1920, 1080) is None
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert focal_from_metadata(tmp_path / "empty.mp4", 1920, 1080) is None
    (tmp_path / "text.mov").write_text("not a video\n" * 10)
    assert focal_from_metadata(tmp_path / "text.mov", 1920, 1080) is None
    (tmp_path / "junk.mov").write_bytes(b"\xff\xff\xff\xffmoov" + bytes(range(256)) * 4)
    assert focal_from_metadata(tmp_path / "junk.mov", 1920, 1080) is None
    data = good.read_bytes()
    for cut in (len(data) - 7, len(data) // 2, 20):  # truncated inside moov, inside mdat, after ftyp
        (tmp_path / "cut.mov").write_bytes(data[:cut])
        result = focal_from_metadata(tmp_path / "cut.mov", 1920, 1080)
        assert result is None or result[0] == pytest.approx(expected(26, 1920, 1080))
    for width, height in [(0, 1080), (-1920, 1080), (float("nan"), 1080), (1920, float("inf")), ("x", 1)]:
        assert focal_from_metadata(good, width, height) is None
    assert focal_from_metadata(good, 1920, 1080, sensor_aspect=0) is None
    assert focal_from_metadata(good, 1920.0, 1080.0)[0] == pytest.approx(expected(26, 1920, 1080))


def test_other_containers(tmp_path):
    """Matroska keeps arbitrary tags; the generic names are found there too (through FFmpeg)."""
    path = tmp_path / "clip.mkv"
    with av.open(str(path), mode="w") as container:
        container.metadata["FocalLengthIn35mmFormat"] = "24"
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    focal, _ = focal_from_metadata(path, 1920, 1080)
    assert focal == pytest.approx(expected(24, 1920, 1080))
    assert focal_from_metadata(write_clip(tmp_path / "plain.mkv", fmt="matroska"), 1920, 1080) is None


def test_shared_clips_do_not_crash(shared_data):
    """The project's real clips (phone videos re-encoded by FFmpeg or YouTube) hold no focal."""
    clips = sorted((shared_data / "video").rglob("*.mp4")) + sorted((shared_data / "video").rglob("*.mov"))
    if not clips:
        pytest.skip("no clips under shared/data/video")
    for clip in clips:
        result = focal_from_metadata(clip, 1080, 1920)
        assert result is None or result[0] > 0
