"""Streaming video input and output through PyAV (FFmpeg inside the wheel).

Reading never holds more than a few decoded frames: :func:`iter_frames` yields one RGB
frame at a time, already turned upright when the file carries display-rotation metadata
(phone videos). :class:`VideoWriter` encodes H.264 (libx264, yuv420p) frame by frame into
a temporary file that replaces the target only when the writer closes without an error;
:class:`GifWriter` / :func:`write_gif` do the same for animated GIFs.

PyAV is an optional dependency (``pip install -r requirements-video.txt``); this module
imports it only when a function needs it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .data.formats import atomic_path
from .errors import PoseliftError

INSTALL_HINT = "install the video extras: pip install -r requirements-video.txt"


def _av():
    try:
        import av
    except ImportError:
        raise PoseliftError(f"reading and writing video needs PyAV ({INSTALL_HINT})") from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` finds out about a video file.

    ``width`` and ``height`` are those of the frames :func:`iter_frames` yields, i.e. after
    display rotation; ``fps`` the average frame rate; ``frames`` the number of frames, from
    the container header when it has one, else estimated from duration × fps
    (``frames_exact`` then False); ``rotation`` the counter-clockwise angle in degrees
    (0, 90, 180 or 270) by which decoded frames are turned for display.
    """

    width: int
    height: int
    fps: float
    frames: int
    rotation: int = 0
    codec: str = ""
    frames_exact: bool = True


def _check_file(path) -> Path:
    """``path`` once it is known to be a regular file (a FIFO or a device is refused before
    FFmpeg opens it: either could block or never end)."""
    from .data.filetype import check_input_file

    path = Path(path)
    if check_input_file(path, "a video file").st_size == 0:
        raise PoseliftError("is an empty file, not a video", path)
    return path


def _open(path, target=None, unreadable: str = "not a readable video", unopenable: str = "cannot open",
          **options):
    """The container of ``path`` (or of ``target``, a device or URL, with PyAV ``options``),
    checked to have a video stream; errors name ``path`` and start with ``unreadable`` (FFmpeg
    cannot read it) or ``unopenable`` (the system cannot open it)."""
    av = _av()
    try:
        container = av.open(os.fspath(target or path), mode="r", **options)
    except av.error.FFmpegError as e:
        raise PoseliftError(f"{unreadable} ({_ffmpeg_message(e)})", path) from None
    except UnicodeDecodeError:  # PyAV decodes the container's metadata as text
        raise PoseliftError(f"{unreadable} (its metadata is not valid text)", path) from None
    except OSError as e:
        raise PoseliftError(f"{unopenable} ({e.strerror or e})", path) from None
    if not container.streams.video:
        audio = bool(container.streams.audio)
        container.close()
        raise PoseliftError("has no video stream" + (" (audio only)" if audio else
                                                     " (nor any other: a damaged or cut-off file?)"), path)
    return container


def _ffmpeg_message(e) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.strip() or type(e).__name__


def _rotation(frame) -> int:
    """Display rotation of a decoded frame, counter-clockwise degrees in {0, 90, 180, 270}."""
    try:
        angle = frame.rotation
    except (AttributeError, ValueError):  # older PyAV, or no display matrix
        return 0
    if angle is None or not np.isfinite(angle):
        return 0
    return int(round(float(angle) / 90.0)) % 4 * 90


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 0:
        return image
    # np.rot90 turns counter-clockwise (rows towards columns), as the display matrix asks
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90))


def _rate(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return float(rate)
    return None


def probe(path) -> VideoInfo:
    """Size, frame rate, frame count and rotation of the first video stream of ``path``.

    Decodes the first frame (to read its rotation and to check that the codec can be
    decoded). Raises :class:`PoseliftError` naming ``path`` if it is missing, not a video
    or cannot be decoded.
    """
    path = _check_file(path)
    av = _av()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = _rate(stream)
        if fps is None:
            raise PoseliftError("video stream has no frame rate", path)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as e:
            raise PoseliftError(f"cannot decode the video ({_ffmpeg_message(e)})", path) from None
        if first is None:
            raise PoseliftError("video stream has no frames", path)
        rotation = _rotation(first)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        frames, exact = int(stream.frames or 0), True
        if frames <= 0:
            exact = False
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000  # av.time_base: microseconds
            else:
                seconds = 0.0
            frames = max(1, int(round(seconds * fps)))
        return VideoInfo(width=width, height=height, fps=fps, frames=frames, rotation=rotation,
                         codec=stream.codec_context.name, frames_exact=exact)
    finally:
        container.close()


def iter_frames(path, max_frames: int | None = None, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` one by one as RGB uint8 arrays (H, W, 3).

    Decoding is lazy (memory stays bounded however long the video) and frames are turned
    upright according to the display-rotation metadata. At most ``max_frames`` frames are
    yielded. Errors (missing file, not a video, undecodable codec, corrupt data) raise
    :class:`PoseliftError` naming ``path``. Closing the generator closes the file.
    ``size`` (width, height; even numbers): each upright frame scaled to that size before it
    is converted to RGB (FFmpeg's scaler, area averaging, on the YUV 4:2:0 planes; OpenCV's
    conversion to RGB): far cheaper than converting the full frame.
    """
    for image, _ in iter_timed_frames(path, max_frames, size):
        yield image


def _to_rgb(frame, size: tuple[int, int] | None) -> np.ndarray:
    """A decoded frame → upright RGB uint8 (H, W, 3), scaled to ``size`` (upright width, height)."""
    rotation = _rotation(frame)
    if size is None:
        image = frame.to_ndarray(format="rgb24")
    else:  # scaled in YUV 4:2:0 (area averaging), then converted: less than half the CPU of FFmpeg's
        # scaled RGB output (1768x994 → 1282x720: 5.5 → 2.3 ms a frame; benchmarks/render.py), within
        # 1-2 grey levels of it
        import cv2

        w, h = (int(v) for v in (size if rotation in (0, 180) else size[::-1]))
        if w % 2 or h % 2:
            raise ValueError(f"a scaled frame needs an even width and height, got {w}x{h}")
        planes = frame.reformat(width=w, height=h, format="yuv420p", interpolation="AREA").to_ndarray()
        image = cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420)
    # FFmpeg pads each row; a padded (strided) array costs its readers dearly (PIL's fromarray
    # copies it pixel by pixel: 9 ms for a 1282x720 frame), one row-by-row copy 0.1 ms
    if not image.flags.c_contiguous:
        image = np.ascontiguousarray(image.reshape(image.shape[0], -1)).reshape(image.shape)
    return _upright(image, rotation)


def iter_timed_frames(path, max_frames: int | None = None,
                      size: tuple[int, int] | None = None) -> Iterator[tuple[np.ndarray, float]]:
    """:func:`iter_frames` with each frame's time: ``(image, seconds)``, the seconds from the
    first frame's presentation time stamp in the container (``pts × time_base``), so that a
    variable-frame-rate video (phones) keeps its real timing. A frame without a time stamp, or
    with one that does not move forward, is placed one average frame interval after the
    previous frame."""
    path = _check_file(path)
    if max_frames is not None and max_frames <= 0:
        return
    av = _av()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding: faster, same output
        step = 1.0 / (_rate(stream) or 30.0)
        count = 0
        first = previous = None
        decoder = container.decode(stream)
        while True:
            try:
                frame = next(decoder)
            except StopIteration:
                break
            except av.error.FFmpegError as e:
                where = f"frame {count}" if count else "the first frame"
                raise PoseliftError(f"cannot decode {where} ({_ffmpeg_message(e)})", path) from None
            image = _to_rgb(frame, size)
            t = _frame_time(frame)
            if first is None and t is not None:
                first = t
            t = None if t is None else t - first
            if t is None or previous is not None and not t > previous:
                t = 0.0 if previous is None else previous + step
            previous = t
            yield image, t
            count += 1
            if max_frames is not None and count >= max_frames:
                break
    finally:
        container.close()


def _frame_time(frame) -> float | None:
    """Presentation time of a decoded frame in seconds (None without a usable time stamp)."""
    try:
        pts, base = frame.pts, frame.time_base
        if pts is None or base is None:
            return None
        t = float(pts * base)
    except (AttributeError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return t if math.isfinite(t) else None


def iter_live_frames(source: str) -> tuple[Iterator[np.ndarray], dict]:
    """Frames of a camera (``"0"`` → ``/dev/video0``, through video4linux) or a network stream
    (``rtsp://``, ``http://``, ...) as RGB arrays, as they arrive; and what the source says
    about itself (width, height, fps; ``frames`` None)."""
    av = _av()
    target, options = source, {}
    if source.isdigit():
        target, options = f"/dev/video{source}", {"format": "v4l2"}
    failed = "cannot open the live source"
    container = _open(source, target, unreadable=failed, unopenable=failed, timeout=10.0, **options)
    stream = container.streams.video[0]
    meta = {"width": stream.codec_context.width, "height": stream.codec_context.height,
            "fps": _rate(stream) or 30.0, "frames": None}

    def frames():
        try:
            for frame in container.decode(stream):
                yield _upright(frame.to_ndarray(format="rgb24"), _rotation(frame))
        except av.error.FFmpegError as e:
            raise PoseliftError(f"stream broke off ({_ffmpeg_message(e)})", source) from None
        finally:
            container.close()

    return frames(), meta


def _fraction(fps, path) -> Fraction:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0 or value > 1000:
        raise PoseliftError(f"frame rate must be a number in (0, 1000], got {fps!r}", path)
    return Fraction(value).limit_denominator(1001)


class _AtomicAVWriter:
    """Shared exit logic of the writers: finish on success, else close quietly; the
    temporary file is renamed onto the target on success and removed on an error."""

    _stack = None
    _stream = None
    _container = None

    def _finish(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        try:
            if exc_type is None:
                self._finish()
        except BaseException:
            exc_type, exc, tb = sys.exc_info()
            raise
        finally:
            self._stream = None
            if self._container is not None:  # an error: close without finishing the file
                container, self._container = self._container, None
                with contextlib.suppress(Exception):
                    container.close()
            # renames the temporary file onto path on success, removes it on an error
            stack.__exit__(exc_type, exc, tb)
        return False


def _yuv420_frame(rgb: np.ndarray):
    """An RGB uint8 image (even width and height) → a yuv420p :class:`av.VideoFrame`.

    The colours are converted by OpenCV (BT.601, limited range, as FFmpeg's scaler would; 4x
    faster). Each plane is written whole, the row padding FFmpeg allocates included (copies of
    the last pixel): libx264 reads a little of it at a frame's right edge, and left unwritten
    it holds whatever the memory held, which made the same frames encode differently from run
    to run."""
    import cv2

    av = _av()
    h, w = rgb.shape[:2]
    flat = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).reshape(-1)  # Y, then U, then V
    n, q = w * h, w * h // 4
    planes = (flat[:n].reshape(h, w), flat[n:n + q].reshape(h // 2, w // 2), flat[n + q:].reshape(h // 2, w // 2))
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(frame.planes, planes):
        out = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out[:, :plane.width] = data
        out[:, plane.width:] = data[:, -1:]
    return frame


PRESET, CRF = "superfast", 23
"""libx264's defaults here: on the bundled clip and sports2d, ``superfast`` at CRF 23 takes
20-31% less CPU than ``veryfast`` at CRF 20 for the same PSNR or better, in a 1.4-1.5x larger
file (``benchmarks/render.py --presets veryfast:20``; docs/speed.md)."""


class VideoWriter(_AtomicAVWriter):
    """Write RGB frames to an H.264 mp4, atomically.

    >>> with VideoWriter("out.mp4", fps=30, width=640, height=360) as out:  # doctest: +SKIP
    ...     for frame in frames:
    ...         out.write(frame)           # (360, 640, 3) uint8 RGB

    The file is encoded with libx264 (``crf``, ``preset``) in yuv420p, which needs even
    dimensions: an odd width or height is padded by one pixel (a copy of the last column
    or row). Frames go to a temporary file next to ``path`` that replaces it when the
    ``with`` block ends without an error; on an error nothing is left behind. With
    ``overwrite=False`` an existing ``path`` is refused (:class:`PoseliftError`) on entry.
    """

    def __init__(self, path, fps: float, width: int, height: int, overwrite: bool = False,
                 crf: int = CRF, preset: str = PRESET):
        self.path = Path(path)
        self.rate = _fraction(fps, self.path)
        self.fps = float(fps)
        if int(width) != width or int(height) != height or width < 1 or height < 1:
            raise PoseliftError(f"video size must be whole numbers >= 1, got {width}x{height}", self.path)
        self.width, self.height = int(width), int(height)
        self.overwrite = overwrite
        self.crf, self.preset = int(crf), str(preset)
        self.frames_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._container = None
        self._stream = None

    @property
    def encoded_size(self) -> tuple[int, int]:
        """(width, height) actually encoded: rounded up to even numbers."""
        return self.width + self.width % 2, self.height + self.height % 2

    def __enter__(self) -> "VideoWriter":
        av = _av()
        stack = contextlib.ExitStack()
        tmp = stack.enter_context(atomic_path(self.path, self.overwrite))
        try:
            container = av.open(os.fspath(tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
            try:
                stream = container.add_stream("libx264", rate=self.rate)
                stream.width, stream.height = self.encoded_size
                stream.pix_fmt = "yuv420p"
                stream.codec_context.time_base = 1 / self.rate
                stream.options = {"crf": str(self.crf), "preset": self.preset}
            except BaseException:
                container.close()
                raise
        except av.error.FFmpegError as e:
            stack.close()
            raise PoseliftError(f"cannot write the video ({_ffmpeg_message(e)})", self.path) from None
        except BaseException:
            stack.__exit__(*sys.exc_info())
            raise
        self._stack, self._container, self._stream = stack, container, stream
        self.frames_written = 0
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of shape (height, width, 3)."""
        if self._stream is None:
            raise RuntimeError("VideoWriter.write() outside its `with` block")
        frame = np.asarray(frame)
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected a ({self.height}, {self.width}, 3) uint8 frame, "
                             f"got {frame.shape} {frame.dtype}")
        if self.width % 2 or self.height % 2:
            frame = np.pad(frame, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        video_frame = _yuv420_frame(frame)
        video_frame.pts = self.frames_written
        video_frame.time_base = self._stream.codec_context.time_base
        self._mux(self._stream.encode(video_frame))
        self.frames_written += 1

    def _mux(self, packets) -> None:
        av = _av()
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as e:
            raise PoseliftError(f"cannot write the video ({_ffmpeg_message(e)})", self.path) from None

    def _finish(self) -> None:
        """Flush the encoder and close the file (writes the mp4 index)."""
        av = _av()
        if self.frames_written == 0:
            raise PoseliftError("no frames to write", self.path)
        self._mux(self._stream.encode(None))
        container, self._container = self._container, None
        try:
            container.close()
        except av.error.FFmpegError as e:
            raise PoseliftError(f"cannot write the video ({_ffmpeg_message(e)})", self.path) from None

class GifWriter(_AtomicAVWriter):
    """Write RGB uint8 frames (H, W, 3) to an endlessly looping animated GIF, atomically.

    Used like :class:`VideoWriter`; frames are streamed (memory stays bounded): each is
    reduced to its own 256-colour palette (Pillow, median cut, no dithering) and encoded by
    FFmpeg's GIF encoder. Every frame must have the size of the first. GIF delays are in
    1/100 s, so the frame rate is rounded to that. ``overwrite=False`` refuses an existing
    ``path`` on entry; on an error nothing is left behind.
    """

    def __init__(self, path, fps: float, overwrite: bool = False):
        self.path = Path(path)
        self.rate = _fraction(fps, self.path)
        self.overwrite = overwrite
        self.frames_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._container = None
        self._stream = None
        self._size = None

    def __enter__(self) -> "GifWriter":
        av = _av()
        stack = contextlib.ExitStack()
        tmp = stack.enter_context(atomic_path(self.path, self.overwrite))
        try:
            self._container = av.open(os.fspath(tmp), mode="w", format="gif", options={"loop": "0"})
        except av.error.FFmpegError as e:
            stack.close()
            raise PoseliftError(f"cannot write the GIF ({_ffmpeg_message(e)})", self.path) from None
        except BaseException:
            stack.__exit__(*sys.exc_info())
            raise
        self._stack, self._stream, self._size, self.frames_written = stack, None, None, 0
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame (H, W, 3); all frames must have the first one's size."""
        if self._container is None:
            raise RuntimeError("GifWriter.write() outside its `with` block")
        av = _av()
        from PIL import Image

        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
        if self._stream is None:
            self._size = frame.shape[:2]
            stream = self._container.add_stream("gif", rate=self.rate)
            stream.height, stream.width = self._size
            stream.pix_fmt = "pal8"
            stream.codec_context.time_base = 1 / self.rate
            self._stream = stream
        elif frame.shape[:2] != self._size:
            raise ValueError(f"frame {self.frames_written} is {frame.shape[1]}x{frame.shape[0]}, "
                             f"the first was {self._size[1]}x{self._size[0]}")
        image = Image.fromarray(frame).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
        rgb = np.frombuffer(bytes(image.getpalette() or []), dtype=np.uint8).reshape(-1, 3)[:256]
        argb = np.zeros((256, 4), dtype=np.uint8)  # PyAV wants the palette as columns A, R, G, B
        argb[:, 0] = 255
        argb[:len(rgb), 1:] = rgb
        vf = av.VideoFrame.from_ndarray((np.asarray(image, dtype=np.uint8), argb), format="pal8")
        vf.pts = self.frames_written
        vf.time_base = self._stream.codec_context.time_base
        try:
            self._container.mux(self._stream.encode(vf))
        except av.error.FFmpegError as e:
            raise PoseliftError(f"cannot write the GIF ({_ffmpeg_message(e)})", self.path) from None
        self.frames_written += 1

    def _finish(self) -> None:
        av = _av()
        if self.frames_written == 0:
            raise PoseliftError("no frames to write", self.path)
        container, self._container = self._container, None
        try:
            container.mux(self._stream.encode(None))
            container.close()
        except av.error.FFmpegError as e:
            raise PoseliftError(f"cannot write the GIF ({_ffmpeg_message(e)})", self.path) from None
        finally:
            with contextlib.suppress(Exception):
                container.close()

def write_gif(path, frames: Iterable[np.ndarray], fps: float, overwrite: bool = False) -> int:
    """Write RGB uint8 frames (H, W, 3) as a looping animated GIF (see :class:`GifWriter`).

    ``frames`` may be any iterable, a generator included (streamed). Returns the number
    of frames written; none raises :class:`PoseliftError`.
    """
    with GifWriter(path, fps, overwrite=overwrite) as gif:
        for frame in frames:
            gif.write(frame)
    return gif.frames_written


# --- focal length from a video's metadata ------------------------------------------------

#: Diagonal of the 36 × 24 mm frame of 35 mm film, in mm: the reference of "35 mm-equivalent"
#: focal lengths (EXIF FocalLengthIn35mmFilm, Apple's camera.focal_length.35mm_equivalent).
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)  # 43.2666 mm

#: Plausible range of a 35 mm-equivalent focal length, in mm (fisheye ... long telephoto);
#: metadata outside it is treated as nonsense.
F35_RANGE_MM = (8.0, 1200.0)

_APPLE_F35_KEY = "com.apple.quicktime.camera.focal_length.35mm_equivalent"
_APPLE_LENS_KEY = "com.apple.quicktime.camera.lens_model"


def _key_name(key) -> str:
    """``key`` lower-cased with everything but letters and digits dropped, so that
    ``FocalLengthIn35mmFormat``, ``focal_length_in_35mm_format`` and
    ``com.apple.quicktime.camera.focal_length.35mm_equivalent`` compare by their words."""
    return re.sub(r"[^0-9a-z]", "", str(key).lower())


#: Metadata keys (compared by :func:`_key_name`) that hold a 35 mm-equivalent focal in mm:
#: Apple's QuickTime key (iPhone / iPad / AVFoundation recordings; written at track level by
#: the camera, at file level by some tools), its short form, and EXIF / ExifTool-style names
#: that tools copy into video files.
_F35_KEYS = {_key_name(k): k for k in (
    _APPLE_F35_KEY,
    "camera.focal_length.35mm_equivalent",
    "focal_length.35mm_equivalent",
    "FocalLengthIn35mmFormat",
    "FocalLengthIn35mmFilm",
    "FocalLength35mmEquivalent",
    "FocalLength35efl",
)}

#: XMP properties holding a 35 mm-equivalent focal (EXIF 2.2 / 2.3 namespaces), attribute or
#: element form.
_XMP_F35 = re.compile(
    r"""(?:exif|exifEX):FocalLengthIn35mm(?:Film|Format)\s*(?:=\s*["']([^"']*)["']|>([^<]*)<)""")

_NUMBER_MM = re.compile(r"^\s*\+?(\d+(?:\.\d*)?|\.\d+)(?:\s*/\s*(\d+(?:\.\d*)?))?\s*(?:mm)?\s*$",
                        re.IGNORECASE)


def _parse_mm(value) -> float | None:
    """A length in mm from a metadata value: ``26``, ``"26"``, ``"26.000000"``, ``"50.00mm"``,
    ``"26 mm"``, ``"260/10"``; None for anything else (text, negative, NaN, zero denominators)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        match = _NUMBER_MM.match(str(value).strip("\x00"))
        if not match:
            return None
        number = float(match.group(1))
        if match.group(2) is not None:
            denominator = float(match.group(2))
            if denominator == 0:
                return None
            number /= denominator
    return number if math.isfinite(number) else None


# QuickTime "well-known" data types of metadata item values (QuickTime File Format, Metadata):
# 1 UTF-8, 2 UTF-16 BE, 4/5 their sort variants, 21/22 BE signed / unsigned integer of 1-8
# bytes, 23/24 BE float32 / float64, 65-67/74 int8/16/32/64, 75-78 uint8/16/32/64.
_QT_FIXED = {65: ">b", 66: ">h", 67: ">i", 74: ">q", 75: ">B", 76: ">H", 77: ">I", 78: ">Q",
             23: ">f", 24: ">d"}


def _qt_value(data_type: int, payload: bytes):
    if data_type in (1, 4):
        return payload.decode("utf-8", "replace").strip("\x00").strip()
    if data_type in (2, 5):
        return payload.decode("utf-16-be", "replace").strip("\x00").strip()
    if data_type in (21, 22) and 1 <= len(payload) <= 8:
        return int.from_bytes(payload, "big", signed=data_type == 21)
    if data_type in _QT_FIXED and len(payload) == struct.calcsize(_QT_FIXED[data_type]):
        return struct.unpack(_QT_FIXED[data_type], payload)[0]
    return None


def _atoms(buf: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the atoms in ``buf[start:end]``; stops at the
    first malformed header."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = struct.unpack(">Q", buf[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _child(buf: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in _atoms(buf, start, end):
        if k == kind:
            return s, e
    return None


def _meta_items(buf: bytes, start: int, end: int) -> dict[str, object]:
    """Key → value of a QuickTime ``meta`` atom's ``keys`` / ``ilst`` pair (mdta metadata);
    the ``meta`` atom may or may not carry ISO's 4-byte version/flags header."""
    if buf[start + 4:start + 8] != b"hdlr" and buf[start + 8:start + 12] in (b"hdlr", b"keys", b"ilst"):
        start += 4
    keys_at, ilst_at = _child(buf, start, end, b"keys"), _child(buf, start, end, b"ilst")
    if keys_at is None or ilst_at is None:
        return {}
    s, e = keys_at
    if e - s < 8:
        return {}
    count = struct.unpack(">I", buf[s + 4:s + 8])[0]
    names = [buf[ks:ke].decode("utf-8", "replace") for _, ks, ke in _atoms(buf, s + 8, e)][:count]
    items: dict[str, object] = {}
    for index, s, e in _atoms(buf, *ilst_at):
        number = int.from_bytes(index, "big")
        data = _child(buf, s, e, b"data")
        if not 1 <= number <= len(names) or data is None or data[1] - data[0] < 8:
            continue
        ds, de = data
        data_type = int.from_bytes(buf[ds:ds + 4], "big") & 0xFFFFFF  # first byte: reserved
        value = _qt_value(data_type, buf[ds + 8:de])  # then 4 bytes of locale, then the value
        if value is not None:
            items.setdefault(names[number - 1], value)
    return items


def _read_moov(path, limit: int = 64 << 20) -> bytes | None:
    """The payload of the top-level ``moov`` atom of an ISO / QuickTime file (None if there is
    none, or it is larger than ``limit`` bytes). Reads only atom headers and the moov itself."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        file_size = f.tell()
        pos = 0
        while pos + 8 <= file_size:
            f.seek(pos)
            header = f.read(16)
            if len(header) < 8:
                return None
            size, kind = struct.unpack(">I4s", header[:8])
            head = 8
            if size == 1:
                if len(header) < 16:
                    return None
                size, head = struct.unpack(">Q", header[8:16])[0], 16
            elif size == 0:
                size = file_size - pos
            if size < head:
                return None
            if kind == b"moov":
                if size - head > limit:
                    return None
                f.seek(pos + head)
                return f.read(size - head)
            pos += size
    return None


def _quicktime_items(path) -> list[tuple[str, dict[str, object]]]:
    """(where, mdta items) of the ``meta`` atoms of the video tracks (``trak/meta``,
    ``trak/udta/meta``; where iPhones put ``camera.*`` keys, which FFmpeg does not read) and
    of the file (``moov/meta``, ``moov/udta/meta``), in that order."""
    moov = _read_moov(path)
    if moov is None:
        return []
    found: list[tuple[str, dict[str, object]]] = []

    def metas(start, end):
        for kind, s, e in _atoms(moov, start, end):
            if kind == b"meta":
                yield s, e
            elif kind == b"udta":
                yield from ((ms, me) for k, ms, me in _atoms(moov, s, e) if k == b"meta")

    for kind, s, e in _atoms(moov, 0, len(moov)):
        if kind != b"trak":
            continue
        mdia = _child(moov, s, e, b"mdia")
        hdlr = mdia and _child(moov, *mdia, b"hdlr")
        if not hdlr or moov[hdlr[0] + 8:hdlr[0] + 12] != b"vide":
            continue
        for ms, me in metas(s, e):
            found.append(("video track", _meta_items(moov, ms, me)))
    for ms, me in metas(0, len(moov)):
        found.append(("file", _meta_items(moov, ms, me)))
    return found


def _metadata_candidates(path) -> Iterator[tuple[object, str, str, str | None]]:
    """(value, key, where, lens model) of every 35 mm-equivalent focal the file's metadata
    holds, most trusted first: QuickTime track-level and file-level ``mdta`` items read
    directly, then what FFmpeg (PyAV) exposes for the file and its video streams, then XMP."""
    try:
        sources = _quicktime_items(path)
    except Exception:  # not an ISO/QuickTime file, truncated, unreadable: try FFmpeg's view
        sources = []
    try:
        av = _av()
        with av.open(os.fspath(path), mode="r", options={"export_xmp": "1"}) as container:
            sources.append(("file", dict(container.metadata)))
            for stream in container.streams.video:
                sources.append(("video stream", dict(stream.metadata)))
    except Exception:
        pass
    lens = None
    for _, items in sources:
        for key, value in items.items():
            if _key_name(key) == _key_name(_APPLE_LENS_KEY) and isinstance(value, str) and value.strip():
                lens = lens or value.strip()[:80]
    for where, items in sources:
        for key, value in items.items():
            if _key_name(key) in _F35_KEYS:
                yield value, str(key), where, lens
    for where, items in sources:
        for key, value in items.items():
            if _key_name(key) == "xmp" and isinstance(value, str):
                for match in _XMP_F35.finditer(value):
                    yield match.group(1) or match.group(2), "XMP exif:FocalLengthIn35mmFilm", where, lens


def _frame_diagonal(width: float, height: float, sensor_aspect: float | None) -> float:
    if sensor_aspect is None:
        return math.hypot(width, height)
    long, short = max(width, height), min(width, height)
    if long / short >= sensor_aspect:  # e.g. 16:9 from 4:3: the video spans the sensor's long side
        return long * math.hypot(1.0, 1.0 / sensor_aspect)
    return short * math.hypot(sensor_aspect, 1.0)  # e.g. 1:1 from 4:3: it spans the short side


def focal_from_metadata(path, width: int, height: int,
                        sensor_aspect: float | None = None) -> tuple[float, str] | None:
    """Focal length in pixels from the 35 mm-equivalent focal a video file's metadata holds,
    with a short description of where it came from; None when the file holds none that is
    plausible (or cannot be read: this never raises).

    ``width`` and ``height`` are the size of the frames the focal is for (upright frames, as
    :func:`probe` reports them; the result does not depend on their order).

    Where the value is looked for, most trusted first:

    * QuickTime ``mdta`` metadata (``meta`` / ``keys`` / ``ilst`` atoms) of the video track
      and of the file, read directly from the ``moov`` atom: iPhone / iPad (AVFoundation)
      recordings carry ``com.apple.quicktime.camera.focal_length.35mm_equivalent`` in the
      video track, where FFmpeg does not look; tools that copy it (``ffmpeg -movflags
      use_metadata_tags``) put it at file level. Text (``"26"``, ``"50.00mm"``), integer and
      float values are understood. ``com.apple.quicktime.camera.lens_model``, when present,
      is quoted in the description.
    * The metadata FFmpeg exposes for the file and its video streams (PyAV), under that key,
      its short form ``camera.focal_length.35mm_equivalent`` or EXIF-style names
      (``FocalLengthIn35mmFormat``, ``FocalLengthIn35mmFilm``).
    * XMP in the file (``exif:FocalLengthIn35mmFilm``), which FFmpeg exports on request.

    Android phones (MediaRecorder / media3 write ``com.android.version``, ``capture.fps``, ...)
    and most cameras write no focal length in a form read here, as far as we know. A value
    outside :data:`F35_RANGE_MM` (8 to 1200 mm), zero, negative or not a number is ignored.

    Conversion: a 35 mm-equivalent focal ``f35`` is the focal length that gives the same angle
    of view on the 36 × 24 mm frame of 35 mm film, the angle being measured along the
    diagonal (the usual definition, used by Apple for its value, "measured diagonally"; EXIF's
    FocalLengthIn35mmFilm is defined only as "the equivalent focal length assuming a 35mm
    film camera"). So ``f35 / 43.27 mm = f_px / d_px``, with 43.27 mm the diagonal of the
    36 × 24 mm frame and ``d_px = sqrt(width² + height²)`` the image diagonal in pixels::

        focal_px = f35 * sqrt(width² + height²) / 43.27

    (for 26 mm on 1920 × 1080: 26 × 2202.9 / 43.27 = 1323.8 px; the same for 1080 × 1920).

    Caveat: the value describes the camera's nominal field of view (Apple's equals the
    photo's, on the 4:3 sensor), not necessarily the video frame's. A 16:9 video that uses
    the full width of a 4:3 sensor sees a smaller diagonal than the sensor, so its own
    35 mm-equivalent focal is 1.25 / 1.147 = 1.09 times longer (26 → 28.3 mm); video
    stabilisation crops further (often 5-15 %), and digital zoom is not recorded. With
    ``sensor_aspect`` (e.g. ``4 / 3``) the value is taken to refer to a sensor of that aspect
    ratio that the video spans along its long side (or its short side, for frames squarer
    than the sensor) and ``d_px`` is that sensor's diagonal at the video's pixel scale.
    Without it, the value is taken to refer to the video frame itself (exact when the
    recorder wrote the video's own equivalent; otherwise the focal comes out ~9 % short for
    16:9 video from a 4:3 sensor).
    """
    try:
        width, height = float(width), float(height)
        if not (math.isfinite(width) and math.isfinite(height) and width >= 1 and height >= 1):
            return None
        if sensor_aspect is not None:
            sensor_aspect = max(float(sensor_aspect), 1.0 / float(sensor_aspect))
            if not math.isfinite(sensor_aspect):
                return None
        diagonal = _frame_diagonal(width, height, sensor_aspect)
        path = Path(path)
        if not path.is_file():
            return None
        for value, key, where, lens in _metadata_candidates(path):
            f35 = _parse_mm(value)
            if f35 is None or not F35_RANGE_MM[0] <= f35 <= F35_RANGE_MM[1]:
                continue
            focal = f35 * diagonal / FULL_FRAME_DIAGONAL_MM
            text = f"35 mm-equivalent focal {f35:g} mm in the file's metadata ({where}, {key}"
            if lens:
                text += f"; lens: {lens}"
            text += ")"
            if sensor_aspect is not None:
                text += f", taken for a {sensor_aspect:.3g}:1 sensor the video spans"
            return focal, text
    except Exception:  # odd files must not stop a run: no focal from metadata then
        return None
    return None
