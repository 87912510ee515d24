"""The mapping file of a case import: which CSV column feeds which case field, and how values translate."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _

# Every field a mapping may name, and what its cells hold.
TEXT, TIME, CHOICE, BOOL, UNIT, ITEM, PHONE = "text", "time", "choice", "bool", "unit", "item", "phone"
FIELDS: dict[str, str] = {
    "external_id": TEXT,
    "created_at": TIME,
    "status": CHOICE,
    "kind": CHOICE,
    "channel": CHOICE,
    "place": UNIT,
    "description": TEXT,
    "title": TEXT,
    "address": TEXT,
    "handler": UNIT,
    "item": ITEM,
    "proactive": BOOL,
    "reporter_name": TEXT,
    "reporter_phone": PHONE,
    "reporter_confidential": BOOL,
    "accepted_at": TIME,
    "dispatched_at": TIME,
    "acknowledged_at": TIME,
    "resolved_at": TIME,
    "evaluated_at": TIME,
    "closed_at": TIME,
    "respond_by": TIME,
    "resolve_by": TIME,
    "satisfaction": CHOICE,
    "solved": BOOL,
    "evaluation_channel": CHOICE,
    "comment": TEXT,
    "result": TEXT,
    "reason": TEXT,
}
# A case cannot be built without these (kind and channel may be a constant `default`).
REQUIRED = ("external_id", "created_at", "status", "kind", "channel", "place", "description")
LOOKUP_BY = ("code", "name", "code_or_name")
SOURCE_MAX = 50
TOP_LEVEL = {"source", "timestamp_format", "timezone", "fields"}
# Tried in turn when the mapping names no format (ISO 8601 with an offset is always understood).
DEFAULT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)


class MappingError(Exception):
    """The mapping file cannot be used; the message (Chinese) says why."""


@dataclass(frozen=True)
class FieldSpec:
    """One field: its column (or none, for a constant), value aliases, a default for empty cells."""

    name: str
    column: str = ""
    values: dict[str, str] = field(default_factory=dict)
    default: str = ""
    formats: tuple[str, ...] = ()
    by: str = "code_or_name"

    @property
    def label(self) -> str:
        """How a problem names the field: its CSV column, or the mapping field when it has none."""
        return self.column or self.name


@dataclass(frozen=True)
class Mapping:
    source: str
    zone: ZoneInfo
    fields: dict[str, FieldSpec]

    def spec(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)

    @property
    def columns(self) -> list[str]:
        """The CSV columns the mapping reads, in field order (the row's fingerprint covers these)."""
        return [spec.column for spec in self.fields.values() if spec.column]


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; the source defaults to the file's name without .json."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(_("无法读取映射文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from exc
    except UnicodeDecodeError as exc:
        raise MappingError(_("映射文件须是 UTF-8 编码的 JSON：%(path)s") % {"path": path}) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = _("映射文件不是有效的 JSON（第 %(line)d 行第 %(col)d 列）：%(error)s")
        raise MappingError(message % {"line": exc.lineno, "col": exc.colno, "error": exc.msg}) from exc
    return parse_mapping(data, default_source=path.stem)


def parse_mapping(data: Any, *, default_source: str) -> Mapping:
    if not isinstance(data, dict):
        raise MappingError(_("映射文件的内容须是一个 JSON 对象"))
    unknown = sorted(key for key in data if key not in TOP_LEVEL and not str(key).startswith("_"))
    if unknown:
        raise MappingError(_("映射文件中有无法识别的项：%(keys)s") % {"keys": "、".join(unknown)})
    fields = data.get("fields")
    if not isinstance(fields, dict):
        raise MappingError(_("映射文件缺少“fields”对象（每个字段对应的列）"))
    formats = _formats(data.get("timestamp_format"), where="timestamp_format") or DEFAULT_FORMATS
    specs = _specs(fields, formats)
    return Mapping(source=_source(data.get("source"), default_source), zone=_zone(data), fields=specs)


def _source(value: Any, default: str) -> str:
    source = default if value is None else value
    if not isinstance(source, str) or not source.strip() or len(source.strip()) > SOURCE_MAX:
        raise MappingError(_("“source”须是 1 到 %(max)d 个字的文字") % {"max": SOURCE_MAX})
    return source.strip()


def _zone(data: dict[str, Any]) -> ZoneInfo:
    name = data.get("timezone", settings.TIME_ZONE)
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(_("无法识别的时区“%(zone)s”（例如 Asia/Shanghai）") % {"zone": name}) from exc


def _formats(value: Any, *, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not listed or not all(isinstance(f, str) and f for f in listed):
        raise MappingError(
            _("“%(where)s”须是时间格式文字或其列表，例如 %%Y-%%m-%%d %%H:%%M") % {"where": where}
        )
    return tuple(listed)


def _specs(fields: dict[str, Any], formats: tuple[str, ...]) -> dict[str, FieldSpec]:
    unknown = sorted(name for name in fields if name not in FIELDS and not str(name).startswith("_"))
    if unknown:
        message = _("映射中有未知字段：%(names)s（可用字段见 docs/import-cases.md）")
        raise MappingError(message % {"names": "、".join(unknown)})
    specs = {name: _spec(name, fields[name], formats) for name in FIELDS if name in fields}
    missing = [name for name in REQUIRED if name not in specs]
    if missing:
        raise MappingError(_("映射缺少必填字段：%(names)s") % {"names": "、".join(missing)})
    return specs


def _spec(name: str, raw: Any, formats: tuple[str, ...]) -> FieldSpec:
    """A field given as "列名" or as {"column", "values", "default", "format", "by"}."""
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict):
        raise MappingError(_("字段“%(name)s”须是列名或 JSON 对象") % {"name": name})
    allowed = {"column", "values", "default", "format", "by"}
    extra = sorted(key for key in raw if key not in allowed and not str(key).startswith("_"))
    if extra:
        raise MappingError(
            _("字段“%(name)s”中有无法识别的项：%(keys)s") % {"name": name, "keys": "、".join(extra)}
        )
    column, default = _text(raw.get("column"), name, "column"), _value(raw.get("default"), name)
    if not column and not default:
        raise MappingError(_("字段“%(name)s”须指定“column”（列名）或“default”（固定值）") % {"name": name})
    return FieldSpec(
        name=name,
        column=column,
        values=_values(raw.get("values"), name),
        default=default,
        formats=_formats(raw.get("format"), where=f"{name}.format") or formats,
        by=_by(raw.get("by"), name),
    )


def _text(value: Any, name: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MappingError(_("字段“%(name)s”的“%(key)s”须是文字") % {"name": name, "key": key})
    return value.strip()


def _value(value: Any, name: str) -> str:
    """A JSON scalar as the text a cell would hold (true → "true"), so it goes through the same parser."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip()
    raise MappingError(_("字段“%(name)s”的取值须是文字、数字或 true/false") % {"name": name})


def _values(raw: Any, name: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MappingError(_("字段“%(name)s”的“values”须是 {原值: 新值} 对象") % {"name": name})
    return {str(key).strip(): _value(value, name) for key, value in raw.items()}


def _by(raw: Any, name: str) -> str:
    if raw is None:
        return "code_or_name"
    if FIELDS[name] not in (UNIT, ITEM) or raw not in LOOKUP_BY:
        message = _("字段“%(name)s”的“by”须是 code、name 或 code_or_name（仅用于单位和事项）")
        raise MappingError(message % {"name": name})
    return str(raw)
