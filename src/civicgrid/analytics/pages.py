"""What the console pages of analytics share: the 403 page that says why."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """A 403 in Chinese that says why, on the console's own refusal page."""
    return render(request, "intake/console/forbidden.html", {"message": message}, status=403)
