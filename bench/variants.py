"""Variants of the app for `BENCH_APP=bench.variants:NAME make bench`: the figure a change would
give before it is made (docs/benchmarks.md lists what each measured)."""

from __future__ import annotations

from typing import Any

from civicgrid.wsgi import application


def _reach_cached() -> Any:
    """reach_of reading the caller's posts through the reference cache (a one-line change in
    cases/reach.py: posts and units are reference models, so any change to them is seen)."""
    from civicgrid.accounts.models import Post, User
    from civicgrid.accounts.selectors import posts_of
    from civicgrid.cases import reach
    from civicgrid.org import refcache

    def posts_cached(*, user: User) -> list[Post]:
        posts = refcache.cached(refcache.key_for("posts", str(user.pk)), lambda: list(posts_of(user=user)))
        return posts or []

    setattr(reach, "posts_of", posts_cached)  # noqa: B010 (a patch, not an attribute we own)

    # …and the intake endpoint resolving the caller's reach (memoised on the user) before its
    # transaction: the cache stores only what is read outside one.
    from civicgrid.cases import api
    from civicgrid.cases.services.intake import NewCase, case_create_event

    def create_after_reach(*, actor: User, new: NewCase) -> Any:
        reach.reach_of(actor)
        return case_create_event(actor=actor, new=new)

    setattr(api, "case_create_event", create_after_reach)  # noqa: B010
    return application


reach_cached = _reach_cached()
