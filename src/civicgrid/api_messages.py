"""Validation messages of the API in the caller's language (pydantic's own are English only)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.parser import Parser


class BodyNotJson(ValueError):
    """The request body is not valid UTF-8 JSON."""


class StrictJsonParser(Parser):
    """Parses bodies like ninja's parser but lets the API tell "not JSON" apart from other errors."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BodyNotJson(str(exc)) from exc
        if not isinstance(data, dict):
            raise BodyNotJson("not an object")
        return data


def _allowed(ctx: dict[str, Any]) -> str:
    return str(ctx.get("expected", ""))


def validation_reason(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence in the active language."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    reasons: dict[str, str] = {
        "missing": _("此项必填"),
        "literal_error": _("取值须为 %(allowed)s") % {"allowed": _allowed(ctx)},
        "enum": _("取值须为 %(allowed)s") % {"allowed": _allowed(ctx)},
        "string_type": _("须为字符串"),
        "string_too_short": _("不能为空"),
        "string_too_long": _("长度不能超过 %(max)s") % {"max": ctx.get("max_length", "")},
        "bool_parsing": _("须为 true 或 false"),
        "bool_type": _("须为 true 或 false"),
        "int_parsing": _("须为整数"),
        "int_type": _("须为整数"),
        "float_parsing": _("须为数字"),
        "float_type": _("须为数字"),
        "greater_than_equal": _("不能小于 %(min)s") % {"min": ctx.get("ge", "")},
        "less_than_equal": _("不能大于 %(max)s") % {"max": ctx.get("le", "")},
        "list_type": _("须为数组"),
        "too_short": _("至少需要 %(min)s 项") % {"min": ctx.get("min_length", "")},
        "model_type": _("须为对象"),
        "model_attributes_type": _("须为对象"),
        "dict_type": _("须为对象"),
        "datetime_parsing": _("须为 ISO 8601 日期时间"),
        "datetime_from_date_parsing": _("须为 ISO 8601 日期时间"),
        "extra_forbidden": _("不支持此字段"),
    }
    return reasons.get(kind, str(error.get("msg", "")))
