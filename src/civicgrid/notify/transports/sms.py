"""SMS through the configured HTTP gateway, signed with the shared secret."""

from __future__ import annotations

from django.conf import settings

from civicgrid import clock
from civicgrid.notify.models import Message
from civicgrid.notify.transports.base import DeliveryFailed, json_body, post, sign

IN_TRANSACTION = False


def send(message: Message) -> str:
    if not settings.SMS_URL:
        raise DeliveryFailed("SMS_URL is not set")
    body = json_body(
        {
            "phone": message.phone,
            "sign": settings.SMS_SIGN,
            "template_id": message.payload.get("template_id", ""),
            "params": message.payload.get("params", {}),
            "text": message.body,
        }
    )
    timestamp = str(int(clock.now().timestamp()))
    headers = {
        "X-Api-Key": settings.SMS_KEY,
        "X-Timestamp": timestamp,
        # The gateway checks that the body came from us, unchanged, recently.
        "X-Signature": sign(settings.SMS_SECRET, timestamp + body),
    }
    return post(settings.SMS_URL, body=body, headers=headers)
