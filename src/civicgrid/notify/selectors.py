"""Reads of the staff inbox: the unread count on every staff page, the list, one item of its owner."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.accounts.models import User
from civicgrid.cases.selectors import cases_visible_to
from civicgrid.notify.models import InboxItem


def unread_count(*, user: User) -> int:
    """How many of the user's messages are unread: one COUNT served by inbox_user_unread_idx."""
    return InboxItem.objects.filter(user=user, read_at__isnull=True).count()


def inbox_items(*, user: User) -> QuerySet[InboxItem]:
    """The user's own messages, newest first (never anyone else's)."""
    return InboxItem.objects.filter(user=user).select_related("case").order_by("-created_at", "-id")


def inbox_item(*, user: User, pk: int) -> InboxItem | None:
    """One message by id, only when it is the user's (another's id reads as "not found")."""
    return InboxItem.objects.filter(user=user, pk=pk).select_related("case").first()


def cases_still_visible(*, user: User, case_ids: set[int]) -> set[int]:
    """Which of these cases the user may still open: a message outlives the user's reach (a case
    escalated away, a post given up), and its link must not lead to a 404 — or reveal anything."""
    if not case_ids:
        return set()
    return set(cases_visible_to(user=user).filter(pk__in=case_ids).values_list("pk", flat=True))
