"""The leader dashboard, the command centre's big screen (大屏) and the JSON both redraw from."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from ninja.errors import HttpError

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.accounts.views import workspace_for
from civicgrid.analytics import dashboard, scoping
from civicgrid.analytics.pages import forbidden
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.reach import reach_of
from civicgrid.org.models import Unit

P = ParamSpec("P")
Covered = tuple[str, ...]
DashboardView = Callable[Concatenate[HttpRequest, User, Covered, P], HttpResponseBase]


def covered_areas(user: User) -> Covered:
    """The areas whose figures the user may read (as for /api/v1/stats); empty for everybody else."""
    return scoping.covered(reach_of(user)) if user.is_authenticated else ()


def dashboard_page(view: DashboardView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Oversight posts and area staff, for the areas they cover; others sign in or get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        assert isinstance(user, User)
        covered = covered_areas(user)
        if not covered:
            return forbidden(request, _("数据看板仅供领导、指挥中心、督办人员和区域工作人员使用。"))
        return view(request, user, covered, *args, **kwargs)

    return wrapped


def _error(status: int, code: str, message: str) -> JsonResponse:
    """The JSON API's error shape, so the page's script reads one kind of error."""
    return JsonResponse(
        {"error": {"code": code, "message": message}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _board(request: HttpRequest, user: User, covered: Covered) -> tuple[dashboard.Period, Unit]:
    """The period and the area asked (InvalidInput, or HttpError 403 for an area not covered)."""
    params = {key: request.GET.get(key, "") for key in ("period", "first", "last")}
    period = dashboard.period_of(params, today=timezone.localdate(clock.now()))
    code = request.GET.get("place", "").strip()
    return period, scoping.place(code or None, covered)


def _links(user: User, period: dashboard.Period) -> dashboard.CaseLinks:
    """Links to the console's case list, for those whose workspace the console is."""
    console = workspace_for(user) == "console:queues"
    return dashboard.CaseLinks(reverse("console:queues") if console else None, period)


def _data(user: User, period: dashboard.Period, place: Unit) -> dict[str, Any]:
    return dashboard.dashboard_data(period=period, place=place, links=_links(user, period), now=clock.now())


@require_GET
def data(request: HttpRequest) -> HttpResponseBase:
    """GET /console/dashboard/data/: what the pages redraw from (same parameters as the pages)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return _error(401, "unauthenticated", _("登录已失效，请重新登录"))
    covered = covered_areas(user)
    if not covered:
        return _error(403, "forbidden", _("您的岗位无权查看统计"))
    try:
        period, place = _board(request, user, covered)
    except InvalidInput as bad:
        message = _("字段 %(field)s 无效：%(reason)s") % {"field": bad.field, "reason": bad.message}
        return _error(400, "invalid", message)
    except HttpError as refused:
        return _error(403, "forbidden", str(refused))
    response = JsonResponse(_data(user, period, place), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, no-store"
    return response


def area_choices(covered: Covered) -> list[Unit]:
    """The areas a user may pick: each covered area and the two levels below it, in tree order."""
    roots = list(Unit.objects.filter(path__in=covered))
    found: dict[str, Unit] = {}
    for root in roots:
        below = Unit.objects.filter(
            path__startswith=root.path, kind__in=Unit.AREA_KINDS, active=True, depth__lte=root.depth + 2
        )
        found.update({unit.path: unit for unit in below})
    return [found[path] for path in sorted(found)]


def tile_source(url: str) -> str:
    """The origin a tile URL template loads from, for the page's img-src ({s} subdomains → *)."""
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


def _render(request: HttpRequest, user: User, covered: Covered, template: str, screen: bool) -> HttpResponse:
    context: dict[str, Any] = {
        "periods": dashboard.PERIODS,
        "asked": {key: request.GET.get(key, "") for key in ("period", "first", "last", "place")},
        "areas": area_choices(covered),
        "query": request.GET.urlencode(),
        "nav": "dashboard",
    }
    status = 200
    try:
        period, place = _board(request, user, covered)
    except InvalidInput as bad:
        context["error"] = _("字段 %(field)s 无效：%(reason)s") % {"field": bad.field, "reason": bad.message}
        status = 400
    except HttpError as refused:
        return forbidden(request, str(refused))
    else:
        config = _config(user, period, place, screen)
        config["source"] = f"{reverse('analytics:dashboard-data')}?{request.GET.urlencode()}"
        context.update(period=period, place=place, config=config)
    response = render(request, template, context, status=status)
    if settings.MAP_TILE_URL:
        # Our pages load images from ourselves only; the map's tiles are the one exception, here.
        response._csp_update = {"img-src": [tile_source(settings.MAP_TILE_URL)]}  # type: ignore[attr-defined]
    return response


def _config(user: User, period: dashboard.Period, place: Unit, screen: bool) -> dict[str, Any]:
    """What the page's script needs: the first data (no second request to draw), where to refresh
    it from, the map's tiles, and its words (the script itself holds no text)."""
    return {
        "data": _data(user, period, place),
        "refresh": settings.DASHBOARD_SCREEN_REFRESH_SECONDS if screen else 0,
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "texts": texts(),
    }


def texts() -> dict[str, str]:
    return {
        "table": _("表格"),
        "chart": _("图表"),
        "accepted": _("受理"),
        "resolved": _("办结"),
        "overdue": _("超期"),
        "count": _("件数"),
        "share": _("占比"),
        "day": _("日期"),
        "domain": _("领域"),
        "unit": _("区域"),
        "previous": _("上期"),
        "change": _("较上期"),
        "points": _("个百分点"),
        "none": _("无"),
        "no_data": _("本期暂无数据"),
        "unplaced": _("另有 %(count)s 件所在区域无坐标，未画在图上"),
        "failed": _("数据更新失败，将重试"),
        "expired": _("登录已失效，请重新登录"),
        "updated": _("更新于"),
        "observed": _("近7日"),
        "expected": _("预期"),
        "supervised_open": _("督办中（未办结）"),
        "item": _("事项"),
        "alert": _("区域 · 事项"),
        "ratio": _("倍数"),
        "metric": _("指标"),
    }


@require_GET
@dashboard_page
def page(request: HttpRequest, user: User, covered: Covered) -> HttpResponse:
    """GET /console/dashboard/: the leader dashboard."""
    return _render(request, user, covered, "analytics/dashboard.html", screen=False)


@require_GET
@dashboard_page
def screen(request: HttpRequest, user: User, covered: Covered) -> HttpResponse:
    """GET /console/dashboard/screen/: the command centre's wall display, redrawn every N seconds."""
    return _render(request, user, covered, "analytics/dashboard_screen.html", screen=True)
