"""The staff console: queues, the assignment inbox, a case's page with its action forms, attachments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.accounts.views import workspace_for
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import (
    Assignment,
    AssignmentStatus,
    Attachment,
    Case,
    EvaluationChannel,
    Event,
    ExclusionRequest,
    Satisfaction,
    Supervision,
)
from civicgrid.cases.policy import allowed_actions, capacities, ensure_allowed
from civicgrid.cases.presenters import clock_step_label, is_system_step, reporter_for
from civicgrid.cases.selectors import (
    case_assignments,
    case_is_overdue,
    case_timeline,
    case_visible,
    pending_exclusion,
)
from civicgrid.cases.selectors import pending_extension as waiting_extension
from civicgrid.cases.states import Capacity, Status, TransitionNotAllowed
from civicgrid.intake.forms_action_base import ActionForm
from civicgrid.intake.forms_actions import ACTION_FORMS, action_form
from civicgrid.intake.forms_console import QueueFilterForm
from civicgrid.intake.queues import (
    ALL,
    PAGE_SIZE,
    QUEUES,
    attachment_visible,
    case_attachments,
    inbox_assignments,
    inbox_count,
    is_dispatcher,
    queue_cases,
    queue_counts,
)

P = ParamSpec("P")
ConsoleView = Callable[Concatenate[HttpRequest, User, P], HttpResponseBase]
OPEN_ASSIGNMENT = (AssignmentStatus.PENDING, AssignmentStatus.ACKNOWLEDGED)


def forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    """A 403 in Chinese that says why, instead of the framework's bare English page."""
    return render(request, "intake/console/forbidden.html", {"message": message}, status=403)


def console_page(view: ConsoleView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Signed-in staff whose workspace is the console; phone-only roles and accounts without posts get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        assert isinstance(user, User)
        if workspace_for(user) != "console:queues":
            return forbidden(request, _("工作台仅供指挥中心和承办单位工作人员使用。"))
        return view(request, user, *args, **kwargs)

    return wrapped


def nav(user: User, current: str) -> dict[str, Any]:
    """What the console's top bar shows on every page: where we are, the inbox count, the hotline link."""
    return {"nav": current, "inbox_count": inbox_count(user=user), "dispatcher": is_dispatcher(user=user)}


@console_page
def queues(request: HttpRequest, user: User) -> HttpResponse:
    now = clock.now()
    counts = queue_counts(user=user, now=now)
    tabs = [(queue, counts[queue.key]) for queue in QUEUES if queue.key in counts]
    key = request.GET.get("tab", "")
    if key not in counts and key != ALL:
        key = tabs[0][0].key
    form = QueueFilterForm(request.GET)
    found = queue_cases(user=user, key=key, filters=form.filters(), now=now)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(case, case_is_overdue(case=case, now=now)) for case in page]
    context = {"tabs": tabs, "tab": key, "all_tab": ALL, "form": form, "page": page, "rows": rows}
    return render(request, "intake/console/queues.html", {**context, **nav(user, "queues")})


@console_page
def inbox(request: HttpRequest, user: User) -> HttpResponse:
    now = clock.now()
    page = Paginator(inbox_assignments(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "assignment": a,
            "response_late": a.status == AssignmentStatus.PENDING and now > a.respond_by,
            "overdue": now > a.resolve_by,
        }
        for a in page
    ]
    return render(request, "intake/console/inbox.html", {"page": page, "rows": rows, **nav(user, "inbox")})


def _case_or_404(user: User, number: str) -> Case:
    case = case_visible(user=user, number=number)
    if case is None:
        raise Http404(_("诉求 %(number)s 不存在或您无权查看") % {"number": number})
    return case


@console_page
def case_page(request: HttpRequest, user: User, number: str) -> HttpResponse:
    return render_case(request, user, _case_or_404(user, number))


@console_page
def case_action(request: HttpRequest, user: User, number: str, action: str) -> HttpResponse:
    """One action's no-JavaScript POST: authorise, validate, call the service, then back to the case."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    case = _case_or_404(user, number)
    form_class = action_form(action=action, case=case)
    if form_class is None:
        raise Http404(action)
    form = form_class(request.POST, request.FILES, case=case, user=user)
    try:
        ensure_allowed(case=case, actor=user, action=form.action)
        if form.is_valid():
            _as_seen(case, form)
            form.run()
            messages.success(request, _("%(action)s：已完成") % {"action": form.label})
            return redirect("console:case", number=case.number)
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
    except NotPermitted:
        return forbidden(request, _("您无权对该诉求执行此操作。"))
    except (TransitionNotAllowed, CaseChangedMeanwhile) as refused:
        messages.error(request, _refusal(refused))
        return redirect("console:case", number=case.number)
    # Nothing was written: show the case as it is now, with this form, its input and its error.
    return render_case(request, user, _case_or_404(user, number), failed=form, status=400)


def _refusal(refused: TransitionNotAllowed | CaseChangedMeanwhile) -> str:
    """The 409 of the API in words: the state no longer allows it, or someone acted first."""
    if isinstance(refused, CaseChangedMeanwhile):
        return _("您打开页面后诉求已被他人更新，本次操作未执行，请查看最新状态后重试。")
    return _("诉求当前的状态不允许此操作（可能已被他人处理），请查看最新状态。")


def _as_seen(case: Case, form: ActionForm) -> None:
    """Act on the version the user was looking at: if the case moved on since, the service's
    guarded update finds nothing to update and refuses with CaseChangedMeanwhile."""
    seen = form.cleaned_data.get("version")
    if seen is not None:
        case.version = seen


@console_page
def attachment_file(request: HttpRequest, user: User, pk: int) -> HttpResponseBase:
    """A case's file, only for those who may see the case (files are never served from /media/)."""
    attachment = attachment_visible(user=user, pk=pk)
    if attachment is None:
        raise Http404(str(pk))
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=attachment.kind == Attachment.Kind.DOCUMENT,
        filename=(attachment.file.name or "").rsplit("/", 1)[-1],
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


@dataclass
class TimelineRow:
    event: Event
    label: str
    to_status: str
    detail: str
    attachments: list[Attachment] = field(default_factory=list)
    system: bool = False  # taken by the clock, not by a person


def render_case(
    request: HttpRequest, user: User, case: Case, failed: ActionForm | None = None, status: int = 200
) -> HttpResponse:
    context = case_context(case=case, user=user, failed=failed)
    return render(request, "intake/console/case.html", {**context, **nav(user, "case")}, status=status)


def case_context(*, case: Case, user: User, failed: ActionForm | None = None) -> dict[str, Any]:
    """Everything the case page shows, each part through the same selectors and policy as the API."""
    now = clock.now()
    assignments = case_assignments(case=case)
    current = [a for a in assignments if a.active]
    caps = capacities(case=case, user=user, assignments=current)
    allowed = allowed_actions(case=case, user=user, assignments=current, caps=caps)
    by_event: dict[int | None, list[Attachment]] = {}
    for attachment in case_attachments(case=case):
        by_event.setdefault(attachment.event_id, []).append(attachment)
    events = list(case_timeline(case=case))
    # The reporter's own files head the page; the timeline shows those added later, by each step.
    reported = by_event.get(events[0].pk, []) if events else []
    timeline = [_row(event, by_event.get(event.pk, []) if event.seq > 1 else []) for event in events]
    return {
        "case": case,
        "overdue": case_is_overdue(case=case, now=now),
        "reporter": reporter_for(case=case, user=user, caps=caps),
        "tracking_code": case.tracking_code if Capacity.CREATOR in caps else None,
        "reported_files": reported,
        "assignments": [_assignment_row(a, now) for a in assignments],
        "pending_extension": waiting_extension(case=case),
        "pending_exclusion": pending_exclusion(case=case),
        "timeline": timeline,
        "allowed": allowed,
        "forms": _action_forms(case=case, user=user, allowed=allowed, failed=failed),
        "failed_action": failed.action.value if failed is not None else "",
        # Why the case waits for this user: a callback to make (回访), a dissatisfied rating to review.
        "awaiting_callback": case.status == Status.RESOLVED
        and case.callback_requested_at is not None
        and "evaluate" in allowed,
        "awaiting_review": case.status == Status.RESOLVED
        and case.review_requested_at is not None
        and bool({"reopen", "close"} & set(allowed)),
    }


def _action_forms(
    *, case: Case, user: User, allowed: list[str], failed: ActionForm | None
) -> list[ActionForm]:
    """A form for exactly the allowed actions; the one that failed keeps its input and its errors."""
    forms: list[ActionForm] = []
    for action in allowed:
        form_class = action_form(action=action, case=case)
        assert form_class is not None  # every user action has its form
        forms.append(
            failed
            if failed is not None and failed.action.value == action
            else form_class(case=case, user=user)
        )
    return forms


def _assignment_row(assignment: Assignment, now: datetime) -> dict[str, Any]:
    still_open = assignment.active and assignment.status in OPEN_ASSIGNMENT
    return {
        "assignment": assignment,
        "response_late": still_open
        and assignment.status == AssignmentStatus.PENDING
        and now > assignment.respond_by,
        "overdue": still_open and now > assignment.resolve_by,
    }


def _row(event: Event, attachments: list[Attachment]) -> TimelineRow:
    label = str(clock_step_label(event) or _action_label(event.action))
    to_status = str(Status(event.to_status).label) if event.to_status in Status.values else event.to_status
    return TimelineRow(event, label, to_status, _event_detail(event), attachments, is_system_step(event))


def _action_label(action: str) -> str:
    form = ACTION_FORMS.get(action)
    return str(form.label) if form is not None else _("登记") if action == "create" else action


def _event_detail(event: Event) -> str:
    """The one fact an event's data adds to its note (who got it, how many days, what rating)."""
    data = event.data or {}
    if event.action == "dispatch" and data.get("assist"):
        return _("协办：%(units)s") % {"units": "、".join(data["assist"])}
    if event.action == "summon":
        return _("召集：%(units)s") % {"units": "、".join(data.get("units", []))}
    if event.action in ("request_extension", "approve_extension", "deny_extension"):
        return _("%(days)s 个工作日") % {"days": data.get("days", "")}
    if event.action == "escalate":
        return f"{data.get('from', '')} → {data.get('to', '')}"
    if event.action == "supervise" and data.get("level") in Supervision.values:
        return str(Supervision(data["level"]).label)
    if event.action in ("warn", "response_overdue") and data.get("deadline"):
        return _("时限：%(deadline)s") % {"deadline": _local_time(str(data["deadline"]))}
    if event.action == "remind":
        return _("延期 %(days)s 个工作日的申请待审批") % {"days": data.get("days", "")}
    if event.action == "evaluate":
        return _evaluation_detail(data)
    if event.action in EXCLUSION_EVENTS and data.get("reason") in ExclusionRequest.Reason.values:
        return _("剔除理由：%(reason)s") % {"reason": ExclusionRequest.Reason(data["reason"]).label}
    if event.action == "accept" and data.get("item"):
        return _("事项：%(item)s") % {"item": data["item"]}
    return ""


EXCLUSION_EVENTS = ("request_exclusion", "exclude", "refuse_exclusion")


def _local_time(text: str) -> str:
    """An ISO time from an event's data as the page writes times ("2025-03-03 10:00"), else as given."""
    try:
        moment = parse_datetime(text)
    except ValueError:  # well-formed but impossible, e.g. month 13
        moment = None
    if moment is None:
        return text
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return f"{moment:%Y-%m-%d %H:%M}"


def _evaluation_detail(data: dict[str, Any]) -> str:
    satisfaction = data.get("satisfaction", "")
    channel = data.get("channel", "")
    return "，".join(
        [
            str(Satisfaction(satisfaction).label) if satisfaction in Satisfaction.values else satisfaction,
            _("已解决") if data.get("solved") else _("未解决"),
            str(EvaluationChannel(channel).label) if channel in EvaluationChannel.values else channel,
        ]
    )
