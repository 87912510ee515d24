"""Sign in, sign out, and the home page that sends each person to their own workspace."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from civicgrid.accounts.models import Role, User
from civicgrid.accounts.selectors import posts_of

# People whose day is spent outdoors on a phone.
PHONE_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.HOUSEHOLD_LEAD, Role.INFORMANT})


class LoginView(auth_views.LoginView):
    """Django's login, behind django-axes' lockout (5 failures → 10 minutes, per user and per address)."""

    redirect_authenticated_user = True


def logout_confirm(request: HttpRequest) -> HttpResponse:
    """Signing out is a POST (CSRF-protected); this page holds its button."""
    return render(request, "registration/logout_confirm.html")


def workspace_for(user: User) -> str:
    """The URL name of the page a person starts from: the phone pages or the console."""
    roles = {post.role for post in posts_of(user=user)}
    if roles and roles <= PHONE_ROLES:
        return "mobile:home"
    if roles:
        return "console:queues"
    return "admin:index" if user.is_staff else "logout-confirm"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    return redirect(workspace_for(user))
