"""The staff inbox: messages newest first with unread ones marked, open one (read, then its case), read all.

One view serves both workspaces: the console layout for desk staff (/console/messages/) and the
phone layout for grid workers (/m/messages/); each person is sent to the one of their workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicgrid.accounts.models import User
from civicgrid.accounts.views import workspace_for
from civicgrid.cases.reach import reach_of
from civicgrid.notify.models import InboxItem
from civicgrid.notify.selectors import cases_still_visible, inbox_items
from civicgrid.notify.services import inbox_item_mark_read, inbox_mark_all_read

P = ParamSpec("P")
StaffView = Callable[Concatenate[HttpRequest, User, P], HttpResponseBase]
PAGE_SIZE = 30


def staff_page(view: StaffView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Signed-in holders of a post; accounts without one (integrators, bare admins) get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        assert isinstance(user, User)
        if not reach_of(user).is_staff_member:
            message = _("站内消息仅供有岗位的工作人员使用。")
            return render(request, "intake/console/forbidden.html", {"message": message}, status=403)
        return view(request, user, *args, **kwargs)

    return wrapped


@dataclass(frozen=True)
class Workspace:
    """Where the person works: the phone pages or the console (their posts decide, once per request)."""

    phone: bool

    @classmethod
    def of(cls, user: User) -> Workspace:
        return cls(phone=workspace_for(user) == "mobile:home")

    def url_name(self, name: str) -> str:
        """`name` in this workspace: "inbox" is "notify:phone-inbox" on the phone."""
        return f"notify:phone-{name}" if self.phone else f"notify:{name}"

    def case_url(self, number: str) -> str:
        return reverse("mobile:case" if self.phone else "console:case", args=[number])


@require_GET
@staff_page
def inbox(request: HttpRequest, user: User, phone: bool) -> HttpResponseBase:
    here = Workspace.of(user)
    if phone != here.phone:
        # The other workspace's layout would offer links this person may not open.
        query = request.GET.urlencode()
        return HttpResponseRedirect(reverse(here.url_name("inbox")) + (f"?{query}" if query else ""))
    page = Paginator(inbox_items(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    items: list[InboxItem] = list(page)
    visible = cases_still_visible(user=user, case_ids={i.case_id for i in items if i.case_id})
    rows = [_row(here, item, visible) for item in items]
    context: dict[str, Any] = {"page": page, "rows": rows, "read_all_url": reverse(here.url_name("read-all"))}
    if phone:
        return render(request, "notify/inbox_phone.html", context)
    context |= {"nav": "messages", "dispatcher": bool(reach_of(user).centre_paths)}
    return render(request, "notify/inbox_console.html", context)


def _row(here: Workspace, item: InboxItem, visible: set[int]) -> dict[str, Any]:
    shown = item.case is not None and item.case_id in visible
    return {
        "item": item,
        "case_url": here.case_url(item.case.number) if item.case is not None and shown else "",
        "open_url": reverse(here.url_name("open"), args=[item.pk]),
    }


@require_POST
@staff_page
def open_item(request: HttpRequest, user: User, pk: int, phone: bool) -> HttpResponse:
    """Mark the message read, then show its case when the user may still see it, else the inbox."""
    item = inbox_item_mark_read(user=user, pk=pk)
    if item is None:
        raise Http404(str(pk))
    here = Workspace.of(user)
    case = item.case
    if case is not None and cases_still_visible(user=user, case_ids={case.pk}):
        return redirect(here.case_url(case.number))
    return redirect(here.url_name("inbox"))


@require_POST
@staff_page
def read_all(request: HttpRequest, user: User, phone: bool) -> HttpResponse:
    count = inbox_mark_all_read(user=user)
    messages.success(request, _("已将 %(count)d 条消息标为已读") % {"count": count})
    return redirect(Workspace.of(user).url_name("inbox"))
