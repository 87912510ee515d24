"""Public pages for residents: building QR page, report form, tracking page (no account)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files import File
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit
from django_ratelimit.exceptions import Ratelimited

from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, TransitionNotAllowed
from civicgrid.cases.models import Case, EvaluationChannel, Satisfaction
from civicgrid.cases.services import case_create, case_evaluate
from civicgrid.intake import selectors_public as sel
from civicgrid.intake.forms_public import MAX_PHOTOS, RatingForm, ReportForm, photo_limit_mb

View = Callable[..., HttpResponse]
# A worker's photo is served only in a format browsers show inline, never as anything else.
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Shown when one address sends too many reports; what was typed is still in the browser."""
    return render(request, "intake/public/rate_limited.html", status=429)


def _public_rate(group: str, request: HttpRequest) -> str:
    # Read per request, so the setting can change (and tests can override it) after import.
    return str(settings.PUBLIC_REPORT_RATE)


def limited(view: View) -> View:
    """Count POSTs per client address; over the limit answers the 429 page."""
    counted: View = ratelimit(key="ip", rate=_public_rate, method="POST", block=True)(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return counted(request, *args, **kwargs)
        except Ratelimited as refused:
            # Answered here as well as by RATELIMIT_VIEW, which needs django-ratelimit's middleware.
            return rate_limited(request, refused)

    return guarded


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "intake/public/not_found.html", {"message": message}, status=404)


def _unknown_sign(request: HttpRequest) -> HttpResponse:
    return _not_found(
        request, _("没有找到这个二维码对应的楼栋，它可能已停用。请拨打热线反映，或联系网格员。")
    )


def _unknown_code(request: HttpRequest) -> HttpResponse:
    return _not_found(request, _("没有找到这个查询码，请核对后再试（不区分大小写）。"))


@require_GET
def building(request: HttpRequest, token: str) -> HttpResponse:
    """The page a building's QR sign opens: where I am, who my grid worker is, and "report"."""
    found = sel.building_by_token(token=token)
    if found is None:
        return _unknown_sign(request)
    context = {
        "building": found,
        "community": sel.community_of(grid=found.grid),
        "cards": sel.worker_cards(grid=found.grid),
    }
    return render(request, "intake/public/building.html", context)


@require_http_methods(["GET", "POST"])
@limited
def report(request: HttpRequest, token: str) -> HttpResponse:
    """Three steps in one form: valid → the case is created and the reporter sees the tracking code."""
    found = sel.building_by_token(token=token)
    if found is None:
        return _unknown_sign(request)
    form = ReportForm(request.POST, request.FILES) if request.method == "POST" else ReportForm()
    if request.method == "POST" and form.is_valid():
        try:
            case = case_create(actor=None, new=form.new_case(building=found))
        except InvalidInput as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            return redirect(reverse("public:track", args=[case.tracking_code]) + "?new=1")
    context = {
        "building": found,
        "form": form,
        "files_sent": bool(request.FILES),
        "most_photos": MAX_PHOTOS,
        "photo_mb": photo_limit_mb(),
    }
    return render(request, "intake/public/report.html", context)


@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    """The "check progress" box: a typed tracking code leads to its page."""
    code = request.GET.get("code", "").strip().upper()
    if not code or sel.case_for_tracking(code=code) is None:
        return _unknown_code(request)
    return redirect("public:track", code=code)


def _track_page(request: HttpRequest, case: Case, rating: RatingForm | None = None) -> HttpResponse:
    context = {
        "case": case,
        "status_words": sel.status_words(case=case),
        "steps": sel.public_timeline(case=case),
        "can_rate": sel.awaiting_rating(case=case),
        "rating": rating or RatingForm(),
        "new": request.GET.get("new") == "1",
        "track_url": request.build_absolute_uri(reverse("public:track", args=[case.tracking_code])),
    }
    return render(request, "intake/public/track.html", context)


@require_GET
def track(request: HttpRequest, code: str) -> HttpResponse:
    """Where a case stands, its public steps, and the rating questions once it is resolved."""
    case = sel.case_for_tracking(code=code)
    if case is None:
        return _unknown_code(request)
    return _track_page(request, case)


def _evaluate(request: HttpRequest, case: Case, rating: RatingForm) -> None:
    data = rating.cleaned_data
    try:
        case_evaluate(
            case=case,
            actor=None,
            solved=rating.is_solved,
            satisfaction=data["satisfaction"],
            comment=data["comment"],
            channel=EvaluationChannel.RESIDENT,
        )
    except TransitionNotAllowed:
        messages.error(request, _refusal(case))
    except CaseChangedMeanwhile:
        messages.error(request, _("办理进度刚刚有更新，请查看后再评价。"))
    except InvalidInput as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _thanks(data["satisfaction"]))


def _refusal(case: Case) -> str:
    if sel.latest_resolution_rated(case=case):
        return _("这次办理结果已经评价过了，每次办结只能评价一次。")
    return _("当前办理阶段还不能评价，请在办结后再来。")


def _thanks(satisfaction: str) -> str:
    if satisfaction == Satisfaction.DISSATISFIED:
        return _("已记录，我们将安排复核。")
    return _("感谢您的评价！")


@require_POST
@limited
def rate(request: HttpRequest, code: str) -> HttpResponse:
    """The two questions posted from the tracking page; the service allows one rating per resolution."""
    case = sel.case_for_tracking(code=code)
    if case is None:
        return _unknown_code(request)
    rating = RatingForm(request.POST)
    if not rating.is_valid():
        return _track_page(request, case, rating)
    _evaluate(request, case, rating)
    return redirect("public:track", code=case.tracking_code)


def _file(file: File[bytes], content_type: str, cache: str) -> FileResponse:
    response = FileResponse(file, content_type=content_type)
    response["Cache-Control"] = cache
    response["Content-Disposition"] = "inline"
    return response


@require_GET
def attachment(request: HttpRequest, code: str, attachment_id: int) -> HttpResponseBase:
    """A photo of the case's public steps (already re-encoded without EXIF), and nothing else."""
    case = sel.case_for_tracking(code=code)
    photo = sel.public_photo(case=case, attachment_id=attachment_id) if case is not None else None
    if photo is None:
        return _not_found(request, _("没有找到这张照片。"))
    try:
        opened = photo.file.open("rb")
    except FileNotFoundError:
        return _not_found(request, _("没有找到这张照片。"))
    return _file(opened, photo.content_type, "private, max-age=86400")


@require_GET
def worker_photo(request: HttpRequest, user_id: int) -> HttpResponseBase:
    """The photo on a grid worker's public card; no other account's photo is ever served."""
    owner = sel.public_photo_owner(user_id=user_id)
    content_type = mimetypes.guess_type(owner.photo.name or "")[0] if owner is not None else None
    if owner is None or content_type not in PHOTO_TYPES:
        return _not_found(request, _("没有找到这张照片。"))
    try:
        opened = owner.photo.open("rb")
    except FileNotFoundError:
        return _not_found(request, _("没有找到这张照片。"))
    return _file(opened, str(content_type), "public, max-age=3600")
