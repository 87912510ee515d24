"""Shared reads about people: their active posts and tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from civicgrid.accounts.models import ApiToken, Post, User, hash_secret
from civicgrid.org import refcache


def posts_of(*, user: User) -> QuerySet[Post]:
    """The user's active posts with their units (one query)."""
    return Post.objects.filter(user=user, active=True, unit__active=True).select_related("unit")


def user_for_token(*, raw: str) -> User | None:
    """The active user a bearer token belongs to, or None (through the reference cache: revoking
    the token or deactivating the user, like any change to people, retires what it holds)."""
    digest = hash_secret(raw)
    return refcache.cached(refcache.key_for("token", digest), lambda: _token_owner(digest))


def _token_owner(digest: str) -> User | None:
    # Without the password hash: the user is copied into the cache (Redis in production).
    token = (
        ApiToken.objects.filter(digest=digest, revoked=False, user__is_active=True)
        .select_related("user")
        .defer("user__password")
        .first()
    )
    return token.user if token is not None else None
