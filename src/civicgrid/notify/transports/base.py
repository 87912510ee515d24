"""What the HTTP transports share: the failure they raise, signing, and posting JSON."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from django.conf import settings

# How much of a failed response's body the delivery log keeps.
DETAIL_CHARS = 300


class DeliveryFailed(Exception):
    """The message did not get through this time; the worker retries it later."""


def sign(secret: str, text: str) -> str:
    """Hex HMAC-SHA256 of `text` under `secret`."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def json_body(data: dict[str, Any]) -> str:
    """The exact bytes that are signed and sent (compact, keys sorted: stable across retries)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def post(url: str, *, body: str, headers: dict[str, str]) -> str:
    """POST `body` as JSON; the log line on a 2xx answer, DeliveryFailed on anything else."""
    try:
        response = httpx.post(
            url,
            content=body.encode(),
            headers={"Content-Type": "application/json; charset=utf-8", **headers},
            timeout=settings.DELIVERY_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{exc.__class__.__name__}: {exc}") from exc
    if not response.is_success:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:DETAIL_CHARS]}")
    return f"HTTP {response.status_code}"
