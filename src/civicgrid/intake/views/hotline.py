"""Hotline entry (一号通办): the caller first, their history, then the case, optionally dispatched at once."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import Case
from civicgrid.cases.selectors import case_is_overdue, case_visible
from civicgrid.cases.states import TransitionNotAllowed
from civicgrid.catalogue.selectors import items_active
from civicgrid.intake.forms_hotline import HotlineForm
from civicgrid.intake.queues import buildings_matching, caller_history, centre_units, is_dispatcher
from civicgrid.intake.views.console import console_page, forbidden, nav
from civicgrid.org.models import Unit
from civicgrid.org.phones import normalise_phone


def _only_dispatchers(request: HttpRequest) -> HttpResponse:
    return forbidden(request, _("仅指挥中心受理派单员可以使用热线受理。"))


@console_page
def hotline(request: HttpRequest, user: User) -> HttpResponse:
    """GET: an empty form (or one phone's history); POST: look up the caller, or register the case."""
    if not is_dispatcher(user=user):
        return _only_dispatchers(request)
    units = centre_units(user=user)
    if request.method != "POST":
        form = HotlineForm(initial={"phone": request.GET.get("phone", "")}, user=user, units=units)
        return _page(request, user, form, status=200)
    if "lookup" in request.POST:
        # The no-JavaScript history lookup: the same page with what was typed, not yet validated.
        form = HotlineForm(initial=request.POST.dict(), user=user, units=units)
        return _page(request, user, form, status=200)
    return _register(request, user, HotlineForm(request.POST, user=user, units=units))


def _register(request: HttpRequest, user: User, form: HotlineForm) -> HttpResponse:
    """登记 (and, when asked, 受理 and 派单), then a fresh form for the next call."""
    if not form.is_valid():
        return _page(request, user, form, status=400)
    try:
        case = services.case_create(actor=user, new=form.new_case())
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _page(request, user, form, status=400)
    if request.POST.get("then") == "dispatch":
        _accept_and_dispatch(request, user, case, form.chosen_lead())
    else:
        messages.success(request, _("诉求 %(number)s 已登记，等待受理派单。") % {"number": case.number})
    return redirect(f"{reverse('console:hotline')}?created={case.number}")


def _accept_and_dispatch(request: HttpRequest, user: User, case: Case, lead: Unit | None) -> None:
    """受理 then 派单, each its own service call: if the second fails, the case stays registered."""
    problem = _try_accept_and_dispatch(user, case, lead)
    if problem is None:
        messages.success(
            request,
            _("诉求 %(number)s 已受理并派单至%(unit)s。")
            % {"number": case.number, "unit": case.owner.name if case.owner else ""},
        )
    else:
        messages.error(
            request,
            _("诉求 %(number)s 已登记，但未能完成受理派单：%(problem)s 请打开该诉求继续办理。")
            % {"number": case.number, "problem": problem},
        )


def _try_accept_and_dispatch(user: User, case: Case, lead: Unit | None) -> str | None:
    """None when both steps went through, otherwise why not (in words for the operator)."""
    try:
        services.case_accept(case=case, actor=user)
        lead = lead or (case.item.default_handler_unit(place=case.place) if case.item else None)
        if lead is None:
            return _("未选择主办单位，所选事项也没有默认承办单位。")
        services.case_dispatch(case=case, actor=user, lead=lead)
    except InvalidInput as refused:
        return refused.message
    except NotPermitted:
        return _("您无权受理或派发该诉求。")
    except (TransitionNotAllowed, CaseChangedMeanwhile):
        return _("诉求已被他人处理。")
    return None


def _page(request: HttpRequest, user: User, form: HotlineForm, *, status: int) -> HttpResponse:
    phone = str(form["phone"].value() or "")
    created = request.GET.get("created", "")
    context: dict[str, Any] = {
        "form": form,
        "items": items_active(),
        "history": _history_rows(user, phone),
        "phone": normalise_phone(phone),
        "created": case_visible(user=user, number=created) if created else None,
    }
    return render(request, "intake/console/hotline.html", {**context, **nav(user, "hotline")}, status=status)


@console_page
def history(request: HttpRequest, user: User) -> HttpResponse:
    """The caller's earlier cases as an HTML fragment that console.js puts beside the form."""
    if not is_dispatcher(user=user):
        return _only_dispatchers(request)
    phone = request.GET.get("phone", "")
    context = {"history": _history_rows(user, phone), "phone": normalise_phone(phone)}
    return render(request, "intake/console/_history.html", context)


def _history_rows(user: User, phone: str) -> list[tuple[Case, bool]]:
    now = clock.now()
    return [(case, case_is_overdue(case=case, now=now)) for case in caller_history(user=user, phone=phone)]


@console_page
def buildings(request: HttpRequest, user: User) -> HttpResponse:
    """Type-ahead entries for the building field: code and name to type, address and grid to read."""
    if not is_dispatcher(user=user):
        return _only_dispatchers(request)
    found = buildings_matching(user=user, text=request.GET.get("q", ""))
    entries = [{"value": f"{b.code} {b.name}", "label": f"{b.address} · {b.grid.name}"} for b in found]
    return JsonResponse({"buildings": entries})
