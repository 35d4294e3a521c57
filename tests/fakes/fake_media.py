"""Small, real media files for tests: PNG, JPEG, MP4 (h264), WebM (VP9) and animated WebP.

Content is derived from a seed, so different seeds give different bytes and the same seed the
same bytes (videos are encoded once per seed and size, then cached).
"""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
import tempfile
import zlib
from functools import lru_cache
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw


def _palette(seed: int | str) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest()


def frame(width: int = 64, height: int = 64, seed: int | str = 0, index: int = 0) -> Image.Image:
    """An RGB picture whose colours and stripe position come from the seed (and the frame index)."""
    digest = _palette(seed)
    image = Image.new("RGB", (max(1, width), max(1, height)), (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(image)
    stripe = (digest[3] + index * 7) % max(1, width)
    draw.rectangle((stripe, 0, min(width - 1, stripe + max(1, width // 4)), height - 1), fill=tuple(digest[4:7]))
    draw.ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4), outline=tuple(digest[7:10]))
    return image


def png_bytes(width: int = 64, height: int = 64, seed: int | str = 0) -> bytes:
    buffer = io.BytesIO()
    frame(width, height, seed).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 64, seed: int | str = 0, quality: int = 70) -> bytes:
    buffer = io.BytesIO()
    frame(width, height, seed).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@lru_cache(maxsize=64)
def animated_webp_bytes(width: int = 64, height: int = 64, seed: int | str = 0, frames: int = 8, fps: int = 8) -> bytes:
    images = [frame(width, height, seed, index) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="WEBP", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0, quality=60
    )
    return buffer.getvalue()


def _encode(width: int, height: int, seed: int | str, frames: int, fps: int, suffix: str, codec: list[str]) -> bytes:
    raw = b"".join(frame(width, height, seed, index).tobytes() for index in range(frames))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"out{suffix}"
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-hide_banner", "-loglevel", "error", "-y"),
            *("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"),
            *codec,
            str(target),
        ]
        subprocess.run(command, input=raw, check=True, capture_output=True, timeout=60)
        return target.read_bytes()


def _even(value: int) -> int:
    """yuv420p needs even sides."""
    return max(2, value - value % 2)


@lru_cache(maxsize=64)
def mp4_bytes(width: int = 64, height: int = 64, seed: int | str = 0, frames: int = 8, fps: int = 8) -> bytes:
    codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    return _encode(_even(width), _even(height), seed, frames, fps, ".mp4", codec)


@lru_cache(maxsize=64)
def webm_bytes(width: int = 64, height: int = 64, seed: int | str = 0, frames: int = 8, fps: int = 8) -> bytes:
    codec = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k", "-pix_fmt", "yuv420p"]
    return _encode(_even(width), _even(height), seed, frames, fps, ".webm", codec)


# -- hostile files: what a misbehaving server or upload may send ----------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=8)
def streamed_png(width: int, height: int, *, colour: str = "rgb", pattern: str = "gradient") -> bytes:
    """A PNG of any size written row by row, never as a whole picture in memory.

    "flat" rows compress to almost nothing, which is what a decompression bomb is; "gradient" rows
    stand for a real large picture. colour is "rgb" (8-bit RGB) or "gray" (1-bit, the smallest bomb)."""
    if colour == "gray":
        header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
        row_bytes = (width + 7) // 8
    else:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        row_bytes = width * 3
    compressor = zlib.compressobj(9)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    flat = b"\x00" + bytes(row_bytes)
    pending: list[bytes] = []
    for y in range(height):
        if pattern == "flat":
            row = flat
        else:  # a diagonal gradient with Sub filtering: every row differs, like a photograph's
            row = b"\x01" + bytes([(y + x) % 7 + 1 for x in range(min(row_bytes, 64))]) * (row_bytes // 64 + 1)
            row = row[: row_bytes + 1]
        pending.append(compressor.compress(row))
        if len(pending) > 256:
            data = b"".join(pending)
            pending = []
            if data:
                parts.append(_chunk(b"IDAT", data))
    data = b"".join(pending) + compressor.flush()
    parts.append(_chunk(b"IDAT", data))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def bad_image(kind: str) -> bytes:
    """Files that claim to be a .png result and are not one (or are one too large to decode)."""
    if kind == "empty":
        return b""
    if kind == "truncated":
        whole = png_bytes(64, 64, seed="truncated")
        return whole[: len(whole) // 2]
    if kind == "executable":  # the start of an ELF program
        return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(200)
    if kind == "bomb":  # 20000 x 20000 pixels in about 60 KB
        return streamed_png(20000, 20000, colour="gray", pattern="flat")
    raise ValueError(f"unknown bad image {kind!r}")
