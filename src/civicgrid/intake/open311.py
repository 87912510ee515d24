"""Open311 GeoReport v2 views at /open311/v2/: discovery, services and service requests, JSON or XML.

How cases map onto GeoReport, which knows only two statuses and treats every request as public:
- `status` is "closed" when the case has ended (closed, rejected, merged, withdrawn) and "open"
  otherwise. A *resolved* case is "open": the resident's rating or a review can still reopen it,
  and a request must not go from closed back to open.
- `service_request_id` is the case number, `service_code` the catalogue item code, `address_id`
  a building code, `agency_responsible` the unit answering for the case now (owner, else lead unit).
- Output never holds the reporter's name, phone or email, and 举报 cases (kind "report") are left
  out altogether: publishing a whistle-blowing report could expose its author or warn its target.
- POST (needs an `api_key` from `civicgrid apikey create NAME`): the case is created by the key's
  integrator account on channel "api", kind "complaint" unless `attribute[kind]` names another kind.
  Place: `address_id` → that building and its grid; otherwise the grid of the nearest building within
  500 m of lat/long (with only `address_string`: the building with exactly that address), else the
  root district. `media_url` is kept as the last line of the description and never fetched;
  `email`, `device_id`, `account_id` and `jurisdiction_id` are accepted and ignored.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.core.validators import URLValidator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from civicgrid import clock
from civicgrid.accounts.models import User, hash_secret
from civicgrid.cases import services
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Assignment, AssignmentRole, Case, Channel, Event, Kind
from civicgrid.cases.states import ENDED, Status
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import items_active
from civicgrid.intake.models import ApiKey
from civicgrid.org.models import Building, Unit
from civicgrid.org.phones import normalise_phone
from civicgrid.org.selectors import nearest_building

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The catalogue keeps no change times; bump this when the shape of services or definitions changes.
CHANGESET = "2026-11-25T00:00:00+08:00"
WINDOW = timedelta(days=90)  # the spec's default and widest requested_datetime range
MAX_RESULTS = 1000  # the spec's default query limit
NEARBY_METRES = 500.0
MAX_DESCRIPTION = 4000  # the spec's limit
# Stored in the case, so fixed text rather than the caller's language.
MEDIA_LABEL = "附件链接："
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The XML element of each member of a list, after the spec's examples; JSON just uses arrays.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}
# Characters XML 1.0 cannot carry at all: dropped so any stored text still yields parseable XML.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A "+" of a UTC offset sent unescaped in a query string arrives as a space.
DECODED_PLUS = re.compile(r" (\d\d:?\d\d)$")

View = Callable[..., HttpResponse]


class Open311Error(Exception):
    """A request refused with `status`, answered as the spec's array of errors."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# Rendering ---------------------------------------------------------------------------------------


def _xml_fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for tag, child in value.items():
            _xml_fill(ET.SubElement(element, tag), child)
    elif isinstance(value, list):
        for child in value:
            _xml_fill(ET.SubElement(element, ITEM_TAGS[element.tag]), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("", str(value))


def render(fmt: str, root: str, body: Any, status: int = 200) -> HttpResponse:
    """`body` as JSON, or as XML under the element `root` (a list becomes repeated child elements)."""
    if fmt == "xml":
        element = ET.Element(root)
        _xml_fill(element, body)
        content = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    else:
        content = json.dumps(body, ensure_ascii=False).encode()
    return HttpResponse(content, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, description: str) -> HttpResponse:
    return render(fmt, "errors", [{"code": status, "description": description}], status=status)


def endpoint(*methods: str) -> Callable[[View], View]:
    """Allow only `methods`; answer every refusal as Open311 errors in the format the URL names."""

    def wrap(view: View) -> View:
        @wraps(view)
        def run(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = render_errors(fmt, 405, _("不支持 %(method)s 请求") % {"method": request.method})
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, fmt, **kwargs)
            except Open311Error as error:
                return render_errors(fmt, error.status, error.description)
            except InvalidInput as error:
                return render_errors(fmt, 400, f"{error.field}: {error.message}")

        # Nothing here reads a session, so CSRF cannot apply; POST authenticates by api_key.
        return csrf_exempt(run)

    return wrap


# Reading parameters ------------------------------------------------------------------------------


def _clean(name: str, value: str) -> str:
    if "\x00" in value:  # PostgreSQL refuses NUL in text; refuse it here, not with a 500
        raise Open311Error(400, _("参数 %(field)s 含有非法字符") % {"field": name})
    return value.strip()


def _text(data: QueryDict, name: str, limit: int) -> str:
    """One optional text parameter (empty when absent), refused when longer than `limit`."""
    value = _clean(name, data.get(name) or "")
    if len(value) > limit:
        raise Open311Error(
            400, _("参数 %(field)s 不能超过 %(limit)d 个字符") % {"field": name, "limit": limit}
        )
    return value


def _values(data: QueryDict, name: str) -> list[str]:
    """Every value of `name`, given repeatedly or comma-separated (the spec allows both)."""
    return [
        part.strip() for raw in data.getlist(name) for part in _clean(name, raw).split(",") if part.strip()
    ]


def _moment(data: QueryDict, name: str) -> datetime | None:
    raw = DECODED_PLUS.sub(r"+\1", _text(data, name, 40))
    if not raw:
        return None
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(
            400, _("参数 %(field)s 须为 ISO 8601 时间，如 2026-01-01T00:00:00+08:00") % {"field": name}
        )
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _w3(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment is not None else None


# Discovery and services --------------------------------------------------------------------------


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """Where the GeoReport v2 endpoint is, which formats it speaks and how to get a key."""
    body = {
        "changeset": CHANGESET,
        "contact": _("如需帮助，请联系平台管理员。"),
        "key_service": _("api_key 由平台管理员签发（civicgrid apikey create 名称）。"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": request.build_absolute_uri("./").rstrip("/"),
                "changeset": CHANGESET,
                "type": "test" if settings.DEBUG else "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", body)


def _notice(days: int) -> str:
    return _("一般在 %(days)d 个工作日内办结") % {"days": days}


def _service(item: Item) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "service_name": item.name,
        "description": _("%(group)s：%(name)s，%(notice)s")
        % {"group": item.domain.name, "name": item.name, "notice": _notice(item.resolve_days)},
        "metadata": False,  # no service needs attributes beyond the standard fields
        "type": "realtime",  # the case number is returned at once
        "keywords": item.keywords,
        "group": item.domain.name,
    }


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every active catalogue item as a service."""
    return render(fmt, "services", [_service(item) for item in items_active()])


def _active_item(code: str) -> Item:
    item = items_active().filter(code=code).first()
    if item is None:
        raise Open311Error(404, _("服务 %(code)s 不存在") % {"code": code})
    return item


@endpoint("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    """A service's extra attributes: none, so an empty list (as the spec shows for metadata false)."""
    item = _active_item(code)
    return render(fmt, "service_definition", {"service_code": item.code, "attributes": []})


# Reading service requests ------------------------------------------------------------------------

REQUEST_FIELDS = (
    *("number", "status", "description", "address", "lat", "lon", "created_at", "closed_at"),
    *("resolve_by", "item__code", "item__name", "item__resolve_days", "owner__name"),
    *("building__code", "building__address", "building__lat", "building__lon"),
)


def public_cases() -> QuerySet[Case]:
    """The cases Open311 publishes, with their latest public note, last change and lead unit."""
    events = Event.objects.filter(case=OuterRef("pk")).order_by("-seq")
    lead = Assignment.objects.filter(case=OuterRef("pk"), active=True, role=AssignmentRole.LEAD)
    return Case.objects.exclude(kind=Kind.REPORT).annotate(
        last_note=Subquery(events.filter(public=True).exclude(note="").values("note")[:1]),
        last_at=Subquery(events.values("at")[:1]),
        lead_unit=Subquery(lead.values("unit__name")[:1]),
    )


def _rows(cases: QuerySet[Case]) -> list[dict[str, Any]]:
    """The requests' fields in one query, newest first, at most MAX_RESULTS."""
    rows = cases.order_by("-created_at", "-id").values(*REQUEST_FIELDS, "last_note", "last_at", "lead_unit")
    return [_request_out(row) for row in rows[:MAX_RESULTS]]


def _request_out(row: dict[str, Any]) -> dict[str, Any]:
    ended = row["status"] in ENDED
    located = row["lat"] is not None
    days = row["item__resolve_days"]
    return {
        "service_request_id": row["number"],
        "status": "closed" if ended else "open",
        "status_notes": row["last_note"] or str(Status(row["status"]).label),
        "service_name": row["item__name"],
        "service_code": row["item__code"],
        "description": row["description"],
        "agency_responsible": row["owner__name"] or row["lead_unit"],
        "service_notice": _notice(days) if days else None,
        "requested_datetime": _w3(row["created_at"]),
        # The spec: for a closed request, the time it was closed.
        "updated_datetime": _w3((row["closed_at"] if ended else None) or row["last_at"] or row["created_at"]),
        "expected_datetime": _w3(row["resolve_by"]),
        "address": row["address"] or row["building__address"] or "",
        "address_id": row["building__code"],
        "zipcode": "",
        "lat": row["lat"] if located else row["building__lat"],
        "long": row["lon"] if located else row["building__lon"],
        "media_url": "",
    }


def _window(query: QueryDict) -> tuple[datetime, datetime]:
    """start_date..end_date; a missing bound makes a 90-day range (the last 90 days without either)."""
    start, end = _moment(query, "start_date"), _moment(query, "end_date")
    try:
        end = end or (start + WINDOW if start else clock.now())
        start = start or end - WINDOW
    except OverflowError:
        raise Open311Error(400, _("start_date 或 end_date 超出范围")) from None
    if end < start or end - start > WINDOW:
        raise Open311Error(400, _("end_date 须晚于 start_date，且相距不超过 90 天"))
    return start, end


def _by_status(cases: QuerySet[Case], query: QueryDict) -> QuerySet[Case]:
    wanted = {value.lower() for value in _values(query, "status")}
    if wanted - {"open", "closed"}:
        raise Open311Error(400, _("status 只能是 open 或 closed"))
    if wanted == {"open"}:
        return cases.exclude(status__in=ENDED)
    if wanted == {"closed"}:
        return cases.filter(status__in=ENDED)
    return cases


def _selected(query: QueryDict) -> QuerySet[Case]:
    cases = public_cases()
    numbers = _values(query, "service_request_id")
    if numbers:  # the spec: it overrides every other argument
        if len(numbers) > MAX_RESULTS:
            raise Open311Error(400, _("service_request_id 一次最多 %(n)d 个") % {"n": MAX_RESULTS})
        return cases.filter(number__in=numbers)
    start, end = _window(query)
    cases = _by_status(cases.filter(created_at__gte=start, created_at__lte=end), query)
    codes = _values(query, "service_code")
    return cases.filter(item__code__in=codes) if codes else cases


@endpoint("GET", "HEAD", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET: the public requests matching the filters; POST: submit a new request."""
    if request.method == "POST":
        return _create(request, fmt)
    return render(fmt, "service_requests", _rows(_selected(request.GET)))


@endpoint("GET", "HEAD")
def request_detail(request: HttpRequest, fmt: str, number: str) -> HttpResponse:
    """One request, as an array of one (the spec's shape)."""
    found = _rows(public_cases().filter(number=number))
    if not found:
        raise Open311Error(404, _("服务请求 %(number)s 不存在") % {"number": number})
    return render(fmt, "service_requests", found)


# Creating a service request ----------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a posted request is: the unit to file it under, and what the client said."""

    place: Unit | None
    building: Building | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None


def _form(request: HttpRequest) -> QueryDict:
    try:
        return request.POST
    except (MultiPartParserError, SuspiciousOperation):
        raise Open311Error(400, _("无法解析请求体，请使用 application/x-www-form-urlencoded")) from None


def _integrator(request: HttpRequest, data: QueryDict) -> User:
    raw = (data.get("api_key") or request.GET.get("api_key") or "").strip()
    if not raw:
        raise Open311Error(403, _("缺少 api_key"))
    key = (
        ApiKey.objects.filter(digest=hash_secret(raw), revoked=False, user__is_active=True)
        .select_related("user")
        .first()
    )
    if key is None:
        raise Open311Error(403, _("api_key 无效或已吊销"))
    return key.user


def _item(data: QueryDict) -> Item:
    code = _text(data, "service_code", 200)
    if not code:
        raise Open311Error(400, _("缺少 service_code"))
    return _active_item(code)


def _description(data: QueryDict) -> str:
    text = _text(data, "description", MAX_DESCRIPTION)
    if not text:
        raise Open311Error(400, _("缺少 description"))
    url = _text(data, "media_url", 500)
    if not url:
        return text
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise Open311Error(400, _("media_url 须为 http 或 https 网址")) from None
    return f"{text}\n\n{MEDIA_LABEL}{url}"


def _kind(data: QueryDict) -> str:
    # An unknown kind is refused, not defaulted: a mistyped "report" would otherwise be published.
    kind = _text(data, "attribute[kind]", 20) or Kind.COMPLAINT
    if kind not in Kind.values:
        raise Open311Error(400, _("attribute[kind] 须为 %(kinds)s 之一") % {"kinds": ", ".join(Kind.values)})
    return kind


def _reporter(data: QueryDict) -> services.Reporter:
    first, last = _text(data, "first_name", 50), _text(data, "last_name", 50)
    # Chinese names read family name first, without a space.
    name = f"{last}{first}" if last and not last.isascii() else f"{first} {last}".strip()
    phone = normalise_phone(_text(data, "phone", 40))
    if len(name) > 50 or len(phone) > 20:
        raise Open311Error(400, _("姓名或电话过长"))
    return services.Reporter(name=name, phone=phone)


def _coordinates(data: QueryDict) -> tuple[float, float] | None:
    raw_lat, raw_lon = _text(data, "lat", 40), _text(data, "long", 40)
    if not (raw_lat or raw_lon):
        return None
    try:
        lat, lon = float(raw_lat), float(raw_lon)
    except ValueError:
        lat = lon = math.nan
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
        raise Open311Error(400, _("lat 与 long 须同时提供，且为有效的 WGS84 经纬度"))
    return lat, lon


def _root_district() -> Unit:
    district = Unit.objects.filter(kind=Unit.Kind.DISTRICT, parent=None, active=True).order_by("path").first()
    if district is None:
        raise Open311Error(400, _("平台尚未设置区县，暂不能受理"))
    return district


def _building(code: str) -> Building:
    building = Building.objects.filter(code=code).select_related("grid").first()
    if building is None:
        raise Open311Error(400, _("address_id %(code)s 不是已登记的楼栋编码") % {"code": code})
    return building


def _building_at(address: str) -> Building | None:
    """The building whose recorded address is exactly `address` (no geocoding beyond that)."""
    return Building.objects.filter(address__iexact=address, grid__active=True).select_related("grid").first()


def _location(data: QueryDict) -> Location:
    address, code = _text(data, "address_string", 200), _text(data, "address_id", 100)
    point = _coordinates(data)
    lat, lon = point or (None, None)
    if code:
        return Location(place=None, building=_building(code), address=address, lat=lat, lon=lon)
    if point is None and not address:
        raise Open311Error(400, _("须提供位置：lat 与 long、address_string 或 address_id 之一"))
    near = (
        nearest_building(lat=point[0], lon=point[1], within=NEARBY_METRES)
        if point is not None
        else _building_at(address)
    )
    place = near.grid if near is not None else _root_district()
    return Location(place=place, address=address, lat=lat, lon=lon)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    """Validate everything first, then create the case in one transaction (never half-written)."""
    data = _form(request)
    actor = _integrator(request, data)
    item = _item(data)
    description, kind, reporter, where = _description(data), _kind(data), _reporter(data), _location(data)
    new = services.NewCase(
        kind=kind,
        description=description,
        item=item,
        channel=Channel.API,
        place=where.place,
        building=where.building,
        address=where.address,
        lat=where.lat,
        lon=where.lon,
        reporter=reporter,
    )
    case = services.case_create(actor=actor, new=new)
    created = {
        "service_request_id": case.number,
        "service_notice": _notice(item.resolve_days),
        "account_id": None,
    }
    return render(fmt, "service_requests", [created])
