"""/api/v1/cases: intake, the scoped list, the detail, and one endpoint per action."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from civicgrid.accounts.models import User
from civicgrid.cases import schemas as s
from civicgrid.cases import services
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import Case
from civicgrid.cases.presenters import case_detail, case_summary, new_case_detail
from civicgrid.cases.reach import reach_of
from civicgrid.cases.selectors import CaseFilters, case_visible, cases_filtered, exclusion_of
from civicgrid.cases.services.exclusions import case_exclude, case_refuse_exclusion, case_request_exclusion
from civicgrid.cases.services.intake import case_create_event, case_create_idempotent_event
from civicgrid.catalogue.models import Item
from civicgrid.catalogue.selectors import item_by_code
from civicgrid.org.models import Building, Unit
from civicgrid.org.selectors import building_by_code, unit_by_code

router = Router(tags=["cases"])


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    # Resolved now, before any transaction, so it is served from (or stored in) the reference cache.
    reach_of(user)
    return user


def _unit(code: str, field: str) -> Unit:
    unit = unit_by_code(code=code)
    if unit is None:
        raise InvalidInput(field, _("未知单位编码 %(code)s") % {"code": code})
    return unit


def _item(code: str | None, field: str = "item") -> Item | None:
    if code is None:
        return None
    item = item_by_code(code=code)
    if item is None:
        raise InvalidInput(field, _("未知事项编码 %(code)s") % {"code": code})
    return item


def _building(code: str | None) -> Building | None:
    if code is None:
        return None
    building = building_by_code(code=code)
    if building is None:
        raise InvalidInput("building", _("未知楼栋编码 %(code)s") % {"code": code})
    return building


def new_case_from(payload: s.CaseIn) -> services.NewCase:
    """Turn the request body into the intake service's input, resolving codes to objects."""
    return services.NewCase(
        kind=payload.kind,
        description=payload.description,
        title=payload.title,
        item=_item(payload.item),
        place=_unit(payload.grid, "grid") if payload.grid else None,
        building=_building(payload.building),
        address=payload.address,
        lat=payload.lat,
        lon=payload.lon,
        channel=payload.channel,
        proactive=payload.proactive,
        reporter=services.Reporter(**payload.reporter.model_dump()),
    )


@router.post("", response={201: s.CaseOut}, summary="Submit a case")
def create_case(request: HttpRequest, payload: s.CaseIn) -> Status[s.CaseOut]:
    """Creates a case in status `submitted`. Send `Idempotency-Key` to make retries safe: the same
    key and body return the same case; the same key with another body is 422."""
    user = _user(request)
    new = new_case_from(payload)
    key = request.headers.get("Idempotency-Key", "").strip()
    if key:
        if len(key) > 128:
            raise InvalidInput("Idempotency-Key", _("长度不能超过 %(max)s") % {"max": 128})
        fingerprint = services.request_fingerprint(payload.model_dump())
        case, event = case_create_idempotent_event(actor=user, new=new, key=key, fingerprint=fingerprint)
        if event is None:  # a retry: the case of the first request, as it stands now
            return Status(201, case_detail(case=case, user=user, show_tracking_code=True))
    else:
        event = case_create_event(actor=user, new=new)
    return Status(201, new_case_detail(event=event, user=user))


class ListParams(Schema):
    status: str | None = None
    owner: str | None = None
    place: str | None = None
    item: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    cursor: str | None = None
    limit: int | None = None


def _encode_cursor(case: Case) -> str:
    return base64.urlsafe_b64encode(f"{case.created_at.isoformat()}|{case.pk}".encode()).decode()


def _decode_cursor(raw: str) -> Q:
    try:
        at_text, pk_text = base64.urlsafe_b64decode(raw.encode()).decode().split("|")
        at, pk = parse_datetime(at_text), int(pk_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", _("翻页游标无效")) from None
    if at is None:
        raise InvalidInput("cursor", _("翻页游标无效"))
    return Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk)


@router.get("", response=s.CaseList, summary="List the cases you may see")
def list_cases(request: HttpRequest, params: Query[ListParams]) -> s.CaseList:
    """Newest first; `status` accepts a comma-separated list; `place` a unit code (its subtree);
    follow `next_cursor` for the next page."""
    filters = CaseFilters(
        status=params.status.split(",") if params.status else None,
        owner=_unit(params.owner, "owner") if params.owner else None,
        place=_unit(params.place, "place") if params.place else None,
        item_code=params.item,
        overdue=params.overdue,
        created_from=params.created_from,
        created_to=params.created_to,
    )
    limit = min(max(params.limit or settings.API_PAGE_SIZE, 1), settings.API_MAX_PAGE_SIZE)
    qs = cases_filtered(user=_user(request), filters=filters).select_related("item", "place", "owner")
    if params.cursor:
        qs = qs.filter(_decode_cursor(params.cursor))
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return s.CaseList(
        items=[case_summary(c) for c in page], next_cursor=_encode_cursor(page[-1]) if more else None
    )


def _visible(request: HttpRequest, number: str) -> Case:
    case = case_visible(user=_user(request), number=number)
    if case is None:
        raise HttpError(404, _("诉求 %(number)s 不存在或您无权查看") % {"number": number})
    return case


@router.get("/{number}", response=s.CaseOut, summary="One case with its timeline")
def get_case(request: HttpRequest, number: str) -> s.CaseOut:
    return case_detail(case=_visible(request, number), user=_user(request))


Act = Callable[[Case, User], Case]


def _act(request: HttpRequest, number: str, act: Act) -> s.CaseOut:
    user = _user(request)
    case = act(_visible(request, number), user)
    return case_detail(case=case, user=user)


def _merge_target(request: HttpRequest, number: str) -> Case:
    target = case_visible(user=_user(request), number=number)
    if target is None:
        raise InvalidInput("into", _("诉求 %(number)s 不存在或您无权查看") % {"number": number})
    return target


A = "/{number}/actions/"
R = {200: s.CaseOut}


@router.post(A + "accept", response=R, summary="受理 accept")
def accept(request: HttpRequest, number: str, payload: s.AcceptIn) -> s.CaseOut:
    item = _item(payload.item)
    return _act(
        request, number, lambda c, u: services.case_accept(case=c, actor=u, item=item, note=payload.note)
    )


@router.post(A + "reject", response=R, summary="不予受理 reject")
def reject(request: HttpRequest, number: str, payload: s.ReasonIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_reject(case=c, actor=u, reason=payload.reason))


@router.post(A + "dispatch", response=R, summary="派单 dispatch")
def dispatch(request: HttpRequest, number: str, payload: s.DispatchIn) -> s.CaseOut:
    lead = _unit(payload.lead, "lead")
    assist = [_unit(code, "assist") for code in payload.assist]
    return _act(
        request,
        number,
        lambda c, u: services.case_dispatch(case=c, actor=u, lead=lead, assist=assist, note=payload.note),
    )


@router.post(A + "acknowledge", response=R, summary="签收/报到 acknowledge")
def acknowledge(request: HttpRequest, number: str, payload: s.AcknowledgeIn) -> s.CaseOut:
    unit = _unit(payload.unit, "unit") if payload.unit else None
    return _act(request, number, lambda c, u: services.case_acknowledge(case=c, actor=u, unit=unit))


@router.post(A + "return", response=R, summary="退单 return")
def return_(request: HttpRequest, number: str, payload: s.ReasonIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_return(case=c, actor=u, reason=payload.reason))


@router.post(A + "request_extension", response=R, summary="申请延期 request_extension")
def request_extension(request: HttpRequest, number: str, payload: s.ExtensionIn) -> s.CaseOut:
    return _act(
        request,
        number,
        lambda c, u: services.case_request_extension(
            case=c, actor=u, days=payload.days, reason=payload.reason
        ),
    )


@router.post(A + "approve_extension", response=R, summary="批准延期 approve_extension")
def approve_extension(request: HttpRequest, number: str, payload: s.NoteOptionalIn) -> s.CaseOut:
    return _act(
        request, number, lambda c, u: services.case_approve_extension(case=c, actor=u, note=payload.note)
    )


@router.post(A + "deny_extension", response=R, summary="驳回延期 deny_extension")
def deny_extension(request: HttpRequest, number: str, payload: s.ReasonIn) -> s.CaseOut:
    return _act(
        request, number, lambda c, u: services.case_deny_extension(case=c, actor=u, reason=payload.reason)
    )


@router.post(A + "escalate", response=R, summary="提级 escalate")
def escalate(request: HttpRequest, number: str, payload: s.NoteOptionalIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_escalate(case=c, actor=u, note=payload.note))


@router.post(A + "summon", response=R, summary="吹哨 summon")
def summon(request: HttpRequest, number: str, payload: s.SummonIn) -> s.CaseOut:
    units = [_unit(code, "units") for code in payload.units]
    return _act(
        request, number, lambda c, u: services.case_summon(case=c, actor=u, units=units, note=payload.note)
    )


@router.post(A + "resolve", response=R, summary="办结 resolve")
def resolve(request: HttpRequest, number: str, payload: s.ResolveIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_resolve(case=c, actor=u, result=payload.result))


@router.post(A + "evaluate", response=R, summary="评价/回访 evaluate")
def evaluate(request: HttpRequest, number: str, payload: s.EvaluateIn) -> s.CaseOut:
    return _act(
        request,
        number,
        lambda c, u: services.case_evaluate(
            case=c,
            actor=u,
            solved=payload.solved,
            satisfaction=payload.satisfaction,
            comment=payload.comment,
            channel=payload.channel,
        ),
    )


@router.post(A + "reopen", response=R, summary="重办 reopen")
def reopen(request: HttpRequest, number: str, payload: s.ReasonIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_reopen(case=c, actor=u, reason=payload.reason))


@router.post(A + "close", response=R, summary="归档 close")
def close(request: HttpRequest, number: str, payload: s.NoteOptionalIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_close(case=c, actor=u, note=payload.note))


@router.post(A + "merge", response=R, summary="合并 merge")
def merge(request: HttpRequest, number: str, payload: s.MergeIn) -> s.CaseOut:
    case = _visible(request, number)
    target = _merge_target(request, payload.into)
    return case_detail(
        case=services.case_merge(case=case, actor=_user(request), into=target), user=_user(request)
    )


@router.post(A + "withdraw", response=R, summary="撤回 withdraw")
def withdraw(request: HttpRequest, number: str, payload: s.ReasonIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_withdraw(case=c, actor=u, reason=payload.reason))


@router.post(A + "supervise", response=R, summary="督办 supervise")
def supervise(request: HttpRequest, number: str, payload: s.SuperviseIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_supervise(case=c, actor=u, note=payload.note))


@router.post(A + "note", response=R, summary="备注 note")
def note(request: HttpRequest, number: str, payload: s.NoteIn) -> s.CaseOut:
    return _act(request, number, lambda c, u: services.case_note(case=c, actor=u, text=payload.text))


# --- 考核剔除 exclusions: a decision names its request, so they live beside the actions ------------


@router.post("/{number}/exclusions", response=R, summary="申请考核剔除 request_exclusion")
def request_exclusion(request: HttpRequest, number: str, payload: s.ExclusionIn) -> s.CaseOut:
    """A unit whose figures count the case (its lead unit, or an area holding its place) asks to
    exclude it: `reason` malicious | out_of_scope | duplicate, with a note. One request waits at a time."""
    unit = _unit(payload.unit, "unit") if payload.unit else None
    return _act(
        request,
        number,
        lambda c, u: case_request_exclusion(
            case=c, actor=u, reason=payload.reason, note=payload.note, unit=unit
        ),
    )


@router.post(
    "/{number}/exclusions/{exclusion_id}/decision", response=R, summary="审核考核剔除 exclude / refuse"
)
def decide_exclusion(
    request: HttpRequest, number: str, exclusion_id: int, payload: s.ExclusionDecisionIn
) -> s.CaseOut:
    """A supervisor of the case's district approves (`exclude`: the case leaves every figure) or
    refuses (a note is required) the waiting request; a decided request is final (409)."""
    user = _user(request)
    case = _visible(request, number)
    waiting = exclusion_of(case=case, pk=exclusion_id)
    if waiting is None:
        raise HttpError(404, _("剔除申请 %(id)s 不存在") % {"id": exclusion_id})
    if payload.decision == "approve":
        case = case_exclude(case=case, actor=user, request=waiting, note=payload.note)
    else:
        case = case_refuse_exclusion(case=case, actor=user, request=waiting, note=payload.note)
    return case_detail(case=case, user=user)
