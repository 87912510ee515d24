"""In-app inbox: the message becomes the staff member's InboxItem (once, whatever the retries)."""

from __future__ import annotations

from collections.abc import Sequence

from civicgrid import clock
from civicgrid.notify.models import InboxItem, Message

# Only our own database is written: claim, placement and outcome may share one transaction.
IN_TRANSACTION = True


def send(message: Message) -> str:
    return send_many([message])[message.pk]


def send_many(messages: Sequence[Message]) -> dict[int, str]:
    """Place a batch at once (the worker's path); the log line of each, by message id."""
    ids = [m.pk for m in messages]
    there = set(InboxItem.objects.filter(message_id__in=ids).values_list("message_id", flat=True))
    now = clock.now()
    # The one-to-one message field makes a repeated delivery a no-op instead of a second item.
    InboxItem.objects.bulk_create(
        (
            InboxItem(
                user_id=m.user_id,  # type: ignore[misc]  # inbox messages always name a user
                message=m,
                case_id=m.case_id,
                subject=m.subject,
                body=m.body,
                created_at=now,
            )
            for m in messages
            if m.pk not in there
        ),
        ignore_conflicts=True,
    )
    return {
        m.pk: "already in the inbox" if m.pk in there else f"in the inbox of user {m.user_id}"
        for m in messages
    }
