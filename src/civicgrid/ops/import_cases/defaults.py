"""Checking a mapping's constants against what they name: value aliases and defaults must parse."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from civicgrid.ops.import_cases.cells import (
    ITEM_NOUN,
    UNIT_NOUN,
    CellError,
    Lookups,
    find,
    parse_bool,
    parse_choice,
    parse_phone,
    parse_time,
)
from civicgrid.ops.import_cases.mapping import (
    BOOL,
    CHOICE,
    FIELDS,
    ITEM,
    PHONE,
    TIME,
    UNIT,
    FieldSpec,
    Mapping,
    MappingError,
)
from civicgrid.ops.import_cases.rows import Options


def check_values(mapping: Mapping, lookups: Lookups) -> None:
    """Raise MappingError at the first alias target or default that no row could ever use.

    Checked once here rather than on every row: a misspelt "closed" would otherwise fail every row.
    """
    options = Options()
    for spec in mapping.fields.values():
        parse = _parser(spec, mapping, lookups, options)
        if parse is None:
            continue
        for raw, target in [*spec.values.items(), ("default", spec.default)]:
            if not target:
                continue  # an alias to "" reads as an empty cell (e.g. 未评价 → no rating)
            try:
                parse(target)
            except CellError as exc:
                message = _("映射中字段“%(name)s”的“%(raw)s” → “%(target)s”不可用：%(error)s")
                error = {"name": spec.name, "raw": raw, "target": target, "error": exc}
                raise MappingError(message % error) from exc


def _parser(
    spec: FieldSpec, mapping: Mapping, lookups: Lookups, options: Options
) -> Callable[[str], object] | None:
    kind = FIELDS[spec.name]
    if kind == CHOICE:
        return lambda text: parse_choice(text, options.of(spec.name))
    if kind == BOOL:
        return parse_bool
    if kind == PHONE:
        return parse_phone
    if kind == TIME:
        return lambda text: parse_time(text, spec.formats, mapping.zone)
    if kind == UNIT:
        return lambda text: find(lookups.units, text, spec.by, UNIT_NOUN)
    if kind == ITEM:
        return lambda text: find(lookups.items, text, spec.by, ITEM_NOUN)
    return None
