"""Writes to the catalogue: load the 事项清单 (domains and items) from JSON, all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from django.db import transaction

from civicgrid.catalogue.models import Colour, Domain, HandlerLevel, Item

DEFAULT_CATALOGUE_PATH = Path(__file__).parent / "data" / "default_catalogue.json"

# The model's max_length is not enforced by SQLite, so the loader checks it before writing.
_CODE_MAX = Item._meta.get_field("code").max_length or 16
_NAME_MAX = Item._meta.get_field("name").max_length or 100
_KEYWORDS_MAX = Item._meta.get_field("keywords").max_length or 300


class CatalogueDataError(ValueError):
    """The catalogue data is malformed; the message (Chinese) names the first bad entry."""


@dataclass(frozen=True)
class CatalogueLoadResult:
    """How many rows a load created and how many existing rows (matched by code) it rewrote."""

    domains_created: int
    domains_updated: int
    items_created: int
    items_updated: int


def catalogue_read(*, path: Path) -> dict[str, Any]:
    """The parsed catalogue file at `path`; unreadable or non-object JSON is a CatalogueDataError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CatalogueDataError(f"无法读取事项清单文件 {path}：{error}") from error
    if not isinstance(data, dict):
        raise CatalogueDataError(f"事项清单文件 {path} 的顶层必须是对象")
    return data


def catalogue_data() -> dict[str, Any]:
    return catalogue_read(path=DEFAULT_CATALOGUE_PATH)


def catalogue_departments(*, data: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the departments the catalogue names, for whoever creates department units."""
    data = catalogue_data() if data is None else data
    return [(entry["code"], entry["name"]) for entry in _named_entries(data=data, key="departments")]


def catalogue_load(*, data: dict[str, Any] | None = None) -> CatalogueLoadResult:
    """Create or update domains and items by code; validates everything before the first write."""
    data = catalogue_data() if data is None else data
    catalogue_validate(data=data)
    with transaction.atomic():
        domains = {entry["code"]: _domain_upsert(entry=entry) for entry in data["domains"]}
        items = [_item_upsert(entry=entry, domain=domains[entry["domain"]][0]) for entry in data["items"]]
    domains_created = sum(created for _, created in domains.values())
    items_created = sum(created for _, created in items)
    return CatalogueLoadResult(
        domains_created=domains_created,
        domains_updated=len(domains) - domains_created,
        items_created=items_created,
        items_updated=len(items) - items_created,
    )


def catalogue_validate(*, data: dict[str, Any]) -> None:
    """Raise CatalogueDataError on the first problem in `data`; return quietly when it is loadable."""
    departments = {entry["code"] for entry in _named_entries(data=data, key="departments")}
    domains = {entry["code"] for entry in _named_entries(data=data, key="domains")}
    for entry in data["domains"]:
        if not _is_int(entry.get("order", 0)):
            raise CatalogueDataError(f"领域 {entry['code']}：排序 order 必须是整数")
    seen: set[str] = set()
    for index, entry in enumerate(_entries(data=data, key="items"), start=1):
        code = entry.get("code")
        problem = _item_problem(entry=entry, domains=domains, departments=departments, seen=seen)
        if problem:
            raise CatalogueDataError(f"事项 {code if code else f'第{index}项'}：{problem}")
        seen.add(entry["code"])


def _entries(*, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise CatalogueDataError(f"事项清单缺少 {key} 列表，或其中有不是对象的条目")
    return entries


def _named_entries(*, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Entries of `key` that each carry a unique non-empty code and a non-empty name."""
    entries = _entries(data=data, key=key)
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        code, name = entry.get("code"), entry.get("name")
        if not _is_text(code) or not _is_text(name) or len(code) > _CODE_MAX:
            raise CatalogueDataError(f"{key} 第{index}项：编码或名称缺失，或编码超过{_CODE_MAX}个字符")
        if code in seen:
            raise CatalogueDataError(f"{key} 第{index}项：编码 {code} 重复")
        seen.add(code)
    return entries


def _item_problem(
    *, entry: dict[str, Any], domains: set[str], departments: set[str], seen: set[str]
) -> str | None:
    """What is wrong with one item, in Chinese, or None; checks run in the order a reader fixes them."""
    code, name, keywords = entry.get("code"), entry.get("name"), entry.get("keywords", "")
    if not _is_text(code) or len(code) > _CODE_MAX:
        return f"编码缺失或超过{_CODE_MAX}个字符"
    if code in seen:
        return "编码重复"
    if not _is_text(name) or len(name) > _NAME_MAX:
        return f"名称缺失或超过{_NAME_MAX}个字符"
    if entry.get("domain") not in domains:
        return f"领域 {entry.get('domain')!r} 不在清单的领域列表中"
    if not _is_int(entry.get("level")) or not 1 <= entry["level"] <= 3:
        return f"级别必须是 1、2 或 3，当前为 {entry.get('level')!r}"
    if not isinstance(keywords, str) or len(keywords) > _KEYWORDS_MAX:
        return f"关键词必须是以逗号分隔的文字，且不超过{_KEYWORDS_MAX}个字符"
    return _handler_problem(entry=entry, departments=departments) or _deadline_problem(entry=entry)


def _handler_problem(*, entry: dict[str, Any], departments: set[str]) -> str | None:
    handler_level, department = entry.get("handler_level"), entry.get("handler_department", "")
    if handler_level not in HandlerLevel.values:
        return f"承办层级 {handler_level!r} 无效，应为 {'、'.join(HandlerLevel.values)} 之一"
    if handler_level == HandlerLevel.DEPARTMENT and department not in departments:
        return f"承办层级为职能部门时，承办部门 {department!r} 必须是清单中列出的部门"
    if handler_level != HandlerLevel.DEPARTMENT and department:
        return f"承办层级不是职能部门，不应填写承办部门 {department!r}"
    return None


def _deadline_problem(*, entry: dict[str, Any]) -> str | None:
    for field, label in (("response_hours", "响应时限（小时）"), ("resolve_days", "办结时限（工作日）")):
        if not _is_int(entry.get(field)) or entry[field] < 1:
            return f"{label}必须是正整数，当前为 {entry.get(field)!r}"
    if entry.get("colour") not in Colour.values:
        return f"颜色 {entry.get('colour')!r} 无效，应为 {'、'.join(Colour.values)} 之一"
    return None


def _is_int(value: object) -> bool:
    # JSON true/false arrive as bool, a subclass of int; a level of `true` is a typo, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _domain_upsert(*, entry: dict[str, Any]) -> tuple[Domain, bool]:
    defaults = {"name": entry["name"], "order": entry.get("order", 0)}
    return Domain.objects.update_or_create(code=entry["code"], defaults=defaults)


def _item_upsert(*, entry: dict[str, Any], domain: Domain) -> tuple[Item, bool]:
    # `active` stays out of the defaults: reloading the shipped file must not revive an item an
    # administrator retired.
    defaults = {
        "name": entry["name"],
        "domain": domain,
        "level": entry["level"],
        "handler_level": entry["handler_level"],
        "handler_department": entry.get("handler_department", ""),
        "response_hours": entry["response_hours"],
        "resolve_days": entry["resolve_days"],
        "colour": entry["colour"],
        "keywords": entry.get("keywords", ""),
    }
    return Item.objects.update_or_create(code=entry["code"], defaults=defaults)
