"""考核剔除: a unit asks to take a case out of the assessment figures; a supervisor approves or refuses.

None of these actions moves the case's status. Each writes one internal event (the reporter never
sees that their request was called malicious) and keeps `Case.exclusion_requested_at` (the
supervisors' queue) and `Case.excluded_at` (what every figure leaves out) in step with the requests.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted
from civicgrid.cases.models import Case, ExclusionRequest
from civicgrid.cases.policy import assessed_units, ensure_allowed
from civicgrid.cases.selectors import pending_exclusion
from civicgrid.cases.services._core import record, required
from civicgrid.cases.states import Action, TransitionNotAllowed
from civicgrid.org.models import Unit

MAX_NOTE_LENGTH = 2000


def _reason(value: str) -> str:
    if value not in ExclusionRequest.Reason.values:
        raise InvalidInput("reason", _("剔除理由须为 malicious、out_of_scope 或 duplicate"))
    return value


def _note(value: str, field: str) -> str:
    text = required(value, field)
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(field, _("长度不能超过 %(max)s") % {"max": MAX_NOTE_LENGTH})
    return text


def _asking_unit(*, case: Case, actor: User, unit: Unit | None) -> Unit:
    """The unit that asks: the one named, if its figures count the case; else the nearest that does."""
    units = assessed_units(case=case, user=actor)
    if unit is None:
        if not units:
            raise NotPermitted(Action.REQUEST_EXCLUSION)
        return units[0]
    if unit not in units:
        raise InvalidInput("unit", _("%(unit)s 的考核数据不含此诉求，不能申请剔除") % {"unit": unit.name})
    return unit


@transaction.atomic
def case_request_exclusion(
    *, case: Case, actor: User, reason: str, note: str, unit: Unit | None = None
) -> Case:
    """A unit whose figures count the case asks to exclude it (恶意诉求, 非本辖区, 重复诉求)."""
    ensure_allowed(case=case, actor=actor, action=Action.REQUEST_EXCLUSION)
    reason, note = _reason(reason), _note(note, "note")
    asking = _asking_unit(case=case, actor=actor, unit=unit)
    moment = clock.now()
    try:
        with transaction.atomic():
            request = ExclusionRequest.objects.create(
                case=case, unit=asking, reason=reason, note=note, requested_by=actor, requested_at=moment
            )
    except IntegrityError:
        # Another request for this case was written since the case was read (one may wait at a time).
        raise CaseChangedMeanwhile(case.number) from None
    record(
        case=case,
        action=Action.REQUEST_EXCLUSION,
        actor=actor,
        unit=asking,
        note=note,
        data={"reason": reason, "request": request.pk},
        public=False,
        at=moment,
        exclusion_requested_at=moment,
    )
    return case


def _decide(
    *, case: Case, request: ExclusionRequest, actor: User, outcome: str, note: str, at: datetime
) -> None:
    """Close the waiting request once: zero rows means someone decided it a moment ago."""
    fields = {"status": outcome, "decided_by": actor, "decided_at": at, "decision_note": note}
    decided = ExclusionRequest.objects.filter(pk=request.pk, status=ExclusionRequest.Status.PENDING).update(
        **fields
    )
    if decided != 1:
        raise CaseChangedMeanwhile(case.number)
    for name, value in fields.items():
        setattr(request, name, value)


def _waiting(*, case: Case, request: ExclusionRequest | None, action: Action) -> ExclusionRequest:
    """The request to decide: the one named (it must still wait), else the one waiting on the case."""
    if request is None:
        request = pending_exclusion(case=case)
        if request is None:  # the case was read before someone decided it
            raise CaseChangedMeanwhile(case.number)
    if request.case_id != case.pk:
        raise InvalidInput("request", _("该剔除申请不属于此诉求"))
    if request.status != ExclusionRequest.Status.PENDING:
        raise TransitionNotAllowed(action, "this exclusion request is already decided")
    return request


@transaction.atomic
def case_exclude(*, case: Case, actor: User, request: ExclusionRequest | None = None, note: str = "") -> Case:
    """Approve the waiting request (`request` None: the one waiting on the case): from now on the
    case counts in no figure. Final."""
    ensure_allowed(case=case, actor=actor, action=Action.EXCLUDE)
    request = _waiting(case=case, request=request, action=Action.EXCLUDE)
    note = note.strip()
    moment = clock.now()
    record(
        case=case,
        action=Action.EXCLUDE,
        actor=actor,
        unit=request.unit,
        note=note,
        data={"reason": request.reason, "request": request.pk},
        public=False,
        at=moment,
        excluded_at=moment,
        exclusion_requested_at=None,
    )
    _decide(
        case=case,
        request=request,
        actor=actor,
        outcome=ExclusionRequest.Status.APPROVED,
        note=note,
        at=moment,
    )
    return case


@transaction.atomic
def case_refuse_exclusion(
    *, case: Case, actor: User, note: str, request: ExclusionRequest | None = None
) -> Case:
    """Refuse the waiting request (`request` None: the one waiting on the case), saying why; the case
    keeps counting, and may be asked about once more."""
    ensure_allowed(case=case, actor=actor, action=Action.REFUSE_EXCLUSION)
    request = _waiting(case=case, request=request, action=Action.REFUSE_EXCLUSION)
    note = _note(note, "note")
    moment = clock.now()
    record(
        case=case,
        action=Action.REFUSE_EXCLUSION,
        actor=actor,
        unit=request.unit,
        note=note,
        data={"reason": request.reason, "request": request.pk},
        public=False,
        at=moment,
        exclusion_requested_at=None,
    )
    _decide(
        case=case, request=request, actor=actor, outcome=ExclusionRequest.Status.REFUSED, note=note, at=moment
    )
    return case
