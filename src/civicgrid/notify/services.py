"""Writes of the staff inbox: a reader marks their own messages read (delivery writes the items)."""

from __future__ import annotations

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.notify.models import InboxItem
from civicgrid.notify.selectors import inbox_item


def inbox_item_mark_read(*, user: User, pk: int) -> InboxItem | None:
    """Mark one of the user's own messages read (None when it is not theirs or does not exist).

    Reading it again keeps the first time: the guarded update only touches an unread row.
    """
    item = inbox_item(user=user, pk=pk)
    if item is not None and item.read_at is None:
        item.read_at = clock.now()
        InboxItem.objects.filter(pk=item.pk, read_at__isnull=True).update(read_at=item.read_at)
    return item


def inbox_mark_all_read(*, user: User) -> int:
    """Mark every unread message of the user read; returns how many there were."""
    return InboxItem.objects.filter(user=user, read_at__isnull=True).update(read_at=clock.now())
