"""`civicgrid token create USERNAME`: issue an API token; the token is the last line printed."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from civicgrid.accounts.models import User
from civicgrid.accounts.services import token_create


class Command(BaseCommand):
    help = "Manage API tokens. `token create USERNAME` prints a new bearer token as its last line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("verb", choices=["create"])
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {options['username']!r}")
        raw = token_create(user=user)
        self.stdout.write(f"API token for {user.username} (shown once; send as 'Authorization: Bearer …'):")
        self.stdout.write(raw)
