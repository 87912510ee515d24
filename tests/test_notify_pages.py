"""The staff inbox: the unread badge on every staff page, the inbox on the console and the phone,
reading one message or all of them, and who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from civicgrid import clock
from civicgrid.accounts.models import User
from civicgrid.cases.models import Case
from civicgrid.notify.models import InboxItem, Message
from tests.conftest import CaseMaker, Town
from tests.console_support import console, page

CaseIn = Callable[[str], Case]
PROCESSOR = "civicgrid.notify.context_processors.unread_messages"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def item_for(
    user: User, *, case: Case | None = None, subject: str = "新派单", read: bool = False, minutes_ago: int = 0
) -> InboxItem:
    """An inbox message as delivery places it: the outbox row, then the item."""
    moment = clock.now() - timedelta(minutes=minutes_ago)
    message = Message.objects.create(
        transport="inbox",
        template="dispatch",
        case=case,
        user=user,
        subject=subject,
        body=f"{subject}：请及时处理",
        status=Message.Status.SENT,
        next_attempt_at=moment,
        created_at=moment,
    )
    return InboxItem.objects.create(
        user=user,
        message=message,
        case=case,
        subject=subject,
        body=message.body,
        created_at=moment,
        read_at=moment if read else None,
    )


def badge(html: str) -> str | None:
    """The number in the header's unread badge, None when the page has no badge."""
    found = re.search(r'class="badge unread-count[^"]*"[^>]*>(\d+)<', html)
    return found.group(1) if found else None


def without_badge() -> override_settings:
    """The same settings without the unread context processor (to measure what it costs)."""
    engine: dict[str, Any] = dict(settings.TEMPLATES[0])
    options: dict[str, Any] = dict(engine["OPTIONS"])
    options["context_processors"] = [p for p in options["context_processors"] if p != PROCESSOR]
    return override_settings(TEMPLATES=[{**engine, "OPTIONS": options}, *settings.TEMPLATES[1:]])


def inbox_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "notify_inboxitem" in q["sql"]]


# The badge -----------------------------------------------------------------------------------------


def test_it_shows_the_unread_count_on_every_console_page(
    case_in: CaseIn, centre: User, supervisor: User
) -> None:
    case = case_in("accepted")
    item_for(centre)
    item_for(centre, case=case)
    item_for(centre, read=True)
    item_for(supervisor)  # someone else's never counts
    client = console(centre)

    for url in ("/console/", "/console/inbox/", f"/console/cases/{case.number}/", "/console/hotline/"):
        html = page(client.get(url))

        assert badge(html) == "2", url
        assert 'href="/console/messages/"' in html, url


def test_it_shows_the_unread_count_in_the_grid_workers_phone_header(wang: User) -> None:
    item_for(wang)

    html = page(console(wang).get("/m/"))

    assert badge(html) == "1"
    assert 'href="/m/messages/"' in html


def test_it_costs_one_count_query_per_staff_page(new_case: CaseMaker, centre: User) -> None:
    new_case()
    item_for(centre)
    client = console(centre)
    client.get("/console/")
    with without_badge(), CaptureQueriesContext(connection) as bare:
        client.get("/console/")

    with CaptureQueriesContext(connection) as badged:
        html = page(client.get("/console/"))

    assert badge(html) == "1"
    assert len(badged) == len(bare) + 1
    assert len(inbox_queries(badged)) == 1 and "COUNT(" in inbox_queries(badged)[0].upper()


def test_it_adds_nothing_to_the_residents_pages(new_case: CaseMaker, town: Town, wang: User) -> None:
    case = new_case()
    item_for(wang)
    anonymous = Client()
    anonymous.get(f"/t/{case.tracking_code}/")
    with without_badge(), CaptureQueriesContext(connection) as bare:
        anonymous.get(f"/t/{case.tracking_code}/")

    with CaptureQueriesContext(connection) as now:
        html = page(anonymous.get(f"/t/{case.tracking_code}/"))
    staff_html = page(console(wang).get(f"/t/{case.tracking_code}/"))

    assert len(now) == len(bare) and not inbox_queries(now)
    assert badge(html) is None and badge(staff_html) is None  # the residents' page is not a staff page


def test_it_shows_no_badge_to_an_account_without_posts(integrator: User) -> None:
    item_for(integrator)

    response = console(integrator).get("/console/")

    assert response.status_code == 403 and badge(page(response)) is None


# The inbox page -------------------------------------------------------------------------------------


def test_it_lists_only_my_messages_newest_first_with_unread_marked(centre: User, supervisor: User) -> None:
    older = item_for(centre, subject="较早的消息", minutes_ago=30, read=True)
    newer = item_for(centre, subject="最新的消息", minutes_ago=1)
    item_for(supervisor, subject="别人的消息")

    html = page(console(centre).get("/console/messages/"))

    assert html.index(newer.subject) < html.index(older.subject)
    assert "别人的消息" not in html
    assert html.count('class="unread"') == 1
    assert "未读 1 条" in html and "全部标为已读" in html


def test_it_pages_a_long_inbox(centre: User) -> None:
    for minute in range(35):
        item_for(centre, subject=f"消息{minute:02d}", minutes_ago=minute)
    client = console(centre)

    first = page(client.get("/console/messages/"))
    second = page(client.get("/console/messages/?page=2"))

    assert "消息00" in first and "消息34" not in first
    assert "消息34" in second and "消息00" not in second
    assert "第 1 / 2 页，共 35 条" in first


def test_it_links_a_message_to_its_case_only_while_i_may_see_it(
    case_in: CaseIn, new_case: CaseMaker, sun: User, chen: User
) -> None:
    mine = case_in("dispatched")  # given to 城管局 (陈)
    item_for(chen, case=mine, read=True)
    item_for(sun, case=mine, read=True)  # 孙 (水务局) never had it

    chen_html = page(console(chen).get("/console/messages/"))
    sun_html = page(console(sun).get("/console/messages/"))

    assert f'href="/console/cases/{mine.number}/"' in chen_html
    assert f"/console/cases/{mine.number}/" not in sun_html and mine.number not in sun_html
    assert "相关诉求已不在您的查看范围内" in sun_html


def test_it_marks_a_message_read_when_opened_and_goes_to_its_case(case_in: CaseIn, chen: User) -> None:
    case = case_in("dispatched")
    item = item_for(chen, case=case)
    client = console(chen)

    response = client.post(f"/console/messages/{item.pk}/open/")

    assert response.status_code == 302 and response["Location"] == f"/console/cases/{case.number}/"
    item.refresh_from_db()
    assert item.read_at is not None
    assert badge(page(client.get("/console/"))) == "0"


def test_it_keeps_the_first_reading_time(chen: User) -> None:
    item = item_for(chen, read=True)
    first = item.read_at

    response = console(chen).post(f"/console/messages/{item.pk}/open/")

    assert response.status_code == 302 and response["Location"] == "/console/messages/"
    item.refresh_from_db()
    assert item.read_at == first


def test_it_answers_another_users_message_with_404(chen: User, sun: User) -> None:
    theirs = item_for(sun)

    response = console(chen).post(f"/console/messages/{theirs.pk}/open/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_reads_only_by_post_with_a_csrf_token(chen: User) -> None:
    item = item_for(chen)
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(chen)

    opened_by_get = guarded.get(f"/console/messages/{item.pk}/open/")
    forged = guarded.post(f"/console/messages/{item.pk}/open/")
    forged_all = guarded.post("/console/messages/read-all/")

    assert opened_by_get.status_code == 405
    assert forged.status_code == 403 and forged_all.status_code == 403
    item.refresh_from_db()
    assert item.read_at is None


def test_it_posts_with_the_token_the_page_gives(chen: User) -> None:
    item = item_for(chen)
    client = Client(enforce_csrf_checks=True)
    client.force_login(chen)
    html = page(client.get("/console/messages/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None

    response = client.post(f"/console/messages/{item.pk}/open/", {"csrfmiddlewaretoken": token.group(1)})

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.read_at is not None


def test_it_marks_all_my_messages_read_and_nobody_elses(chen: User, sun: User) -> None:
    mine = [item_for(chen), item_for(chen)]
    theirs = item_for(sun)
    client = console(chen)

    response = client.post("/console/messages/read-all/", follow=True)

    assert "已将 2 条消息标为已读" in page(response)
    assert all(InboxItem.objects.get(pk=i.pk).read_at is not None for i in mine)
    assert InboxItem.objects.get(pk=theirs.pk).read_at is None


# Who may open the inbox, and in which layout -----------------------------------------------------------


@pytest.mark.parametrize("url", ["/console/messages/", "/m/messages/"])
def test_it_sends_anonymous_visitors_to_the_login_page(db: None, url: str) -> None:
    response = Client().get(url)

    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_it_refuses_accounts_without_posts(integrator: User) -> None:
    item = item_for(integrator)
    client = console(integrator)

    assert client.get("/console/messages/").status_code == 403
    assert client.post(f"/console/messages/{item.pk}/open/").status_code == 403


def test_it_gives_the_grid_worker_the_phone_inbox(case_in: CaseIn, wang: User) -> None:
    case = case_in("accepted")  # in 王's grid
    item = item_for(wang, case=case)
    client = console(wang)

    moved = client.get("/console/messages/?page=1")
    html = page(client.get("/m/messages/"))
    opened = client.post(f"/m/messages/{item.pk}/open/")

    assert moved.status_code == 302 and moved["Location"] == "/m/messages/?page=1"
    assert 'class="tabbar"' in html and item.subject in html and badge(html) == "1"
    assert opened.status_code == 302 and opened["Location"] == f"/m/cases/{case.number}/"


def test_it_keeps_desk_staff_on_the_console_inbox(supervisor: User) -> None:
    item_for(supervisor)
    client = console(supervisor)

    moved = client.get("/m/messages/")
    html = page(client.get("/console/messages/"))

    assert moved.status_code == 302 and moved["Location"] == "/console/messages/"
    assert 'class="topbar"' in html and 'aria-current="page">消息' in html
