"""The console's 考核 page: the ranking of a district's units, sortable without JavaScript, and its
download as CSV or xlsx."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from ninja.errors import HttpError
from openpyxl import Workbook

from civicgrid.accounts.models import User
from civicgrid.analytics import assessment as a
from civicgrid.analytics.api_assessment import district_for, period
from civicgrid.analytics.pages import forbidden
from civicgrid.cases.errors import InvalidInput
from civicgrid.org.models import Unit

# Columns the table sorts by: a rate (by its rank), the composite, the deduction, the unit.
SORTS = ("composite", "deduction", "unit", *a.RATES)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Cells a spreadsheet would run as a formula (CSV injection): such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AssessmentForm(forms.Form):
    """The page's query: a period of whole days, a district, a kind of unit and a sort column."""

    start = forms.DateField(label=gettext_lazy("起始日期"))
    end = forms.DateField(label=gettext_lazy("截止日期（不含）"))
    district = forms.CharField(label=gettext_lazy("区县"), max_length=32)
    kind = forms.ChoiceField(
        label=gettext_lazy("考核对象"),
        choices=[(k.value, k.label) for k in a.KINDS],
    )
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in SORTS], widget=forms.HiddenInput)


def _query(request: HttpRequest, district: Unit) -> AssessmentForm:
    """The form bound to the query string, defaults (last month, streets) for what it leaves out;
    GET names from/to as in the API."""
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - date.resolution).replace(day=1)
    data = {"start": last_month, "end": this_month, "district": district.code, "kind": "street"}
    for name, field in (("from", "start"), ("to", "end"), ("district", "district"), ("kind", "kind")):
        if request.GET.get(name):
            data[field] = request.GET[name]
    data["sort"] = request.GET.get("sort", "")
    return AssessmentForm(data)


P = ParamSpec("P")
Page = Callable[Concatenate[HttpRequest, User, AssessmentForm, Unit | None, P], HttpResponse]


def oversight_page(view: Page[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Signed-in oversight staff of the district asked (centre, supervisor, leader, admin); the form
    checked, with the district it names (None when the form has errors)."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        assert isinstance(user, User)
        overseen = a.overseen_districts(user=user)
        if not overseen:
            return forbidden(request, _("只有区县指挥中心、督办、领导和管理员可以查看考核"))
        form = _query(request, overseen[0])
        try:
            district = _checked(form, user)
        except HttpError as refused:
            return forbidden(request, str(refused))
        return view(request, user, form, district, *args, **kwargs)

    return wrapped


def _checked(form: AssessmentForm, user: User) -> Unit | None:
    if not form.is_valid():
        return None
    try:
        district = district_for(user, form.cleaned_data["district"])
        period(form.cleaned_data["start"], form.cleaned_data["end"])
    except InvalidInput as bad:
        form.add_error({"from": "start", "to": "end"}.get(bad.field, bad.field), bad.message)
        return None
    return district


def _assess(form: AssessmentForm, district: Unit) -> a.Assessment:
    d = form.cleaned_data
    return a.assess(start=d["start"], end=d["end"], district=district, kind=d["kind"])


def _sorted(standings: list[a.Standing], key: str) -> list[a.Standing]:
    """Best first by the chosen column; units unranked for it last, then in tree order."""
    if key == "unit":
        return sorted(standings, key=lambda s: s.unit.path)
    if key == "deduction":
        return sorted(standings, key=lambda s: (-s.deduction, s.unit.path))
    if key == "composite":
        return sorted(standings, key=lambda s: (s.composite_rank is None, s.composite_rank or 0, s.unit.path))
    return sorted(standings, key=lambda s: (s.ranks[key] is None, s.ranks[key] or 0, s.unit.path))


def _download_query(form: AssessmentForm, sort: str) -> str:
    """The query that downloads what the page shows, defaults included."""
    d = form.cleaned_data
    names = {"from": d["start"].isoformat(), "to": d["end"].isoformat(), "district": d["district"]}
    return "?" + urlencode({**names, "kind": d["kind"], "sort": sort})


def percent(rate: Decimal | None) -> str:
    """0.9616 → '96.16%'; '—' when there is nothing to divide by."""
    return "—" if rate is None else f"{rate * 100:.2f}%"


def _row(s: a.Standing) -> dict[str, Any]:
    rates = [(percent(s.rate(n).rate), s.ranks[n], s.rate(n)) for n in a.RATES]
    missing = "、".join(str(a.LABELS[n]) for n in s.missing)
    return {"standing": s, "rates": rates, "missing": missing}


@require_GET
@oversight_page
def assessment_page(
    request: HttpRequest, user: User, form: AssessmentForm, district: Unit | None
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "labels": [(n, a.LABELS[n]) for n in a.RATES],
        "nav": "assessment",
    }
    if district is not None:
        found = _assess(form, district)
        sort = form.cleaned_data["sort"] or "composite"
        weights = [(a.LABELS[n], w) for n, w in found.weights.items()]
        context.update(
            found=found,
            sort=sort,
            rows=[_row(s) for s in _sorted(found.standings, sort)],
            baseline=percent(found.baseline.rate),
            weights=weights,
            query=_download_query(form, sort),
        )
    status = 200 if district is not None else 400
    return render(request, "analytics/assessment.html", context, status=status)


@require_GET
@oversight_page
def assessment_download(
    request: HttpRequest, user: User, form: AssessmentForm, district: Unit | None, *, fmt: str
) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404
    if district is None:
        return render(request, "analytics/assessment.html", {"form": form, "nav": "assessment"}, status=400)
    found = _assess(form, district)
    rows = table(found, _sorted(found.standings, form.cleaned_data["sort"] or "composite"))
    name = re.sub(
        r"[^A-Za-z0-9_-]", "_", f"assessment-{district.code}-{found.kind}-{found.start}-{found.end}"
    )
    body, content_type = (
        (_csv(rows), "text/csv; charset=utf-8") if fmt == "csv" else (_xlsx(found, rows), XLSX)
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def table(found: a.Assessment, standings: list[a.Standing]) -> list[list[Any]]:
    """The ranking as rows of cells, a header first: numbers stay numbers for the spreadsheet."""
    head: list[Any] = [_("单位编码"), _("单位"), _("受理量")]
    for name in a.RATES:
        label = str(a.LABELS[name])
        head += [label, _("%(rate)s分子") % {"rate": label}, _("%(rate)s分母") % {"rate": label}]
        head.append(_("%(rate)s排名") % {"rate": label})
    head += [_("得分"), _("扣分"), _("综合得分"), _("综合排名"), _("数据不足")]
    rows = [head]
    for s in standings:
        row: list[Any] = [s.unit.code, s.unit.name, s.figures.accepted]
        for name in a.RATES:
            ratio = s.rate(name)
            row += [ratio.rate, ratio.numerator, ratio.denominator, s.ranks[name]]
        flag = "、".join(str(a.LABELS[n]) for n in s.missing)
        row += [s.score, s.deduction, s.composite, s.composite_rank, flag]
        rows.append(row)
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read it as UTF-8


def _xlsx(found: a.Assessment, rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("考核排名")
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else _cell(v) for v in row])
    basis = book.create_sheet(_("基准与权重"))
    basis.append([_("加权满意率基准"), None if found.baseline.rate is None else float(found.baseline.rate)])
    basis.append([_("基准分子"), float(found.baseline.numerator), _("评价数"), found.baseline.denominator])
    basis.append([_("每低一个百分点扣分"), float(found.deduction_per_point)])
    for name, weight in found.weights.items():
        basis.append([_("权重：%(rate)s") % {"rate": a.LABELS[name]}, float(weight)])
    excluded = book.create_sheet(_("考核剔除"))
    excluded.append([_("诉求编号"), _("申请单位"), _("剔除理由"), _("情况说明"), _("批准时间"), _("批准人")])
    for x in found.exclusions:
        when = timezone.localtime(x.decided_at).replace(tzinfo=None) if x.decided_at else None
        by = x.decided_by.display_name or x.decided_by.username if x.decided_by else ""
        excluded.append(
            [x.case.number, _cell(x.unit.name), x.get_reason_display(), _cell(x.note), when, _cell(by)]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
