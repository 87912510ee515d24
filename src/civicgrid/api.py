"""The JSON API at /api/v1/: authentication, error shape, and the routers of each app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, django_auth

from civicgrid.accounts.models import User
from civicgrid.accounts.selectors import user_for_token
from civicgrid.analytics.api import router as stats_router
from civicgrid.analytics.api_assessment import router as assessment_router
from civicgrid.analytics.api_hotspots import router as hotspots_router
from civicgrid.api_messages import BodyNotJson, StrictJsonParser, validation_reason
from civicgrid.cases.api import router as cases_router
from civicgrid.cases.errors import CaseChangedMeanwhile, InvalidInput, NotPermitted, TransitionNotAllowed
from civicgrid.cases.services import IdempotencyMismatch
from civicgrid.catalogue.api import router as catalogue_router
from civicgrid.org.api import router as org_router


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` issued by `civicgrid token create USERNAME`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(raw=token)
        if user is not None:
            request.user = user
        return user


class Utf8Renderer(JSONRenderer):
    """Chinese text stays readable in responses instead of \\uXXXX escapes."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="CivicGrid API",
    version="1",
    description='网格全响应平台 HTTP API. Errors are `{"error": {"code", "message"}}`; '
    "messages follow `Accept-Language` (Chinese by default).",
    auth=[BearerToken(), django_auth],
    urls_namespace="api-v1",
    parser=StrictJsonParser(),
    renderer=Utf8Renderer(),
)


def error_response(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message}}, status=status)


@api.exception_handler(NinjaValidationError)
def _invalid_body(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", []) if part not in ("body", "payload", "query", "path")]
    field = ".".join(loc) or "body"
    return error_response(
        request,
        400,
        "invalid",
        _("字段 %(field)s 无效：%(reason)s") % {"field": field, "reason": validation_reason(first)},
    )


@api.exception_handler(InvalidInput)
def _invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    return error_response(
        request,
        400,
        "invalid",
        _("字段 %(field)s 无效：%(reason)s") % {"field": exc.field, "reason": exc.message},
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthenticated", _("请先登录或提供有效的访问令牌"))


@api.exception_handler(NotPermitted)
def _not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
    return error_response(
        request, 403, "forbidden", _("您无权对此诉求执行“%(action)s”") % {"action": exc.action}
    )


@api.exception_handler(TransitionNotAllowed)
def _wrong_state(request: HttpRequest, exc: TransitionNotAllowed) -> HttpResponse:
    return error_response(
        request,
        409,
        "conflict",
        _("诉求当前状态不允许“%(action)s”：%(detail)s") % {"action": exc.action, "detail": exc.detail},
    )


@api.exception_handler(CaseChangedMeanwhile)
def _changed(request: HttpRequest, exc: CaseChangedMeanwhile) -> HttpResponse:
    return error_response(
        request, 409, "changed", _("诉求 %(number)s 已被他人修改，请刷新后重试") % {"number": exc.number}
    )


@api.exception_handler(IdempotencyMismatch)
def _idempotency(request: HttpRequest, exc: IdempotencyMismatch) -> HttpResponse:
    return error_response(request, 422, "idempotency_mismatch", _("该 Idempotency-Key 已用于内容不同的请求"))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, BodyNotJson):
        return error_response(request, 400, "invalid", _("请求体须为 JSON 对象"))
    codes = {400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large"}
    return error_response(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


api.add_router("/units", org_router)
api.add_router("/catalogue", catalogue_router)
api.add_router("/cases", cases_router)
api.add_router("/stats", stats_router)
api.add_router("/stats/", hotspots_router)  # /stats/hotspots, /stats/trends
api.add_router("/stats/", assessment_router)  # /stats/assessment
