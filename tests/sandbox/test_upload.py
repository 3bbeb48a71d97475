"""The upload flow: start, presigned PUT to strict storage, complete."""

import struct
import zlib
from collections.abc import AsyncIterator

import aiohttp
from sandbox_helpers import StartSandbox, bearer, put_bytes, start_upload
from yarl import URL

from postqued_async import FakeClock
from postqued_async.sandbox import Sandbox


async def test_upload_start_put_complete_gives_a_ready_video(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    started = await start_upload(http, sb, size=5)
    upload = started["upload"]

    put = await put_bytes(http, upload, b"hello")
    complete = await http.post(
        f"{sb.url}/v1/content/upload/complete",
        json={
            "contentId": started["contentId"],
            "key": upload["key"],
            "filename": "clip.mp4",
            "contentType": "video/mp4",
            "size": 5,
            "width": 1080,
            "height": 1920,
            "durationMs": 1500,
        },
        headers=bearer(sb.api_key),
    )

    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "video/mp4"}
    assert upload["key"].endswith(f"/{started['contentId']}.mp4")
    assert "%2F" in upload["url"]
    assert put.status == 200
    assert put.headers["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    assert complete.status == 200
    asset = await complete.json()
    assert asset["id"] == started["contentId"]
    assert asset["mediaType"] == "video"
    assert asset["status"] == "ready"
    assert asset["size"] == 5
    assert asset["createdAt"].endswith("Z")


async def test_storage_refuses_an_authorization_header(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    upload = (await start_upload(http, sb, size=3))["upload"]

    put = await put_bytes(
        http, upload, b"abc", {**upload["headers"], **bearer(sb.api_key)}
    )

    assert put.status == 400
    assert put.content_type == "application/xml"
    assert "<Code>InvalidArgument</Code>" in await put.text()


async def test_storage_refuses_a_re_encoded_query(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    upload = (await start_upload(http, sb, size=3))["upload"]
    decoded = upload["url"].replace("%2F", "/").replace("%3B", ";")

    put = await put_bytes(http, {**upload, "url": decoded}, b"abc")

    assert put.status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in await put.text()


async def test_storage_refuses_a_content_type_other_than_signed(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    upload = (await start_upload(http, sb, size=3))["upload"]

    put = await put_bytes(http, upload, b"abc", {"Content-Type": "video/webm"})

    assert put.status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in await put.text()


async def test_storage_refuses_an_expired_url(
    sb: Sandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    upload = (await start_upload(http, sb, size=3))["upload"]

    await clock.advance(sb.config.upload_url_ttl + 1)
    put = await put_bytes(http, upload, b"abc")

    assert put.status == 403
    assert "<Code>AccessDenied</Code>" in await put.text()
    assert "expired" in await put.text()


async def test_storage_refuses_a_chunked_body(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    upload = (await start_upload(http, sb, size=3))["upload"]

    async def chunks() -> AsyncIterator[bytes]:
        yield b"abc"

    put = await http.put(
        URL(upload["url"], encoded=True), data=chunks(), headers=upload["headers"]
    )

    assert put.status == 501
    assert "<Code>NotImplemented</Code>" in await put.text()


async def test_complete_refuses_a_size_other_than_stored(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    started = await start_upload(http, sb, size=3)
    await put_bytes(http, started["upload"], b"abc")

    complete = await http.post(
        f"{sb.url}/v1/content/upload/complete",
        json={
            "contentId": started["contentId"],
            "key": started["upload"]["key"],
            "filename": "clip.mp4",
            "contentType": "video/mp4",
            "size": 4,
            "width": 1,
            "height": 1,
            "durationMs": 1,
        },
        headers=bearer(sb.api_key),
    )

    assert complete.status == 400
    body = await complete.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["error"].startswith("size")


async def test_complete_before_put_is_upload_not_found(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    started = await start_upload(http, sb, size=3)

    complete = await http.post(
        f"{sb.url}/v1/content/upload/complete",
        json={
            "contentId": started["contentId"],
            "key": started["upload"]["key"],
            "filename": "clip.mp4",
            "contentType": "video/mp4",
            "size": 3,
            "width": 1,
            "height": 1,
            "durationMs": 1,
        },
        headers=bearer(sb.api_key),
    )

    assert complete.status == 404
    assert (await complete.json())["code"] == "UPLOAD_NOT_FOUND"


async def test_complete_names_a_missing_video_dimension(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    started = await start_upload(http, sb, size=3)
    await put_bytes(http, started["upload"], b"abc")

    complete = await http.post(
        f"{sb.url}/v1/content/upload/complete",
        json={
            "contentId": started["contentId"],
            "key": started["upload"]["key"],
            "filename": "clip.mp4",
            "contentType": "video/mp4",
            "size": 3,
            "width": 1,
            "height": 1,
        },
        headers=bearer(sb.api_key),
    )

    assert complete.status == 400
    assert "durationMs" in (await complete.json())["error"]


async def test_upload_start_refuses_bad_type_and_oversize(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    pdf = await http.post(
        f"{sb.url}/v1/content/upload",
        json={"filename": "a.pdf", "contentType": "application/pdf", "fileSize": 1},
        headers=bearer(sb.api_key),
    )
    huge = await http.post(
        f"{sb.url}/v1/content/upload",
        json={
            "filename": "a.png",
            "contentType": "image/png",
            "fileSize": 20 * 1024 * 1024 + 1,
        },
        headers=bearer(sb.api_key),
    )
    malformed = await http.post(
        f"{sb.url}/v1/content/upload",
        data=b"{not json",
        headers={**bearer(sb.api_key), "Content-Type": "application/json"},
    )

    assert (await pdf.json())["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert (await huge.json())["code"] == "FILE_TOO_LARGE"
    assert malformed.status == 400
    assert (await malformed.json())["code"] == "VALIDATION_ERROR"


def _png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def _image_form(body: bytes, content_type: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", body, filename="pic.png", content_type=content_type)
    return form


async def test_image_upload_reads_png_dimensions(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    response = await http.post(
        f"{sb.url}/v1/content/upload-image",
        data=_image_form(_png(640, 480), "image/png"),
        headers=bearer(sb.api_key),
    )

    assert response.status == 200
    asset = await response.json()
    assert asset["mediaType"] == "image"
    assert (asset["width"], asset["height"]) == (640, 480)


async def test_image_upload_refuses_bytes_of_another_type(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    response = await http.post(
        f"{sb.url}/v1/content/upload-image",
        data=_image_form(_png(1, 1), "image/jpeg"),
        headers=bearer(sb.api_key),
    )

    assert response.status == 400
    assert (await response.json())["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_image_upload_refuses_a_file_over_the_limit(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession
) -> None:
    sb = await start_sandbox(max_image_bytes=100)

    response = await http.post(
        f"{sb.url}/v1/content/upload-image",
        data=_image_form(_png(1, 1) + b"\0" * 200, "image/png"),
        headers=bearer(sb.api_key),
    )

    assert response.status == 400
    assert (await response.json())["code"] == "FILE_TOO_LARGE"


async def test_image_upload_without_file_part_names_it(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData()
    form.add_field("other", b"x", filename="x.png", content_type="image/png")

    response = await http.post(
        f"{sb.url}/v1/content/upload-image", data=form, headers=bearer(sb.api_key)
    )

    assert response.status == 400
    assert "file" in (await response.json())["error"]


async def test_requests_record_that_storage_saw_no_api_key(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    started = await start_upload(http, sb, size=3)
    await put_bytes(http, started["upload"], b"abc")

    storage = [r for r in sb.requests if r.path.startswith("/storage/")]

    assert len(storage) == 1
    assert storage[0].operation is None
    assert storage[0].body_size == 3
    assert "Authorization" not in storage[0].headers
    assert sb.requests[0].operation == "upload"
