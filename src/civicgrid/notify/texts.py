"""Message texts: the shipped Chinese defaults, the admins' edited rows, and rendering them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_migrate
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from civicgrid.notify.models import MessageTemplate

log = logging.getLogger(__name__)

# Plain text, not HTML: nothing is escaped (an item named "A&B" stays "A&B" in an SMS).
_ENGINE = Engine(autoescape=False)


@dataclass(frozen=True)
class Default:
    name: str | Promise
    subject: str | Promise
    body: str | Promise
    # Staff messages end with the link to the case page; the reporter's SMS carries its own link.
    with_link: bool = True

    def texts(self) -> tuple[str, str]:
        """Subject and body in the active language (the language of `migrate`, for the stored rows)."""
        return str(self.subject), str(self.body) + ("\n{{ link }}" if self.with_link else "")


DEFAULTS: dict[str, Default] = {
    "dispatch": Default(
        _("新派单"),
        _("新派单：{{ number }} {{ item }}"),
        _(
            "诉求 {{ number }}（{{ item }}，{{ place }}）已{{ verb }}至{{ unit }}，"
            "请于 {{ respond_by }} 前签收报到，{{ resolve_by }} 前办结。"
        ),
    ),
    "warn_response": Default(
        _("响应预警"),
        _("响应预警：{{ number }}"),
        _("诉求 {{ number }}（{{ item }}）的响应时限 {{ deadline }} 即将到期，请尽快签收报到。"),
    ),
    "warn_resolution": Default(
        _("办结预警"),
        _("办结预警：{{ number }}"),
        _("诉求 {{ number }}（{{ item }}）的办结时限 {{ deadline }} 即将到期，请抓紧办理。"),
    ),
    "response_overdue": Default(
        _("超时未签收"),
        _("超时未签收：{{ number }}"),
        _("{{ unit }}未在响应时限 {{ deadline }} 前签收诉求 {{ number }}（{{ item }}）。"),
    ),
    "not_reported": Default(
        _("未报到"),
        _("未报到：{{ number }}"),
        _("{{ unit }}超时仍未报到，诉求 {{ number }}（{{ item }}）已列入未报到，请跟进或改派。"),
    ),
    "supervise": Default(
        _("督办"),
        _("督办：{{ number }}"),
        _(
            "{% if auto %}诉求 {{ number }}（{{ item }}）已超过办结时限 {{ deadline }}，系统自动黄色督办。"
            "{% else %}诉求 {{ number }}（{{ item }}）被督办，请{{ owner }}尽快办理并答复。"
            "{% if note %}督办意见：{{ note }}{% endif %}{% endif %}"
        ),
    ),
    "escalate": Default(
        _("超期提级"),
        _("超期提级：{{ number }}"),
        _("诉求 {{ number }}（{{ item }}）超期未办结，已由{{ from_unit }}提级至{{ unit }}，红色督办。"),
    ),
    "remind_extension": Default(
        _("延期待审批提醒"),
        _("延期待审批：{{ number }}"),
        _("{{ unit }}申请延期 {{ days }} 个工作日，已等待较长时间，请尽快审批。"),
    ),
    "extension_requested": Default(
        _("延期申请"),
        _("延期申请：{{ number }}"),
        _(
            "{{ unit }}申请诉求 {{ number }}（{{ item }}）延期 {{ days }} 个工作日，请审批。"
            "{% if note %}理由：{{ note }}{% endif %}"
        ),
    ),
    "exclusion_requested": Default(
        _("考核剔除申请"),
        _("考核剔除申请：{{ number }}"),
        _(
            "{{ unit }}申请将诉求 {{ number }}（{{ item }}）剔除出考核统计，请审批。"
            "{% if note %}说明：{{ note }}{% endif %}"
        ),
    ),
    "review_requested": Default(
        _("重办审核"),
        _("重办审核：{{ number }}"),
        _("诉求人对诉求 {{ number }}（{{ item }}）的办理结果不满意，请审核是否重办。"),
    ),
    "returned": Default(
        _("退单"),
        _("退单：{{ number }}"),
        _(
            "{{ unit }}退回诉求 {{ number }}（{{ item }}），请重新派单。"
            "{% if note %}理由：{{ note }}{% endif %}"
        ),
    ),
    "rating_request_sms": Default(
        _("邀请评价（短信）"),
        _("邀请评价"),
        _("您反映的诉求（编号 {{ number }}）已办结，请点击链接评价：{{ tracking_link }}"),
        with_link=False,
    ),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    sms_template_id: str = ""


CACHE_KEY = "civicgrid:notify:templates"
# Another process (the worker, a second web server with a local cache) sees an edit within this.
CACHE_SECONDS = 30


def stored_templates(keys: Iterable[str]) -> dict[str, MessageTemplate]:
    """The admins' rows for these keys, from the cache (all rows, one query per 30 s at most)."""
    rows: dict[str, MessageTemplate] | None = cache.get(CACHE_KEY)
    if rows is None:
        rows = {t.key: t for t in MessageTemplate.objects.all()}
        cache.set(CACHE_KEY, rows, CACHE_SECONDS)
    return {key: rows[key] for key in set(keys) if key in rows}


def forget_templates(**kwargs: Any) -> None:
    """post_save / post_delete of a template (the admin's edit): the next message reads them afresh."""
    cache.delete(CACHE_KEY)


def check_syntax(text: str) -> None:
    """Raise TemplateSyntaxError when `text` is not a valid template (the admin form shows it)."""
    _ENGINE.from_string(text)


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    """Compiled once per text: an admin's edit is another text, compiled when first used."""
    return _ENGINE.from_string(text)


def _render(text: str, context: dict[str, Any]) -> str:
    return _compiled(text).render(Context(context, autoescape=False)).strip()


def render(*, key: str, context: dict[str, Any], stored: MessageTemplate | None) -> Rendered:
    """The message text from the admins' row when there is one, else from the shipped default."""
    default = DEFAULTS[key]
    if stored is not None:
        try:
            subject = _render(stored.subject, context)
            body = _render(stored.body, context)
            return Rendered(subject[:200], body, stored.sms_template_id)
        except TemplateSyntaxError:
            # A broken edit must not stop the change that sends it: fall back and say so.
            log.warning("message template %s does not compile; using the default text", key)
    subject, body = default.texts()
    template_id = stored.sms_template_id if stored is not None else ""
    return Rendered(_render(subject, context)[:200], _render(body, context), template_id)


def ensure_templates(*, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: create the rows admins edit, for keys that have none (never overwrite an edit)."""
    rows = MessageTemplate.objects.using(using)
    existing = set(rows.values_list("key", flat=True))
    missing = [(key, d) for key, d in DEFAULTS.items() if key not in existing]
    rows.bulk_create(
        MessageTemplate(key=key, name=str(d.name), subject=d.texts()[0], body=d.texts()[1])
        for key, d in missing
    )
    forget_templates()


def connect_defaults(sender: object) -> None:
    post_migrate.connect(ensure_templates, sender=sender, dispatch_uid="notify.ensure_templates")
