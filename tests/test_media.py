"""Probing local media: the real type, size and dimensions, or a clear error."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from postqued_async._errors import ValidationError
from postqued_async._media import (
    MAX_IMAGE_SIZE,
    MAX_VIDEO_SIZE,
    MediaError,
    probe_media,
    probe_media_sync,
    sniff_mime_type,
)

EXAMPLE_MEDIA = pathlib.Path(__file__).parent.parent / "examples" / "media"

# The smallest ISO base media header: a 24-byte ``ftyp`` box and no movie.
QUICKTIME_HEADER_ONLY = b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  \x00\x00\x00\x00"


@pytest.mark.parametrize(
    ("name", "media_type", "mime_type", "width", "height", "duration_ms"),
    [
        ("launch-teaser.mp4", "video", "video/mp4", 720, 1280, 4000),
        ("behind-the-scenes.mp4", "video", "video/mp4", 540, 960, 3000),
        ("product-loop.mp4", "video", "video/mp4", 540, 960, 3000),
        ("cover.jpg", "image", "image/jpeg", 1080, 1350, None),
        ("team.jpg", "image", "image/jpeg", 1080, 1080, None),
        ("logo-card.png", "image", "image/png", 1080, 1080, None),
    ],
)
def test_probe_reads_type_dimensions_and_duration_of_example_media(
    name: str,
    media_type: str,
    mime_type: str,
    width: int,
    height: int,
    duration_ms: int | None,
) -> None:
    path = EXAMPLE_MEDIA / name

    media = probe_media_sync(path)

    assert media.path == path
    assert media.media_type == media_type
    assert media.mime_type == mime_type
    assert media.size == path.stat().st_size
    assert (media.width, media.height) == (width, height)
    if duration_ms is None:
        assert media.duration_ms is None
    else:
        assert media.duration_ms == pytest.approx(duration_ms, abs=100)


async def test_async_probe_gives_the_same_answer_as_the_sync_one() -> None:
    path = EXAMPLE_MEDIA / "launch-teaser.mp4"

    media = await probe_media(str(path))

    assert media == probe_media_sync(path)


def test_content_decides_the_type_not_the_extension(tmp_path: pathlib.Path) -> None:
    disguised = tmp_path / "clip.mp4"
    shutil.copyfile(EXAMPLE_MEDIA / "logo-card.png", disguised)

    media = probe_media_sync(disguised)

    assert media.media_type == "image"
    assert media.mime_type == "image/png"
    assert (media.width, media.height) == (1080, 1080)


def test_missing_path_is_refused_with_its_name(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nowhere.mp4"

    with pytest.raises(MediaError, match="no such file") as caught:
        probe_media_sync(missing)

    assert str(missing) in str(caught.value)


def test_directory_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(MediaError, match="is a directory") as caught:
        probe_media_sync(tmp_path)

    assert str(tmp_path) in str(caught.value)


def test_empty_file_is_refused(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()

    with pytest.raises(MediaError, match=r"is empty \(0 bytes\)") as caught:
        probe_media_sync(empty)

    assert str(empty) in str(caught.value)


def test_text_file_is_refused_and_named_as_text(tmp_path: pathlib.Path) -> None:
    notes = tmp_path / "caption.mp4"
    notes.write_text("Launch day, in three pictures.\n", encoding="utf-8")

    with pytest.raises(MediaError) as caught:
        probe_media_sync(notes)

    message = str(caught.value)
    assert message.startswith(f"{notes}: unsupported media type text/plain")
    assert "video/mp4" in message
    assert "image/gif" in message
    assert "convert the file or pick another" in message


def test_oversized_image_is_refused_before_it_is_parsed(
    tmp_path: pathlib.Path,
) -> None:
    # Sparse: 21 MB on paper, a few bytes on disk.
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as file:
        file.write(b"\xff\xd8\xff\xe0")
        file.truncate(21 * 1000 * 1000)
    assert huge.stat().st_size > MAX_IMAGE_SIZE

    with pytest.raises(MediaError) as caught:
        probe_media_sync(huge)

    message = str(caught.value)
    assert str(huge) in message
    assert "21.0 MB" in message
    assert "20.0 MB limit for images" in message
    assert "compress or resize" in message


def test_oversized_video_is_refused_before_it_is_parsed(
    tmp_path: pathlib.Path,
) -> None:
    huge = tmp_path / "huge.mov"
    with huge.open("wb") as file:
        file.write(QUICKTIME_HEADER_ONLY)
        file.truncate(MAX_VIDEO_SIZE + 1)

    with pytest.raises(MediaError, match="limit for videos") as caught:
        probe_media_sync(huge)

    assert str(huge) in str(caught.value)


def test_video_without_readable_dimensions_suggests_passing_them(
    tmp_path: pathlib.Path,
) -> None:
    hollow = tmp_path / "hollow.mov"
    hollow.write_bytes(QUICKTIME_HEADER_ONLY + b"\x00" * 1000)

    with pytest.raises(MediaError) as caught:
        probe_media_sync(hollow)

    message = str(caught.value)
    assert message.startswith(f"{hollow}: could not probe this video/quicktime")
    assert "pass width, height and duration_ms explicitly" in message


def test_media_error_is_caught_as_validation_and_value_error() -> None:
    assert issubclass(MediaError, ValidationError)
    assert issubclass(MediaError, ValueError)


@pytest.mark.parametrize(
    ("head", "mime_type"),
    [
        (b"\xff\xd8\xff\xdb" + bytes(60), "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2", "video/mp4"),
        (b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
        (QUICKTIME_HEADER_ONLY, "video/quicktime"),
        (b"\x00\x00\x10\x00moov\x00\x00\x00\x6cmvhd", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (
            b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska",
            "video/x-matroska",
        ),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isom", "audio/mp4"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (b"%PDF-1.7\n", "application/pdf"),
        # A multi-byte character cut off by the end of the head is still text.
        ("Swipe →".encode()[:-1], "text/plain"),
        (b"\x00\x01\x02\x03\xfe\xff", "application/octet-stream"),
    ],
)
def test_sniff_names_the_type_from_the_first_bytes(head: bytes, mime_type: str) -> None:
    assert sniff_mime_type(head) == mime_type
