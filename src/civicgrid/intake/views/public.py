"""Public pages for residents: building QR page, report form, tracking page (no account)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Shown when one address sends too many reports; what was typed is still in the browser."""
    return render(request, "intake/public/rate_limited.html", status=429)
