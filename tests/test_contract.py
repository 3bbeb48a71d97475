"""The SDK's models and targets against the vendor's OpenAPI document (v2).

The document lives in the shared reference folder beside the project, not in
it; without it these tests skip and say so.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from postqued_async import (
    ContentAsset,
    ContentStatus,
    Intent,
    MediaType,
    Platform,
    PlatformAccount,
    Target,
)
from postqued_async._converter import to_camel
from postqued_async._targets import MAX_CAPTION_LENGTH, TikTokOptions

SPEC = Path(__file__).resolve().parents[2] / "shared/reference/postqued-openapi-v2.json"

pytestmark = pytest.mark.skipif(
    not SPEC.exists(),
    reason="the vendor's OpenAPI document is not beside the project "
    "(shared/reference/postqued-openapi-v2.json)",
)


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document = json.loads(SPEC.read_text())
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def wire_names(model: type) -> set[str]:
    return {to_camel(field.name) for field in attrs.fields(model)}


@pytest.mark.parametrize(
    ("schema", "model"),
    [("ContentAsset", ContentAsset), ("PlatformAccount", PlatformAccount)],
)
def test_models_read_every_field_the_document_defines(
    schemas: dict[str, Any], schema: str, model: type
) -> None:
    assert set(schemas[schema]["properties"]) <= wire_names(model)


def test_platforms_intents_and_statuses_match_the_document(
    schemas: dict[str, Any],
) -> None:
    target = schemas["PublishTarget"]["properties"]
    asset = schemas["ContentAsset"]["properties"]

    assert [p.value for p in Platform] == target["platform"]["enum"]
    assert [i.value for i in Intent] == target["intent"]["enum"]
    assert [m.value for m in MediaType] == asset["mediaType"]["enum"]
    assert [s.value for s in ContentStatus] == asset["status"]["enum"]
    assert target["caption"]["maxLength"] == MAX_CAPTION_LENGTH


def test_a_target_on_the_wire_has_every_required_field(
    schemas: dict[str, Any],
) -> None:
    spec = schemas["PublishTarget"]
    target = Target.tiktok(
        "1b7c1e52-7d7b-4f43-9f5f-0d7b7a0d4c11",
        "Launch",
        privacy_level="SELF_ONLY",
        dispatch_at=datetime(2030, 1, 1, tzinfo=UTC),
    )

    wire = target.to_wire()

    assert set(spec["required"]) <= set(wire)
    assert set(wire) <= set(spec["properties"])
    assert datetime.fromisoformat(wire["dispatchAt"]).tzinfo is not None


def test_tiktok_options_are_the_ones_the_document_lists(
    schemas: dict[str, Any],
) -> None:
    described = schemas["PublishTarget"]["properties"]["options"]["description"]
    listed = described.split("TikTok {", 1)[1].split("}", 1)[0]
    names = {name.strip() for name in listed.split(",")}

    assert names == wire_names(TikTokOptions) - {"extra"}
