"""Files are what they claim: decoded within pixel and memory limits, large PNGs in strips, videos through ffmpeg."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from PIL import Image

from app.services import media_check
from app.services.media_check import BadMedia
from tests.fakes import fake_media

_HOME = tempfile.mkdtemp(prefix="storycanvas-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "is empty (0 bytes)"),
        ("truncated", "is cut short or damaged"),
        ("executable", "is not a PNG, JPEG, WebP or GIF picture"),
        ("bomb", "is 20000×20000 pixels (400 megapixels); pictures may have at most 268 megapixels"),
    ],
)
def test_a_file_that_is_not_the_picture_it_claims_is_refused_with_the_reason(kind: str, reason: str) -> None:
    with pytest.raises(BadMedia) as refused:
        media_check.check_output(fake_media.bad_image(kind), "ComfyUI_00001_.png", "image")
    assert reason in refused.value.reason


def test_pillows_own_limit_is_set_to_ours() -> None:
    assert Image.MAX_IMAGE_PIXELS == media_check.MAX_PIXELS


def test_a_picture_is_checked_and_thumbnailed_as_what_it_really_is() -> None:
    checked = media_check.check_output(fake_media.jpeg_bytes(900, 600, seed="renamed"), "x.png", "image")
    assert (checked.suffix, checked.width, checked.height) == (".jpg", 900, 600)
    assert checked.thumbnail is not None and checked.thumbnail.size == (480, 320) and checked.thumbnail.mode == "RGB"


def _png(mode: str, width: int, height: int, seed: int, **save: object) -> bytes:
    noise = Image.effect_noise((width, height), 40 + seed % 50).convert("L")
    picture = Image.merge(
        "RGB", (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise.point(lambda v: 255 - v))
    )
    if mode == "P":
        picture = picture.quantize(colors=16)
    elif mode != "RGB":
        picture = picture.convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", **save)
    return buffer.getvalue()


@settings(max_examples=40, deadline=None)
@given(
    mode=st.sampled_from(["RGB", "RGBA", "L", "LA", "P"]),
    width=st.integers(1, 70),
    height=st.integers(1, 40),
    seed=st.integers(0, 1000),
    strip_bytes=st.integers(1, 4000),
    factor=st.sampled_from([1, 1, 2, 3]),
)
def test_a_png_decoded_in_strips_is_the_png_decoded_whole(mode, width, height, seed, strip_bytes, factor) -> None:
    data = _png(mode, width, height, seed)
    assume(media_check._png_header(data).strippable)  # 8-bit, not interlaced: what the strips are for
    whole = Image.open(io.BytesIO(data))
    whole = whole.convert("RGBA" if mode in ("RGBA", "LA") or "transparency" in whole.info else "RGB")
    if factor > 1:
        whole = whole.reduce(factor)

    strips = media_check.png_in_strips(io.BytesIO(data), factor, strip_bytes=strip_bytes)

    assert strips.size == whole.size
    if factor == 1:
        assert strips.convert(whole.mode).tobytes() == whole.tobytes()
    else:  # strips reduce their own rows: at most a rounding step apart from reducing the whole
        worst = max(abs(a - b) for a, b in zip(strips.convert(whole.mode).tobytes(), whole.tobytes(), strict=True))
        assert worst <= 1


def test_a_large_png_goes_through_strips_and_a_cut_short_one_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(media_check, "STRIP_THRESHOLD", 1000)
    monkeypatch.setattr(media_check, "STRIP_BYTES", 5000)
    data = _png("RGB", 300, 200, 1)
    seen: list[int] = []
    original = media_check.png_in_strips
    monkeypatch.setattr(media_check, "png_in_strips", lambda *a, **k: seen.append(1) or original(*a, **k))

    checked = media_check.check_image(data)

    assert seen and (checked.width, checked.height) == (300, 200) and checked.thumbnail.size == (300, 200)
    with pytest.raises(BadMedia, match="cut short"):
        media_check.check_image(data[: len(data) * 2 // 3])
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF
    with pytest.raises(BadMedia, match="damaged"):
        media_check.check_image(bytes(damaged))


def test_a_picture_too_large_to_decode_within_the_memory_limit_is_refused(monkeypatch) -> None:
    """What cannot go through the strips (16-bit or interlaced PNG, WebP) is decoded whole only within the limit."""
    monkeypatch.setattr(media_check, "MAX_DECODE_BYTES", 10_000)
    deep = io.BytesIO()
    Image.new("I;16", (100, 100), 3000).save(deep, "PNG")  # 16 bits per sample: not for the strips
    assert not media_check._png_header(deep.getvalue()).strippable
    with pytest.raises(BadMedia, match="would take 0 MB to check"):
        media_check.check_image(deep.getvalue())
    with pytest.raises(BadMedia, match="at most 0 MB"):
        media_check.check_image(_webp(300, 300))


def _webp(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (9, 9, 9)).save(buffer, "WEBP")
    return buffer.getvalue()


def test_checking_a_large_png_needs_a_bounded_amount_of_memory(tmp_path: Path) -> None:
    """A 6000×6000 PNG: decoded whole (and converted) that was about 290 MB; in strips it stays far below."""
    script = textwrap.dedent(
        """
        import resource, sys
        from tests.fakes import fake_media
        data = fake_media.streamed_png(6000, 6000)
        from app.services import media_check
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        checked = media_check.check_output(data, "big.png", "image")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert (checked.width, checked.height) == (6000, 6000), checked
        print((after - before) // 1024)
        """
    )
    env = {**os.environ, "STORYCANVAS_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_CURRENT_TEST", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) < 80  # megabytes of peak growth


def test_a_video_is_probed_and_its_first_frame_is_the_poster() -> None:
    checked = media_check.check_output(fake_media.mp4_bytes(64, 48, seed="v", frames=16, fps=8), "clip.mp4", "video")
    assert (checked.kind, checked.suffix, checked.width, checked.height) == ("video", ".mp4", 64, 48)
    assert checked.duration == pytest.approx(2.0, abs=0.2)
    assert checked.thumbnail is not None and checked.thumbnail.size == (64, 48)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (lambda: fake_media.bad_image("executable"), "is not a video ffmpeg can read"),
        (lambda: fake_media.mp4_bytes(64, 48, seed="cut", frames=48)[:9000], "is cut short or damaged"),
        (lambda: fake_media.webm_bytes(64, 48, seed="cut", frames=48)[:9000], "is cut short or damaged"),
        (lambda: b"", "is empty"),
    ],
)
def test_a_video_that_is_not_what_it_claims_is_refused(data, reason: str) -> None:
    with pytest.raises(BadMedia, match=reason):
        media_check.check_output(data(), "clip.mp4", "video")


def test_an_animated_webp_is_checked_by_its_first_frame() -> None:
    checked = media_check.check_output(fake_media.animated_webp_bytes(64, 48), "loop.webp", "video")
    assert (checked.kind, checked.suffix, checked.width, checked.height) == ("video", ".webp", 64, 48)


def test_a_preview_must_be_a_small_png_or_jpeg() -> None:
    assert media_check.check_preview(fake_media.jpeg_bytes(64, 64))
    assert not media_check.check_preview(fake_media.streamed_png(5000, 5000, colour="gray", pattern="flat"))
    assert not media_check.check_preview(_webp(8, 8))
    assert not media_check.check_preview(b"<svg/>")
