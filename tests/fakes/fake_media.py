"""Small, real media files for tests: PNG, JPEG, MP4 (h264), WebM (VP9) and animated WebP.

Content is derived from a seed, so different seeds give different bytes and the same seed the
same bytes (videos are encoded once per seed and size, then cached).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
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
