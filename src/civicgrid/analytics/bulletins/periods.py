"""Bulletin periods: a day (2026-10-12), an ISO week Monday–Sunday (2026-W42) or a month (2026-10)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases.errors import InvalidInput
from civicgrid.org.models import Unit

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
# Each kind of bulletin belongs to one kind of area (DESIGN §1: community daily, street weekly,
# district monthly, as the seeds' 每日一梳理、每周一分析、每月一通报).
KIND_OF_UNIT = {Unit.Kind.COMMUNITY: DAILY, Unit.Kind.STREET: WEEKLY, Unit.Kind.DISTRICT: MONTHLY}
UNIT_OF_KIND = {kind: unit_kind for unit_kind, kind in KIND_OF_UNIT.items()}

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """Whole local days [start, end) with the label that names them in files and commands."""

    kind: str
    label: str
    start: date
    end: date  # exclusive

    @property
    def title(self) -> str:
        """How the bulletin names its period: 2026年10月12日, 2026年第42周（…）, 2026年10月."""
        if self.kind == DAILY:
            return _("%(y)d年%(m)d月%(d)d日") % {
                "y": self.start.year,
                "m": self.start.month,
                "d": self.start.day,
            }
        if self.kind == WEEKLY:
            last = self.last
            year, week, _weekday = self.start.isocalendar()
            return _("%(y)d年第%(w)d周（%(m1)d月%(d1)d日—%(m2)d月%(d2)d日）") % {
                "y": year,
                "w": week,
                "m1": self.start.month,
                "d1": self.start.day,
                "m2": last.month,
                "d2": last.day,
            }
        return _("%(y)d年%(m)d月") % {"y": self.start.year, "m": self.start.month}

    @property
    def last(self) -> date:
        """The period's last day (end is exclusive)."""
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        """The period just before, of the same kind: the comparison in the overview."""
        return of_kind(self.kind, self.start - timedelta(days=1))


def day(on: date) -> Period:
    return Period(DAILY, on.isoformat(), on, on + timedelta(days=1))


def week(on: date) -> Period:
    """The ISO week (Monday to Sunday) holding `on`."""
    monday = on - timedelta(days=on.weekday())
    year, number, _weekday = monday.isocalendar()
    return Period(WEEKLY, f"{year}-W{number:02d}", monday, monday + timedelta(days=7))


def month(on: date) -> Period:
    first = on.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(MONTHLY, f"{first:%Y-%m}", first, following)


def of_kind(kind: str, on: date) -> Period:
    """The period of `kind` holding the day `on`."""
    return {DAILY: day, WEEKLY: week, MONTHLY: month}[kind](on)


def parse(text: str) -> Period:
    """A period from its label; InvalidInput (in Chinese) when the text names none."""
    clean = text.strip()
    try:
        if found := _DAY.match(clean):
            return day(date(*map(int, found.groups())))
        if found := _WEEK.match(clean):
            year, number = map(int, found.groups())
            return week(date.fromisocalendar(year, number, 1))
        if found := _MONTH.match(clean):
            year, number = map(int, found.groups())
            return month(date(year, number, 1))
    except ValueError:
        pass
    raise InvalidInput(
        "period",
        _("统计期“%(text)s”无法识别：日报写 2026-10-12，周报写 2026-W42，月报写 2026-10") % {"text": text},
    )


def kind_for(unit: Unit, period: Period) -> str:
    """The bulletin kind of a unit and period; InvalidInput when they do not go together."""
    kind: str | None = KIND_OF_UNIT.get(unit.kind)  # type: ignore[call-overload]
    if kind is None:
        raise InvalidInput(
            "unit",
            _("%(name)s 不出通报：通报只为社区（日报）、街道（周报）和区（月度通报）生成")
            % {"name": unit.name},
        )
    if kind != period.kind:
        raise InvalidInput("period", _mismatch(unit, kind))
    return kind


def _mismatch(unit: Unit, kind: str) -> str:
    forms = {
        DAILY: _("社区出日报，统计期写日期，如 2026-10-12"),
        WEEKLY: _("街道出周报，统计期写周，如 2026-W42"),
        MONTHLY: _("区出月度通报，统计期写月份，如 2026-10"),
    }
    return _("%(name)s：%(rule)s") % {"name": unit.name, "rule": forms[kind]}


def ensure_over(period: Period, *, now: datetime) -> None:
    """A bulletin reports a finished period: its figures (超期 at the end) are final only then."""
    if period.end > timezone.localtime(now).date():
        raise InvalidInput(
            "period", _("统计期 %(label)s 尚未结束，结束后才能生成通报") % {"label": period.label}
        )


def latest_released(kind: str, *, now: datetime, hour: int) -> Period:
    """The latest period of `kind` whose bulletin is due by `now`: a period is released at `hour`
    o'clock on the day after it ends (yesterday's digest at 06:00 today, last week's on Monday,
    last month's on the 1st). A period missed while no worker ran is still the latest until the
    next one is released, so a worker back from a stop catches up."""
    local = timezone.localtime(now)
    today = local.date() if local.hour >= hour else local.date() - timedelta(days=1)
    return of_kind(kind, of_kind(kind, today).start - timedelta(days=1))
