"""Setup pages for administrators: spreadsheet import and export, QR sign sheets and building codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicgrid import clock
from civicgrid.accounts.models import Role, User
from civicgrid.accounts.selectors import posts_of
from civicgrid.ops import exports, qrsigns
from civicgrid.ops.forms_setup import BuildingCodeForm, ImportUploadForm, QrSheetForm
from civicgrid.ops.importruns import INLINE_MAX_ROWS, run_confirm, run_create
from civicgrid.ops.imports import count_label
from civicgrid.ops.models import ImportRun
from civicgrid.ops.sheets import KIND_ORDER, LAYOUTS, sheet_title
from civicgrid.org.models import Building, Unit

View = Callable[..., HttpResponse]
RECENT_RUNS = 10
PROBLEMS_SHOWN = 500  # the page lists this many; the csv download has them all


def is_setup_admin(user: Any) -> bool:
    """Superusers, and people holding an active admin post (管理员)."""
    if not isinstance(user, User) or not user.is_active:
        return False
    return user.is_superuser or posts_of(user=user).filter(role=Role.ADMIN).exists()


def setup_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in people without the right get 403."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_setup_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(guarded)


def _index(request: HttpRequest, **forms: object) -> HttpResponse:
    """The setup page; a form passed in (with its errors) replaces the blank one."""
    areas = Unit.objects.filter(kind__in=[Unit.Kind.COMMUNITY, Unit.Kind.GRID], active=True)
    context = {
        "upload": ImportUploadForm(),
        "qr": QrSheetForm(),
        "building": BuildingCodeForm(),
        **forms,
        "layouts": [LAYOUTS[kind] for kind in KIND_ORDER],
        "runs": ImportRun.objects.select_related("created_by")[:RECENT_RUNS],
        "areas": areas.order_by("path").values_list("code", "name")[:3000],
        "exports": [(kind, sheet_title(kind)) for kind in KIND_ORDER],
        "inline_max": INLINE_MAX_ROWS,
    }
    return render(request, "ops/setup/index.html", context)


@require_GET
@setup_required
def index(request: HttpRequest) -> HttpResponse:
    return _index(request)


@require_POST
@setup_required
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _index(request, upload=form)
    user = request.user
    assert isinstance(user, User)
    data = form.cleaned_data
    run = run_create(
        user=user, filename=data["filename"], data=data["data"], kind=data["kind"], sheets=data["sheets"]
    )
    return redirect("setup:import-status", pk=run.pk)


@require_GET
@setup_required
def import_status(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = get_object_or_404(ImportRun, pk=pk)
    context = {
        "run": run,
        "problems": run.problems[:PROBLEMS_SHOWN],
        "more_problems": max(len(run.problems) - PROBLEMS_SHOWN, 0),
        "report": [(key, count_label(key), counts) for key, counts in run.report.items()],
        "new_accounts": run.report.get("accounts", {}).get("created", 0),
    }
    return render(request, "ops/setup/import_status.html", context)


@require_POST
@setup_required
def import_confirm(request: HttpRequest, pk: UUID) -> HttpResponse:
    run = get_object_or_404(ImportRun, pk=pk)
    if not run_confirm(run=run):
        messages.error(request, _("这次导入不能确认：校验没有通过，或已经确认过了"))
    return redirect("setup:import-status", pk=run.pk)


@require_GET
@setup_required
def import_problems(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Every problem of a run as csv (the page shows only the first ones)."""
    run = get_object_or_404(ImportRun, pk=pk)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_("工作表"), _("行号"), _("问题")])
    writer.writerows([p["sheet"], p["row"], p["message"]] for p in run.problems)
    return _download(out.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", f"problems-{pk}.csv")


@require_GET
@setup_required
def export_file(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    try:
        content = exports.export(kind, fmt)
    except ValueError as exc:
        raise Http404 from exc
    name = f"civicgrid-{kind}-{timezone.localtime(clock.now()):%Y%m%d}.{fmt}"
    return _download(content, exports.content_type(fmt), name)


def _download(content: bytes, content_type: str, filename: str, *, attachment: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(attachment, filename) or "attachment"
    return response


@require_GET
@setup_required
def qr_pick(request: HttpRequest) -> HttpResponse:
    """The no-JavaScript form on the setup page: a unit code → that unit's sign sheet."""
    form = QrSheetForm(request.GET)
    if not form.is_valid():
        return _index(request, qr=form)
    return redirect("setup:qr-sheet", code=form.cleaned_data["unit"].code)


@require_GET
@setup_required
def qr_sheet(request: HttpRequest, code: str) -> HttpResponse:
    unit = get_object_or_404(Unit, code=code, kind__in=Unit.AREA_KINDS)
    signs = qrsigns.signs_for(unit, request.build_absolute_uri)
    if not signs or len(signs) > qrsigns.MAX_SIGNS:
        messages.error(request, _sheet_refusal(unit, len(signs)))
        return redirect("setup:index")
    pdf = qrsigns.sign_sheet_pdf(signs, title=_("%(name)s 楼栋二维码") % {"name": unit.name})
    return _download(pdf, "application/pdf", f"qr-{unit.code}.pdf", attachment=False)


def _sheet_refusal(unit: Unit, count: int) -> str:
    if not count:
        return _("“%(name)s”下没有楼栋，无法生成二维码牌") % {"name": unit.name}
    return _("“%(name)s”下有 %(count)d 栋楼，超过一次 %(max)d 栋的上限，请按社区或网格分别打印") % {
        "name": unit.name,
        "count": count,
        "max": qrsigns.MAX_SIGNS,
    }


@require_GET
@setup_required
def qr_building_pick(request: HttpRequest) -> HttpResponse:
    form = BuildingCodeForm(request.GET)
    if not form.is_valid():
        return _index(request, building=form)
    return redirect("setup:qr-building", code=form.cleaned_data["building"].code)


@require_GET
@setup_required
def qr_building(request: HttpRequest, code: str) -> HttpResponse:
    building = get_object_or_404(Building, code=code)
    url = request.build_absolute_uri(qrsigns.building_public_path(building.token))
    png = qrsigns.qr_png(url)
    return _download(png, "image/png", f"{building.code}-{building.name}.png", attachment=False)
