"""E-mail through Django's configured backend."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from civicgrid.notify.models import Message
from civicgrid.notify.transports.base import DeliveryFailed

IN_TRANSACTION = False


def send(message: Message) -> str:
    sent = send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.email])
    if not sent:
        raise DeliveryFailed(f"the e-mail backend sent nothing to {message.email}")
    return f"sent to {message.email}"
