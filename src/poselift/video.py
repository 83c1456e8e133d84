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
import os
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
    path = Path(path)
    if not path.exists():
        raise PoseliftError("no such file", path)
    if not path.is_file():
        raise PoseliftError("not a file", path)
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
        container.close()
        raise PoseliftError("has no video stream", path)
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


def iter_frames(path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` one by one as RGB uint8 arrays (H, W, 3).

    Decoding is lazy (memory stays bounded however long the video) and frames are turned
    upright according to the display-rotation metadata. At most ``max_frames`` frames are
    yielded. Errors (missing file, not a video, undecodable codec, corrupt data) raise
    :class:`PoseliftError` naming ``path``. Closing the generator closes the file.
    """
    path = _check_file(path)
    if max_frames is not None and max_frames <= 0:
        return
    av = _av()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding: faster, same output
        count = 0
        decoder = container.decode(stream)
        while True:
            try:
                frame = next(decoder)
            except StopIteration:
                break
            except av.error.FFmpegError as e:
                where = f"frame {count}" if count else "the first frame"
                raise PoseliftError(f"cannot decode {where} ({_ffmpeg_message(e)})", path) from None
            image = frame.to_ndarray(format="rgb24")
            yield _upright(image, _rotation(frame))
            count += 1
            if max_frames is not None and count >= max_frames:
                break
    finally:
        container.close()


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
                 crf: int = 20, preset: str = "veryfast"):
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
        av = _av()
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
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
