"""The outbox: each event writes its messages in its own transaction, to the right people only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.services import post_grant
from civicgrid.cases import services
from civicgrid.cases.models import Case, Event
from civicgrid.cases.services import exclusions
from civicgrid.cases.services._core import record
from civicgrid.cases.states import Action
from civicgrid.notify import recipients, texts, webhooks
from civicgrid.notify.models import Message, MessageTemplate, Transport, WebhookEndpoint
from civicgrid.notify.outbox import on_event_recorded
from civicgrid.org.models import Unit
from tests.conftest import CaseMaker, Town

Drive = Callable[[str], Case]


@pytest.fixture(autouse=True)
def _fresh_endpoint_cache() -> Iterator[None]:
    # Endpoints made by a test vanish with its transaction, which sends no post_delete: forget them.
    cache.delete(webhooks.CACHE_KEY)
    yield
    cache.delete(webhooks.CACHE_KEY)


def system_event(
    case: Case, action: Action, *, unit: Unit | None, public: bool = False, **data: Any
) -> Event:
    """An event the clock would record (the system as actor), in its own transaction."""
    with transaction.atomic():
        case.refresh_from_db()
        return record(case=case, action=action, actor=None, unit=unit, data=data, public=public)


def told(key: str) -> set[str]:
    """Who got an inbox message of this kind."""
    rows = Message.objects.filter(template=key, transport=Transport.INBOX)
    return set(rows.values_list("user__username", flat=True))


def test_it_writes_messages_in_the_transaction_of_the_change(
    case_in: Drive, centre: User, chen: User, town: Town
) -> None:
    # given an accepted case
    case = case_in("accepted")

    # when the dispatch fails after its event was recorded
    with pytest.raises(RuntimeError), transaction.atomic():
        services.case_dispatch(case=case, actor=centre, lead=town.urban)
        assert told("dispatch") == {"chen"}
        raise RuntimeError("the request died before the commit")

    # then its message went with it
    assert not Message.objects.exists()


def test_it_tells_the_staff_of_each_unit_a_case_is_dispatched_to(
    case_in: Drive, centre: User, chen: User, sun: User, wang: User, supervisor: User, town: Town
) -> None:
    case = case_in("accepted")

    services.case_dispatch(case=case, actor=centre, lead=town.urban, assist=[town.water])

    assert told("dispatch") == {"chen", "sun"}
    to_sun = Message.objects.get(user=sun)
    assert case.number in to_sun.subject
    assert "水务局" in to_sun.body and f"/console/cases/{case.number}/" in to_sun.body
    assert to_sun.status == Message.Status.PENDING and to_sun.event is not None


def test_it_writes_nothing_for_a_new_case_without_webhooks(new_case: CaseMaker, centre: User) -> None:
    new_case()

    assert not Message.objects.exists()


def test_it_costs_no_query_when_nobody_is_told(new_case: CaseMaker) -> None:
    case = new_case()
    event = case.events.get(seq=1)
    webhooks.active_endpoints()  # the cache is warm in steady state

    with CaptureQueriesContext(connection) as queries:
        on_event_recorded(Event, case=case, event=event)

    assert len(queries) == 0


def test_it_tells_the_unit_of_a_warning(case_in: Drive, chen: User, centre: User, town: Town) -> None:
    case = case_in("dispatched")

    system_event(case, Action.WARN, unit=town.urban, rule="resolution", deadline="2026-11-20T17:00:00+08:00")
    system_event(case, Action.WARN, unit=town.urban, rule="response", deadline="2026-11-18T09:00:00+08:00")

    assert told("warn_resolution") == {"chen"}
    assert told("warn_response") == {"chen"}
    assert "2026-11-20 17:00" in Message.objects.get(template="warn_resolution").body


def test_it_tells_the_unit_and_the_dispatchers_of_a_missed_response(
    case_in: Drive, chen: User, centre: User, supervisor: User, town: Town
) -> None:
    case = case_in("dispatched")

    system_event(
        case, Action.RESPONSE_OVERDUE, unit=town.urban, assignment=1, deadline="2026-11-18T09:00:00+08:00"
    )

    assert told("response_overdue") == {"chen", "zhou"}


def test_it_tells_only_the_dispatchers_of_a_unit_not_reporting_in(
    case_in: Drive, chen: User, centre: User, supervisor: User, town: Town
) -> None:
    case = case_in("dispatched")

    system_event(case, Action.NOT_REPORTED, unit=town.urban, assignment=1)

    assert told("not_reported") == {"zhou"}


def test_it_tells_the_unit_and_the_supervisors_of_an_automatic_supervision(
    case_in: Drive, chen: User, centre: User, supervisor: User, town: Town
) -> None:
    case = case_in("in_progress")

    system_event(
        case, Action.SUPERVISE, unit=town.urban, public=True, auto=True, level="yellow", rule="overdue",
        deadline="2026-11-20T17:00:00+08:00",
    )  # fmt: skip

    assert told("supervise") == {"chen", "wu"}
    assert "系统自动黄色督办" in Message.objects.filter(template="supervise").first().body  # type: ignore[union-attr]


def test_it_tells_the_unit_but_not_the_supervisor_who_flagged_it_by_hand(
    case_in: Drive, chen: User, supervisor: User, town: Town
) -> None:
    case = case_in("in_progress")
    colleague = User.objects.create_user(username="feng", password="pw-for-tests-1")
    post_grant(user=colleague, unit=town.district, role=Role.SUPERVISOR)

    services.case_supervise(case=case, actor=supervisor, note="请尽快处理")

    assert told("supervise") == {"chen", "feng"}
    assert "督办意见：请尽快处理" in Message.objects.filter(template="supervise").first().body  # type: ignore[union-attr]


def test_it_tells_the_new_unit_and_the_supervisors_of_an_automatic_escalation(
    case_in: Drive, centre: User, zhao: User, qian: User, supervisor: User, town: Town
) -> None:
    case = case_in("accepted")
    services.case_dispatch(case=case, actor=centre, lead=town.community)
    Message.objects.all().delete()

    system_event(
        case, Action.ESCALATE, unit=town.street, public=True,
        auto=True, level="red", **{"from": town.community.code, "to": town.street.code},
    )  # fmt: skip

    assert told("dispatch") == {"qian"}
    assert told("escalate") == {"wu"}
    assert "西里社区" in Message.objects.get(template="escalate").body


def test_it_tells_the_supervisors_of_an_extension_request_and_a_reminder(
    case_in: Drive, chen: User, supervisor: User, centre: User, town: Town
) -> None:
    case = case_in("in_progress")

    services.case_request_extension(case=case, actor=chen, days=3, reason="需协调施工队")
    system_event(case, Action.REMIND, unit=town.urban, rule="extension", request=1, days=3)

    assert told("extension_requested") == {"wu"}
    assert told("remind_extension") == {"wu"}
    assert "3 个工作日" in Message.objects.get(template="extension_requested").body


def test_it_tells_the_supervisors_of_an_exclusion_request(
    case_in: Drive, chen: User, supervisor: User
) -> None:
    case = case_in("resolved")

    exclusions.case_request_exclusion(case=case, actor=chen, reason="malicious", note="同一人一日内反复拨打")

    assert told("exclusion_requested") == {"wu"}
    assert "剔除" in Message.objects.get(template="exclusion_requested").body
    assert "反复拨打" in Message.objects.get(template="exclusion_requested").body


def test_it_asks_the_supervisors_to_review_a_dissatisfied_rating_only(
    case_in: Drive, centre: User, supervisor: User
) -> None:
    unhappy, happy = case_in("resolved"), case_in("resolved")

    services.case_evaluate(case=unhappy, actor=centre, solved=False, satisfaction="dissatisfied")
    services.case_evaluate(case=happy, actor=centre, solved=True, satisfaction="satisfied")

    assert told("review_requested") == {"wu"}
    assert Message.objects.get(template="review_requested").case_id == unhappy.pk


def test_it_tells_the_dispatchers_of_a_return(case_in: Drive, chen: User, centre: User) -> None:
    case = case_in("dispatched")

    services.case_return(case=case, actor=chen, reason="不属于本部门职责")

    assert told("returned") == {"zhou"}
    assert "理由：不属于本部门职责" in Message.objects.get(template="returned").body


def test_it_tells_nobody_in_another_district(
    case_in: Drive, chen: User, centre: User, supervisor: User, town: Town
) -> None:
    # given a second district with its own dispatcher and supervisor
    other = Unit.objects.create(code="DC", name="东城区", kind=Unit.Kind.DISTRICT)
    stranger = User.objects.create_user(username="ma", password="pw-for-tests-1")
    post_grant(user=stranger, unit=other, role=Role.DISPATCHER)
    post_grant(user=stranger, unit=other, role=Role.SUPERVISOR)
    case = case_in("dispatched")

    # when the case is returned and then supervised by the clock
    services.case_return(case=case, actor=chen, reason="不属于本部门职责")
    system_event(case, Action.SUPERVISE, unit=case.owner, public=True, auto=True)

    # then only this district's people hear of it
    assert told("returned") == {"zhou"}
    assert told("supervise") == {"wu"}


def test_it_asks_the_reporter_to_rate_by_sms_only_with_a_gateway_and_a_phone(
    new_case: CaseMaker, case_in: Drive, settings: SettingsWrapper
) -> None:
    case = case_in("resolved")
    system_event(case, Action.RATING_REQUEST, unit=None, public=True, resolution_seq=5)
    assert not Message.objects.filter(transport=Transport.SMS).exists()  # no gateway configured

    settings.SMS_URL = "http://127.0.0.1:9/sms"
    settings.PUBLIC_URL = "https://grid.example.cn"
    system_event(case, Action.RATING_REQUEST, unit=None, public=True, resolution_seq=5)
    silent = new_case(reporter=services.Reporter(name="", phone=""))
    system_event(silent, Action.RATING_REQUEST, unit=None, public=True, resolution_seq=1)

    sms = Message.objects.get(transport=Transport.SMS)
    assert (sms.phone, sms.case_id) == ("13812341234", case.pk)
    assert f"https://grid.example.cn/t/{case.tracking_code}/" in sms.body
    assert sms.payload["params"]["link"] == f"https://grid.example.cn/t/{case.tracking_code}/"


def test_it_also_emails_staff_who_have_an_address_when_enabled(
    case_in: Drive, centre: User, chen: User, sun: User, town: Town, settings: SettingsWrapper
) -> None:
    settings.NOTIFY_EMAIL = True
    User.objects.filter(pk=chen.pk).update(email="chen@example.cn")
    case = case_in("accepted")

    services.case_dispatch(case=case, actor=centre, lead=town.urban, assist=[town.water])

    emails = Message.objects.filter(transport=Transport.EMAIL)
    assert [(m.email, m.user_id) for m in emails] == [("chen@example.cn", chen.pk)]


def test_it_uses_the_text_an_admin_edited(case_in: Drive, centre: User, chen: User, town: Town) -> None:
    template = MessageTemplate.objects.get(key="dispatch")
    template.subject, template.body = "【派单】{{ number }}", "{{ unit }}：请在 {{ respond_by }} 前签收"
    template.save()  # as the admin does: the cached texts are dropped
    case = case_in("accepted")

    services.case_dispatch(case=case, actor=centre, lead=town.urban)

    message = Message.objects.get(user=chen)
    assert message.subject == f"【派单】{case.number}"
    assert message.body.startswith("城管局：请在 ")


def test_it_falls_back_to_the_default_when_an_edit_does_not_compile(
    case_in: Drive, centre: User, chen: User, town: Town
) -> None:
    MessageTemplate.objects.filter(key="dispatch").update(body="{% if %}")
    texts.forget_templates()
    case = case_in("accepted")

    services.case_dispatch(case=case, actor=centre, lead=town.urban)

    assert "已派单至城管局" in Message.objects.get(user=chen).body


def test_it_creates_missing_templates_without_overwriting_edits(db: None) -> None:
    MessageTemplate.objects.filter(key="dispatch").update(body="改过的正文")
    MessageTemplate.objects.filter(key="returned").delete()

    texts.ensure_templates()

    assert MessageTemplate.objects.get(key="dispatch").body == "改过的正文"
    assert MessageTemplate.objects.filter(key="returned").exists()
    assert set(MessageTemplate.objects.values_list("key", flat=True)) == set(texts.DEFAULTS)


def test_it_sends_public_events_to_the_subscribed_webhooks(case_in: Drive, centre: User, town: Town) -> None:
    everything = WebhookEndpoint.objects.create(name="区APP", url="http://127.0.0.1:9/all")
    dispatch_only = WebhookEndpoint.objects.create(
        name="大屏", url="http://127.0.0.1:9/d", actions=["dispatch"]
    )
    WebhookEndpoint.objects.create(name="停用", url="http://127.0.0.1:9/off", active=False)
    case = case_in("accepted")

    services.case_dispatch(case=case, actor=centre, lead=town.urban)
    services.case_note(case=case, actor=centre, text="内部备注：联系人王某")

    hooks = Message.objects.filter(transport=Transport.WEBHOOK)
    sent = sorted((m.endpoint_id, m.template) for m in hooks)
    assert sent == sorted(
        [
            (everything.pk, "create"),
            (everything.pk, "accept"),
            (everything.pk, "dispatch"),
            (dispatch_only.pk, "dispatch"),
        ]
    )
    body = hooks.filter(template="dispatch").first().payload  # type: ignore[union-attr]
    assert body["case"]["number"] == case.number and body["case"]["owner"] == "D-CG"
    assert body["event"]["action"] == "dispatch" and body["event"]["unit"] == "D-CG"


@pytest.mark.parametrize("reporter", [{"anonymous": True}, {"confidential": True}, {}])
def test_it_never_gives_an_integrator_the_reporter_or_a_staff_note(
    new_case: CaseMaker, case_in: Drive, centre: User, chen: User, reporter: dict[str, bool]
) -> None:
    WebhookEndpoint.objects.create(name="区APP", url="http://127.0.0.1:9/all")
    case = new_case(reporter=services.Reporter(name="张三", phone="13812341234", **reporter))
    services.case_accept(case=case, actor=centre, note="来电人张三，电话13812341234")
    services.case_note(case=case, actor=centre, text="张三 13812341234")

    for message in Message.objects.filter(transport=Transport.WEBHOOK):
        text = str(message.payload)
        assert "张三" not in text and "13812341234" not in text
        assert "note" not in message.payload["event"]


def test_it_gives_integrators_the_answer_written_for_the_reporter(case_in: Drive, chen: User) -> None:
    WebhookEndpoint.objects.create(name="区APP", url="http://127.0.0.1:9/all", actions=["resolve"])
    case = case_in("in_progress")

    services.case_resolve(case=case, actor=chen, result="已劝离摊贩，恢复通行")

    message = Message.objects.get(transport=Transport.WEBHOOK)
    assert message.payload["event"]["note"] == "已劝离摊贩，恢复通行"


def test_it_sees_a_new_endpoint_at_once_in_this_process(new_case: CaseMaker) -> None:
    new_case()  # the cache now says: no endpoints
    WebhookEndpoint.objects.create(name="区APP", url="http://127.0.0.1:9/all")

    new_case()

    assert Message.objects.filter(transport=Transport.WEBHOOK).count() == 1


def test_it_lets_an_admin_edit_a_text_but_not_break_it(admin_client: Client) -> None:
    template = MessageTemplate.objects.get(key="returned")
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    form = {"name": "退单", "subject": "退单 {{ number }}", "sms_template_id": ""}

    broken = admin_client.post(url, {**form, "body": "{% if %}"})
    saved = admin_client.post(url, {**form, "body": "{{ unit }} 退回了 {{ number }}"})

    assert broken.status_code == 200 and "模板语法错误" in broken.content.decode()
    assert saved.status_code == 302
    assert MessageTemplate.objects.get(key="returned").body == "{{ unit }} 退回了 {{ number }}"


def test_it_shows_a_new_endpoints_secret_once(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/notify/webhookendpoint/add/",
        {
            "name": "区APP",
            "url": "https://app.example.cn/hook",
            "actions": '["dispatch", "resolve"]',
            "active": "on",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.actions == ["dispatch", "resolve"]
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(f"/admin/notify/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and endpoint.secret[:6] in page


def test_it_refuses_an_endpoint_subscribed_to_an_unknown_action(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/notify/webhookendpoint/add/",
        {"name": "区APP", "url": "https://app.example.cn/hook", "actions": '["explode"]', "active": "on"},
    )

    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()


def test_it_keeps_each_threads_recipients_apart(chen: User, town: Town) -> None:
    with transaction.atomic():
        assert (chen.pk, chen.email) in recipients.unit_staff(unit_ids=[town.urban.pk])
        seen_elsewhere: list[object] = []
        thread = threading.Thread(target=lambda: seen_elsewhere.append(recipients.memo.answers))
        thread.start()
        thread.join()

    assert seen_elsewhere == [{}]  # another thread starts with no remembered answers
