"""Transports: one small module each, all of the same shape.

Each module has `send(message) -> str`, returning a line for the delivery log, and raising
`DeliveryFailed` (or any error) when the message did not get through; and `IN_TRANSACTION`, true
when sending only writes to our own database, so delivery may complete in one transaction.
"""

from __future__ import annotations

from types import ModuleType

from civicgrid.notify.models import Transport
from civicgrid.notify.transports import email, inbox, sms, webhook
from civicgrid.notify.transports.base import DeliveryFailed, sign

TRANSPORTS: dict[str, ModuleType] = {
    Transport.INBOX: inbox,
    Transport.SMS: sms,
    Transport.WEBHOOK: webhook,
    Transport.EMAIL: email,
}

__all__ = ["TRANSPORTS", "DeliveryFailed", "sign"]
