"""Probing a local media file before anything is sent.

PostQued accepts seven media types, caps an image at 20 MB and a video at
4 GB, and its upload-complete call wants the width, height and duration of
what was uploaded. :func:`probe_media` finds all of that out from the file
itself, so a wrong file fails here, with a message that says what to do,
instead of half-way through an upload:

- the type comes from the file's first bytes, never from its name, so a PNG
  called ``clip.mp4`` is still a PNG;
- width, height and duration come from libmediainfo (through pymediainfo,
  whose wheels bundle it), which reads container headers rather than
  decoding, so even a multi-gigabyte video is probed in milliseconds.
"""

from __future__ import annotations

import codecs
import functools
import math
import os
import pathlib
import stat
from typing import BinaryIO, Final, Literal, TypeAlias

import anyio.to_thread
import attrs
import pymediainfo

from postqued_async._errors import MediaError

__all__ = [
    "ALLOWED_MIME_TYPES",
    "MAX_IMAGE_SIZE",
    "MAX_VIDEO_SIZE",
    "MediaError",
    "MediaInfo",
    "MediaType",
    "probe_media",
    "probe_media_sync",
    "sniff_mime_type",
]

MediaType: TypeAlias = Literal["video", "image"]

ALLOWED_MIME_TYPES: Final[tuple[str, ...]] = (
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
)
"""The content types PostQued accepts, in the order the API lists them."""

# The API says "20 MB" and "4 GB" without saying which megabyte; the decimal
# reading is the smaller, so a file that passes here passes either way.
MAX_IMAGE_SIZE: Final = 20 * 1000**2
"""The largest image PostQued accepts, in bytes (20 MB)."""

MAX_VIDEO_SIZE: Final = 4 * 1000**3
"""The largest video PostQued accepts, in bytes (4 GB)."""

# Every signature below fits in this many bytes, including the EBML DocType
# that tells WebM apart from other Matroska files.
_HEAD_SIZE: Final = 64

# 0.5 is libmediainfo's own default: headers plus a few frames, which is all
# width, height and duration need. 1.0 would read every byte of the file.
_PARSE_SPEED: Final = 0.5

# A QuickTime file written before ISO base media existed has no ``ftyp``
# box and starts straight with one of these atoms.
_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip"})

# ISO base media brands that are not MP4 video. Any other brand is read as
# MP4, because writers stamp all kinds of brands (isom, mp42, avc1, dash...)
# on files that every MP4 reader plays.
_ISO_BRANDS_NOT_MP4: Final[dict[bytes, str]] = {
    b"qt  ": "video/quicktime",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
    b"3g2a": "video/3gpp2",
}

_RIFF_FORMS: Final[dict[bytes, str]] = {
    b"WEBP": "image/webp",
    b"AVI ": "video/x-msvideo",
    b"WAVE": "audio/wav",
}

# Types PostQued refuses, recognised only so the error can name them.
_OTHER_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\xba", "video/mpeg"),
    (b"BM", "image/bmp"),
)


@attrs.frozen
class MediaInfo:
    """What the SDK needs to know about a media file before uploading it.

    Attributes:
        path: The file, as the caller named it.
        media_type: ``"video"`` or ``"image"``.
        mime_type: The real content type, one of :data:`ALLOWED_MIME_TYPES`.
        size: The file's size in bytes.
        width: Width in pixels as displayed (rotation applied), if known.
        height: Height in pixels as displayed (rotation applied), if known.
        duration_ms: Length in milliseconds; always set for a video, always
            ``None`` for an image (an animated GIF included).
    """

    path: pathlib.Path
    media_type: MediaType
    mime_type: str
    size: int
    width: int | None
    height: int | None
    duration_ms: int | None


async def probe_media(
    path: str | os.PathLike[str], *, dimensions: bool = True
) -> MediaInfo:
    """Check a local media file and read its type, size and dimensions.

    Does the same as :func:`probe_media_sync` in a worker thread, because
    libmediainfo blocks. Cancelling waits for the probe to finish; it rarely
    takes more than a few milliseconds.

    Raises:
        MediaError: The file is missing, unreadable, empty, of a type
            PostQued refuses, too large, or a video that cannot be probed.
    """
    return await anyio.to_thread.run_sync(
        functools.partial(probe_media_sync, path, dimensions=dimensions)
    )


def probe_media_sync(
    path: str | os.PathLike[str], *, dimensions: bool = True
) -> MediaInfo:
    """Check a local media file and read its type, size and dimensions.

    The type is read from the file's content, never from its name. The size
    limits are checked before libmediainfo opens the file.

    Args:
        path: The video or image to probe.
        dimensions: Whether to read width, height and duration. Without, only
            the type and size are checked and libmediainfo is not asked,
            for callers who know the dimensions already.

    Returns:
        The file's :class:`MediaInfo`.

    Raises:
        MediaError: The file is missing, unreadable, empty, of a type
            PostQued refuses, too large, or a video whose width, height or
            duration cannot be read.
    """
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise MediaError(f"expected the path of a media file, not {path!r}")
    media_path = pathlib.Path(path)
    size = _regular_file_size(media_path)

    try:
        file = media_path.open("rb")
    except OSError as exc:
        raise MediaError(
            f"{media_path}: cannot be read ({exc.strerror or exc}); "
            "check that you may read it"
        ) from exc

    with file:
        head = file.read(_HEAD_SIZE)
        mime_type = sniff_mime_type(head)
        media_type = _accepted_media_type(media_path, mime_type, size)
        if not dimensions:
            return MediaInfo(media_path, media_type, mime_type, size, None, None, None)

        file.seek(0)
        tracks = _parse_tracks(file)

    if media_type == "image":
        width, height = _image_dimensions(tracks, head)
        return MediaInfo(media_path, media_type, mime_type, size, width, height, None)

    width, height, duration_ms = _video_dimensions(tracks)
    if width is None or height is None or duration_ms is None:
        found = {"width": width, "height": height, "duration": duration_ms}
        missing = ", ".join(name for name, value in found.items() if value is None)
        raise MediaError(
            f"{media_path}: could not probe this {mime_type} video (no {missing} "
            "found); re-encode it, or pass width, height and duration_ms "
            "explicitly"
        )

    return MediaInfo(
        media_path, media_type, mime_type, size, width, height, duration_ms
    )


def sniff_mime_type(head: bytes) -> str:
    """Name the content type of a file from its first bytes.

    Recognises the seven types PostQued accepts and a few common ones it
    refuses, so an error can name them. Text reads as ``text/plain`` and
    anything else as ``application/octet-stream``.

    Args:
        head: The first bytes of the file; 64 are enough for every type.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF":
        return _RIFF_FORMS.get(head[8:12], "application/octet-stream")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _ebml_mime_type(head)
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS_NOT_MP4.get(head[8:12], "video/mp4")
    if head[4:8] in _QUICKTIME_ATOMS:
        return "video/quicktime"

    for signature, mime_type in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return mime_type

    if _looks_like_text(head):
        return "text/plain"
    return "application/octet-stream"


def _ebml_mime_type(head: bytes) -> str:
    # WebM is Matroska restricted to open codecs; only the DocType string in
    # the EBML header tells the two apart, and it sits in the first bytes.
    if b"webm" in head:
        return "video/webm"
    if b"matroska" in head:
        return "video/x-matroska"
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False

    # Not final: the head may end in the middle of a multi-byte character.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _regular_file_size(path: pathlib.Path) -> int:
    try:
        status = path.stat()
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise MediaError(
            f"{path}: cannot be read ({exc.strerror or exc}); "
            "check the path and its permissions"
        ) from exc

    if stat.S_ISDIR(status.st_mode):
        raise MediaError(
            f"{path}: is a directory; pass the path of one video or image in it"
        )
    # A FIFO or a device would block or never end when read.
    if not stat.S_ISREG(status.st_mode):
        raise MediaError(f"{path}: is not a regular file; pass a video or image file")
    if status.st_size == 0:
        raise MediaError(f"{path}: is empty (0 bytes); export or download it again")

    return status.st_size


def _accepted_media_type(path: pathlib.Path, mime_type: str, size: int) -> MediaType:
    if mime_type not in ALLOWED_MIME_TYPES:
        raise MediaError(
            f"{path}: unsupported media type {mime_type}; PostQued accepts "
            f"{', '.join(ALLOWED_MIME_TYPES)} — convert the file or pick another"
        )

    if mime_type.startswith("image/"):
        if size > MAX_IMAGE_SIZE:
            raise MediaError(
                f"{path}: this image is {_megabytes(size)}, over PostQued's "
                f"{_megabytes(MAX_IMAGE_SIZE)} limit for images; compress or "
                "resize it"
            )
        return "image"

    if size > MAX_VIDEO_SIZE:
        raise MediaError(
            f"{path}: this video is {_megabytes(size)}, over PostQued's "
            f"{_megabytes(MAX_VIDEO_SIZE)} limit for videos; compress, shorten "
            "or split it"
        )
    return "video"


def _megabytes(size: int) -> str:
    return f"{size / 1000**2:,.1f} MB"


def _parse_tracks(file: BinaryIO) -> pymediainfo.MediaInfo:
    # An open file goes through libmediainfo's buffer interface, which never
    # looks at the file's name; given a name, it may go looking for sibling
    # files such as numbered image sequences.
    return pymediainfo.MediaInfo.parse(file, parse_speed=_PARSE_SPEED)


def _image_dimensions(
    tracks: pymediainfo.MediaInfo, head: bytes
) -> tuple[int | None, int | None]:
    for track in (*tracks.image_tracks, *tracks.video_tracks):
        width, height = _positive_int(track.width), _positive_int(track.height)
        if width is not None and height is not None:
            return width, height

    # libmediainfo reports no size for WebP; its header carries one.
    return _webp_dimensions(head)


def _webp_dimensions(head: bytes) -> tuple[int | None, int | None]:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None, None

    chunk = head[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(head[26:28], "little") & 0x3FFF
        height = int.from_bytes(head[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None, None


def _video_dimensions(
    tracks: pymediainfo.MediaInfo,
) -> tuple[int | None, int | None, int | None]:
    if not tracks.video_tracks:
        return None, None, None

    video = tracks.video_tracks[0]
    width, height = _positive_int(video.width), _positive_int(video.height)

    duration_ms = _positive_int(video.duration)
    if duration_ms is None and tracks.general_tracks:
        duration_ms = _positive_int(tracks.general_tracks[0].duration)

    # Phones store portrait video as landscape frames plus a rotation;
    # platforms care about the shape people see.
    rotation = _number(video.rotation)
    if rotation is not None and round(rotation) % 180 == 90:
        width, height = height, width

    return width, height, duration_ms


def _positive_int(value: object) -> int | None:
    number = _number(value)
    if number is None or number < 0.5:
        return None
    return round(number)


def _number(value: object) -> float | None:
    # libmediainfo reports numbers as text, sometimes with decimals
    # ("1000.000000"); pymediainfo converts only some of them.
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None
