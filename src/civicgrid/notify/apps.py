"""The notify app: outbox, message templates, transports, staff inbox, webhooks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "civicgrid.notify"
    label = "notify"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from civicgrid.cases.signals import event_recorded
        from civicgrid.notify import recipients, texts, webhooks
        from civicgrid.notify.models import MessageTemplate, WebhookEndpoint
        from civicgrid.notify.outbox import on_event_recorded

        event_recorded.connect(on_event_recorded, dispatch_uid="notify.outbox")
        post_save.connect(
            webhooks.forget_endpoints, sender=WebhookEndpoint, dispatch_uid="notify.endpoints.save"
        )
        post_delete.connect(
            webhooks.forget_endpoints, sender=WebhookEndpoint, dispatch_uid="notify.endpoints.delete"
        )
        post_save.connect(texts.forget_templates, sender=MessageTemplate, dispatch_uid="notify.texts.save")
        post_delete.connect(
            texts.forget_templates, sender=MessageTemplate, dispatch_uid="notify.texts.delete"
        )
        for model in ("accounts.Post", "accounts.User", "org.Unit"):
            for signal, name in ((post_save, "save"), (post_delete, "delete")):
                signal.connect(
                    recipients.memo.forget, sender=model, dispatch_uid=f"notify.who.{model}.{name}"
                )
        texts.connect_defaults(self)
