"""Paths from outside are judged by where they resolve: properties over hostile spellings, and the file system walk."""

from __future__ import annotations

import atexit
import contextlib
import os
import posixpath
import shutil
import tempfile
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from app.services import safe_paths
from app.services.safe_paths import UnsafePath

# Hypothesis keeps a cache on disk: keep it out of the working tree.
_HOME = tempfile.mkdtemp(prefix="storycanvas-hypothesis-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)

HOSTILE_SEGMENTS = [
    *("..", ".", "", "...", " ..", ".. ", "%2e%2e", "%2E%2e", "%252e%252e", "..%2f", "%2f", "%5c", "..%5c"),
    *("\\", "..\\..", "a\\b", "\x00", "a\x00.png", "\n", "\t", "\u202e", "\u200b", "\ufeff"),
    # Unicode look-alikes of dots and slashes: full-width, one-dot leader, two-dot leader, division/fraction slash.
    *("．．", "．", "／", "\uff0e\uff0e\uff0f", "\u2024\u2024", "\u2025", "\u2215", "\u2044", "\u29f8", "\ufe52\ufe52"),
    *("ｐｒｏｊｅｃｔｓ", "C:", "c:\\", "~", "~root", "\ud800"),
    *("projects", "7", "12", "clips", "jobs", "preview.jpg", "a.png", "thumbs", "x.webp"),
]
SEPARATORS = ["/", "//", "/./", "\\", "／", "\u2215", "/../"]


@st.composite
def hostile_paths(draw: st.DrawFn) -> str:
    segments = draw(st.lists(st.sampled_from(HOSTILE_SEGMENTS) | st.text(max_size=6), min_size=1, max_size=7))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(segments), max_size=len(segments)))
    start = draw(st.sampled_from(["", "", "/", "\\", "projects/7/"]))
    return start + "".join(segment + separator for segment, separator in zip(segments, separators, strict=True))[:-1]


def _readings(path: str) -> set[str]:
    """What other layers might make of the same text: URL-decoded (twice), NFKC-normalised, Windows separators."""
    once = unquote(path)
    return {
        path,
        once,
        unquote(once),
        unicodedata.normalize("NFKC", path),
        unicodedata.normalize("NFKC", once),
        path.replace("\\", "/"),
    }


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(hostile_paths())
@example("projects/7/../../jobs/3/preview.jpg")
@example("projects/7/../8/clips/2/abc.png")
@example("projects/7/%2e%2e/%2e%2e/jobs/3/preview.jpg")
@example("projects/7/\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fjobs/3/preview.jpg")
@example("projects\\7\\..\\..\\jobs\\3\\preview.jpg")
@example("projects/7/clips/2/a.png\x00.jpg")
@example("/etc/passwd")
def test_an_accepted_path_means_the_same_to_every_reader_and_stays_inside(path: str) -> None:
    try:
        relative = safe_paths.check_relative(path)
    except UnsafePath as refused:
        assert "The file path" in refused.message or "empty" in refused.message
        return
    for reading in _readings(path):
        assert reading == path  # nothing any layer decodes differently
    parts = relative.parts
    assert parts and all(part not in ("", ".", "..") for part in parts)
    assert not any(ch in path for ch in "\\\x00%") and not path.startswith("/")
    assert posixpath.normpath("/root/" + path).startswith("/root/")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_the_check_never_fails_other_than_by_refusing(text: str) -> None:
    with contextlib.suppress(UnsafePath):
        safe_paths.check_relative(text)


@pytest.mark.parametrize(
    "path",
    [
        "projects/7/../../jobs/3/preview.jpg",
        "projects/7/../8/clips/2/abc.png",
        "projects/7/%2e%2e/8/clips/2/abc.png",
        "projects/7/clips/2/abc.png\x00",
        "projects\\7\\clips\\2\\abc.png",
        "projects/7/clips/2/abc.png/",
        "projects//7/clips/2/abc.png",
        "projects/7/./clips/2/abc.png",
        "projects/7/\uff0e\uff0e/8/abc.png",
        "projects\uff0f7\uff0fabc.png",
        "/abs/projects/7/abc.png",
        "C:/projects/7/abc.png",
        "",
    ],
)
def test_hostile_spellings_are_refused_naming_the_path(path: str) -> None:
    with pytest.raises(UnsafePath) as refused:
        safe_paths.check_relative(path)
    if path:
        assert path.replace("\x00", "\\x00")[:30] in refused.value.message
    assert refused.value.status_code == 422


@pytest.fixture
def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "projects" / "7" / "clips" / "2").mkdir(parents=True)
    (root / "projects" / "7" / "clips" / "2" / "a.png").write_bytes(b"mine")
    (root / "projects" / "8" / "clips" / "5").mkdir(parents=True)
    (root / "projects" / "8" / "clips" / "5" / "b.png").write_bytes(b"theirs")
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", root / "projects" / "7" / "clips" / "2" / "link.png")
    os.symlink(root / "projects" / "8", root / "projects" / "7" / "clips" / "theirs")
    return root


def test_a_plain_path_resolves_to_its_file(media: Path) -> None:
    found = safe_paths.resolve_media("projects/7/clips/2/a.png", media)
    assert found == (media / "projects/7/clips/2/a.png").resolve()
    assert safe_paths.media_relative(found, media).parts[:2] == ("projects", "7")


@pytest.mark.parametrize("path", ["projects/7/clips/2/link.png", "projects/7/clips/theirs/clips/5/b.png"])
def test_a_link_anywhere_on_the_way_is_refused(media: Path, path: str) -> None:
    with pytest.raises(UnsafePath, match="goes through a link"):
        safe_paths.resolve_media(path, media)


def test_a_folder_or_nothing_is_not_a_file(media: Path) -> None:
    with pytest.raises(UnsafePath, match="not a regular file"):
        safe_paths.resolve_media("projects/7/clips/2", media)
    with pytest.raises(FileNotFoundError):
        safe_paths.resolve_media("projects/7/clips/2/missing.png", media)
    with pytest.raises(FileNotFoundError):
        safe_paths.resolve_media("projects/7/clips/2/a.png/deeper.png", media)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile_paths())
@example("projects/7/clips/2/a.png")
@example("projects/7/clips/2/link.png")
def test_whatever_resolves_is_a_regular_file_inside_without_links(media: Path, path: str) -> None:
    try:
        found = safe_paths.resolve_media(path, media)
    except (UnsafePath, FileNotFoundError):
        return
    root = media.resolve()
    assert found.is_relative_to(root) and found.is_file()
    walked = root
    for part in found.relative_to(root).parts:
        walked = walked / part
        assert not walked.is_symlink()
