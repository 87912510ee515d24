"""Who may read which statistics: the areas a caller's posts cover, and the place a request names."""

from __future__ import annotations

from datetime import date, datetime, time

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from civicgrid.accounts.models import User
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.reach import Reach, reach_of
from civicgrid.org.models import Unit
from civicgrid.org.selectors import unit_by_code


def reach(request: HttpRequest) -> Reach:
    user = request.user
    assert isinstance(user, User)
    return reach_of(user)


def covered(reach: Reach) -> tuple[str, ...]:
    """The areas whose statistics the caller may read: oversight posts' areas and area posts."""
    return reach.centre_paths + reach.supervisor_paths + reach.leader_paths + reach.area_paths


def plausible(code: str) -> bool:
    """Codes PostgreSQL can compare at all (no NUL) and of a length a unit code can have."""
    return 0 < len(code) <= Unit._meta.get_field("code").max_length and "\x00" not in code  # type: ignore[operator]


def place(code: str | None, covered: tuple[str, ...]) -> Unit:
    """The asked unit, or the widest area covered (the district for a district post)."""
    if code is None:
        widest = min(covered, key=lambda path: (path.count("/"), path))
        return Unit.objects.get(path=widest)
    unit = unit_by_code(code=code) if plausible(code) else None
    if unit is None:
        raise InvalidInput("place", _("未知单位编码 %(code)s") % {"code": code})
    if not unit.is_area:
        raise InvalidInput("place", _("须为区域单位（区、街道、社区或网格）"))
    if not any(unit.path.startswith(path) for path in covered):
        raise HttpError(403, _("您无权查看 %(place)s 的统计") % {"place": unit.name})
    return unit


def midnight(day: date) -> datetime:
    """The local (TIME_ZONE) midnight starting `day`: periods are whole local days."""
    return timezone.make_aware(datetime.combine(day, time.min))
