"""Error answers become one typed exception per status family."""

from __future__ import annotations

import pytest

from postqued_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IdempotencyConflictError,
    MissingIdempotencyKeyError,
    NotFoundError,
    PermissionDeniedError,
    PostQued,
    PostQuedError,
    RateLimitError,
    ServerError,
    SubscriptionRequiredError,
)
from postqued_async._errors import error_for_status


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "VALIDATION_ERROR", BadRequestError),
        (400, "MISSING_IDEMPOTENCY_KEY", MissingIdempotencyKeyError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (402, "SUBSCRIPTION_REQUIRED", SubscriptionRequiredError),
        (402, None, SubscriptionRequiredError),
        (403, "FORBIDDEN", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "IDEMPOTENCY_CONFLICT", IdempotencyConflictError),
        (409, "SOMETHING_NEW", ConflictError),
        (429, "RATE_LIMITED", RateLimitError),
        (500, "INTERNAL_ERROR", ServerError),
        (503, None, ServerError),
        (418, "TEAPOT", APIError),
    ],
)
def test_status_picks_the_family_and_code_narrows_it(
    status: int, code: str | None, expected: type[APIError]
) -> None:
    error = error_for_status(status, message="m", code=code, request_id="req_1")

    assert type(error) is expected
    assert isinstance(error, PostQuedError)
    assert (error.status, error.code, error.request_id) == (status, code, "req_1")


def test_a_known_code_never_overrides_the_status_family() -> None:
    error = error_for_status(
        400, message="odd", code="IDEMPOTENCY_CONFLICT", request_id=None
    )

    assert type(error) is BadRequestError
    assert error.code == "IDEMPOTENCY_CONFLICT"


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_for_status(
        429, message="slow down", code="RATE_LIMITED", request_id=None, retry_after=7
    )

    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7


def test_str_names_status_code_message_and_request() -> None:
    error = error_for_status(
        404, message="no such post", code="NOT_FOUND", request_id="r9"
    )

    assert str(error) == "404 NOT_FOUND: no such post (request r9)"


async def test_validation_answer_from_the_api_keeps_the_server_message(
    pq: PostQued,
) -> None:
    # Skip the SDK's own checks to see what the server says to a bad request.
    with pytest.raises(BadRequestError) as caught:
        await pq._transport.request(
            pq.publish._routes.publish_create,
            body=b'{"contentIds":[],"targets":[]}',
            headers={"Idempotency-Key": "raw"},
        )

    assert caught.value.code == "VALIDATION_ERROR"
    assert "contentIds" in caught.value.message


async def test_missing_idempotency_key_is_its_own_error(pq: PostQued) -> None:
    with pytest.raises(MissingIdempotencyKeyError) as caught:
        await pq._transport.request(
            pq.publish._routes.publish_create,
            body=b'{"contentIds":["c"],"targets":[]}',
        )

    assert caught.value.status == 400


def test_an_answer_missing_required_fields_is_a_typed_error() -> None:
    from postqued_async import Publish, UnexpectedResponseError
    from postqued_async._models import structure

    with pytest.raises(UnexpectedResponseError, match="Publish"):
        structure({"status": "pending"}, Publish)
