"""What every console page's top bar needs from analytics: whether to show the dashboard link."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.http import HttpRequest

from civicgrid.accounts.models import User
from civicgrid.analytics import scoping
from civicgrid.cases.reach import reach_of


def dashboard_link(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """`dashboard_allowed`: whether the signed-in person may open the dashboard (oversight posts and
    area staff). A callable, so pages that show no top bar pay nothing for it."""

    @cache
    def allowed() -> bool:
        user = getattr(request, "user", None)
        if not isinstance(user, User) or not user.is_authenticated:
            return False
        return bool(scoping.covered(reach_of(user)))

    return {"dashboard_allowed": allowed}
