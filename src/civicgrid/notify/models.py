"""The outbox (one row per message to deliver), its delivery log, templates, webhooks and the inbox."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.models import Case, Event


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Transport(models.TextChoices):
    INBOX = "inbox", _("站内消息")
    SMS = "sms", _("短信")
    WEBHOOK = "webhook", _("Webhook")
    EMAIL = "email", _("电子邮件")


class MessageTemplate(models.Model):
    """The Chinese text of one kind of message; admins edit it, the defaults ship with the code."""

    key = models.CharField(_("模板标识"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    # Django template syntax over the message's context (case number, item, unit, deadline, link…).
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    # The SMS gateway's own template id, when the gateway sends pre-approved templates only.
    sms_template_id = models.CharField(_("短信模板编号"), max_length=60, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("消息模板")
        verbose_name_plural = _("消息模板")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} {self.name}"


class WebhookEndpoint(models.Model):
    """An integrator's URL that receives signed case events (HMAC-SHA256 of the body)."""

    name = models.CharField(_("名称"), max_length=60)
    url = models.URLField(_("地址"), max_length=500)
    secret = models.CharField(_("签名密钥"), max_length=128, default=new_webhook_secret)
    # Event actions to send ("dispatch", "resolve"…); empty sends every public event.
    actions = models.JSONField(_("订阅的动作"), default=list, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("Webhook 订阅")
        verbose_name_plural = _("Webhook 订阅")

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """One message to deliver through one transport, written in the transaction of its cause."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")  # waiting for its next attempt
        SENDING = "sending", _("发送中")  # claimed by a worker until `lease_until`
        SENT = "sent", _("已发送")  # delivered (or, for the inbox, placed)
        DEAD = "dead", _("发送失败")  # gave up after the last attempt: an admin must look

    transport = models.CharField(_("方式"), max_length=10, choices=Transport.choices)
    template = models.CharField(_("模板"), max_length=40)
    case = models.ForeignKey(
        Case, verbose_name=_("诉求"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Exactly one recipient field is set, by transport: user (inbox, email), phone (sms), endpoint.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    # Transport-specific content: the webhook's JSON body, the SMS template parameters.
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        indexes = [
            # Serves the delivery sweep: messages still to deliver by their next attempt.
            models.Index(
                fields=["next_attempt_at"],
                name="message_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            # Serves the admins' dead-letter list and the per-status counts.
            models.Index(fields=["status", "created_at"], name="message_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.transport} {self.template} #{self.pk}"


class Delivery(models.Model):
    """One attempt to deliver a message: the delivery log."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField(_("第几次"))
    at = models.DateTimeField(_("时间"))
    ok = models.BooleanField(_("成功"))
    detail = models.TextField(_("详情"), blank=True)

    class Meta:
        verbose_name = _("投递记录")
        verbose_name_plural = _("投递记录")
        ordering = ["message", "attempt"]

    def __str__(self) -> str:
        return f"#{self.message_id}/{self.attempt} {'ok' if self.ok else 'failed'}"


class InboxItem(models.Model):
    """A message in a staff member's in-app inbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # One inbox item per message, so a delivery retried after a crash cannot place it twice.
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="inbox_item")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    created_at = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves the unread badge on every staff page and the inbox list.
            models.Index(fields=["user", "read_at"], name="inbox_user_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.subject
