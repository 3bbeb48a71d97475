"""API v1: its route table and the handlers behind it.

Each route names its operation kind (upload, read, publish, delete), which
decides the rate-limit bucket it draws from. A v2 table sits beside this one
later, reusing the same state and the same checks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from aiohttp import BodyPartReader, web

from postqued_async.sandbox._errors import ApiError, not_found, validation
from postqued_async.sandbox._media import (
    ALLOWED_TYPES,
    EXTENSIONS,
    image_size,
    sniff_image_type,
)
from postqued_async.sandbox._publish import PLATFORMS, parse_json_object, parse_publish
from postqued_async.sandbox._routing import BODY_SIZE_KEY, ApiCall, Route
from postqued_async.sandbox._state import (
    Account,
    Content,
    IdempotencyRecord,
    PublishRequest,
    SandboxState,
    StoredObject,
    Target,
    sha256_hex,
)
from postqued_async.sandbox._storage import STORAGE_PREFIX

__all__ = ["V1_ROUTES"]

_CHUNK = 64 * 1024
_SNIFF_BYTES = 64 * 1024
_MAX_FILENAME = 255
_MAX_IDEMPOTENCY_KEY = 255


def iso(epoch: float) -> str:
    """An instant as ISO-8601 UTC with milliseconds and a Z."""
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json"
    )


async def _json_body(request: web.Request) -> tuple[bytes, dict[str, Any]]:
    if request.content_type != "application/json":
        raise validation(
            "Send the request body as JSON with Content-Type: application/json."
        )
    raw = await request.read()
    return raw, parse_json_object(raw)


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise validation(f"{field} is required and must be a non-empty string.")
    return value


def _positive_int(body: dict[str, Any], field: str, *, required: bool) -> int | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        need = "is required and must be" if required else "must be null or"
        raise validation(f"{field} {need} a positive integer, got {value!r}.")
    return value


def _check_type_and_size(state: SandboxState, content_type: str, size: int) -> None:
    if content_type not in ALLOWED_TYPES:
        raise ApiError(
            400,
            "UNSUPPORTED_MEDIA_TYPE",
            f"contentType {content_type!r} is not accepted; use one of "
            f"{', '.join(sorted(ALLOWED_TYPES))}.",
        )
    video = content_type.startswith("video/")
    most = state.config.max_video_bytes if video else state.config.max_image_bytes
    if size > most:
        kind = "video" if video else "image"
        raise ApiError(
            400,
            "FILE_TOO_LARGE",
            f"fileSize {size} exceeds the {kind} limit of {most} bytes.",
        )


def _media_url(request: web.Request, content: Content) -> str:
    return f"{request.scheme}://{request.host}{STORAGE_PREFIX}{content.key}"


def _asset(request: web.Request, content: Content, size: int) -> dict[str, Any]:
    return {
        "id": content.id,
        "url": _media_url(request, content),
        "mediaType": content.media_type,
        "mimeType": content.content_type,
        "filename": content.filename,
        "size": size,
        "width": content.width,
        "height": content.height,
        "durationMs": content.duration_ms,
        "status": content.status,
        "createdAt": iso(content.created_at),
    }


def _new_content(
    state: SandboxState, user_id: str, filename: str, content_type: str, size: int
) -> Content:
    content_id = str(uuid.uuid4())
    key = f"content/{user_id}/{content_id}.{EXTENSIONS[content_type]}"
    content = Content(
        id=content_id,
        user_id=user_id,
        key=key,
        filename=filename,
        content_type=content_type,
        file_size=size,
        created_at=state.clock.time(),
    )
    state.contents[content_id] = content
    state.uploads[key] = content
    return content


async def start_upload(call: ApiCall) -> web.StreamResponse:
    """POST /v1/content/upload: a content id and a presigned PUT URL."""
    _, body = await _json_body(call.request)
    filename = _string(body, "filename")
    if len(filename) > _MAX_FILENAME:
        raise validation(f"filename must be at most {_MAX_FILENAME} characters.")
    content_type = _string(body, "contentType")
    size = _positive_int(body, "fileSize", required=True)
    assert size is not None
    _check_type_and_size(call.state, content_type, size)

    content = _new_content(
        call.state, call.caller.user_id, filename, content_type, size
    )
    raw_path = f"{STORAGE_PREFIX}{content.key}"
    query = call.state.presigner.presign_query(
        raw_path,
        call.request.host,
        content_type,
        call.state.clock.time(),
        int(call.state.config.upload_url_ttl),
    )
    url = f"{call.request.scheme}://{call.request.host}{raw_path}?{query}"
    return _json(
        {
            "contentId": content.id,
            "upload": {
                "url": url,
                "key": content.key,
                "method": "PUT",
                "headers": {"Content-Type": content_type},
            },
        }
    )


async def complete_upload(call: ApiCall) -> web.StreamResponse:
    """POST /v1/content/upload/complete: the stored object becomes an asset."""
    _, body = await _json_body(call.request)
    content_id = _string(body, "contentId")
    content = call.state.content_of(call.caller.user_id, content_id)
    if content is None:
        raise not_found(f"contentId {content_id!r}: no such upload for this API key.")

    key = _string(body, "key")
    filename = _string(body, "filename")
    content_type = _string(body, "contentType")
    size = _positive_int(body, "size", required=True)
    video = content.media_type == "video"
    width = _positive_int(body, "width", required=video)
    height = _positive_int(body, "height", required=video)
    duration_ms = _positive_int(body, "durationMs", required=video)

    if key != content.key:
        raise validation(
            f"key {key!r} is not this upload's key; send upload.key from the "
            f"start answer ({content.key})."
        )
    stored = call.state.objects.get(content.key)
    if stored is None:
        raise ApiError(
            404,
            "UPLOAD_NOT_FOUND",
            "Nothing was uploaded for this content yet; PUT the bytes to "
            "upload.url before completing.",
        )
    if content_type != content.content_type:
        raise validation(
            f"contentType {content_type!r} does not match the upload's type "
            f"{content.content_type!r}."
        )
    if size != stored.size:
        raise validation(
            f"size {size} does not match the {stored.size} bytes stored for this "
            "upload."
        )
    if stored.size != content.file_size:
        raise validation(
            f"size {stored.size} does not match the fileSize {content.file_size} "
            "given when the upload started."
        )

    content.filename = filename
    content.width, content.height, content.duration_ms = width, height, duration_ms
    content.status = "ready"
    return _json(_asset(call.request, content, stored.size))


async def upload_image(call: ApiCall) -> web.StreamResponse:
    """POST /v1/content/upload-image: a multipart image becomes an asset."""
    request = call.request
    if request.content_type != "multipart/form-data":
        raise validation(
            "Send the image as multipart/form-data with one part named file."
        )
    reader = await request.multipart()
    found: tuple[str, str, int, str, bytes] | None = None
    received = 0
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file":
            if found is not None:
                raise validation("Send exactly one part named file.")
            found = await _read_image_part(call.state, part)
            received += found[2]
        else:
            await part.release()
    request[BODY_SIZE_KEY] = request.content_length or received
    if found is None:
        raise validation("The multipart body has no part named file; add one.")

    filename, content_type, size, sha256, head = found
    content = _new_content(
        call.state, call.caller.user_id, filename, content_type, size
    )
    content.width, content.height = image_size(content_type, head)
    content.status = "ready"
    call.state.objects[content.key] = StoredObject(
        key=content.key,
        size=size,
        sha256=sha256,
        md5="",
        content_type=content_type,
        stored_at=call.state.clock.time(),
    )
    return _json(_asset(request, content, size))


async def _read_image_part(
    state: SandboxState, part: BodyPartReader
) -> tuple[str, str, int, str, bytes]:
    filename = part.filename
    if not filename:
        raise validation("The file part needs a filename in Content-Disposition.")
    content_type = part.headers.get("Content-Type", "")
    if content_type not in ALLOWED_TYPES or not content_type.startswith("image/"):
        raise ApiError(
            400,
            "UNSUPPORTED_MEDIA_TYPE",
            f"file: content type {content_type!r} is not an accepted image type; "
            "use image/jpeg, image/png, image/webp or image/gif (videos go "
            "through POST /v1/content/upload).",
        )

    most = state.config.max_image_bytes
    size = 0
    head = b""
    digest = hashlib.sha256()
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > most:
            raise ApiError(
                400, "FILE_TOO_LARGE", f"file exceeds the image limit of {most} bytes."
            )
        if len(head) < _SNIFF_BYTES:
            head += chunk[: _SNIFF_BYTES - len(head)]
        digest.update(chunk)
    if size == 0:
        raise validation("file is empty; send the image's bytes.")

    sniffed = sniff_image_type(head)
    if sniffed != content_type:
        raise ApiError(
            400,
            "UNSUPPORTED_MEDIA_TYPE",
            f"file: the bytes are {sniffed or 'not a known image format'}, but the "
            f"part says {content_type}.",
        )
    return filename, content_type, size, digest.hexdigest(), head


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "platform": account.platform,
        "username": account.username,
        "displayName": account.display_name,
        "externalAccountId": account.external_id,
        "avatarUrl": f"https://avatars.sandbox.postqued.invalid/{account.id}.png",
        "accountStatus": "active",
        "createdAt": iso(account.created_at),
    }


async def list_accounts(call: ApiCall) -> web.StreamResponse:
    """GET /v1/platform-accounts: the caller's accounts, optionally one platform."""
    platform = call.request.query.get("platform")
    if platform is not None and platform not in PLATFORMS:
        raise validation(
            f"platform {platform!r} is unknown; use one of {', '.join(PLATFORMS)}."
        )
    accounts = [
        _account_json(account)
        for account in call.state.accounts_of(call.caller.user_id)
        if platform is None or account.platform == platform
    ]
    return _json({"accounts": accounts})


def _target_json(target: Target, now: float | None) -> dict[str, Any]:
    # now=None renders the target as created, before the clock moved on.
    if now is None:
        status = "scheduled" if target.dispatch_at is not None else "queued"
    else:
        status = target.status_at(now)
    answer: dict[str, Any] = {
        "id": target.id,
        "platform": target.platform,
        "accountId": target.account.id,
        "intent": target.intent,
        "caption": target.caption,
        "dispatchAt": None if target.dispatch_at is None else iso(target.dispatch_at),
        "status": status,
        "options": target.options,
    }
    if status in ("published", "sent"):
        answer["publishedAt"] = iso(target.ends_at)
    if status == "published":
        answer["platformPostId"] = str(uuid.UUID(target.id).int % 10**19)
    if status == "failed":
        answer["error"] = {
            "code": "PLATFORM_REJECTED",
            "message": "The sandbox failed this target for "
            f"@{target.account.username}.",
        }
    return answer


def _publish_json(publish: PublishRequest, now: float | None) -> dict[str, Any]:
    return {
        "id": publish.id,
        "publishId": publish.id,
        "status": "pending" if now is None else publish.status_at(now),
        "dryRun": False,
        "createdAt": iso(publish.created_at),
        "contentIds": list(publish.content_ids),
        "targets": [_target_json(target, now) for target in publish.targets],
    }


async def create_publish(call: ApiCall) -> web.StreamResponse:
    """POST /v1/content/publish: once per idempotency key, replayed after.

    Two requests with the same key at the same time never both create: the
    second waits for the first to finish, then is answered as a replay (or
    409 if its body differs). A first attempt that failed validation leaves
    the key unused.
    """
    state = call.state
    idempotency_key = call.request.headers.get("Idempotency-Key", "").strip()
    if not idempotency_key:
        raise ApiError(
            400,
            "MISSING_IDEMPOTENCY_KEY",
            "Idempotency-Key header is required on publish; send a unique key per "
            "logical post and reuse it on every retry.",
        )
    if len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
        raise validation(
            f"Idempotency-Key must be at most {_MAX_IDEMPOTENCY_KEY} characters."
        )
    raw, body = await _json_body(call.request)
    slot = (call.caller.key, idempotency_key)

    while (pending := state.in_flight.get(slot)) is not None:
        await asyncio.shield(pending)

    state.forget_expired_idempotency()
    record = state.idempotency.get(slot)
    if record is not None:
        if record.body_sha256 != sha256_hex(raw):
            raise ApiError(
                409,
                "IDEMPOTENCY_CONFLICT",
                "This Idempotency-Key was already used with a different body; use "
                "a new key for a different post.",
            )
        return web.Response(
            status=200,
            body=record.body,
            content_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    done = asyncio.get_running_loop().create_future()
    state.in_flight[slot] = done
    try:
        return _create(call, raw, body, idempotency_key)
    finally:
        del state.in_flight[slot]
        done.set_result(None)


def _create(
    call: ApiCall, raw: bytes, body: dict[str, Any], idempotency_key: str
) -> web.Response:
    state = call.state
    content_ids, specs = parse_publish(body, state, call.caller)
    now = state.clock.time()
    publish = PublishRequest(
        id=str(uuid.uuid4()),
        user_id=call.caller.user_id,
        api_key=call.caller.key,
        idempotency_key=idempotency_key,
        content_ids=content_ids,
        targets=[
            state.new_target(
                platform=spec.platform,
                account=spec.account,
                intent=spec.intent,
                caption=spec.caption,
                dispatch_at=spec.dispatch_at,
                options=spec.options,
            )
            for spec in specs
        ],
        created_at=now,
    )
    state.publishes[publish.id] = publish
    answer = json.dumps(_publish_json(publish, None)).encode()
    state.idempotency[(call.caller.key, idempotency_key)] = IdempotencyRecord(
        body_sha256=sha256_hex(raw), status=201, body=answer, created_at=now
    )
    return web.Response(status=201, body=answer, content_type="application/json")


async def get_publish(call: ApiCall) -> web.StreamResponse:
    """GET /v1/content/publish/{publishId}: each target's status now."""
    publish_id = call.request.match_info["publishId"]
    publish = call.state.publishes.get(publish_id)
    if publish is None or publish.user_id != call.caller.user_id:
        raise not_found(f"publishId {publish_id!r}: no such publish request.")
    call.state.advance()
    return _json(_publish_json(publish, call.state.clock.time()))


async def delete_content(call: ApiCall) -> web.StreamResponse:
    """DELETE /v1/content/{contentId}: a soft delete (sandbox choice)."""
    content_id = call.request.match_info["contentId"]
    content = call.state.content_of(call.caller.user_id, content_id)
    if content is None:
        raise not_found(f"contentId {content_id!r}: no such content for this API key.")
    content.deleted = True
    return web.Response(status=204)


V1_ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/content/upload", start_upload, "upload"),
    Route("POST", "/v1/content/upload/complete", complete_upload, "upload"),
    Route("POST", "/v1/content/upload-image", upload_image, "upload"),
    Route("GET", "/v1/platform-accounts", list_accounts, "read"),
    Route("POST", "/v1/content/publish", create_publish, "publish"),
    Route("GET", "/v1/content/publish/{publishId}", get_publish, "read"),
    Route("DELETE", "/v1/content/{contentId}", delete_content, "delete"),
)
