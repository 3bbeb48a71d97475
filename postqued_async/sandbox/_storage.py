"""The storage side: presigned PUTs, as strict as S3 about them."""

from __future__ import annotations

import asyncio
import hashlib
import time

from aiohttp import web

from postqued_async.sandbox._errors import StorageError
from postqued_async.sandbox._faults import STORAGE_PACE_KEY
from postqued_async.sandbox._routing import BODY_SIZE_KEY
from postqued_async.sandbox._state import BUCKET, SandboxState, StoredObject

__all__ = ["STORAGE_PREFIX", "put_object"]

STORAGE_PREFIX = f"/storage/{BUCKET}/"
_CHUNK = 256 * 1024


async def put_object(request: web.Request, state: SandboxState) -> web.Response:
    """Store an object sent to a presigned URL; S3 XML errors otherwise.

    The body is streamed and only its length and digests are kept, so
    uploads of any size cost the sandbox no memory.
    """
    raw_path, _, raw_query = request.raw_path.partition("?")
    if "Authorization" in request.headers:
        raise StorageError(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
            "parameter or the Authorization header should be specified",
        )

    key = raw_path.removeprefix(STORAGE_PREFIX)
    content = state.uploads.get(key) if raw_path.startswith(STORAGE_PREFIX) else None
    signed = None
    if content is not None:
        signed = state.presigner.verify(
            "PUT", raw_path, raw_query, content.content_type, request.host
        )
    if content is None or signed is None:
        raise StorageError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature "
            "you provided. Send the URL exactly as issued.",
        )
    if signed.expires_at < state.clock.time():
        raise StorageError(403, "AccessDenied", "Request has expired")

    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise StorageError(
            501,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented: "
            "Transfer-Encoding",
        )
    declared = request.content_length
    if declared is None:
        raise StorageError(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )
    if request.headers.get("Content-Type") != content.content_type:
        raise StorageError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature "
            "you provided. The URL was signed for Content-Type "
            f"{content.content_type}.",
        )

    size, sha256, md5 = await _drain(request)
    request[BODY_SIZE_KEY] = size
    if size != declared:
        raise StorageError(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the "
            "Content-Length HTTP header",
        )

    state.objects[key] = StoredObject(
        key=key,
        size=size,
        sha256=sha256,
        md5=md5,
        content_type=content.content_type,
        stored_at=state.clock.time(),
    )
    return web.Response(status=200, headers={"ETag": f'"{md5}"'})


async def _drain(request: web.Request) -> tuple[int, str, str]:
    size = 0
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    # A fault plan's slow storage: read no faster than this many bytes/s.
    pace = request.get(STORAGE_PACE_KEY)
    started = time.monotonic()
    try:
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            sha256.update(chunk)
            md5.update(chunk)
            if pace:
                await asyncio.sleep(size / pace - (time.monotonic() - started))
    except Exception:
        # A body cut short by the client: count what arrived, report it short.
        request[BODY_SIZE_KEY] = size
        raise StorageError(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the "
            "Content-Length HTTP header",
        ) from None
    return size, sha256.hexdigest(), md5.hexdigest()
