"""Rollups of the statistics: each case's contribution, summed per day and dimension (DESIGN §4).

Dimension columns are plain integers, not foreign keys: 0 stands for "none" (no item, no handler),
so that every key is NOT NULL and one `INSERT … ON CONFLICT DO UPDATE` adds a delta on both
SQLite and PostgreSQL (a NULL never conflicts). Rows are never read alone, only summed.
Also the bulletins' stored files (Bulletin, at the end).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# A day no case reaches: "not resolved yet" / "still open" in DueFigure.
NEVER = date(9999, 12, 31)

# The counters of DailyFigure, in the order a contribution vector holds them.
DAILY_COUNTERS = (
    "accepted",  # 受理: the case's first accept event fell on this day
    "proactive",  # …and it was found proactively (主动发现)
    "repeated",  # …and it repeats an earlier case (重复诉求: same phone, or same building and item)
    "assigned",  # an assignment's response deadline falls on this day
    "responded",  # …and it was acknowledged on or before that deadline
    "dispatches",  # dispatch events (to the handler)
    "returns",  # return events (by the handler)
    "resolves",  # resolve events
    "reopens",  # reopen events
    "evaluations",  # evaluations recorded
    "satisfied",  # …answering 满意
    "basically",  # …answering 基本满意
    "solved",  # …answering "solved"
    "supervised",  # 督办: the case's first supervise event fell on this day (to the unit it names)
)


class StaleCase(models.Model):
    """A case whose contribution must be recomputed: written in the transaction of the event that
    changed it, consumed by the worker. Not unique per case, so writers never wait for each other."""

    case_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"stale case {self.case_id}"


class CaseFact(models.Model):
    """What one case currently contributes to the rollups, so a change applies as new − old."""

    case_id = models.BigIntegerField(primary_key=True)
    contributions = models.JSONField(default=list)
    # [phone, building id, item id] when last folded: when they change (a reclassification at
    # acceptance), the cases that repeated this one under the old ones must be folded again.
    neighbourhood = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"facts of case {self.case_id}"


class DailyCounters(models.Model):
    """The counters of DAILY_COUNTERS, as columns (both daily rollups hold them)."""

    accepted = models.IntegerField(default=0)
    proactive = models.IntegerField(default=0)
    repeated = models.IntegerField(default=0)
    assigned = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    dispatches = models.IntegerField(default=0)
    returns = models.IntegerField(default=0)
    resolves = models.IntegerField(default=0)
    reopens = models.IntegerField(default=0)
    evaluations = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    supervised = models.IntegerField(default=0)

    class Meta:
        abstract = True


class Counts(DailyCounters):
    """Counters per day (or month) × place × handler × item × channel × kind."""

    day = models.DateField()  # the day each counter names; a monthly table: the month's first day
    place_id = models.BigIntegerField()  # the case's place (a grid, a community…)
    handler_id = models.BigIntegerField()  # the handling unit; 0 when none
    item_id = models.BigIntegerField()  # the catalogue item; 0 when unclassified
    channel = models.CharField(max_length=12)
    kind = models.CharField(max_length=12)

    class Meta:
        abstract = True
        constraints = [
            # The upsert's conflict target; it also serves every read (a range of days first).
            models.UniqueConstraint(
                fields=["day", "place_id", "handler_id", "item_id", "channel", "kind"],
                name="%(class)s_key",
            )
        ]
        indexes = [
            # Serves the handler scope (a department's figures over a range of days).
            models.Index(fields=["handler_id", "day"], name="%(class)s_handler_idx"),
            # Serves 受理量 by place or item over a span of days or months (hot spots, trend alerts,
            # the dashboard's domains): only the rows that count acceptances, from the index alone.
            models.Index(
                fields=["day", "place_id", "item_id", "accepted"],
                condition=models.Q(accepted__gt=0),
                name="%(class)s_accepted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} place {self.place_id}"


class DueCounts(models.Model):
    """Cases per resolution-deadline day (or month), with the day they were first resolved and first
    ended (NEVER when not yet) and whether the resolution was on time: 应办结, 办结率, 按期办结率, 超期."""

    due_day = models.DateField()
    place_id = models.BigIntegerField()
    handler_id = models.BigIntegerField()
    item_id = models.BigIntegerField()
    channel = models.CharField(max_length=12)
    kind = models.CharField(max_length=12)
    resolved_day = models.DateField()
    ended_day = models.DateField()
    on_time = models.BooleanField()
    cases = models.IntegerField(default=0)

    class Meta:
        abstract = True
        constraints = [
            # The upsert's conflict target; it also serves 应办结 reads (a range of due days first).
            models.UniqueConstraint(
                fields=[
                    "due_day",
                    "place_id",
                    "handler_id",
                    "item_id",
                    "channel",
                    "kind",
                    "resolved_day",
                    "ended_day",
                    "on_time",
                ],
                name="%(class)s_key",
            )
        ]
        indexes = [
            # Serves 超期 at a moment: still open then (ended later or never), due before it — so
            # ended after its deadline: only the late cases' rows are indexed.
            models.Index(
                fields=["ended_day", "due_day"],
                condition=models.Q(ended_day__gt=models.F("due_day")),
                name="%(class)s_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"due {self.due_day} place {self.place_id}"


class PlaceCounts(DailyCounters):
    """Counts summed over item, channel and kind: what totals, rankings by area or handler and
    daily trends read (tens of times fewer rows). Written with the full rows, by the same deltas."""

    day = models.DateField()
    place_id = models.BigIntegerField()
    handler_id = models.BigIntegerField()

    class Meta:
        abstract = True
        constraints = [
            # The upsert's conflict target; it also serves reads (a range of days first).
            models.UniqueConstraint(fields=["day", "place_id", "handler_id"], name="%(class)s_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} place {self.place_id}"


class PlaceDueCounts(models.Model):
    """DueCounts summed over item, channel and kind (see PlaceCounts)."""

    due_day = models.DateField()
    place_id = models.BigIntegerField()
    handler_id = models.BigIntegerField()
    resolved_day = models.DateField()
    ended_day = models.DateField()
    on_time = models.BooleanField()
    cases = models.IntegerField(default=0)

    class Meta:
        abstract = True
        constraints = [
            # The upsert's conflict target; it also serves 应办结 reads (a range of due days first).
            models.UniqueConstraint(
                fields=["due_day", "place_id", "handler_id", "resolved_day", "ended_day", "on_time"],
                name="%(class)s_key",
            )
        ]
        indexes = [
            # Serves 超期 at a moment: still open then (ended later or never), due before it — so
            # ended after its deadline: only the late cases' rows are indexed.
            models.Index(
                fields=["ended_day", "due_day"],
                condition=models.Q(ended_day__gt=models.F("due_day")),
                name="%(class)s_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"due {self.due_day} place {self.place_id}"


class DailyFigure(Counts):
    """Counts per day × place × handler × item × channel × kind (the day each counter names)."""


class DueFigure(DueCounts):
    """Cases per resolution-deadline day (see DueCounts)."""


class PlaceDailyFigure(PlaceCounts):
    """DailyFigure summed over item, channel and kind."""

    class Meta(PlaceCounts.Meta):
        indexes = [
            # Serves the dashboard's daily trend (cases accepted and resolved per day) from the
            # index alone: only the rows that count either.
            models.Index(
                fields=["day", "place_id", "accepted", "resolves"],
                condition=models.Q(accepted__gt=0) | models.Q(resolves__gt=0),
                name="placedailyfigure_trend_idx",
            ),
        ]


class PlaceDueFigure(PlaceDueCounts):
    """DueFigure summed over item, channel and kind."""


# The same four, per month: each day column holds the first day of its month (NEVER's month for
# "not yet"). A period of whole months — a ranking, a monthly bulletin — reads these, about a tenth
# of the rows; the sums are the daily rows' sums, written by the same deltas.


class MonthlyFigure(Counts):
    """DailyFigure per month."""


class MonthlyDueFigure(DueCounts):
    """DueFigure per month of the deadline, of the resolution and of the end."""


class PlaceMonthlyFigure(PlaceCounts):
    """PlaceDailyFigure per month."""


class PlaceMonthlyDueFigure(PlaceDueCounts):
    """PlaceDueFigure per month of the deadline, of the resolution and of the end."""


class Bulletin(models.Model):
    """A generated bulletin file (通报) of one area, kind, period and format; regenerating replaces
    the file. A row with `generated_at` unset is a worker's claim on a bulletin being written."""

    class Kind(models.TextChoices):
        DAILY = "daily", _("社区日报")
        WEEKLY = "weekly", _("街道周报")
        MONTHLY = "monthly", _("区月度通报")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel 工作簿")
        HTML = "html", _("打印版网页")

    unit = models.ForeignKey("org.Unit", verbose_name=_("区域"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    period = models.CharField(_("统计期"), max_length=10)  # 2026-10-12, 2026-W42, 2026-10
    start = models.DateField(_("起始日"))
    end = models.DateField(_("截止日（不含）"))
    format = models.CharField(_("格式"), max_length=4, choices=Format.choices)
    file = models.FileField(_("文件"), upload_to="bulletins/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(_("大小"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # When a worker took the bulletin on: a claim left unfinished this long ago is taken over.
    claimed_at = models.DateTimeField(_("领取时间"))
    generated_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )  # None: the worker (or the command line)

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        constraints = [
            # One file per area, kind, period and format: the worker's claim is this insert.
            models.UniqueConstraint(fields=["unit", "kind", "period", "format"], name="bulletin_once"),
        ]
        indexes = [
            # Serves the list page (newest periods first, one kind) and the job's "what is missing".
            models.Index(fields=["kind", "-end"], name="bulletin_kind_end_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.period} {self.unit_id}.{self.format}"
