"""What the sandbox can tell about media from its first bytes."""

from __future__ import annotations

import struct

__all__ = ["ALLOWED_TYPES", "EXTENSIONS", "image_size", "sniff_image_type"]

#: MIME types the API accepts, with the file extension used in storage keys.
EXTENSIONS = {
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}
ALLOWED_TYPES = frozenset(EXTENSIONS)

_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB})


def sniff_image_type(head: bytes) -> str | None:
    """The image MIME type the magic bytes announce, or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"GIF8"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(mime_type: str, head: bytes) -> tuple[int | None, int | None]:
    """Width and height read from an image's header, or ``(None, None)``."""
    try:
        if mime_type == "image/png" and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        if mime_type == "image/gif" and len(head) >= 10:
            width, height = struct.unpack("<HH", head[6:10])
            return width, height
        if mime_type == "image/jpeg":
            return _jpeg_size(head)
    except struct.error:
        pass
    return None, None


def _jpeg_size(head: bytes) -> tuple[int | None, int | None]:
    # Walk the marker segments until a start-of-frame names the dimensions.
    index = 2
    while index + 9 <= len(head):
        if head[index] != 0xFF:
            return None, None
        marker = head[index + 1]
        (length,) = struct.unpack(">H", head[index + 2 : index + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", head[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None, None
