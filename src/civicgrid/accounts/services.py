"""Writes to accounts: posts and tokens."""

from __future__ import annotations

import secrets

from django.db import transaction

from civicgrid.accounts.models import ApiToken, Post, Role, User, hash_secret
from civicgrid.org.models import Unit


@transaction.atomic
def post_grant(*, user: User, unit: Unit, role: Role) -> Post:
    """Give `user` the role in `unit` (re-activating a post they held before)."""
    post, _created = Post.objects.update_or_create(user=user, unit=unit, role=role, defaults={"active": True})
    return post


def token_create(*, user: User) -> str:
    """Issue a new API token for `user` and return it in clear (only its digest is kept)."""
    raw = "cg_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=hash_secret(raw), prefix=raw[:8])
    return raw
