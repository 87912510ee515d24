"""The transports one by one: SMS gateway, webhook, e-mail and inbox, each sending one message."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import time_machine
from django.core import mail
from pytest_django.fixtures import Settings as SettingsWrapper

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.models import Case
from civicgrid.cases.services._core import record
from civicgrid.cases.states import Action
from civicgrid.notify import delivery
from civicgrid.notify.models import InboxItem, Message, Transport, WebhookEndpoint
from civicgrid.notify.transports import DeliveryFailed, email, inbox, sign, sms, webhook
from tests.conftest import CaseMaker, at
from tests.fakes import FakeHTTP, sms_signature_ok, webhook_signature_ok


@pytest.fixture
def gateway(settings: SettingsWrapper) -> Iterator[FakeHTTP]:
    with FakeHTTP.running() as fake:
        settings.SMS_URL = fake.url
        settings.SMS_KEY = "key-1"
        settings.SMS_SECRET = "gateway-secret"
        settings.SMS_SIGN = "网格全响应"
        yield fake


def message(case: Case | None = None, **fields: object) -> Message:
    now = clock.now()
    defaults: dict[str, object] = {
        "subject": "标题",
        "body": "正文",
        "created_at": now,
        "next_attempt_at": now,
    }
    return Message.objects.create(case=case, **(defaults | fields))


def test_it_signs_an_sms_for_the_gateway(gateway: FakeHTTP, new_case: CaseMaker) -> None:
    case = new_case()
    sms_message = message(
        case,
        transport=Transport.SMS,
        template="rating_request_sms",
        phone="13812341234",
        body="您反映的诉求已办结，请评价",
        payload={"template_id": "SMS_001", "params": {"number": case.number, "link": "https://x/t/ABC/"}},
    )

    with time_machine.travel(at("2026-11-24 09:00"), tick=False):
        detail = sms.send(sms_message)

    (got,) = gateway.received
    assert detail == "HTTP 200"
    assert sms_signature_ok(got, "gateway-secret") and not sms_signature_ok(got, "wrong")
    assert got.header("X-Api-Key") == "key-1"
    assert got.header("X-Timestamp") == str(int(at("2026-11-24 09:00").timestamp()))
    assert got.json() == {
        "phone": "13812341234",
        "sign": "网格全响应",
        "template_id": "SMS_001",
        "params": {"number": case.number, "link": "https://x/t/ABC/"},
        "text": "您反映的诉求已办结，请评价",
    }


def test_it_fails_an_sms_the_gateway_refuses(gateway: FakeHTTP, db: None) -> None:
    gateway.answer(401)

    with pytest.raises(DeliveryFailed, match="HTTP 401"):
        sms.send(message(transport=Transport.SMS, template="rating_request_sms", phone="13812341234"))


def test_it_fails_when_nothing_answers(settings: SettingsWrapper, db: None) -> None:
    settings.SMS_URL = "http://127.0.0.1:9/closed"
    settings.DELIVERY_TIMEOUT_SECONDS = 2

    with pytest.raises(DeliveryFailed, match="ConnectError"):
        sms.send(message(transport=Transport.SMS, template="rating_request_sms", phone="13812341234"))


def test_it_sends_the_reporter_the_rating_link_end_to_end(
    gateway: FakeHTTP, settings: SettingsWrapper, new_case: CaseMaker
) -> None:
    # given a case whose reporter left a phone, and the clock asking them to rate
    settings.PUBLIC_URL = "https://grid.example.cn"
    case = new_case()
    record(case=case, action=Action.RATING_REQUEST, actor=None, data={"resolution_seq": 1})

    # when the worker delivers
    delivery.deliver_due()

    # then the gateway got the link to this case only
    (got,) = gateway.received
    assert got.json()["phone"] == "13812341234"
    assert f"https://grid.example.cn/t/{case.tracking_code}/" in got.json()["text"]
    assert Message.objects.get(transport=Transport.SMS).status == Message.Status.SENT


def test_it_posts_a_webhook_with_its_headers(new_case: CaseMaker) -> None:
    with FakeHTTP.running() as receiver:
        endpoint = WebhookEndpoint.objects.create(name="区APP", url=receiver.url, secret="s3cret")
        hook = message(
            transport=Transport.WEBHOOK,
            template="dispatch",
            endpoint=endpoint,
            payload={"action": "dispatch", "case": {"number": "20261124-000001"}},
        )

        webhook.send(hook)

    (got,) = receiver.received
    assert webhook_signature_ok(got, "s3cret")
    timestamp = got.header("X-CivicGrid-Timestamp")
    assert got.header("X-CivicGrid-Signature") == "sha256=" + sign(
        "s3cret", f"{timestamp}.{got.body.decode()}"
    )
    assert got.header("X-CivicGrid-Event") == "dispatch"
    assert got.header("X-CivicGrid-Delivery") == str(hook.pk)
    assert json.loads(got.body) == {
        "id": hook.pk,
        "action": "dispatch",
        "case": {"number": "20261124-000001"},
    }


def test_it_refuses_to_post_to_a_disabled_endpoint(db: None) -> None:
    endpoint = WebhookEndpoint.objects.create(name="停用", url="http://127.0.0.1:9/", active=False)

    with pytest.raises(DeliveryFailed, match="disabled"):
        webhook.send(message(transport=Transport.WEBHOOK, template="dispatch", endpoint=endpoint))


def test_it_emails_through_the_django_backend(settings: SettingsWrapper, db: None) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "civicgrid@example.cn"

    email.send(
        message(transport=Transport.EMAIL, template="dispatch", email="chen@example.cn", subject="新派单")
    )

    (sent,) = mail.outbox
    assert (sent.subject, sent.body, sent.to, sent.from_email) == (
        "新派单",
        "正文",
        ["chen@example.cn"],
        "civicgrid@example.cn",
    )


def test_it_places_an_inbox_item_only_once(chen: User) -> None:
    placed = message(transport=Transport.INBOX, template="dispatch", user=chen, subject="新派单")

    first, again = inbox.send(placed), inbox.send(placed)

    assert InboxItem.objects.filter(user=chen).count() == 1
    assert first.startswith("in the inbox") and again == "already in the inbox"
