"""Delivering the outbox: once to the inbox, signed to webhooks, retried with backoff, dead after N."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Case
from civicgrid.notify import delivery, webhooks
from civicgrid.notify.jobs import deliver_messages
from civicgrid.notify.models import Delivery, InboxItem, Message, Transport, WebhookEndpoint
from civicgrid.notify.transports import inbox
from tests.conftest import CaseMaker, Town, at
from tests.fakes import FakeHTTP, webhook_signature_ok
from tests.test_concurrency import postgres_only, race

S = Message.Status


@pytest.fixture(autouse=True)
def _fresh_endpoint_cache() -> Iterator[None]:
    cache.delete(webhooks.CACHE_KEY)
    yield
    cache.delete(webhooks.CACHE_KEY)


@pytest.fixture
def receiver() -> Iterator[FakeHTTP]:
    with FakeHTTP.running() as fake:
        yield fake


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(at("2026-11-24 09:00"), tick=False) as traveller:
        yield traveller


def dispatched(new_case: CaseMaker, centre: User, town: Town) -> Case:
    case = new_case()
    services.case_accept(case=case, actor=centre)
    return services.case_dispatch(case=case, actor=centre, lead=town.urban)


def hook(receiver: FakeHTTP, **fields: object) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="区APP", url=receiver.url, **fields)


def drain() -> None:
    while delivery.deliver_due():
        pass


def test_it_places_each_inbox_message_once(
    new_case: CaseMaker, centre: User, chen: User, town: Town, clock: time_machine.Coordinates
) -> None:
    dispatched(new_case, centre, town)
    message = Message.objects.get(transport=Transport.INBOX)

    assert deliver_messages() is True
    assert deliver_messages() is False
    inbox.send(message)  # a late repeat, as after a crash, finds the item already there

    item = InboxItem.objects.get()
    assert (item.user_id, item.message_id, item.subject) == (chen.pk, message.pk, message.subject)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.sent_at) == (S.SENT, 1, at("2026-11-24 09:00"))
    assert [(d.attempt, d.ok) for d in message.deliveries.all()] == [(1, True)]


def test_it_posts_a_signed_webhook_the_receiver_can_verify(
    new_case: CaseMaker, receiver: FakeHTTP, clock: time_machine.Coordinates
) -> None:
    endpoint = hook(receiver, actions=["create"])
    case = new_case()
    message = Message.objects.get(transport=Transport.WEBHOOK)

    drain()

    (got,) = receiver.received
    assert webhook_signature_ok(got, endpoint.secret)
    assert not webhook_signature_ok(got, "another secret")
    assert got.header("X-CivicGrid-Event") == "create"
    assert got.header("X-CivicGrid-Delivery") == str(message.pk)
    assert got.header("X-CivicGrid-Timestamp") == str(int(at("2026-11-24 09:00").timestamp()))
    body = got.json()
    assert (body["id"], body["action"], body["case"]["number"]) == (message.pk, "create", case.number)
    assert "reporter" not in str(body) and "13812341234" not in got.body.decode()
    message.refresh_from_db()
    assert message.status == S.SENT


def test_it_retries_with_backoff_until_it_gets_through(
    new_case: CaseMaker, receiver: FakeHTTP, clock: time_machine.Coordinates, settings: SettingsWrapper
) -> None:
    # given a receiver failing twice, and a backoff of 30 s doubling
    settings.DELIVERY_BACKOFF_SECONDS = 30
    hook(receiver, actions=["create"])
    new_case()
    receiver.answer(500, 503)
    message = Message.objects.get(transport=Transport.WEBHOOK)

    # when the worker tries, then tries again only once each pause has passed
    drain()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == (
        S.PENDING,
        1,
        at("2026-11-24 09:00") + timedelta(seconds=30),
    )
    assert "HTTP 500" in message.last_error
    clock.shift(29)
    drain()
    assert len(receiver.received) == 1
    clock.shift(1)
    drain()
    message.refresh_from_db()
    assert message.next_attempt_at == at("2026-11-24 09:00") + timedelta(seconds=30 + 60)
    clock.shift(60)
    drain()

    # then three attempts are logged and the last one got through, with the same delivery id
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (S.SENT, 3, "")
    assert [(d.attempt, d.ok) for d in Delivery.objects.filter(message=message)] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert {r.header("X-CivicGrid-Delivery") for r in receiver.received} == {str(message.pk)}


def test_it_gives_up_after_the_last_attempt_and_an_admin_can_revive_it(
    new_case: CaseMaker,
    receiver: FakeHTTP,
    clock: time_machine.Coordinates,
    settings: SettingsWrapper,
    admin_user: User,
) -> None:
    # given a receiver that is down for three attempts, the most allowed
    settings.DELIVERY_MAX_ATTEMPTS = 3
    hook(receiver, actions=["create"])
    new_case()
    receiver.answer(500, 500, 500)
    message = Message.objects.get(transport=Transport.WEBHOOK)
    for _ in range(3):
        drain()
        clock.shift(timedelta(hours=1))

    # then the message is dead, and the admins' dead-letter list shows it
    admin_client = Client()
    admin_client.force_login(admin_user)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.deliveries.count()) == (S.DEAD, 3, 3)
    page = admin_client.get("/admin/notify/message/", {"status__exact": "dead"})
    assert page.status_code == 200 and f"/admin/notify/message/{message.pk}/change/" in page.content.decode()
    assert admin_client.get(f"/admin/notify/message/{message.pk}/change/").status_code == 200

    # when an admin retries it, it is sent again
    admin_client.post("/admin/notify/message/", {"action": "retry", "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert (message.status, message.attempts) == (S.PENDING, 0)
    drain()
    message.refresh_from_db()
    assert message.status == S.SENT and message.deliveries.count() == 4


def test_it_sends_again_with_the_same_id_when_a_worker_died_after_claiming(
    new_case: CaseMaker, receiver: FakeHTTP, clock: time_machine.Coordinates
) -> None:
    # given a worker that claimed the message and died before sending it
    hook(receiver, actions=["create"])
    new_case()
    (claimed,) = delivery.claim(limit=10)

    # then nobody else takes it while the lease runs
    drain()
    assert receiver.received == []

    # when the lease has run out, another worker sends it, under the same delivery id
    clock.shift(delivery.lease() + timedelta(seconds=1))
    drain()
    (got,) = receiver.received
    assert got.header("X-CivicGrid-Delivery") == str(claimed.pk)
    claimed.refresh_from_db()
    assert (claimed.status, claimed.attempts) == (S.SENT, 2)


def test_it_lets_the_later_claim_decide_when_a_slow_worker_finishes_late(
    new_case: CaseMaker, receiver: FakeHTTP, clock: time_machine.Coordinates
) -> None:
    # given a worker whose lease ran out while it was sending, and a second that took over
    hook(receiver, actions=["create"])
    new_case()
    (slow,) = delivery.claim(limit=10)
    clock.shift(delivery.lease() + timedelta(seconds=1))
    (fast,) = delivery.claim(limit=10)
    delivery.attempt(fast)

    # when the slow one finally reports a failure
    delivery.finish(slow, ok=False, detail="timeout")

    # then its attempt is logged but the message stays sent
    fast.refresh_from_db()
    assert fast.status == S.SENT
    assert [(d.attempt, d.ok) for d in fast.deliveries.all()] == [(1, False), (2, True)]


def test_it_logs_one_line_per_message(
    new_case: CaseMaker,
    centre: User,
    chen: User,
    town: Town,
    receiver: FakeHTTP,
    clock: time_machine.Coordinates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook(receiver, actions=["dispatch"])
    dispatched(new_case, centre, town)
    receiver.answer(500)

    with caplog.at_level(logging.INFO, logger="civicgrid.notify"):
        deliver_messages()

    lines = [r.getMessage() for r in caplog.records if r.name == "civicgrid.notify"]
    assert len(lines) == 2
    assert any("delivered" in line and "inbox" in line for line in lines)
    assert any("failed on attempt 1" in line and "webhook" in line for line in lines)


def test_it_keeps_messages_for_a_disabled_endpoint_waiting(
    new_case: CaseMaker, receiver: FakeHTTP, clock: time_machine.Coordinates
) -> None:
    endpoint = hook(receiver, actions=["create"])
    new_case()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    drain()

    message = Message.objects.get(transport=Transport.WEBHOOK)
    assert receiver.received == [] and message.status == S.PENDING
    assert "disabled" in message.last_error


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_delivers_each_message_once_with_four_workers_at_once(chen: User, receiver: FakeHTTP) -> None:
    # given a backlog of inbox messages and webhooks
    endpoint = hook(receiver)
    now = timezone.now()
    common = {"subject": "新派单", "body": "正文", "created_at": now, "next_attempt_at": now}
    Message.objects.bulk_create(
        [Message(transport=Transport.INBOX, template="dispatch", user=chen, **common) for _ in range(1200)]
        + [
            Message(
                transport=Transport.WEBHOOK,
                template="dispatch",
                endpoint=endpoint,
                payload={"n": i},
                **common,
            )
            for i in range(60)
        ]
    )

    # when four workers drain it at the same time
    race(*[drain] * 4)

    # then every message was delivered exactly once
    assert Message.objects.exclude(status=S.SENT).count() == 0
    assert InboxItem.objects.count() == 1200
    assert Delivery.objects.count() == 1260 and Delivery.objects.filter(attempt__gt=1).count() == 0
    ids = [r.header("X-CivicGrid-Delivery") for r in receiver.received]
    assert len(ids) == len(set(ids)) == 60
