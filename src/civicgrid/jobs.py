"""The registry of background jobs the `civicgrid worker` loop runs (each app's `jobs` module registers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Job = Callable[[], bool]


@dataclass(frozen=True)
class Registered:
    name: str
    run: Job


_REGISTRY: dict[str, Registered] = {}


def job(func: Job) -> Job:
    """Register `func` as a job: one idempotent unit of work that returns whether it found work."""
    name = f"{func.__module__}.{func.__qualname__}"
    _REGISTRY[name] = Registered(name=name, run=func)
    return func


def registered_jobs() -> list[Registered]:
    """Every registered job, after importing each installed app's `jobs` module."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")
    return sorted(_REGISTRY.values(), key=lambda r: r.name)
