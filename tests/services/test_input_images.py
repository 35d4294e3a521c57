"""Uploaded input images: decoded for real, turned upright, refused with a reason and without leftovers."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.services import input_images
from data.errors import Invalid
from tests.fakes.fake_media import bad_image, jpeg_bytes, png_bytes, streamed_png


def _rotated_jpeg() -> bytes:
    """A 40×20 JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6): shown, it is 20×40."""
    picture = Image.new("RGB", (40, 20), (200, 30, 30))
    picture.paste((30, 30, 200), (0, 0, 10, 20))  # a blue band on the left edge as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def _files(project_id: int) -> list[str]:
    folder = input_images.inputs_dir(project_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_png_is_stored_under_its_content_with_its_size(db, make_user, make_project) -> None:
    owner = make_user("ann")
    project = make_project(owner)
    data = png_bytes(48, 32, seed="in")

    stored = input_images.store_upload(db, owner, project.id, "street.png", data)

    assert (stored.width, stored.height, stored.filename) == (48, 32, "street.png")
    assert len(stored.id) == 32 and stored.stored == f"projects/{project.id}/inputs/{stored.id}.png"
    assert (input_images.inputs_dir(project.id) / f"{stored.id}.png").read_bytes() == data
    again = input_images.store_upload(db, owner, project.id, "copy.png", data)
    assert again.id == stored.id  # the same picture twice is one file


def test_an_exif_rotated_jpeg_is_stored_upright(db, make_user, make_project) -> None:
    owner = make_user("ann")
    project = make_project(owner)

    stored = input_images.store_upload(db, owner, project.id, "phone.jpg", _rotated_jpeg())

    assert (stored.width, stored.height) == (20, 40)
    with Image.open(input_images.inputs_dir(project.id) / f"{stored.id}.jpg") as picture:
        assert picture.size == (20, 40)
        assert picture.getexif().get(0x0112, 1) == 1
        red, _green, blue = picture.convert("RGB").getpixel((10, 2))  # the blue band is now along the top
        assert blue > 150 and red < 100


@pytest.mark.parametrize(
    ("filename", "data", "words"),
    [
        ("notes.png", b"These are my notes, not a picture.\n" * 20, "is not a picture"),
        ("photo.png", jpeg_bytes(32, 32), "holds a JPEG picture"),
        ("bomb.png", bad_image("bomb"), "decompression bomb"),
        ("huge.png", streamed_png(8000, 8000, colour="gray", pattern="flat"), "megapixels"),
        ("cut.png", bad_image("truncated"), "cut short or damaged"),
        ("empty.png", b"", "is empty"),
        ("drawing.gif", png_bytes(8, 8), "not accepted"),
        ("program", bad_image("executable"), "not accepted"),
    ],
)
def test_what_is_not_an_accepted_picture_is_refused_and_nothing_is_left(
    db, make_user, make_project, filename: str, data: bytes, words: str
) -> None:
    owner = make_user("ann")
    project = make_project(owner)

    with pytest.raises(Invalid) as refused:
        input_images.store_upload(db, owner, project.id, filename, data)

    assert words in refused.value.message and filename in refused.value.message
    assert _files(project.id) == []


def test_someone_elses_project_takes_no_upload(db, make_user, make_project) -> None:
    from data.errors import NotFound

    owner, other = make_user("ann"), make_user("bob")
    project = make_project(owner)
    with pytest.raises(NotFound):
        input_images.store_upload(db, other, project.id, "a.png", png_bytes(8, 8))
    assert _files(project.id) == []
