"""Typed readers for environment variables: the only place settings come from the outside."""

from __future__ import annotations

import json
import os
from pathlib import Path


class ConfigError(RuntimeError):
    """A required or malformed environment variable; raised at start-up, never later."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_json(name: str, default: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """A JSON object of objects of numbers, e.g. per-level overrides {"1": {"warn_share": 0.5}}."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{name} must be JSON, not {raw!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(inner, dict) and all(isinstance(n, int | float) for n in inner.values())
        for inner in value.values()
    ):
        raise ConfigError(
            f'{name} must be an object of objects of numbers, e.g. {{"1": {{"warn_share": 0.5}}}}'
        )
    return value


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()
