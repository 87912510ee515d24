"""Webhook subscriptions (cached, so an event costs no query when there are none) and the payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache

from civicgrid import clock
from civicgrid.cases.models import Case, Event
from civicgrid.cases.states import Action
from civicgrid.notify.models import WebhookEndpoint

CACHE_KEY = "civicgrid:notify:webhook-endpoints"
# Another process (the worker, a second web server with a local cache) sees a change within this.
CACHE_SECONDS = 30
# Only these notes are written for the reporter (the answer, the refusal); every other note is the
# staff's working text and may name people, so integrators do not get it (as on the public page).
PUBLIC_NOTE_ACTIONS = frozenset({Action.RESOLVE, Action.REJECT})


def active_endpoints() -> list[tuple[int, list[str]]]:
    """(id, subscribed actions) of every active endpoint, from the cache when it has them."""
    cached: list[tuple[int, list[str]]] | None = cache.get(CACHE_KEY)
    if cached is None:
        rows = WebhookEndpoint.objects.filter(active=True).order_by("pk").values_list("pk", "actions")
        cached = [(pk, list(actions or [])) for pk, actions in rows]
        cache.set(CACHE_KEY, cached, CACHE_SECONDS)
    return cached


def forget_endpoints(**kwargs: Any) -> None:
    """post_save / post_delete of an endpoint: the next event reads the list afresh."""
    cache.delete(CACHE_KEY)


def endpoints_for(action: str) -> list[int]:
    """Endpoints subscribed to `action`: those listing it, and those listing nothing (all events)."""
    return [pk for pk, actions in active_endpoints() if not actions or action in actions]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def payload(*, case: Case, event: Event) -> dict[str, Any]:
    """What an integrator learns of a public event: never the reporter's name or phone, never a
    staff note. The delivery adds its own "id" (the message id, repeated on every retry)."""
    body: dict[str, Any] = {
        "action": event.action,
        "case": {
            "number": case.number,
            "status": case.status,
            "kind": case.kind,
            "item": case.item.code if case.item else None,
            "place": case.place.code,
            "owner": case.owner.code if case.owner else None,
            "respond_by": _iso(case.respond_by),
            "resolve_by": _iso(case.resolve_by),
        },
        "event": {
            "seq": event.seq,
            "action": event.action,
            "from": event.from_status,
            "to": event.to_status,
            "unit": event.unit.code if event.unit else None,
            "at": _iso(event.at),
        },
        "at": _iso(clock.now()),
    }
    if event.public and event.action in PUBLIC_NOTE_ACTIONS and event.note:
        body["event"]["note"] = event.note
    return body
