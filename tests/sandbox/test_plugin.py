"""The pytest fixture and the command line that start a sandbox."""

import asyncio

import aiohttp
import pytest
from sandbox_helpers import account_id, bearer, uploaded_video

from postqued_async.pytest_plugin import SandboxHandle
from postqued_async.sandbox import SandboxConfig
from postqued_async.sandbox._serve import build_parser, config_from_args


@pytest.fixture
def postqued_sandbox_config() -> SandboxConfig:
    return SandboxConfig(queue_delay=0.0, processing_delay=0.0)


def test_fixture_serves_a_sync_test(postqued_sandbox: SandboxHandle) -> None:
    async def accounts() -> int:
        async with aiohttp.ClientSession() as http:
            response = await http.get(
                f"{postqued_sandbox.url}/v1/platform-accounts",
                headers={"Authorization": f"Bearer {postqued_sandbox.api_key}"},
            )
            return response.status

    assert asyncio.run(accounts()) == 200
    assert postqued_sandbox.api_key.startswith("pq_sandbox_")
    assert postqued_sandbox.requests[-1].status == 200


async def test_fixture_serves_an_async_test_and_reads_the_ledger(
    postqued_sandbox: SandboxHandle,
) -> None:
    key = postqued_sandbox.issue_key(subscription=False)
    async with aiohttp.ClientSession() as http:
        response = await http.get(
            f"{postqued_sandbox.url}/v1/platform-accounts",
            headers={"Authorization": f"Bearer {key}"},
        )

    assert response.status == 402
    assert postqued_sandbox.ledger.entries() == []
    assert postqued_sandbox.config.processing_delay == 0.0


def test_command_line_options_shape_the_config() -> None:
    args = build_parser().parse_args(
        ["--model", "calendar", "--window", "5", "--rate-limit-headers"]
    )

    config = config_from_args(args)

    assert config.rate_limit_model == "calendar"
    assert config.window == 5.0
    assert config.send_rate_limit_headers


async def test_fixture_ledger_sees_a_publish_made_over_http(
    postqued_sandbox: SandboxHandle,
) -> None:
    async with aiohttp.ClientSession() as http:
        content_id = await uploaded_video(http, postqued_sandbox)
        account = await account_id(http, postqued_sandbox)
        response = await http.post(
            f"{postqued_sandbox.url}/v1/content/publish",
            json={
                "contentIds": [content_id],
                "targets": [
                    {
                        "platform": "tiktok",
                        "accountId": account,
                        "intent": "draft",
                        "caption": "hi",
                        "dispatchAt": None,
                    }
                ],
            },
            headers={**bearer(postqued_sandbox.api_key), "Idempotency-Key": "k"},
        )

    assert response.status == 201
    assert [e.status for e in postqued_sandbox.ledger.published()] == ["sent"]
    assert postqued_sandbox.ledger.count_by_idempotency_key() == {"k": 1}
