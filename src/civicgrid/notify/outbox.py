"""The outbox writer: each recorded event becomes Message rows in the same transaction as the change.

Connected to `cases.signals.event_recorded`, so a message commits or rolls back with its cause and
the worker delivers it later (nothing is lost if the process dies after the commit). The receiver
must stay cheap: most events tell nobody, and the webhook list comes from the cache.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicgrid import clock
from civicgrid.cases.jobs import timer_batch
from civicgrid.cases.models import Assignment, Case, Event, Satisfaction
from civicgrid.cases.states import Action
from civicgrid.notify import recipients, texts, webhooks
from civicgrid.notify.models import Message, MessageTemplate, Transport
from civicgrid.org.models import Unit


@dataclass
class Notice:
    """One staff message text (a template key and what it says) and the people it goes to."""

    key: str
    users: list[recipients.Recipient]
    extra: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[Case, Event], list[Notice]]


def _given_units(codes: Iterable[str], verb: str) -> list[Notice]:
    """ "新派单" for the staff of each unit the case was just given to, naming that unit."""
    units = Unit.objects.filter(code__in=list(codes)).order_by("path")
    return [
        Notice("dispatch", recipients.unit_staff(unit_ids=[u.pk]), {"unit": u.name, "verb": verb})
        for u in units
    ]


def _dispatch(case: Case, event: Event) -> list[Notice]:
    return _given_units([event.data.get("lead", ""), *event.data.get("assist", [])], _("派单"))


def _summon(case: Case, event: Event) -> list[Notice]:
    return _given_units(event.data.get("units", []), _("召集协办"))


def _escalate(case: Case, event: Event) -> list[Notice]:
    notices = _given_units([event.data.get("to", "")], _("提级"))
    # The clock's escalation (the system as actor) also tells the district's supervisors.
    if event.data.get("auto") or event.actor_id is None:
        origin = Unit.objects.filter(code=event.data.get("from", "")).first()
        extra = {"from_unit": origin.name if origin else event.data.get("from", "")}
        notices.append(Notice("escalate", recipients.district_supervisors(place=case.place), extra))
    return notices


def _warn(case: Case, event: Event) -> list[Notice]:
    key = "warn_resolution" if event.data.get("rule") == "resolution" else "warn_response"
    return [Notice(key, _staff_of(event.unit_id))]


def _response_overdue(case: Case, event: Event) -> list[Notice]:
    users = _staff_of(event.unit_id) + recipients.district_dispatchers(place=case.place)
    return [Notice("response_overdue", users)]


def _supervise(case: Case, event: Event) -> list[Notice]:
    users = _staff_of(event.unit_id or case.owner_id) + recipients.district_supervisors(place=case.place)
    return [Notice("supervise", users)]


def _to_dispatchers(key: str) -> Rule:
    return lambda case, event: [Notice(key, recipients.district_dispatchers(place=case.place))]


def _to_supervisors(key: str) -> Rule:
    return lambda case, event: [Notice(key, recipients.district_supervisors(place=case.place))]


def _evaluate(case: Case, event: Event) -> list[Notice]:
    if event.data.get("satisfaction") != Satisfaction.DISSATISFIED:
        return []
    return _to_supervisors("review_requested")(case, event)


def _staff_of(unit_id: int | None) -> list[recipients.Recipient]:
    return recipients.unit_staff(unit_ids=[unit_id]) if unit_id is not None else []


# action -> who is told what. Actions not listed tell no staff member (webhooks aside).
RULES: dict[str, Rule] = {
    Action.DISPATCH: _dispatch,
    Action.ESCALATE: _escalate,
    Action.SUMMON: _summon,
    Action.WARN: _warn,
    Action.RESPONSE_OVERDUE: _response_overdue,
    Action.SUPERVISE: _supervise,
    Action.NOT_REPORTED: _to_dispatchers("not_reported"),
    Action.RETURN: _to_dispatchers("returned"),
    Action.REMIND: _to_supervisors("remind_extension"),
    Action.REQUEST_EXTENSION: _to_supervisors("extension_requested"),
    Action.REQUEST_EXCLUSION: _to_supervisors("exclusion_requested"),
    Action.EVALUATE: _evaluate,
}


def on_event_recorded(sender: object, *, case: Case, event: Event, **kwargs: Any) -> None:
    """Write the messages `event` causes, inside its transaction (receiver of `event_recorded`)."""
    rule = RULES.get(event.action)
    notices = [n for n in rule(case, event) if n.users] if rule is not None else []
    messages = _staff_messages(case, event, notices)
    messages += _rating_sms(case, event)
    messages += _webhook_messages(case, event)
    if not messages:
        return
    if _gathering.messages is not None:
        _gathering.messages += messages
    else:
        Message.objects.bulk_create(messages)


class _Gathering(threading.local):
    """The messages of a clock batch's events, kept to be written together (one per thread, as
    transactions are); None outside a batch."""

    messages: list[Message] | None = None
    templates: dict[str, MessageTemplate] | None = None


_gathering = _Gathering()


@contextmanager
def gathered() -> Iterator[None]:
    """Keep the messages the events recorded inside the block cause, and write them in one INSERT
    when the block ends without an exception; with one, they are dropped with the changes.

    Only for a block that succeeds whole or raises (the clock's one-pass batch): a savepoint rolled
    back inside it would not take its gathered messages with it. Call inside the transaction."""
    if _gathering.messages is not None:  # already gathering: the outer block writes them
        yield
        return
    _gathering.messages = []
    try:
        yield
        messages = _gathering.messages
    finally:
        _gathering.messages = _gathering.templates = None
    if messages:
        Message.objects.bulk_create(messages)


@receiver(timer_batch, dispatch_uid="notify.outbox.gather")
def gather_timer_batch(
    sender: object, *, cases: list[Case], assignments: list[Assignment], **kwargs: Any
) -> AbstractContextManager[None]:
    """The clock fires a batch in one pass: the staff of the units its events may tell are read at
    once, and its messages go out in one INSERT at the pass's end."""
    units = [a.unit_id for a in assignments] + [c.owner_id for c in cases if c.owner_id is not None]
    recipients.read_unit_staff(unit_ids=units)
    return gathered()


def _templates(keys: Iterable[str]) -> dict[str, MessageTemplate]:
    """The admins' texts; read once per gathered batch instead of once per event."""
    if _gathering.messages is None:
        return texts.stored_templates(keys)
    if _gathering.templates is None:
        _gathering.templates = texts.stored_templates(texts.DEFAULTS)
    return {key: _gathering.templates[key] for key in keys if key in _gathering.templates}


def _when(moment: datetime | None) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment is not None else "—"


def _when_iso(text: object) -> str:
    """The event's deadline as the reader's local time; a malformed one must not undo the change."""
    try:
        return _when(datetime.fromisoformat(str(text))) if text else "—"
    except ValueError:
        return "—"


@functools.lru_cache(maxsize=64)
def _kind_label(kind: str, language: str | None) -> str:
    """`get_kind_display()`, which translates every choice on each call: once per kind and language."""
    return str(dict(Case._meta.get_field("kind").flatchoices).get(kind, kind))


def _context(case: Case, event: Event) -> dict[str, Any]:
    kind = _kind_label(case.kind, translation.get_language())
    return {
        "number": case.number,
        "title": case.title,
        "kind": kind,
        "item": case.item.name if case.item else kind,
        "place": case.place.name,
        "owner": case.owner.name if case.owner else "",
        "unit": event.unit.name if event.unit else "",
        "respond_by": _when(case.respond_by),
        "resolve_by": _when(case.resolve_by),
        "deadline": _when_iso(event.data.get("deadline")),
        "days": event.data.get("days", ""),
        "auto": bool(event.data.get("auto") or event.actor_id is None),
        # Staff messages only: a staff note (督办意见, a return's reason) is for staff eyes.
        "note": event.note,
        "link": f"{settings.PUBLIC_URL}/console/cases/{case.number}/",
    }


def _new(*, case: Case, event: Event, transport: str, key: str, text: texts.Rendered, **to: Any) -> Message:
    moment = clock.now()
    return Message(
        transport=transport,
        template=key,
        case=case,
        event=event,
        subject=text.subject,
        body=text.body,
        created_at=moment,
        next_attempt_at=moment,
        **to,
    )


def _staff_messages(case: Case, event: Event, notices: list[Notice]) -> list[Message]:
    if not notices:
        return []
    stored = _templates([n.key for n in notices])
    base = _context(case, event)
    messages: list[Message] = []
    told: set[tuple[str, int]] = set()
    for notice in notices:
        text = texts.render(key=notice.key, context={**base, **notice.extra}, stored=stored.get(notice.key))
        for user in notice.users:
            # Nobody is told of their own action, nor twice of the same thing.
            if user.pk == event.actor_id or (notice.key, user.pk) in told:
                continue
            told.add((notice.key, user.pk))
            messages += _to_user(case=case, event=event, key=notice.key, text=text, user=user)
    return messages


def _to_user(
    *, case: Case, event: Event, key: str, text: texts.Rendered, user: recipients.Recipient
) -> list[Message]:
    inbox = _new(case=case, event=event, transport=Transport.INBOX, key=key, text=text, user_id=user.pk)
    if not (settings.NOTIFY_EMAIL and user.email):
        return [inbox]
    email = _new(
        case=case,
        event=event,
        transport=Transport.EMAIL,
        key=key,
        text=text,
        user_id=user.pk,
        email=user.email,
    )
    return [inbox, email]


def _rating_sms(case: Case, event: Event) -> list[Message]:
    """The reporter's own phone, for their own case's rating request only, when a gateway is set."""
    if event.action != Action.RATING_REQUEST or not (settings.SMS_URL and case.reporter_phone):
        return []
    key = "rating_request_sms"
    link = f"{settings.PUBLIC_URL}/t/{case.tracking_code}/"
    stored: MessageTemplate | None = _templates([key]).get(key)
    text = texts.render(key=key, context={**_context(case, event), "tracking_link": link}, stored=stored)
    params = {"template_id": text.sms_template_id, "params": {"number": case.number, "link": link}}
    return [
        _new(
            case=case,
            event=event,
            transport=Transport.SMS,
            key=key,
            text=text,
            phone=case.reporter_phone,
            payload=params,
        )
    ]


def _webhook_messages(case: Case, event: Event) -> list[Message]:
    if not event.public:
        return []
    endpoint_ids = webhooks.endpoints_for(event.action)
    if not endpoint_ids:
        return []
    body = webhooks.payload(case=case, event=event)
    text = texts.Rendered(subject=f"{event.action} {case.number}#{event.seq}", body="")
    return [
        _new(
            case=case,
            event=event,
            transport=Transport.WEBHOOK,
            key=event.action,
            text=text,
            endpoint_id=pk,
            payload=body,
        )
        for pk in endpoint_ids
    ]
