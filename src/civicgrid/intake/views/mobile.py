"""The grid worker's phone pages: what needs me now, 随手拍, drafts, acting on a case, its files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_stubs_ext import StrOrPromise

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import Case
from civicgrid.cases.policy import allowed_actions, capacities
from civicgrid.cases.presenters import reporter_for
from civicgrid.cases.selectors import active_assignments, case_is_overdue, case_visible
from civicgrid.cases.states import Status, TransitionNotAllowed
from civicgrid.intake.forms_mobile import ACTION_FORMS, SnapForm, new_draft_id
from civicgrid.intake.selectors_mobile import (
    ACTION_LABELS,
    MOBILE_ACTIONS,
    attachment_visible,
    buildings_in,
    case_of_draft,
    case_steps,
    catalogue_items,
    grids_worked,
    is_phone_user,
    my_grids,
    my_recent_reports,
    needs_me_now,
)

View = Callable[..., HttpResponseBase]
SNAP_TEMPLATE = "intake/mobile/snap.html"
CASE_TEMPLATE = "intake/mobile/case.html"
CHANGED = gettext_lazy("状态已变化，请刷新")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def wants_json(request: HttpRequest) -> bool:
    """drafts.js asks for JSON so it can tell a stored case from a validation error."""
    return request.headers.get("X-Requested-With") == "fetch" or "application/json" in request.headers.get(
        "Accept", ""
    )


def _errors(status: int, message: StrOrPromise) -> JsonResponse:
    return JsonResponse({"errors": {"__all__": [str(message)]}}, status=status)


def _forbidden(
    request: HttpRequest, reason: StrOrPromise | None = None, back: str | None = None
) -> HttpResponse:
    reason = reason or _("此页面供网格员、网格长、中心户和信息员使用。")
    if wants_json(request):
        return _errors(403, reason)
    return render(request, "intake/mobile/forbidden.html", {"reason": reason, "back": back}, status=403)


def phone_page(view: View) -> View:
    """Signed-in holders of a phone post only; others get 403, and an expired fetch gets 401 JSON."""

    @wraps(view)
    def phone_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_phone_user(user=_user(request)):
            return _forbidden(request)
        return view(request, *args, **kwargs)

    signed_in = login_required(phone_only)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # A redirect to the login page would look like success to a script retrying a draft.
        if wants_json(request) and not request.user.is_authenticated:
            return _errors(401, _("登录已过期，请重新登录"))
        return signed_in(request, *args, **kwargs)

    return guarded


@require_GET
@phone_page
def home(request: HttpRequest) -> HttpResponse:
    """What needs me now (overdue first), my recent reports, quick buttons."""
    user = _user(request)
    context = {"agenda": needs_me_now(user=user, now=clock.now()), "reports": my_recent_reports(user=user)}
    return render(request, "intake/mobile/home.html", context)


def _snap_form(user: User, *args: Any, **kwargs: Any) -> SnapForm:
    grids = my_grids(user=user)
    return SnapForm(
        *args,
        grids=grids,
        buildings=buildings_in(grids=grids),
        items=catalogue_items(),
        worked_grid_ids=grids_worked(user=user),
        **kwargs,
    )


@require_http_methods(["GET", "POST"])
@phone_page
def snap(request: HttpRequest) -> HttpResponse:
    """随手拍: report what I found, optionally handling it on the spot in the same post."""
    user = _user(request)
    if request.method != "POST":
        form = _snap_form(user, initial={"draft_id": new_draft_id()})
        return render(request, SNAP_TEMPLATE, {"form": form})
    form = _snap_form(user, request.POST, request.FILES)
    if not form.is_valid():
        return _snap_refused(request, form)
    try:
        outcome = _submit(user, form)
    except services.IdempotencyMismatch:
        return _snap_mismatch(request, user, form)
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _snap_refused(request, form)
    return _snap_done(request, outcome, on_the_spot=form.cleaned_data["on_the_spot"])


def _snap_refused(request: HttpRequest, form: SnapForm, **extra: Any) -> HttpResponse:
    """Nothing was stored: show why, with everything typed kept (files must be picked again)."""
    if wants_json(request):
        errors = {field: [str(m) for m in found] for field, found in form.errors.items()}
        return JsonResponse({"errors": errors, **extra}, status=400)
    return render(request, SNAP_TEMPLATE, {"form": form, **extra}, status=400)


def _snap_mismatch(request: HttpRequest, user: User, form: SnapForm) -> HttpResponse:
    form.add_error(
        None,
        _("这份草稿已经上报过，但这次提交的内容与上次不同，未重复登记。如要另报一件，请重新打开随手拍。"),
    )
    earlier = case_of_draft(user=user, key=form.cleaned_data["draft_id"])
    url = reverse("mobile:case", args=[earlier.number]) if earlier is not None else None
    return _snap_refused(request, form, url=url)


@dataclass(frozen=True)
class SnapOutcome:
    case: Case
    created: bool
    problem: str | None  # why on-the-spot handling did not finish; the case exists regardless


def _submit(user: User, form: SnapForm) -> SnapOutcome:
    """Create once per draft; then accept and resolve, each its own transaction, skipping steps done."""
    case, created = services.case_create_idempotent(
        actor=user, new=form.new_case(), key=form.cleaned_data["draft_id"], fingerprint=form.fingerprint()
    )
    problem = _handle_on_the_spot(case, user, form.cleaned_data) if form.cleaned_data["on_the_spot"] else None
    return SnapOutcome(case=case, created=created, problem=problem)


def _handle_on_the_spot(case: Case, user: User, data: dict[str, Any]) -> str | None:
    # A retried draft finds the case where the last attempt left it: never accept or resolve twice.
    try:
        if case.status == Status.SUBMITTED:
            services.case_accept(case=case, actor=user)
        if case.status == Status.ACCEPTED:
            services.case_resolve(
                case=case, actor=user, result=data["result"], attachments=data["after_photos"]
            )
    except NotPermitted:
        return _("您无权就地办结此诉求")
    except (TransitionNotAllowed, CaseChangedMeanwhile):
        return str(CHANGED)
    except InvalidInput as refused:
        return refused.message
    if case.status not in (Status.RESOLVED, Status.CLOSED):
        return _("诉求当前状态为“%(status)s”") % {"status": case.get_status_display()}
    return None


def _snap_done(request: HttpRequest, outcome: SnapOutcome, *, on_the_spot: bool) -> HttpResponse:
    case = outcome.case
    url = reverse("mobile:case", args=[case.number])
    facts = {"number": case.number, "reason": outcome.problem}
    if outcome.problem:
        text = _("诉求已登记（编号 %(number)s），但未能就地办结：%(reason)s。请在本页继续办理。") % facts
        messages.warning(request, text)
    elif on_the_spot:
        messages.success(request, _("已就地办结，编号 %(number)s") % facts)
    elif outcome.created:
        messages.success(request, _("已上报，编号 %(number)s") % facts)
    else:
        messages.info(request, _("这份草稿此前已上报，编号 %(number)s") % facts)
    if wants_json(request):
        body = {"number": case.number, "url": url, "status": case.status, "warning": outcome.problem}
        return JsonResponse(body, status=201 if outcome.created else 200)
    return redirect(url)


@require_GET
@phone_page
def drafts(request: HttpRequest) -> HttpResponse:
    """待上传草稿: drafts.js fills the list from the phone's own storage."""
    return render(request, "intake/mobile/drafts.html")


def _visible(request: HttpRequest, number: str) -> Case:
    case = case_visible(user=_user(request), number=number)
    if case is None:
        raise Http404(_("诉求不存在或您无权查看"))
    return case


@require_GET
@phone_page
def case_page(request: HttpRequest, number: str) -> HttpResponse:
    """One case: what, where, photos, the timeline, and forms for what I may do now."""
    return _case_page(request, _visible(request, number))


def _case_page(
    request: HttpRequest, case: Case, bound: tuple[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    current = active_assignments(case=case)
    caps = capacities(case=case, user=user, assignments=current)
    allowed = allowed_actions(case=case, user=user, assignments=current, caps=caps)
    offered = [a for a in MOBILE_ACTIONS if a in allowed or (bound is not None and bound[0] == a)]
    actions = [
        (
            name,
            ACTION_LABELS[name],
            bound[1] if bound is not None and bound[0] == name else _action_form(name),
        )
        for name in offered
    ]
    context = {
        "case": case,
        "overdue": case_is_overdue(case=case),
        "reporter": reporter_for(case=case, user=user, caps=caps),
        "steps": case_steps(case=case),
        "actions": actions,
        "open_action": bound[0] if bound else None,
    }
    return render(request, CASE_TEMPLATE, context, status=status)


def _action_form(action: str, data: Any = None, files: Any = None) -> forms.Form:
    # Several action forms share a page: their own id prefix keeps labels pointing at their fields.
    return ACTION_FORMS[action](data, files, auto_id=f"id_{action}_%s")


Perform = Callable[[Case, User, dict[str, Any]], object]
PERFORM: dict[str, Perform] = {
    "acknowledge": lambda c, u, d: services.case_acknowledge(case=c, actor=u),
    "note": lambda c, u, d: services.case_note(case=c, actor=u, text=d["text"], attachments=d["photos"]),
    "resolve": lambda c, u, d: services.case_resolve(
        case=c, actor=u, result=d["result"], attachments=d["photos"]
    ),
    "return": lambda c, u, d: services.case_return(case=c, actor=u, reason=d["reason"]),
    "escalate": lambda c, u, d: services.case_escalate(case=c, actor=u, note=d["note"]),
}
DONE: dict[str, StrOrPromise] = {
    "acknowledge": gettext_lazy("已签收"),
    "note": gettext_lazy("已记录"),
    "resolve": gettext_lazy("已办结"),
    "return": gettext_lazy("已退单"),
    "escalate": gettext_lazy("已提级"),
}


@require_POST
@phone_page
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """One action on a case through its service; a refusal is explained on the case page."""
    if action not in PERFORM:
        raise Http404(_("没有这个操作"))
    case = _visible(request, number)
    form = _action_form(action, request.POST, request.FILES)
    if not form.is_valid():
        return _case_page(request, case, bound=(action, form), status=400)
    try:
        PERFORM[action](case, _user(request), form.cleaned_data)
    except NotPermitted:
        refusal = _("您不能对此诉求执行“%(action)s”。") % {"action": ACTION_LABELS[action]}
        return _forbidden(request, refusal, back=reverse("mobile:case", args=[case.number]))
    except (TransitionNotAllowed, CaseChangedMeanwhile):
        messages.error(request, CHANGED)
        return redirect("mobile:case", number=case.number)
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _case_page(request, _visible(request, number), bound=(action, form), status=400)
    messages.success(request, DONE[action])
    return redirect("mobile:case", number=case.number)


@require_GET
@phone_page
def attachment_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A case's photo or recording, only for someone who may see the case."""
    attachment = attachment_visible(user=_user(request), pk=pk)
    if attachment is None:
        raise Http404(_("文件不存在或您无权查看"))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("文件不存在或您无权查看")) from None
    response = FileResponse(handle, content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response
