"""Signed webhooks: the event's JSON to the integrator's URL, with an HMAC-SHA256 signature header.

The receiver verifies `X-CivicGrid-Signature` = "sha256=" + hex HMAC-SHA256(secret, timestamp + "." +
body), rejects old timestamps, and drops repeats by `X-CivicGrid-Delivery` (the same on every retry).
"""

from __future__ import annotations

from civicgrid import clock
from civicgrid.notify.models import Message
from civicgrid.notify.transports.base import DeliveryFailed, json_body, post, sign

IN_TRANSACTION = False


def send(message: Message) -> str:
    endpoint = message.endpoint
    if endpoint is None or not endpoint.active:
        # Kept for retry: an admin who turns the endpoint back on can revive the message.
        raise DeliveryFailed("webhook endpoint is disabled")
    body = json_body({"id": message.pk, **message.payload})
    timestamp = str(int(clock.now().timestamp()))
    headers = {
        "X-CivicGrid-Event": str(message.payload.get("action", message.template)),
        "X-CivicGrid-Delivery": str(message.pk),
        "X-CivicGrid-Timestamp": timestamp,
        "X-CivicGrid-Signature": "sha256=" + sign(endpoint.secret, f"{timestamp}.{body}"),
    }
    return post(endpoint.url, body=body, headers=headers)
