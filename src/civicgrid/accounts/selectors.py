"""Shared reads about people: their active posts and tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.accounts.models import ApiToken, Post, User, hash_secret


def posts_of(*, user: User) -> QuerySet[Post]:
    """The user's active posts with their units (one query)."""
    return Post.objects.filter(user=user, active=True, unit__active=True).select_related("unit")


def user_for_token(*, raw: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    token = (
        ApiToken.objects.filter(digest=hash_secret(raw), revoked=False, user__is_active=True)
        .select_related("user")
        .first()
    )
    return token.user if token is not None else None
