"""Uploads: what goes over the wire, and what bad input never sends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from postqued_async import (
    MediaError,
    MediaType,
    PostQued,
    StorageError,
)
from postqued_async.sandbox import Sandbox


def storage_puts(sandbox: Sandbox) -> list:  # type: ignore[type-arg]
    return [r for r in sandbox.requests if r.method == "PUT"]


async def test_video_upload_streams_with_exact_length_and_signed_headers(
    pq: PostQued, sandbox: Sandbox, media: Path
) -> None:
    path = media / "launch-teaser.mp4"
    seen: list[int] = []

    video = await pq.content.upload_video(
        path, progress=lambda sent, _: seen.append(sent)
    )

    assert video.media_type is MediaType.VIDEO
    assert (video.width, video.height, video.duration_ms) == (720, 1280, 4000)
    assert video.size == path.stat().st_size
    (put,) = storage_puts(sandbox)
    headers = {name.lower(): value for name, value in put.headers.items()}
    assert headers["content-length"] == str(path.stat().st_size)
    assert headers["content-type"] == "video/mp4"
    assert "authorization" not in headers
    assert "transfer-encoding" not in headers
    assert seen[-1] == path.stat().st_size


async def test_caller_given_dimensions_are_sent_on_complete(
    pq: PostQued, media: Path
) -> None:
    video = await pq.content.upload_video(
        media / "product-loop.mp4", width=1080, height=1920, duration_ms=3000
    )

    assert (video.width, video.height, video.duration_ms) == (1080, 1920, 3000)


async def test_image_upload_uses_the_direct_multipart_route(
    pq: PostQued, sandbox: Sandbox, media: Path
) -> None:
    image = await pq.content.upload_image(media / "cover.jpg")

    assert image.media_type is MediaType.IMAGE
    assert image.mime_type == "image/jpeg"
    assert [r.path for r in sandbox.requests] == ["/v1/content/upload-image"]


async def test_upload_picks_the_route_from_the_real_type_not_the_name(
    pq: PostQued, sandbox: Sandbox, media: Path, tmp_path: Path
) -> None:
    disguised = tmp_path / "actually-a-png.mp4"
    shutil.copy(media / "logo-card.png", disguised)

    content = await pq.content.upload(disguised)

    assert content.mime_type == "image/png"
    assert sandbox.requests[-1].path == "/v1/content/upload-image"


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("missing.mp4", None, "no such file"),
        ("empty.mp4", b"", "empty"),
        ("notes.txt", b"just some words\n", "unsupported"),
    ],
)
async def test_bad_files_fail_before_anything_is_sent(
    pq: PostQued,
    sandbox: Sandbox,
    tmp_path: Path,
    name: str,
    body: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if body is not None:
        path.write_bytes(body)

    with pytest.raises(MediaError, match=message):
        await pq.content.upload(path)

    assert sandbox.requests == []


async def test_image_given_to_upload_video_is_refused_before_sending(
    pq: PostQued, sandbox: Sandbox, media: Path
) -> None:
    with pytest.raises(MediaError, match="upload_image"):
        await pq.content.upload_video(media / "team.jpg")

    assert sandbox.requests == []


async def test_upload_many_yields_successes_and_failures_alike(
    pq: PostQued, media: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("not media")
    paths = [
        media / "launch-teaser.mp4",
        media / "cover.jpg",
        broken,
        media / "behind-the-scenes.mp4",
        tmp_path / "missing.png",
    ]

    results = [result async for result in pq.content.upload_many(paths, concurrency=3)]

    by_path = {result.path: result for result in results}
    assert set(by_path) == set(paths)
    assert {p for p, r in by_path.items() if r.ok} == {paths[0], paths[1], paths[3]}
    assert isinstance(by_path[broken].error, MediaError)
    assert all(r.content is not None for r in results if r.ok)


async def test_upload_all_keeps_the_callers_order(pq: PostQued, media: Path) -> None:
    paths = [media / "team.jpg", media / "product-loop.mp4", media / "cover.jpg"]

    results = await pq.content.upload_all(paths)

    assert [result.path for result in results] == paths
    assert all(result.ok for result in results)


async def test_leaving_upload_many_early_cancels_the_rest(
    pq: PostQued, media: Path
) -> None:
    paths = [media / "cover.jpg"] * 6

    async for result in pq.content.upload_many(paths, concurrency=2):
        assert result.ok
        break

    assert pq._transport._session is not None


async def test_expired_upload_url_is_a_storage_error_without_the_signature(
    sandbox: Sandbox, media: Path
) -> None:
    async with (
        Sandbox(upload_url_ttl=0) as strict,
        PostQued(strict.api_key, base_url=strict.url) as pq,
    ):
        with pytest.raises(StorageError) as caught:
            await pq.content.upload_video(media / "product-loop.mp4")

        starts = [r for r in strict.requests if r.path == "/v1/content/upload"]

    assert caught.value.code == "AccessDenied"
    assert "X-Amz-Signature" not in str(caught.value)
    # The SDK asked for a fresh URL once before giving up.
    assert len(starts) == 2


async def test_delete_removes_content(
    pq: PostQued, sandbox: Sandbox, media: Path
) -> None:
    image = await pq.content.upload(media / "team.jpg")

    await pq.content.delete(image.id)

    assert sandbox.requests[-1].method == "DELETE"
    assert sandbox.requests[-1].status < 300


async def test_batch_progress_reports_each_file_and_keeps_duplicates(
    pq: PostQued, media: Path
) -> None:
    paths = [media / "product-loop.mp4", media / "team.jpg", media / "team.jpg"]
    finished: dict[Path, int] = {}

    def progress(path: Path, sent: int, total: int) -> None:
        assert sent <= total
        finished[path] = sent

    results = await pq.content.upload_all(paths, concurrency=2, progress=progress)

    assert [result.index for result in results] == [0, 1, 2]
    assert results[1].content != results[2].content
    assert finished == {path: path.stat().st_size for path in paths}
