"""Cases, their assignments to units, their append-only events, attachments and evaluations."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.states import OPEN, Status
from civicgrid.catalogue.models import Item
from civicgrid.org.models import Building, Unit

TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def new_tracking_code() -> str:
    """A random code a reporter uses to follow their case; unguessable, easy to read out."""
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


class Kind(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")  # whistle-blowing: the reporter's identity is confidential
    SUGGESTION = "suggestion", _("建议")
    PRAISE = "praise", _("表扬")


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("热线")
    QR = "qr", _("扫码")
    GRID_APP = "grid_app", _("网格员上报")
    WEB = "web", _("网站")
    API = "api", _("接口")
    PATROL = "patrol", _("巡查")
    LEADER = "leader", _("领导交办")


class Supervision(models.TextChoices):
    YELLOW = "yellow", _("黄色督办")
    RED = "red", _("红色督办")


class Case(models.Model):
    """One request or found problem, from intake to archive; its fields are a cache of its events."""

    number = models.CharField(_("编号"), max_length=20, unique=True)
    tracking_code = models.CharField(_("查询码"), max_length=12, unique=True, default=new_tracking_code)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=100, blank=True)
    description = models.TextField(_("内容"))
    item = models.ForeignKey(Item, verbose_name=_("事项"), null=True, blank=True, on_delete=models.PROTECT)
    # The smallest area unit known to hold the place: normally a grid, a district when unknown.
    place = models.ForeignKey(Unit, verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), null=True, blank=True, on_delete=models.PROTECT
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    proactive = models.BooleanField(_("主动发现"), default=False)
    reporter_name = models.CharField(_("诉求人"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("诉求人电话"), max_length=20, blank=True)  # digits only
    reporter_anonymous = models.BooleanField(_("匿名"), default=False)
    reporter_confidential = models.BooleanField(_("要求保密"), default=False)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    # The unit answering for the case now: the lead unit, or the command centre before dispatch.
    owner = models.ForeignKey(
        Unit, verbose_name=_("责任单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 首问负责: the person who first took the case on follows it to the end.
    first_receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("首问责任人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("登记时间"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    respond_by = models.DateTimeField(_("响应时限"), null=True, blank=True)
    resolve_by = models.DateTimeField(_("办结时限"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    supervised_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    # 督办 colour: yellow when opened (by hand or by the clock when overdue), red once escalated.
    supervision = models.CharField(_("督办等级"), max_length=8, choices=Supervision.choices, blank=True)
    # Set by the clock when the latest resolution stayed unrated: the operators' callback queue (回访).
    callback_requested_at = models.DateTimeField(_("待回访时间"), null=True, blank=True)
    # Set by a dissatisfied rating: the supervisor decides whether to reopen (重办审核).
    review_requested_at = models.DateTimeField(_("待重办审核时间"), null=True, blank=True)
    # Set while an exclusion request waits (考核剔除审核): the supervisor's queue reads it, closed cases too.
    exclusion_requested_at = models.DateTimeField(_("待剔除审核时间"), null=True, blank=True)
    # Set by an approved exclusion: the case counts in no figure (考核剔除), whatever its status.
    excluded_at = models.DateTimeField(_("考核剔除时间"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Bumped by every change: the guard of every UPDATE, so two concurrent actions cannot both win.
    version = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        indexes = [
            # Serves the default list order and its cursor (newest first).
            models.Index(fields=["-created_at", "-id"], name="case_created_idx"),
            # Serves queues per unit and status ("my unit's cases in progress").
            models.Index(fields=["owner", "status"], name="case_owner_status_idx"),
            # Serves scoping by place (joined to the unit path) and per-grid screens.
            models.Index(fields=["place", "status"], name="case_place_status_idx"),
            # Serves the overdue filter and the deadline sweep (open cases by resolution deadline).
            models.Index(fields=["status", "resolve_by"], name="case_status_due_idx"),
            # Serves a caller's history on the hotline console (same phone), and 重复诉求: the
            # cases from a phone within 30 days of another.
            models.Index(fields=["reporter_phone", "created_at"], name="case_phone_time_idx"),
            # Serves 重复诉求 by place: the cases in a building about an item within 30 days.
            models.Index(fields=["building", "item", "created_at"], name="case_building_item_idx"),
            # Serves the supervisors' exclusion queue beside the open cases (a tiny partial index).
            models.Index(
                fields=["exclusion_requested_at"],
                name="case_exclusion_asked_idx",
                condition=models.Q(exclusion_requested_at__isnull=False),
            ),
            # Serves the 督办 queue and the dashboard's 督办中 count: the few open cases under
            # supervision, by place (a tiny partial index; counted without reading the cases).
            models.Index(
                fields=["place"],
                name="case_supervised_open_idx",
                condition=models.Q(supervised_at__isnull=False, status__in=sorted(OPEN)),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("主办")
    ASSIST = "assist", _("协办")


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("待签收")  # given to the unit; it has not reported in yet
    ACKNOWLEDGED = "acknowledged", _("已签收")  # the unit reported in (报到) and works on it
    RESOLVED = "resolved", _("已办结")  # the lead reported the outcome
    RETURNED = "returned", _("已退单")  # the unit said "not ours"
    ESCALATED = "escalated", _("已提级")  # handed one level up
    ENDED = "ended", _("已结束")  # the case moved on without this unit (closed, withdrawn, reopened)


class Assignment(models.Model):
    """A case given to a unit, as lead (主办) or assisting (协办) unit, with its own deadlines."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        Unit, verbose_name=_("承办单位"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("角色"), max_length=8, choices=AssignmentRole.choices)
    status = models.CharField(
        _("状态"), max_length=14, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING
    )
    active = models.BooleanField(_("当前有效"), default=True)
    dispatched_at = models.DateTimeField(_("派单时间"))
    respond_by = models.DateTimeField(_("响应时限"))
    resolve_by = models.DateTimeField(_("办结时限"))
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    # Set by the clock when the unit stayed silent past its response deadline and the grace after it:
    # the dispatcher's queue shows the assignment as 未报到.
    unreported_at = models.DateTimeField(_("未报到时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("承办记录")
        verbose_name_plural = _("承办记录")
        ordering = ["dispatched_at", "id"]
        indexes = [
            # Serves a department's scope (cases given to the unit, now or before) and unit queues.
            models.Index(fields=["unit", "active", "status"], name="assignment_unit_idx"),
            # Serves the response sweep: active pending assignments by response deadline.
            models.Index(fields=["active", "status", "respond_by"], name="assignment_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case.number} → {self.unit.name} ({self.role})"


class Timer(models.Model):
    """Something the clock must do at a moment; planned from the case's deadlines, fired once."""

    class Rule(models.TextChoices):
        RESPONSE_WARNING = "response_warning", _("响应预警")  # a share of the response time has passed
        RESPONSE_OVERDUE = "response_overdue", _("超时未签收")  # response deadline passed, not reported in
        NOT_REPORTED = "not_reported", _("未报到")  # and a further grace passed: flag it for the dispatcher
        RESOLUTION_WARNING = "resolution_warning", _("办结预警")  # a share of the resolution time passed
        OVERDUE = "overdue", _("超期督办")  # resolution deadline passed: open a yellow supervision
        ESCALATION = "escalation", _("超期提级")  # still overdue later: escalate to the parent area (red)
        EXTENSION_REMINDER = "extension_reminder", _("延期审批提醒")  # a request waits too long
        RATING_REQUEST = "rating_request", _("邀请评价")  # just resolved: ask the reporter to rate
        CALLBACK = "callback", _("转回访")  # still unrated: into the operators' callback queue

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timers")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("计时器")
        verbose_name_plural = _("计时器")
        constraints = [
            # Each rule fires once per deadline: a moved deadline (extension, reopen) plans a new one.
            models.UniqueConstraint(
                fields=["assignment", "rule", "due_at"],
                name="timer_once_per_assignment",
                condition=models.Q(assignment__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["case", "rule", "due_at"],
                name="timer_once_per_case",
                condition=models.Q(assignment__isnull=True),
            ),
        ]
        indexes = [
            # Serves the sweep: unfired timers by due time (a small partial index, whatever the backlog).
            models.Index(
                fields=["due_at"], name="timer_pending_idx", condition=models.Q(fired_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.rule} @ {self.due_at:%Y-%m-%d %H:%M}"


class Event(models.Model):
    """One step in a case's life (留痕): append-only, numbered contiguously per case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField(_("序号"))
    action = models.CharField(_("动作"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )  # None = the system
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(_("原状态"), max_length=12, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    # False for internal notes the public tracking page never shows.
    public = models.BooleanField(_("公开"), default=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["case", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="event_case_seq_unique")]
        indexes = [
            # Serves recomputing statistics from the log: events of an action in a period.
            models.Index(fields=["action", "at"], name="event_action_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"


class Attachment(models.Model):
    """A photo, voice recording or document attached to a case (or to one of its events)."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        VOICE = "voice", _("语音")
        DOCUMENT = "document", _("文件")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to="cases/%Y/%m/")
    content_type = models.CharField(_("内容类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return f"{self.kind} {self.file.name}"


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


class EvaluationChannel(models.TextChoices):
    RESIDENT = "resident", _("群众评价")
    CALLBACK = "callback", _("电话回访")


class Evaluation(models.Model):
    """A rating of one resolution: solved? and satisfied? are two separate questions."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evaluations")
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="+")
    satisfaction = models.CharField(_("满意度"), max_length=12, choices=Satisfaction.choices)
    solved = models.BooleanField(_("是否解决"))
    comment = models.TextField(_("评价内容"), blank=True)
    channel = models.CharField(_("评价方式"), max_length=10, choices=EvaluationChannel.choices)
    # Which resolution this rates: one rating per resolution (the case's Nth resolve event).
    resolution_seq = models.PositiveIntegerField()
    at = models.DateTimeField(_("评价时间"))

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        constraints = [
            models.UniqueConstraint(fields=["case", "resolution_seq"], name="evaluation_once_per_resolution"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.satisfaction}"


class ExtensionRequest(models.Model):
    """A lead unit's request for more time (延期), decided by a supervisor."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        DENIED = "denied", _("未批准")
        LAPSED = "lapsed", _("已失效")  # the unit no longer leads the case, or the work ended

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extension_requests")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    days = models.PositiveSmallIntegerField(_("延期工作日"))
    reason = models.TextField(_("理由"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("申请时间"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [
            # At most one open request per case: a second one waits for the first decision.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status="pending"),
                name="extension_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.days}"


class ExclusionRequest(models.Model):
    """A unit's request to take a case out of the assessment figures (考核剔除), decided by a supervisor."""

    class Reason(models.TextChoices):
        MALICIOUS = "malicious", _("恶意诉求")
        OUT_OF_SCOPE = "out_of_scope", _("非本辖区/不属于职责范围")
        DUPLICATE = "duplicate", _("重复诉求")

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")  # waits for a supervisor of the case's district
        APPROVED = "approved", _("已剔除")  # final: the case counts in no figure
        REFUSED = "refused", _("未批准")  # final for this request

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exclusion_requests")
    # The unit whose figures the case counts in and that asks: the lead unit or an area holding the place.
    unit = models.ForeignKey(Unit, verbose_name=_("申请单位"), on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("剔除理由"), max_length=16, choices=Reason.choices)
    note = models.TextField(_("情况说明"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("申请时间"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        verbose_name = _("考核剔除申请")
        verbose_name_plural = _("考核剔除申请")
        constraints = [
            # At most one open request per case: another one waits for the first decision.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status="pending"),
                name="exclusion_one_pending",
            ),
        ]
        indexes = [
            # Serves the bulletin's list: requests approved in a period (approved_exclusions).
            models.Index(fields=["status", "decided_at"], name="exclusion_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.reason} ({self.status})"


class IdempotencyKey(models.Model):
    """Remembers an intake request's key and body hash, so a retried POST returns the same case."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]
        indexes = [
            # Serves the cleanup job (keys older than the TTL).
            models.Index(fields=["created_at"], name="idempotency_created_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class DailyCounter(models.Model):
    """The last case number given out on a day (numbers read 20261124-000123)."""

    day = models.DateField(primary_key=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day} {self.value}"


class CalendarOverride(models.Model):
    """An admin's correction to the official calendar: a day that is or is not a working day."""

    day = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'工作日' if self.is_workday else '休息日'}"
