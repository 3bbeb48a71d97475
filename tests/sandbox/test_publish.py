"""Publishing: idempotency, validation, and targets moving on the clock."""

import asyncio
from typing import Any

import aiohttp
import pytest
from sandbox_helpers import StartSandbox, account_id, bearer, iso_after, uploaded_video

from postqued_async import FakeClock
from postqued_async.sandbox import FAIL_MARKER, Sandbox, SeedAccount


def _target(account: str, **fields: Any) -> dict[str, Any]:
    return {
        "platform": "tiktok",
        "accountId": account,
        "intent": "publish",
        "caption": "hello",
        "dispatchAt": None,
        **fields,
    }


async def _publish(
    http: aiohttp.ClientSession,
    sb: Sandbox,
    body: dict[str, Any],
    key: str | None = "key-1",
) -> aiohttp.ClientResponse:
    headers = bearer(sb.api_key)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post(f"{sb.url}/v1/content/publish", json=body, headers=headers)


async def _status(
    http: aiohttp.ClientSession, sb: Sandbox, publish_id: str
) -> dict[str, Any]:
    response = await http.get(
        f"{sb.url}/v1/content/publish/{publish_id}", headers=bearer(sb.api_key)
    )
    assert response.status == 200
    answer: dict[str, Any] = await response.json()
    return answer


@pytest.fixture
async def body(sb: Sandbox, http: aiohttp.ClientSession) -> dict[str, Any]:
    content_id = await uploaded_video(http, sb)
    return {
        "contentIds": [content_id],
        "targets": [_target(await account_id(http, sb))],
    }


async def test_publish_replays_same_body_with_200_and_creates_once(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    first = await _publish(http, sb, body)
    second = await _publish(http, sb, body)

    assert first.status == 201
    assert second.status == 200
    assert await first.read() == await second.read()
    created = await first.json()
    assert created["id"] == created["publishId"]
    assert created["status"] == "pending"
    assert created["targets"][0]["status"] == "queued"
    assert len(sb.state.publishes) == 1


async def test_publish_same_key_different_body_conflicts(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    await _publish(http, sb, body)
    body["targets"][0]["caption"] = "changed"

    response = await _publish(http, sb, body)

    assert response.status == 409
    assert (await response.json())["code"] == "IDEMPOTENCY_CONFLICT"


async def test_publish_without_key_is_refused(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    response = await _publish(http, sb, body, key=None)

    assert response.status == 400
    assert (await response.json())["code"] == "MISSING_IDEMPOTENCY_KEY"


async def test_idempotency_key_is_forgotten_after_its_ttl(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any], clock: FakeClock
) -> None:
    await _publish(http, sb, body)

    await clock.advance(sb.config.idempotency_ttl + 1)
    again = await _publish(http, sb, body)

    assert again.status == 201
    assert len(sb.state.publishes) == 2


async def test_concurrent_same_key_creates_once(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    responses = await asyncio.gather(*(_publish(http, sb, body) for _ in range(3)))

    assert sorted(r.status for r in responses) == [200, 200, 201]
    assert len(sb.state.publishes) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"caption": ""}, "targets[0].caption"),
        ({"intent": "post"}, "targets[0].intent"),
        ({"platform": "myspace"}, "targets[0].platform"),
        ({"platform": "instagram"}, "targets[0].accountId"),
        ({"dispatchAt": "2030-01-01T10:00:00"}, "targets[0].dispatchAt"),
        ({"dispatchAt": "2020-01-01T10:00:00Z"}, "targets[0].dispatchAt"),
        ({"options": {"privacyLevel": "EVERYONE"}}, "targets[0].options.privacyLevel"),
        ({"options": {"disableDuet": "yes"}}, "targets[0].options.disableDuet"),
        ({"options": []}, "targets[0].options"),
        ({"dispatch_at": None}, "targets[0].dispatch_at"),
    ],
)
async def test_publish_validation_names_the_field(
    sb: Sandbox,
    http: aiohttp.ClientSession,
    body: dict[str, Any],
    change: dict[str, Any],
    field: str,
) -> None:
    body["targets"][0].update(change)

    response = await _publish(http, sb, body)

    assert response.status == 400
    answer = await response.json()
    assert answer["code"] == "VALIDATION_ERROR"
    assert answer["error"].startswith(field), answer["error"]


async def test_publish_refuses_unknown_content_and_accepts_legacy_content_id(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    unknown = await _publish(http, sb, {**body, "contentIds": ["nope"]}, key="unknown")
    legacy = await _publish(
        http,
        sb,
        {"contentId": body["contentIds"][0], "targets": body["targets"]},
        key="legacy",
    )

    assert (await unknown.json())["error"].startswith("contentIds[0]")
    assert legacy.status == 201


async def test_reddit_target_needs_a_subreddit(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession
) -> None:
    sb = await start_sandbox(accounts=(SeedAccount("reddit", "creator_rd"),))
    content_id = await uploaded_video(http, sb)
    target = _target(await account_id(http, sb, "creator_rd"), platform="reddit")

    without = await _publish(
        http, sb, {"contentIds": [content_id], "targets": [target]}
    )
    target["options"] = {"subreddit": "videos"}
    with_one = await _publish(
        http, sb, {"contentIds": [content_id], "targets": [target]}, key="key-2"
    )

    assert (await without.json())["error"].startswith("targets[0].options.subreddit")
    assert with_one.status == 201


async def test_targets_progress_on_the_clock_and_roll_up(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await start_sandbox(failing_accounts=frozenset({"creator_two"}))
    content_id = await uploaded_video(http, sb)
    one = await account_id(http, sb, "creator_one")
    two = await account_id(http, sb, "creator_two")
    created = await _publish(
        http,
        sb,
        {
            "contentIds": [content_id],
            "targets": [
                _target(one),
                _target(two, intent="draft"),
                _target(one, intent="draft", dispatchAt=iso_after(clock, 60)),
            ],
        },
    )
    publish_id = (await created.json())["id"]

    await clock.advance(0.6)
    processing = await _status(http, sb, publish_id)
    await clock.advance(1.0)
    partly_done = await _status(http, sb, publish_id)
    await clock.advance(60)
    done = await _status(http, sb, publish_id)

    assert [t["status"] for t in processing["targets"]] == [
        "processing",
        "processing",
        "scheduled",
    ]
    assert processing["status"] == "processing"
    assert [t["status"] for t in partly_done["targets"]] == [
        "published",
        "failed",
        "scheduled",
    ]
    assert partly_done["targets"][0]["platformPostId"]
    assert partly_done["targets"][1]["error"]["code"]
    assert [t["status"] for t in done["targets"]] == ["published", "failed", "sent"]
    assert done["status"] == "partial_failed"


async def test_caption_marker_fails_the_target_and_the_request(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any], clock: FakeClock
) -> None:
    body["targets"][0]["caption"] = f"will not go {FAIL_MARKER}"
    publish_id = (await (await _publish(http, sb, body)).json())["id"]

    await clock.advance(2)
    answer = await _status(http, sb, publish_id)

    assert answer["status"] == "failed"
    assert sb.ledger.published() == []
    assert [e.status for e in sb.ledger.entries()] == ["failed"]


async def test_ledger_records_each_finished_target_once(
    sb: Sandbox, http: aiohttp.ClientSession, body: dict[str, Any], clock: FakeClock
) -> None:
    first = (await (await _publish(http, sb, body)).json())["id"]
    await _publish(http, sb, body)
    await _publish(http, sb, body, key="key-2")

    assert len(sb.ledger) == 0
    await clock.advance(2)
    await _status(http, sb, first)
    await _status(http, sb, first)

    assert len(sb.ledger) == 2
    assert sb.ledger.count_by_idempotency_key() == {"key-1": 1, "key-2": 1}
    entry = sb.ledger.published()[0]
    assert entry.status == "published"
    assert entry.username == "creator_one"
    assert entry.went_out_at.tzinfo is not None


async def test_unknown_publish_id_is_not_found(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    response = await http.get(
        f"{sb.url}/v1/content/publish/nope", headers=bearer(sb.api_key)
    )

    assert response.status == 404
    assert (await response.json())["code"] == "NOT_FOUND"
