"""What every staff page's header shows: the number of unread inbox messages."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.http import HttpRequest

from civicgrid.accounts.models import User
from civicgrid.cases.reach import reach_of
from civicgrid.notify.selectors import unread_count


def unread_messages(request: HttpRequest) -> dict[str, Callable[[], int | None]]:
    """`unread_count`: the signed-in staff member's unread messages, None for everybody else.

    It is a callable the template calls, so a page that shows no badge (the residents' pages)
    costs nothing, and a page that shows it costs one COUNT, however often it is read.
    """

    @cache
    def count() -> int | None:
        user = getattr(request, "user", None)
        if not isinstance(user, User) or not user.is_authenticated:
            return None
        # Staff means holding a post; the reach is usually cached already by the page's own view.
        if not reach_of(user).is_staff_member:
            return None
        return unread_count(user=user)

    return {"unread_count": count}
