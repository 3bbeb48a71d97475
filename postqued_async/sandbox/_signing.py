"""Presigned storage URLs modelled on S3 query-string signing (SigV4-like).

The signature covers the method, the raw path, the raw query string (every
parameter but the signature, byte for byte as issued), the signed
``Content-Type`` and the host. The credential and signed-headers parameters
carry percent-encoded ``/`` and ``;`` on purpose: a client that decodes,
re-encodes or reorders the query breaks the signature, as it would on S3.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from urllib.parse import quote

import attrs

__all__ = ["Presigner", "SignedQuery"]

_ACCESS_KEY_ID = "SANDBOXAKIAEXAMPLE01"
_SIGNATURE_PARAM = "&X-Amz-Signature="
_HEX64 = re.compile(r"[0-9a-f]{64}")


@attrs.frozen
class SignedQuery:
    """The parts of a presigned query string that storage checks after the signature."""

    issued_at: float
    expires_in: int

    @property
    def expires_at(self) -> float:
        """Epoch seconds after which the URL answers 403 AccessDenied."""
        return self.issued_at + self.expires_in


class Presigner:
    """Issues and verifies presigned PUT URLs with a secret of its own."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def presign_query(
        self, raw_path: str, host: str, content_type: str, now: float, expires_in: int
    ) -> str:
        """The raw query string, signature last, for a PUT to ``raw_path``."""
        stamp = dt.datetime.fromtimestamp(int(now), dt.UTC)
        credential = f"{_ACCESS_KEY_ID}/{stamp:%Y%m%d}/us-east-1/s3/aws4_request"
        unsigned = (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={quote(credential, safe='')}"
            f"&X-Amz-Date={stamp:%Y%m%dT%H%M%SZ}"
            f"&X-Amz-Expires={expires_in}"
            f"&X-Amz-SignedHeaders={quote('content-type;host', safe='')}"
        )
        signature = self._sign("PUT", raw_path, unsigned, content_type, host)
        return f"{unsigned}{_SIGNATURE_PARAM}{signature}"

    def verify(
        self, method: str, raw_path: str, raw_query: str, content_type: str, host: str
    ) -> SignedQuery | None:
        """The signed query's expiry if the signature holds, else ``None``."""
        unsigned, found, signature = raw_query.rpartition(_SIGNATURE_PARAM)
        if not found or not _HEX64.fullmatch(signature):
            return None
        expected = self._sign(method, raw_path, unsigned, content_type, host)
        if not hmac.compare_digest(expected, signature):
            return None
        return _parse_signed(unsigned)

    def _sign(
        self,
        method: str,
        raw_path: str,
        unsigned_query: str,
        content_type: str,
        host: str,
    ) -> str:
        canonical = "\n".join(
            [
                method,
                raw_path,
                unsigned_query,
                f"content-type:{content_type}",
                f"host:{host}",
            ]
        )
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()


def _parse_signed(unsigned_query: str) -> SignedQuery | None:
    # Safe to parse loosely: the signature already proved these bytes are ours.
    params = dict(part.partition("=")[::2] for part in unsigned_query.split("&"))
    try:
        stamp = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expires_in = int(params["X-Amz-Expires"])
    except (KeyError, ValueError):
        return None
    return SignedQuery(stamp.replace(tzinfo=dt.UTC).timestamp(), expires_in)
