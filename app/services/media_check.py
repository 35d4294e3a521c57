"""Files are what they claim before they are stored: decoded within pixel and memory limits, thumbnailed on the way.

A result from a server (later an upload) is trusted only after it decodes: an empty file, a cut-short PNG or a
program renamed ".png" is refused with a reason, and so is a decompression bomb (a few kilobytes that claim
20000×20000 pixels) — before a single pixel is decoded. Large but honest pictures are decoded without holding
them whole: JPEG through Pillow's draft mode (the decoder scales down by up to 8), PNG strip by strip (each
strip is decoded on its own by Pillow and reduced at once), so checking a 12000×12000 PNG needs a few tens of
megabytes instead of more than a gigabyte. Videos are probed by ffmpeg (imageio-ffmpeg's static build) and their
first frame decoded, scaled down by ffmpeg, as the poster.
"""

from __future__ import annotations

import io
import math
import re
import struct
import subprocess
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 16384 * 16384  # the largest side WebP and most editors take, squared: ~268 megapixels
MAX_DECODE_BYTES = 96 * 2**20  # a picture decoded whole in memory at most this big (PNGs go in strips instead)
STRIP_THRESHOLD = 16 * 2**20  # PNGs whose decoded pixels would pass this are decoded in strips
STRIP_BYTES = 4 * 2**20  # raw bytes of one strip
PREVIEW_MAX_PIXELS = 4096 * 4096
THUMBNAIL_SIZE = (480, 480)
FFMPEG_SECONDS = 60
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif"}
ANIMATED_SUFFIXES = {".webp", ".gif"}
FORMAT_NAMES = "a PNG, JPEG, WebP or GIF picture"

# Pillow's own guard, set explicitly for every use of Pillow in the app: it warns above this and refuses at twice
# this. The checks below refuse at once, before decoding; this catches any other Image.open in the process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_READ = 1 << 20


class BadMedia(Exception):
    """A file that is not what it claims; `reason` completes "The file …" (e.g. "is empty")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CheckedMedia:
    kind: str  # image | video
    suffix: str  # what the file really is: ".png" for a PNG whatever it was called
    width: int
    height: int
    duration: float | None
    thumbnail: Image.Image | None  # RGB, at most THUMBNAIL_SIZE


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f} megapixels"


def _check_pixels(width: int, height: int, limit: int = MAX_PIXELS) -> None:
    if width < 1 or height < 1:
        raise BadMedia(f"claims a size of {width}×{height} pixels")
    if width * height > limit:
        raise BadMedia(
            f"is {width}×{height} pixels ({_megapixels(width * height)}); pictures may have at most "
            f"{_megapixels(limit)}"
        )


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow keeps per pixel in memory (one byte for grey, four for the rest), plus the RGBA copy that
    palette and bilevel pictures are turned into before they are scaled down."""
    if mode == "L":
        return 1
    if mode.startswith("I;16"):
        return 2
    if mode in ("1", "P", "PA"):
        return 5
    return 4


def _displayable(picture: Image.Image) -> Image.Image:
    """An RGB copy for the thumbnail; 16-bit and float greys are scaled to 8 bits first."""
    if picture.mode in ("I", "F") or picture.mode.startswith("I;16"):
        picture = picture.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return picture.convert("RGB")


def _oriented(picture: Image.Image, width: int, height: int) -> tuple[Image.Image, int, int]:
    """The thumbnail turned the way the camera meant (EXIF), and the picture's size as shown."""
    orientation = picture.getexif().get(0x0112, 1)
    turned = ImageOps.exif_transpose(picture)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return turned if turned is not None else picture, width, height


# -- PNG in strips ---------------------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise BadMedia("is cut short (the PNG ends in the middle)")
    return data


def _png_chunks(stream: BinaryIO) -> Iterator[tuple[bytes, Iterator[bytes]]]:
    """(type, pieces of its data) per chunk, each checked against its CRC once its pieces were read."""
    if stream.read(8) != _PNG_SIGNATURE:
        raise BadMedia("is not a PNG picture")
    while True:
        length, kind = struct.unpack(">I4s", _read_exact(stream, 8))
        if length > 2**31 - 1:
            raise BadMedia("is damaged (a PNG chunk claims more than 2 GB)")

        def pieces(length: int = length, kind: bytes = kind) -> Iterator[bytes]:
            crc = zlib.crc32(kind)
            left = length
            while left:
                piece = _read_exact(stream, min(left, _READ))
                crc = zlib.crc32(piece, crc)
                left -= len(piece)
                yield piece
            if struct.unpack(">I", _read_exact(stream, 4))[0] != crc:
                raise BadMedia(f"is damaged (the checksum of its {kind.decode('latin-1')} chunk does not match)")

        yield kind, pieces()
        if kind == b"IEND":
            return


def _transparency(header: _PngHeader, data: bytes) -> bytes | int | tuple[int, ...]:
    """A tRNS chunk the way Pillow keeps it in info["transparency"] for each colour type."""
    if header.colour == 3:
        return data
    values = struct.unpack(f">{len(data) // 2}H", data[: len(data) // 2 * 2])
    return values[0] if header.colour == 0 and values else tuple(values)


@dataclass
class _PngHeader:
    width: int
    height: int
    depth: int
    colour: int
    interlaced: bool

    @property
    def row_bytes(self) -> int:
        return math.ceil(self.width * _PNG_CHANNELS.get(self.colour, 1) * self.depth / 8)

    @property
    def strippable(self) -> bool:
        """Pillow keeps these rows byte for byte as PNG stores them, which the strip hand-over relies on."""
        return self.depth == 8 and self.colour in _PNG_CHANNELS and not self.interlaced


def _png_header(data: bytes) -> _PngHeader | None:
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return _PngHeader(width, height, depth, colour, interlace == 1)


_PNG_MODES = {0: ("L", "L"), 2: ("RGB", "RGB"), 3: ("P", "P"), 4: ("LA", "LA"), 6: ("RGBA", "RGBA")}


def _decode_strip(header: _PngHeader, palette: bytes | None, previous: bytes | None, rows: bytes) -> Image.Image:
    """One strip through Pillow's PNG row decoder, the row before it (unfiltered) first so its filters have what
    they refer to; the zlib wrapper is stored, not compressed (it only carries the rows to the decoder)."""
    count = len(rows) // (header.row_bytes + 1) + (1 if previous is not None else 0)
    mode, rawmode = _PNG_MODES[header.colour]
    raw = (b"\x00" + previous if previous is not None else b"") + rows
    try:
        strip = Image.frombytes(mode, (header.width, count), zlib.compress(raw, 0), "zip", rawmode)
    except (OSError, SyntaxError, ValueError) as error:
        raise BadMedia(f"is damaged ({error})") from None
    if palette is not None:
        strip.putpalette(palette)
    return strip


def png_in_strips(stream: BinaryIO, factor: int, strip_bytes: int = STRIP_BYTES) -> Image.Image:
    """The whole PNG decoded strip by strip and reduced by `factor` as it goes (every byte is read and checked).

    Only for 8-bit, non-interlaced PNGs (_PngHeader.strippable); the result is RGB or RGBA."""
    chunks = _png_chunks(stream)
    kind, pieces = next(chunks)
    if kind != b"IHDR":
        raise BadMedia("is damaged (a PNG must start with its header)")
    header = _png_header(_PNG_SIGNATURE + _chunk(b"IHDR", b"".join(pieces)))
    if header is None or not header.strippable:
        raise BadMedia("is not a PNG this check can read in strips")
    row = header.row_bytes + 1
    rows_per_strip = max(factor, (strip_bytes // row) // factor * factor)
    palette: bytes | None = None
    transparency: bytes | None = None
    alpha = header.colour in (4, 6)
    target: Image.Image | None = None
    decompressor = zlib.decompressobj()
    pending = bytearray()
    previous: bytes | None = None
    done_rows = 0
    seen_data = False

    def emit(rows: bytes) -> None:
        nonlocal previous, done_rows, target
        strip = _decode_strip(header, palette, previous, rows)
        skip = 1 if previous is not None else 0
        count = strip.height - skip
        previous = strip.crop((0, strip.height - 1, strip.width, strip.height)).tobytes()
        if target is None:
            mode = "RGBA" if alpha else "RGB"
            target = Image.new(mode, (math.ceil(header.width / factor), math.ceil(header.height / factor)))
        if transparency is not None:
            strip.info["transparency"] = _transparency(header, transparency)
        if strip.mode != target.mode:
            strip = strip.convert(target.mode)
        box = (0, skip, strip.width, strip.height)  # the row handed over from the strip before is not drawn again
        part = strip.reduce(factor, box=box) if factor > 1 else strip.crop(box)
        target.paste(part, (0, done_rows // factor))
        done_rows += count

    for kind, pieces in chunks:
        if kind == b"IDAT":
            seen_data = True
            for piece in pieces:
                data = piece
                while data:
                    try:
                        pending += decompressor.decompress(data, strip_bytes)
                    except zlib.error as error:
                        raise BadMedia(f"is damaged ({error})") from None
                    data = decompressor.unconsumed_tail
                    while len(pending) >= rows_per_strip * row and done_rows < header.height:
                        take = min(rows_per_strip, header.height - done_rows) * row
                        with memoryview(pending) as view:
                            strip_rows = bytes(view[:take])
                        del pending[:take]
                        emit(strip_rows)
        else:
            data = b"".join(pieces)  # small chunks only matter before the pixels: keep the palette and transparency
            if kind == b"PLTE" and not seen_data:
                palette = data
            elif kind == b"tRNS" and not seen_data:
                transparency, alpha = data, True
    try:
        pending += decompressor.flush()
    except zlib.error as error:
        raise BadMedia(f"is damaged ({error})") from None
    left = header.height - done_rows
    if left > 0 and len(pending) >= left * row:
        emit(bytes(pending[: left * row]))
    if done_rows < header.height or target is None:
        raise BadMedia(f"is cut short (its pixels stop after {done_rows} of {header.height} rows)")
    return target


# -- pictures --------------------------------------------------------------------------------------------------------


def _open(stream: BinaryIO) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(stream, formats=list(IMAGE_FORMATS))
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        if isinstance(error, UnidentifiedImageError):
            raise BadMedia(f"is not {FORMAT_NAMES}") from None
        header = _png_header(_head(stream))
        if header is not None:
            _check_pixels(header.width, header.height)
        raise BadMedia(f"claims more than {_megapixels(MAX_PIXELS)}, the most a picture may have") from None
    except (OSError, SyntaxError, ValueError, struct.error) as error:
        raise BadMedia(f"is damaged ({error})") from None


def check_image(source: bytes | Path, *, kind: str = "image", max_pixels: int = MAX_PIXELS) -> CheckedMedia:
    """A picture (or an animated WebP/GIF's first frame) decoded within the limits, with its thumbnail."""
    data = source if isinstance(source, bytes) else None
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if size == 0:
        raise BadMedia("is empty (0 bytes)")
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else Path(source).open("rb")  # noqa: SIM115
    try:
        picture = _open(stream)
        width, height = picture.size
        _check_pixels(width, height, max_pixels)
        suffix = IMAGE_FORMATS[picture.format or "PNG"]
        if picture.format == "JPEG":
            picture.draft("RGB", (THUMBNAIL_SIZE[0] * 2, THUMBNAIL_SIZE[1] * 2))  # decoded at 1/2 … 1/8 scale
        needed = picture.size[0] * picture.size[1] * _bytes_per_pixel(picture.mode)
        header = _png_header(data if data is not None else _head(stream))
        if picture.format == "PNG" and header is not None and header.strippable and needed > STRIP_THRESHOLD:
            stream.seek(0)
            factor = max(1, max(width, height) // (THUMBNAIL_SIZE[0] * 2))
            picture = png_in_strips(stream, factor)
        elif needed > MAX_DECODE_BYTES:
            raise BadMedia(
                f"is {width}×{height} pixels and would take {needed // 2**20} MB to check; "
                f"pictures of this kind may take at most {MAX_DECODE_BYTES // 2**20} MB"
            )
        else:
            try:
                picture.load()
            except (OSError, SyntaxError, ValueError, struct.error, zlib.error) as error:
                raise BadMedia(f"is cut short or damaged ({error})") from None
            if picture.mode in ("1", "P", "PA"):  # scaled down only by the nearest pixel otherwise
                picture = picture.convert("RGBA")
        picture.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
        thumbnail, width, height = _oriented(picture, width, height)
        return CheckedMedia(kind, suffix, width, height, None, _displayable(thumbnail))
    finally:
        stream.close()


def _head(stream: BinaryIO) -> bytes:
    position = stream.tell()
    stream.seek(0)
    head = stream.read(64)
    stream.seek(position)
    return head


def check_preview(data: bytes) -> bool:
    """A live preview frame worth showing: a small PNG or JPEG that decodes."""
    try:
        checked = check_image(data, max_pixels=PREVIEW_MAX_PIXELS)
    except BadMedia:
        return False
    return checked.suffix in (".png", ".jpg")


# -- videos ----------------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO_SIZE = re.compile(r"Stream #\d+:\d+.*?: Video: .*?, (\d{1,6})x(\d{1,6})")


def _ffmpeg(arguments: list[str]) -> subprocess.CompletedProcess[bytes]:
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", *arguments]
    try:
        return subprocess.run(command, capture_output=True, timeout=FFMPEG_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise BadMedia(f"could not be read by ffmpeg within {FFMPEG_SECONDS} s") from None


def check_video(path: Path) -> CheckedMedia:
    """A video ffmpeg can open, of allowed size, whose first frame decodes (that frame, scaled down, is the poster)."""
    if path.stat().st_size == 0:
        raise BadMedia("is empty (0 bytes)")
    probe = _ffmpeg(["-i", str(path)])  # no output named: ffmpeg only describes the input
    described = probe.stderr.decode("utf-8", errors="replace")
    size = _VIDEO_SIZE.search(described)
    if size is None:
        raise BadMedia("is not a video ffmpeg can read")
    width, height = int(size.group(1)), int(size.group(2))
    _check_pixels(width, height)
    duration = None
    if (found := _DURATION.search(described)) is not None:
        hours, minutes, seconds = found.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    # One run: the first frame, scaled down (never up), to stdout as the poster; and every packet of the stream read
    # through (copied, not decoded) so a file cut short or damaged further on says so on stderr.
    side = f"{THUMBNAIL_SIZE[0]}"
    scale = f"scale=w='min({side},iw)':h='min({side},ih)':force_original_aspect_ratio=decrease"
    poster_out = ["-map", "0:v:0", "-frames:v", "1", "-vf", scale, "-f", "image2pipe", "-vcodec", "png", "pipe:1"]
    first = _ffmpeg(["-v", "error", "-i", str(path), *poster_out, "-map", "0:v:0", "-c", "copy", "-f", "null", "-"])
    problems = first.stderr.decode("utf-8", errors="replace").strip().splitlines()
    if first.returncode != 0 or not first.stdout or problems:
        detail = f" ({problems[-1][:200]})" if problems else ""
        raise BadMedia("is cut short or damaged, or has no frame ffmpeg can decode" + detail)
    poster = check_image(first.stdout)
    suffix = path.suffix.lower() or ".mp4"
    return CheckedMedia("video", suffix, width, height, duration, poster.thumbnail)


def check_output(data: bytes, filename: str, media: str) -> CheckedMedia:
    """A server's output file judged by what it claims to be: a picture, an animated picture, or a video."""
    suffix = Path(filename).suffix.lower()
    if not data:
        raise BadMedia("is empty (0 bytes)")
    if media != "video" or suffix in ANIMATED_SUFFIXES:
        return check_image(data, kind=media)
    with tempfile.TemporaryDirectory(prefix="storycanvas-check-") as folder:
        known = re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) is not None
        target = Path(folder) / ("output" + (suffix if known else ".mp4"))
        target.write_bytes(data)
        return check_video(target)
