"""``pq.content``: upload videos and images, one or many at a time."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import os
from collections.abc import AsyncGenerator, Callable, Iterable
from pathlib import Path

import aiohttp
import anyio
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from postqued_async._errors import MediaError, StorageError, ValidationError
from postqued_async._media import MediaInfo, probe_media
from postqued_async._models import ContentAsset, UploadTicket, structure
from postqued_async._routes import Routes
from postqued_async._transport import ProgressCallback, Transport

__all__ = ["ContentResource", "UploadResult"]

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]

BatchProgressCallback = Callable[[Path, int, int], None]
"""Called as ``progress(path, bytes_sent, total_bytes)`` during a batch."""


@attrs.frozen
class UploadResult:
    """How one file of :meth:`ContentResource.upload_many` went.

    Exactly one of ``content`` and ``error`` is set; ``index`` is the
    file's position in the paths given.
    """

    path: Path
    content: ContentAsset | None = None
    error: Exception | None = None
    index: int = 0

    @property
    def ok(self) -> bool:
        """Whether the file was uploaded."""
        return self.error is None


class ContentResource:
    """Upload media so it can be published."""

    def __init__(self, transport: Transport, routes: Routes) -> None:
        self._transport = transport
        self._routes = routes

    async def upload(
        self, path: StrPath, *, progress: ProgressCallback | None = None
    ) -> ContentAsset:
        """Upload a video or an image, chosen by the file's real type.

        Raises:
            MediaError: the file is missing, empty, too large or of a type
                the API does not take; nothing was sent.
            APIError, StorageError, TransportError: the upload failed.
        """
        media = await probe_media(path)
        if media.media_type == "video":
            return await self._upload_presigned(media, progress=progress)
        return await self._upload_image(media, progress=progress)

    async def upload_video(
        self,
        path: StrPath,
        *,
        width: int | None = None,
        height: int | None = None,
        duration_ms: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ContentAsset:
        """Upload a video: start, PUT the bytes to storage, complete.

        The bytes stream from disk. Width, height and duration are probed from
        the file unless all three are given; then only its type and size are
        checked.

        Raises:
            MediaError: the file is not a video the API takes; nothing sent.
            APIError, StorageError, TransportError: the upload failed.
        """
        known = None not in (width, height, duration_ms)
        media = await probe_media(path, dimensions=not known)
        if media.media_type != "video":
            raise MediaError(
                f"{media.path}: is an image ({media.mime_type}), not a video; "
                "use upload_image() or upload()"
            )
        for name, value in (
            ("width", width),
            ("height", height),
            ("duration_ms", duration_ms),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                raise ValidationError(f"{name} must be a positive int, not {value!r}")
        media = attrs.evolve(
            media,
            width=width or media.width,
            height=height or media.height,
            duration_ms=duration_ms or media.duration_ms,
        )
        return await self._upload_presigned(media, progress=progress)

    async def upload_image(
        self, path: StrPath, *, progress: ProgressCallback | None = None
    ) -> ContentAsset:
        """Upload an image in one multipart request.

        Raises:
            MediaError: the file is not an image the API takes; nothing sent.
            APIError, TransportError: the upload failed.
        """
        media = await probe_media(path)
        if media.media_type != "image":
            raise MediaError(
                f"{media.path}: is a video ({media.mime_type}), not an image; "
                "use upload_video() or upload()"
            )
        return await self._upload_image(media, progress=progress)

    def upload_many(
        self,
        paths: Iterable[StrPath],
        *,
        concurrency: int = 4,
        progress: BatchProgressCallback | None = None,
    ) -> AsyncGenerator[UploadResult, None]:
        """Upload many files at once, yielding each result as it finishes.

        A file that fails is yielded with its error and does not stop the
        others. Closing the iterator cancels the uploads still running; to
        close it as soon as you leave the loop early, wrap it::

            async with contextlib.aclosing(pq.content.upload_many(paths)) as results:
                async for result in results:
                    ...

        Args:
            paths: the files, videos and images mixed.
            concurrency: how many uploads run at the same time.
            progress: called as ``progress(path, bytes_sent, total_bytes)``
                while each file goes.
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise ValidationError(f"concurrency must be an int, not {concurrency!r}")
        if concurrency < 1:
            raise ValidationError(f"concurrency must be at least 1, not {concurrency}")
        if isinstance(paths, str | os.PathLike):
            raise ValidationError(
                "paths must be a list of files; for one file use upload()"
            )
        files = list(paths)
        for index, path in enumerate(files):
            if not isinstance(path, str | os.PathLike):
                raise ValidationError(
                    f"paths[{index}] is {path!r}, not the path of a media file"
                )
        # Checked here, when called, rather than at the first iteration.
        return self._upload_many([Path(path) for path in files], concurrency, progress)

    async def _upload_many(
        self,
        files: list[Path],
        concurrency: int,
        progress: BatchProgressCallback | None,
    ) -> AsyncGenerator[UploadResult, None]:
        send, receive = anyio.create_memory_object_stream[UploadResult](math.inf)

        # The task group runs in a task of its own: an async generator must
        # not yield from inside a task group it opened.
        runner = asyncio.ensure_future(
            self._run_uploads(files, concurrency, send, progress)
        )
        try:
            async with receive:
                async for result in receive:
                    yield result
        finally:
            if not runner.done():
                runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    async def upload_all(
        self,
        paths: Iterable[StrPath],
        *,
        concurrency: int = 4,
        progress: BatchProgressCallback | None = None,
    ) -> list[UploadResult]:
        """Upload many files; return every result, in the order given."""
        results = [
            result
            async for result in self.upload_many(
                paths, concurrency=concurrency, progress=progress
            )
        ]
        return sorted(results, key=lambda result: result.index)

    async def delete(self, content_id: str) -> None:
        """Delete uploaded content.

        Raises:
            NotFoundError: no such content.
        """
        if not content_id:
            raise ValidationError("content_id is empty")
        await self._transport.request(
            self._routes.content_delete, path_params={"content_id": content_id}
        )

    async def _run_uploads(
        self,
        files: list[Path],
        concurrency: int,
        send: MemoryObjectSendStream[UploadResult],
        progress: BatchProgressCallback | None,
    ) -> None:
        slots = anyio.Semaphore(concurrency)

        async def upload_one(index: int, path: Path) -> None:
            file_progress = None
            if progress is not None:
                file_progress = functools.partial(progress, path)
            async with slots:
                try:
                    content = await self.upload(path, progress=file_progress)
                except Exception as exc:
                    log.info("upload of %s failed: %s", path.name, exc)
                    await send.send(UploadResult(path, error=exc, index=index))
                else:
                    await send.send(UploadResult(path, content=content, index=index))

        async with send, anyio.create_task_group() as group:
            for index, path in enumerate(files):
                group.start_soon(upload_one, index, path)

    async def _upload_presigned(
        self, media: MediaInfo, *, progress: ProgressCallback | None
    ) -> ContentAsset:
        ticket = await self._start(media)
        try:
            await self._transport.put_object(
                ticket.upload, media.path, media.size, progress=progress
            )
        except StorageError as exc:
            if exc.code != "AccessDenied":
                raise
            # The presigned URL expired before the bytes got there (a long
            # queue for upload slots does that): ask for a fresh one, once.
            log.info("upload URL for %s expired; starting again", media.path.name)
            ticket = await self._start(media)
            await self._transport.put_object(
                ticket.upload, media.path, media.size, progress=progress
            )
        return await self._complete(media, ticket)

    async def _start(self, media: MediaInfo) -> UploadTicket:
        body = _json(
            {
                "filename": media.path.name,
                "contentType": media.mime_type,
                "fileSize": media.size,
            }
        )
        response = await self._transport.request(self._routes.upload_start, body=body)
        return structure(response.body, UploadTicket)

    async def _complete(self, media: MediaInfo, ticket: UploadTicket) -> ContentAsset:
        body = _json(
            {
                "contentId": ticket.content_id,
                "key": ticket.upload.key,
                "filename": media.path.name,
                "contentType": media.mime_type,
                "size": media.size,
                "width": media.width,
                "height": media.height,
                "durationMs": media.duration_ms,
            }
        )
        response = await self._transport.request(
            self._routes.upload_complete, body=body
        )
        payload = response.body
        if isinstance(payload, dict) and isinstance(payload.get("content"), dict):
            payload = payload["content"]
        return structure(payload, ContentAsset)

    async def _upload_image(
        self, media: MediaInfo, *, progress: ProgressCallback | None
    ) -> ContentAsset:
        route = self._routes.upload_image
        if route is None:
            return await self._upload_presigned(media, progress=progress)

        # Images are at most 20 MB: read once, so every attempt sends the
        # same bytes and no file handle outlives a failed attempt.
        image = await anyio.Path(media.path).read_bytes()

        def form() -> aiohttp.FormData:
            form = aiohttp.FormData()
            form.add_field(
                "file", image, filename=media.path.name, content_type=media.mime_type
            )
            return form

        response = await self._transport.request(route, form=form)
        if progress is not None:
            progress(media.size, media.size)
        return structure(response.body, ContentAsset)


def _json(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
