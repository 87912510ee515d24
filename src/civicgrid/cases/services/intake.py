"""Intake actions: create (with idempotency), accept, reject, merge, withdraw."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.errors import InvalidInput
from civicgrid.cases.models import (
    AssignmentStatus,
    Case,
    Channel,
    Event,
    IdempotencyKey,
    Kind,
    new_tracking_code,
)
from civicgrid.cases.policy import ensure_allowed
from civicgrid.cases.reach import reach_of
from civicgrid.cases.services._core import (
    first_event,
    lapse_pending_extensions,
    provisional_number,
    record,
    required,
)
from civicgrid.cases.services.attachments import attachments_add, files_kept_only_on_success
from civicgrid.cases.services.deadlines import deadlines_from
from civicgrid.cases.states import OPEN, Action, Capacity, next_status
from civicgrid.cases.timers import replan_timers
from civicgrid.cases.uploads import CleanUpload
from civicgrid.catalogue.models import Item
from civicgrid.org.models import Building, Unit
from civicgrid.org.phones import normalise_phone
from civicgrid.org.selectors import district_of


@dataclass(frozen=True)
class Reporter:
    """Who raised the case; `confidential` hides them from handling units (always for 举报)."""

    name: str = ""
    phone: str = ""
    anonymous: bool = False
    confidential: bool = False


@dataclass(frozen=True)
class NewCase:
    """What intake needs to register a case, already resolved to objects."""

    kind: str
    description: str
    place: Unit | None
    channel: str
    title: str = ""
    item: Item | None = None
    building: Building | None = None
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    proactive: bool = False
    reporter: Reporter = Reporter()
    attachments: tuple[CleanUpload, ...] = ()


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was used before with another body (HTTP 422)."""


def _validated_place(new: NewCase) -> Unit:
    place = new.place
    if new.building is not None:
        if place is not None and place.kind == Unit.Kind.GRID and place.pk != new.building.grid_id:
            raise InvalidInput("building", _("楼栋不在所选网格内"))
        place = place if place is not None and place.kind == Unit.Kind.GRID else new.building.grid
    if place is None:
        raise InvalidInput("grid", _("请指定网格、楼栋或所在区域"))
    if not place.is_area:
        raise InvalidInput("grid", _("所在区域必须是区县、镇街、村社区或网格"))
    return place


def _validate(new: NewCase) -> None:
    if not new.description.strip():
        raise InvalidInput("description", _("请填写诉求内容"))
    if new.kind not in Kind.values:
        raise InvalidInput("kind", _("诉求类型无效"))
    if new.channel not in Channel.values:
        raise InvalidInput("channel", _("渠道无效"))
    if new.item is not None and not new.item.active:
        raise InvalidInput("item", _("该事项已停用"))
    if (new.lat is None) != (new.lon is None):
        raise InvalidInput("lat", _("经纬度须同时提供"))
    if new.lat is not None and new.lon is not None and not (-90 <= new.lat <= 90 and -180 <= new.lon <= 180):
        raise InvalidInput("lat", _("经纬度超出范围"))


def case_create(*, actor: User | None, new: NewCase) -> Case:
    """Register a new case (status submitted) with its 'create' event and the reporter's files."""
    return case_create_event(actor=actor, new=new).case


def case_create_event(*, actor: User | None, new: NewCase) -> Event:
    """case_create, answering with the new case's 'create' event (`event.case` is the case): the
    whole timeline of a case nobody has acted on yet, so the API can answer without reading it back."""
    written: list[str] = []
    with files_kept_only_on_success(written), transaction.atomic():
        return _create(actor=actor, new=new, written=written)


def _create(*, actor: User | None, new: NewCase, written: list[str]) -> Event:
    _validate(new)
    place = _validated_place(new)
    moment = clock.now()
    reporter = new.reporter
    staff = actor is not None and reach_of(actor).is_staff_member
    tracking_code = new_tracking_code()
    case = Case.objects.create(
        number=provisional_number(tracking_code),  # the real one comes with the event, last
        tracking_code=tracking_code,
        kind=new.kind,
        title=new.title.strip()[:100],
        description=new.description.strip(),
        item=new.item,
        place=place,
        building=new.building,
        address=new.address.strip(),
        lat=new.lat,
        lon=new.lon,
        channel=new.channel,
        proactive=new.proactive,
        reporter_name=reporter.name.strip(),
        reporter_phone=normalise_phone(reporter.phone),
        reporter_anonymous=reporter.anonymous,
        reporter_confidential=reporter.confidential or reporter.anonymous or new.kind == Kind.REPORT,
        created_by=actor,
        first_receiver=actor if staff else None,
        created_at=moment,
        last_seq=1,
    )
    event = first_event(case=case, actor=actor, unit=None, at=moment, data={"channel": new.channel})
    attachments_add(case=case, event=event, actor=actor, uploads=new.attachments, written=written)
    return event


def request_fingerprint(body: Any) -> str:
    """A stable hash of a request body, to tell a retry from a different request under the same key."""
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def case_create_idempotent(*, actor: User, new: NewCase, key: str, fingerprint: str) -> tuple[Case, bool]:
    """Create the case once per (user, key); a retry returns it with created=False."""
    case, event = case_create_idempotent_event(actor=actor, new=new, key=key, fingerprint=fingerprint)
    return case, event is not None


def case_create_idempotent_event(
    *, actor: User, new: NewCase, key: str, fingerprint: str
) -> tuple[Case, Event | None]:
    """case_create_idempotent, with the 'create' event when this call created the case (as
    case_create_event) or None when an earlier request with the key did."""
    for _attempt in range(2):
        existing = IdempotencyKey.objects.filter(user=actor, key=key).select_related("case").first()
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyMismatch(key)
            return existing.case, None
        try:
            with transaction.atomic():
                event = case_create_event(actor=actor, new=new)
                IdempotencyKey.objects.create(
                    user=actor, key=key, request_hash=fingerprint, case=event.case, created_at=clock.now()
                )
                return event.case, event
        except IntegrityError:
            # A concurrent retry with the same key committed first; its case is the answer.
            continue
    raise IdempotencyMismatch(key)


@transaction.atomic
def case_accept(*, case: Case, actor: User, item: Item | None = None, note: str = "") -> Case:
    """Take the case on (受理), optionally (re)classifying it; starts its deadlines."""
    caps = ensure_allowed(case=case, actor=actor, action=Action.ACCEPT)
    if item is not None and not item.active:
        raise InvalidInput("item", _("该事项已停用"))
    chosen = item or case.item
    moment = clock.now()
    respond_by, resolve_by = deadlines_from(item=chosen, start=moment)
    # The grid worker taking a case on the spot owns it; otherwise the command centre does.
    owner = case.place if Capacity.CENTRE not in caps else district_of(unit=case.place)
    record(
        case=case,
        action=Action.ACCEPT,
        actor=actor,
        unit=owner,
        note=note,
        data={"item": chosen.code if chosen else None},
        status=next_status(Action.ACCEPT, case.status),
        item=chosen,
        owner=owner,
        accepted_at=moment,
        respond_by=respond_by,
        resolve_by=resolve_by,
        first_receiver=case.first_receiver or actor,
    )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_reject(*, case: Case, actor: User, reason: str) -> Case:
    """Refuse the case at intake (不予受理) with a reason the reporter will see."""
    ensure_allowed(case=case, actor=actor, action=Action.REJECT)
    reason = required(reason, "reason")
    record(
        case=case,
        action=Action.REJECT,
        actor=actor,
        note=reason,
        status=next_status(Action.REJECT, case.status),
        closed_at=clock.now(),
    )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_merge(*, case: Case, actor: User, into: Case) -> Case:
    """Merge a duplicate into another open case; the duplicate ends."""
    ensure_allowed(case=case, actor=actor, action=Action.MERGE)
    if into.pk == case.pk:
        raise InvalidInput("into", _("不能合并到自身"))
    if into.status not in OPEN:
        raise InvalidInput("into", _("目标诉求已结束，不能合并"))
    record(
        case=case,
        action=Action.MERGE,
        actor=actor,
        data={"into": into.number},
        note=into.number,
        status=next_status(Action.MERGE, case.status),
        merged_into=into,
        closed_at=clock.now(),
    )
    replan_timers(case=case)
    return case


@transaction.atomic
def case_withdraw(*, case: Case, actor: User | None, reason: str) -> Case:
    """The reporter withdraws the case; units still holding it are released."""
    ensure_allowed(case=case, actor=actor, action=Action.WITHDRAW)
    reason = required(reason, "reason")
    moment = clock.now()
    record(
        case=case,
        action=Action.WITHDRAW,
        actor=actor,
        note=reason,
        status=next_status(Action.WITHDRAW, case.status),
        closed_at=moment,
    )
    case.assignments.filter(active=True).update(active=False, status=AssignmentStatus.ENDED, ended_at=moment)
    lapse_pending_extensions(case=case)
    replan_timers(case=case)
    return case
