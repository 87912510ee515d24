"""Django admin for notifications: the outbox with its dead letters and delivery log, templates, webhooks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import TemplateSyntaxError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid import clock
from civicgrid.cases.states import Action
from civicgrid.notify.models import (
    Delivery,
    InboxItem,
    Message,
    MessageTemplate,
    WebhookEndpoint,
    new_webhook_secret,
)
from civicgrid.notify.texts import DEFAULTS, check_syntax


class DeliveryInline(admin.TabularInline[Delivery, Message]):
    """The delivery log: one row per attempt."""

    model = Delivery
    extra = 0
    can_delete = False
    fields = ("attempt", "at", "ok", "detail")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        # A retried dead letter counts its attempts from 1 again: time tells the rounds apart.
        return super().get_queryset(request).order_by("at", "pk")

    def has_add_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    """The outbox. Filter by status "发送失败" for the dead letters; "重新发送" revives them."""

    list_display = [
        "id",
        "transport",
        "template",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "transport", "template"]
    search_fields = ["subject", "case__number"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]
    actions = ["retry"]
    list_select_related = ["endpoint", "user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        # A message's text is what was sent: only its status moves, through the retry action.
        return [f.name for f in Message._meta.fields]

    @admin.display(description=gettext_lazy("接收方"))
    def recipient(self, obj: Message) -> str:
        return str(obj.endpoint or obj.phone or obj.email or obj.user or "")

    @admin.action(description=gettext_lazy("重新发送所选的发送失败消息"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        revived = queryset.filter(status=Message.Status.DEAD).update(
            status=Message.Status.PENDING, attempts=0, next_attempt_at=clock.now(), lease_until=None
        )
        self.message_user(request, _("已重新排队 %(count)d 条消息") % {"count": revived}, messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class MessageTemplateForm(forms.ModelForm[MessageTemplate]):
    class Meta:
        model = MessageTemplate
        fields = ["key", "name", "subject", "body", "sms_template_id"]

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"]
        if key not in DEFAULTS:
            raise forms.ValidationError(_("未知的模板标识：%(key)s") % {"key": key})
        return key

    def _compiles(self, name: str) -> str:
        text: str = self.cleaned_data[name]
        try:
            check_syntax(text)
        except TemplateSyntaxError as exc:
            raise forms.ValidationError(_("模板语法错误：%(error)s") % {"error": exc}) from exc
        return text

    def clean_subject(self) -> str:
        return self._compiles("subject")

    def clean_body(self) -> str:
        return self._compiles("body")


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin[MessageTemplate]):
    """Texts admins may edit (Django template syntax: {{ number }}, {{ item }}, {{ link }}…)."""

    form = MessageTemplateForm
    list_display = ["key", "name", "subject", "sms_template_id", "updated_at"]
    search_fields = ["key", "name", "subject", "body"]

    def get_readonly_fields(self, request: HttpRequest, obj: MessageTemplate | None = None) -> list[str]:
        # The code looks texts up by key: renaming one would silently bring the default back.
        return ["key"] if obj is not None else []


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    url = forms.URLField(label=gettext_lazy("地址"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "actions", "active"]

    def clean_actions(self) -> list[str]:
        actions = self.cleaned_data["actions"] or []
        known = {a.value for a in Action}
        if not isinstance(actions, list) or not all(isinstance(a, str) and a in known for a in actions):
            raise forms.ValidationError(_('请填写动作名称的列表，例如 ["dispatch", "resolve"]；留空表示全部'))
        return actions


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """The secret is shown once, when made (on creation or rotation): copy it to the integrator then."""

    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["secret_hint", "created_at"]
    actions = ["rotate_secret"]

    @admin.display(description=gettext_lazy("签名密钥"))
    def secret_hint(self, obj: WebhookEndpoint) -> str:
        return f"{obj.secret[:6]}…" if obj.secret else ""

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    @admin.action(description=gettext_lazy("更换所选订阅的签名密钥"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint.secret = new_webhook_secret()
            endpoint.save(update_fields=["secret"])
            self._show_secret(request, endpoint)

    def _show_secret(self, request: HttpRequest, endpoint: WebhookEndpoint) -> None:
        self.message_user(
            request,
            _("“%(name)s”的签名密钥（只显示这一次，请立即复制给对接方）：%(secret)s")
            % {"name": endpoint.name, "secret": endpoint.secret},
            messages.WARNING,
        )


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin[InboxItem]):
    """Staff inboxes, for support questions only: nothing here is changed by hand."""

    list_display = ["subject", "user", "case", "created_at", "read_at"]
    list_filter = ["read_at"]
    list_select_related = ["user", "case"]

    def get_readonly_fields(self, request: HttpRequest, obj: InboxItem | None = None) -> list[str]:
        return [f.name for f in InboxItem._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: InboxItem | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: InboxItem | None = None) -> bool:
        return False
