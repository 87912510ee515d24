"""The console's bulletins (通报): the list of those the caller may read, downloads, "generate now".

Who reads what is the rule of GET /api/v1/stats (analytics/scoping.py): the areas a caller's
oversight posts and area posts cover. Generating on demand is for oversight posts (command centre,
supervisor, leader) within their areas.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicgrid.accounts.models import User
from civicgrid.analytics import scoping
from civicgrid.analytics.bulletins import services
from civicgrid.analytics.models import Bulletin
from civicgrid.analytics.pages import forbidden
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.reach import Reach

PAGE_SIZE = 50
# The stored page has inline styles and nothing else: allow exactly that when it is opened.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"

P = ParamSpec("P")
Page = Callable[Concatenate[HttpRequest, User, Reach, P], HttpResponseBase]


def reader_page(view: Page[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Signed-in staff whose posts cover some area; anonymous visitors go to the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        assert isinstance(user, User)
        reach = scoping.reach(request)
        if not scoping.covered(reach):
            return forbidden(request, _("通报仅供区域工作人员和督办、领导、指挥中心岗位查看。"))
        return view(request, user, reach, *args, **kwargs)

    return wrapped


def oversight(reach: Reach) -> tuple[str, ...]:
    """The areas where the caller may generate bulletins on demand."""
    return reach.centre_paths + reach.supervisor_paths + reach.leader_paths


def readable(reach: Reach) -> QuerySet[Bulletin]:
    """Written bulletins of the areas the caller covers."""
    scope = Q()
    for path in scoping.covered(reach):
        scope |= Q(unit__path__startswith=path)
    return Bulletin.objects.filter(scope, generated_at__isnull=False)


@require_GET
@reader_page
def bulletin_list(request: HttpRequest, user: User, reach: Reach) -> HttpResponse:
    kind = request.GET.get("kind", "")
    found = readable(reach).select_related("unit", "generated_by")
    if kind in Bulletin.Kind.values:
        found = found.filter(kind=kind)
    found = found.order_by("-end", "kind", "unit__path", "format")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kind": kind,
        "kinds": Bulletin.Kind.choices,
        "formats": Bulletin.Format.choices,
        "can_generate": bool(oversight(reach)),
        "asked": {key: request.GET.get(key, "") for key in ("unit", "period", "format")},
    }
    return render(request, "analytics/bulletins.html", context)


def disposition(filename: str, fallback: str) -> str:
    """attachment with an ASCII name for old clients and the Chinese one (RFC 6266 / 5987)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@require_GET
@reader_page
def bulletin_download(request: HttpRequest, user: User, reach: Reach, pk: int) -> HttpResponseBase:
    row = get_object_or_404(Bulletin.objects.select_related("unit"), pk=pk, generated_at__isnull=False)
    if not reach.covers(scoping.covered(reach), row.unit.path):
        return forbidden(request, _("您无权查看 %(place)s 的通报") % {"place": row.unit.name})
    response = FileResponse(row.file.open("rb"), content_type=services.CONTENT_TYPES[row.format])
    fallback = f"bulletin-{row.kind}-{row.period}-{row.pk}.{row.format}"
    response["Content-Disposition"] = disposition(services.file_name(row), fallback)
    response["Content-Length"] = str(row.size)
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    if row.format == Bulletin.Format.HTML:
        response["Content-Security-Policy"] = HTML_POLICY
    return response


@require_POST
@reader_page
def bulletin_generate(request: HttpRequest, user: User, reach: Reach) -> HttpResponse:
    """生成: write one bulletin now (replacing an earlier file of it) and go back to the list."""
    asked = {key: request.POST.get(key, "").strip() for key in ("unit", "period", "format")}
    if not oversight(reach):
        return forbidden(request, _("只有督办、领导和指挥中心岗位可以生成通报。"))
    try:
        wanted = services.checked(code=asked["unit"], period=asked["period"], fmt=asked["format"])
    except InvalidInput as exc:
        messages.error(request, _("未能生成：%(reason)s") % {"reason": exc.message})
        return redirect(_back(asked))
    if not reach.covers(oversight(reach), wanted.unit.path):
        return forbidden(request, _("您无权生成 %(place)s 的通报") % {"place": wanted.unit.name})
    row = services.bulletin_generate(request=wanted, actor=user)
    messages.success(request, _("已生成 %(name)s") % {"name": services.file_name(row)})
    return redirect("analytics:bulletins")


def _back(asked: dict[str, str]) -> str:
    """The list with the form filled in again, so a typo is fixed, not retyped."""
    return f"{reverse('analytics:bulletins')}?{urlencode(asked)}#generate"
