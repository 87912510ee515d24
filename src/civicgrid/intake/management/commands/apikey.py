"""`civicgrid apikey create NAME`: issue an Open311 api_key; the key is the last line printed."""

from __future__ import annotations

import secrets
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User, hash_secret
from civicgrid.intake.models import ApiKey


def integrator_for(*, name: str) -> User:
    """The integrator account `open311-<slug>` (created with no posts, so it sees only its own cases)."""
    slug = slugify(name, allow_unicode=True)
    if not slug or len(name.strip()) > 100:
        raise CommandError(_("名称须含字母或数字，且不超过 100 个字符"))
    user, created = User.objects.get_or_create(
        username=f"open311-{slug}", defaults={"display_name": name.strip()[:50]}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not user.is_active:
        raise CommandError(_("账号 %(username)s 已停用，不能签发密钥") % {"username": user.username})
    return user


@transaction.atomic
def apikey_create(*, name: str) -> tuple[ApiKey, str]:
    """Issue a key for the integrator `name`; returns it with the clear key (only its digest is kept)."""
    user = integrator_for(name=name)
    raw = "o311_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(name=name.strip(), user=user, digest=hash_secret(raw), prefix=raw[:8])
    return key, raw


class Command(BaseCommand):
    help = "Manage Open311 api_keys. `apikey create NAME` prints a new key as its last line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("verb", choices=["create"])
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        key, raw = apikey_create(name=options["name"])
        self.stdout.write(
            _("%(name)s 的 Open311 api_key（账号 %(username)s；仅显示这一次）：")
            % {"name": key.name, "username": key.user.username}
        )
        self.stdout.write(raw)
