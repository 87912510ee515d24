"""Reference data read by code or token on every API request (units, buildings, catalogue items,
token owners), kept in Django's cache and retired whenever any of it changes.

Each such lookup costs an ORM query, about 1 ms of CPU; the cache answers in microseconds (local
memory) or one round trip (Redis). Entries carry the version of the reference data they were read
at. A save or delete of any reference model sets a new version, at once and again on commit (a
reader that raced the transaction could otherwise keep the old row under the new version), which
retires every entry in every process sharing the cache (Redis: all of them). Writes that send no
signal (queryset.update, bulk_update, raw SQL), and processes that each keep their own local-memory
cache, are seen within TTL_SECONDS. Only what is read outside a transaction is stored: rows read
inside one may be its own uncommitted writes, and may roll back. Misses (unknown codes, bad tokens)
are never stored, so guessing fills nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

VERSION_KEY = "civicgrid:ref:version"
# Staleness bound for changes no signal announces; short, as a busy process reads each key many
# times a second and so still answers nearly every lookup from the cache.
TTL_SECONDS = 5
# What the entries are read from: a save or delete of any of these retires them all. Changes are
# rare (an admin's edit, an import, a login's last_login), so one version for all is enough.
REFERENCE_MODELS = (
    "org.Unit",
    "org.Building",
    "catalogue.Domain",
    "catalogue.Item",
    "accounts.User",
    "accounts.Post",
    "accounts.ApiToken",
)


def key_for(kind: str, value: str) -> str:
    """A cache key for a lookup by any text (codes come from requests: any length, any character)."""
    return f"civicgrid:ref:{kind}:{hashlib.blake2b(value.encode(), digest_size=16).hexdigest()}"


def cached(key: str, load: Callable[[], T | None]) -> T | None:
    """What `load` returns, from the cache while no reference data changed since it was stored."""
    found: dict[str, Any] = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    entry = found.get(key)
    if version is not None and entry is not None and entry[0] == version:
        value: T = entry[1]
        return value
    if version is None:  # taken before the read, so a change committed meanwhile retires the entry
        cache.add(VERSION_KEY, secrets.token_hex(8), None)
        version = cache.get(VERSION_KEY)
    loaded = load()
    if loaded is not None and version is not None and not connection.in_atomic_block:
        cache.set(key, (version, loaded), TTL_SECONDS)
    return loaded


def retire_all() -> None:
    """Make every stored entry stale (a fresh version, never a reused one)."""
    cache.set(VERSION_KEY, secrets.token_hex(8), None)


def _changed(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_save / post_delete of reference data: retire the entries now and when it commits."""
    retire_all()
    transaction.on_commit(retire_all, using=using)


def connect() -> None:
    """Listen to changes of the reference models (called once from AccountsConfig.ready)."""
    for model in REFERENCE_MODELS:
        post_save.connect(_changed, sender=model, dispatch_uid=f"civicgrid-refcache-save-{model}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"civicgrid-refcache-delete-{model}")
