"""What the clock's work looks like on the staff screens: the 未报到, 回访 and 重办审核 queues, the
督办 colours, and the system's steps on the staff and public timelines.

The clock sets the fields these screens read (Assignment.unreported_at, Case.callback_requested_at,
review_requested_at, supervision) and records its events; here they are set directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.models import Assignment, Case, Evaluation, Event
from civicgrid.cases.reach import reach_of
from civicgrid.cases.services._core import record
from civicgrid.cases.states import Action
from civicgrid.intake.queues import queue_counts
from tests.conftest import CaseMaker, Town
from tests.console_support import action_url, console, fresh, page

CaseIn = Callable[[str], Case]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def tab(html: str, label: str) -> int | None:
    """The count on a queue tab, None when the user has no such tab."""
    found = re.search(rf">{label}<span class=\"count\">(\d+)</span>", html)
    return int(found.group(1)) if found else None


def flag(case: Case, **fields: Any) -> Case:
    Case.objects.filter(pk=case.pk).update(**fields)
    return fresh(case)


def unreported(case: Case) -> Case:
    Assignment.objects.filter(case=case, active=True).update(unreported_at=clock.now())
    return case


def forms_on(html: str) -> list[str]:
    return re.findall(r'action="/console/cases/[^/]+/actions/(\w+)/"', html)


# 未报到 ---------------------------------------------------------------------------------------------


def test_it_shows_the_dispatcher_the_units_that_never_reported_in(
    case_in: CaseIn, centre: User, chen: User
) -> None:
    silent = unreported(case_in("dispatched"))
    waiting = case_in("dispatched")  # past no grace yet: not flagged
    reported = unreported(case_in("dispatched"))
    services.case_acknowledge(case=fresh(reported), actor=chen)  # reported in after all

    html = page(console(centre).get("/console/?tab=unreported"))

    assert tab(html, "未报到") == 1
    assert silent.number in html
    assert waiting.number not in html and reported.number not in html


def test_it_gives_the_unreported_queue_to_dispatchers_only(
    case_in: CaseIn, chen: User, supervisor: User
) -> None:
    unreported(case_in("dispatched"))

    for user in (chen, supervisor):
        assert tab(page(console(user).get("/console/")), "未报到") is None


def test_it_leaves_other_districts_out_of_the_unreported_queue(
    case_in: CaseIn, new_case: CaseMaker, centre: User, town: Town
) -> None:
    from civicgrid.accounts.models import Role
    from civicgrid.accounts.services import post_grant
    from civicgrid.org.models import Unit

    other = Unit.objects.create(code="DC", name="东城区", kind=Unit.Kind.DISTRICT)
    elsewhere = User.objects.create_user(username="feng", password="pw-for-tests-1", display_name="冯受理")
    post_grant(user=elsewhere, unit=other, role=Role.DISPATCHER)
    unreported(case_in("dispatched"))

    assert tab(page(console(elsewhere).get("/console/")), "未报到") == 0
    assert tab(page(console(centre).get("/console/")), "未报到") == 1


# 回访 -----------------------------------------------------------------------------------------------


def test_it_puts_unrated_resolutions_in_the_dispatchers_callback_queue(case_in: CaseIn, centre: User) -> None:
    due = flag(case_in("resolved"), callback_requested_at=clock.now())
    not_yet = case_in("resolved")

    html = page(console(centre).get("/console/?tab=callback"))

    assert tab(html, "回访") == 1
    assert due.number in html and not_yet.number not in html


def test_it_takes_a_rated_case_out_of_the_callback_queue(case_in: CaseIn, centre: User) -> None:
    case = flag(case_in("resolved"), callback_requested_at=clock.now())
    services.case_evaluate(case=case, actor=centre, solved=False, satisfaction="dissatisfied")

    html = page(console(centre).get("/console/?tab=callback"))

    assert fresh(case).status == "resolved"  # dissatisfied: kept for the supervisor's review
    assert tab(html, "回访") == 0 and case.number not in html


def test_it_ignores_a_callback_flag_older_than_the_latest_resolution(case_in: CaseIn, centre: User) -> None:
    case = case_in("resolved")
    assert case.resolved_at is not None
    flag(case, callback_requested_at=case.resolved_at - timedelta(days=1))

    assert tab(page(console(centre).get("/console/")), "回访") == 0


def test_it_offers_the_callback_as_a_phone_rating_on_the_case_page(case_in: CaseIn, centre: User) -> None:
    case = flag(case_in("resolved"), callback_requested_at=clock.now())
    client = console(centre)

    html = page(client.get(f"/console/cases/{case.number}/"))
    response = client.post(
        action_url(case, "evaluate"),
        {
            "solved": "yes",
            "satisfaction": "basically",
            "comment": "电话回访：基本满意",
            "version": fresh(case).version,
        },
    )

    assert "evaluate" in forms_on(html)
    assert "<summary>电话回访</summary>" in html and "已转入回访" in html
    assert 'name="channel"' not in html  # a callback is always by phone
    assert response.status_code == 302
    evaluation = Evaluation.objects.get(case=case)
    assert (evaluation.channel, evaluation.satisfaction, fresh(case).status) == (
        "callback",
        "basically",
        "closed",
    )


def test_it_keeps_the_ordinary_rating_form_outside_the_callback_queue(case_in: CaseIn, centre: User) -> None:
    case = case_in("resolved")

    html = page(console(centre).get(f"/console/cases/{case.number}/"))

    assert "<summary>回访评价</summary>" in html and 'name="channel"' in html
    assert "已转入回访" not in html


# 重办审核 -------------------------------------------------------------------------------------------


def test_it_gives_the_supervisor_dissatisfied_ratings_to_review(
    case_in: CaseIn, centre: User, supervisor: User
) -> None:
    case = case_in("resolved")
    services.case_evaluate(case=case, actor=centre, solved=False, satisfaction="dissatisfied")
    flag(case, review_requested_at=clock.now())
    unrated = case_in("resolved")
    client = console(supervisor)

    queue = page(client.get("/console/?tab=review"))
    case_page = page(client.get(f"/console/cases/{case.number}/"))

    assert tab(queue, "重办审核") == 1 and case.number in queue and unrated.number not in queue
    assert {"reopen", "close"} <= set(forms_on(case_page))
    assert "群众对办理结果不满意" in case_page
    assert tab(page(console(centre).get("/console/")), "重办审核") is None  # the supervisor's queue


def test_it_takes_a_reopened_case_out_of_the_review_queue(
    case_in: CaseIn, centre: User, supervisor: User
) -> None:
    case = case_in("resolved")
    services.case_evaluate(case=case, actor=centre, solved=False, satisfaction="dissatisfied")
    case = flag(case, review_requested_at=clock.now())
    services.case_reopen(case=case, actor=supervisor, reason="群众不满意，重新办理")

    assert tab(page(console(supervisor).get("/console/")), "重办审核") == 0


def test_it_counts_every_queue_in_one_query(case_in: CaseIn, centre: User, supervisor: User) -> None:
    unreported(case_in("dispatched"))
    flag(case_in("resolved"), callback_requested_at=clock.now())
    for user in (centre, supervisor):
        reach_of(user)  # the posts are read once per request, before the queues
        with CaptureQueriesContext(connection) as queries:
            counts = queue_counts(user=user, now=clock.now())

        assert len(queries) == 1, [q["sql"][:90] for q in queries.captured_queries]
    assert queue_counts(user=centre, now=clock.now())["unreported"] == 1
    assert queue_counts(user=centre, now=clock.now())["callback"] == 1
    assert "review" in counts and "callback" not in counts


# 督办 colours ----------------------------------------------------------------------------------------


def test_it_shows_the_supervision_colour_on_lists_and_the_case_page(case_in: CaseIn, centre: User) -> None:
    yellow = flag(case_in("in_progress"), supervised_at=clock.now(), supervision="yellow")
    red = flag(case_in("dispatched"), supervised_at=clock.now(), supervision="red")
    client = console(centre)

    listed = page(client.get("/console/?tab=supervised"))
    red_page = page(client.get(f"/console/cases/{red.number}/"))

    assert re.search(r'class="badge supervision yellow"[^>]*>黄色督办<', listed)
    assert re.search(r'class="badge supervision red"[^>]*>红色督办<', listed)
    assert re.search(r'class="badge supervision red"[^>]*>红色督办<', red_page)
    assert yellow.number in listed


# The system's steps on the timelines ---------------------------------------------------------------------

INTERNAL: dict[Action, dict[str, Any]] = {
    Action.WARN: {"rule": "response", "deadline": "2025-03-04T10:00:00+08:00"},
    Action.RESPONSE_OVERDUE: {"deadline": "2025-03-04T10:00:00+08:00"},
    Action.NOT_REPORTED: {},
    Action.REMIND: {"rule": "extension", "days": 3},
    Action.CALLBACK_DUE: {"resolution_seq": 5},
}


def clock_steps(case: Case, town: Town) -> Case:
    """The clock's events on a dispatched case, each as the contract writes it (actor: the system)."""
    case = fresh(case)
    for action, data in INTERNAL.items():
        record(case=case, action=action, actor=None, unit=town.urban, data=data, public=False)
    record(
        case=case,
        action=Action.SUPERVISE,
        actor=None,
        unit=town.urban,
        data={"auto": True, "level": "yellow", "rule": "overdue"},
        supervised_at=clock.now(),
        supervision="yellow",
    )
    record(
        case=case,
        action=Action.ESCALATE,
        actor=None,
        unit=town.street,
        data={"auto": True, "level": "red", "from": "D-CG", "to": "XC-S1"},
        supervision="red",
    )
    record(case=case, action=Action.RATING_REQUEST, actor=None, data={"resolution_seq": 5})
    return case


STAFF_LABELS = [
    "响应预警",
    "超时未签收",
    "未报到",
    "延期审批提醒",
    "转入回访",
    "系统自动督办",
    "超期自动提级",
    "邀请评价",
]


def test_it_names_the_clocks_steps_on_the_console_timeline(case_in: CaseIn, centre: User, town: Town) -> None:
    case = clock_steps(case_in("dispatched"), town)

    html = page(console(centre).get(f"/console/cases/{case.number}/"))
    timeline = html[html.index('class="timeline"') :]

    for label in STAFF_LABELS:
        assert f"<strong>{label}</strong>" in timeline, label
    assert "时限：2025-03-04 10:00" in timeline and "黄色督办" in timeline
    assert not re.search(
        r"<strong>(warn|response_overdue|not_reported|remind|callback_due|rating_request)<", timeline
    )


def test_it_names_the_clocks_steps_on_the_phone_timeline(
    case_in: CaseIn, new_case: CaseMaker, centre: User, wang: User, town: Town
) -> None:
    case = clock_steps(case_in("dispatched"), town)  # in 王's grid

    html = page(console(wang).get(f"/m/cases/{case.number}/"))

    for label in STAFF_LABELS:
        assert f"<strong>{label}</strong>" in html, label


def test_it_shows_residents_only_the_public_steps_in_their_words(case_in: CaseIn, town: Town) -> None:
    case = clock_steps(case_in("dispatched"), town)

    html = page(Client().get(f"/t/{case.tracking_code}/"))
    timeline = html[html.index('class="timeline"') :]

    assert "<strong>超期督办</strong>" in timeline
    assert "<strong>超期提级办理</strong>" in timeline and "新街口街道" in timeline
    assert "<strong>邀请您评价办理结果</strong>" in timeline
    for hidden in [
        "预警",
        "超时未签收",
        "未报到",
        "延期审批",
        "回访",
        "系统自动",
        "周受理",
        "warn",
        "remind",
    ]:
        assert hidden not in timeline, hidden


def test_it_never_shows_residents_a_staff_reminder_even_if_marked_public(case_in: CaseIn, town: Town) -> None:
    case = fresh(case_in("dispatched"))
    for action in INTERNAL:
        record(case=case, action=action, actor=None, unit=town.urban, data={}, public=True)

    steps = Event.objects.filter(case=case, action__in=list(INTERNAL)).count()
    timeline = page(Client().get(f"/t/{case.tracking_code}/"))

    assert steps == len(INTERNAL)
    assert not any(
        word in timeline for word in ["warn", "response_overdue", "not_reported", "remind", "callback_due"]
    )
